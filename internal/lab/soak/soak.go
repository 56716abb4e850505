package soak

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/results"
)

// Nodes is the cluster size the soak needs.
const Nodes = 3

// run is one soak's state.
type run struct {
	cfg     Config
	start   time.Time
	admin   []string // direct addresses: the soak's own admin and checker
	clients []string // what producers and consumers use (the proxies when there are)
	cl      *kgo.Client
	adm     *kadm.Client
	own     bool
	faults  *broker.Faults
	proxies map[int]*Proxy // by node id
	ids     []int
	topic   string

	mu      sync.Mutex
	closed  bool                 // stopMembers ran: no member starts any more
	members map[string][]*member // by strategy, static members first
	extra   map[string]int       // dynamic members started so far, per strategy
	inc     map[string]int       // incarnations, by strategy/slot
}

// member is one worker process (one incarnation of a slot).
type member struct {
	*proc.Process
	slot string
}

// Run runs the soak. A cancelled ctx ends it at once: every member
// SIGKILLed, the soak's own cluster SIGKILLed and removed, no Result.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	r := &run{cfg: cfg, members: map[string][]*member{}, extra: map[string]int{}, inc: map[string]int{}, proxies: map[int]*Proxy{}}
	defer func() {
		r.stopMembers(ctx.Err() != nil)
		for _, p := range r.proxies {
			p.Close()
		}
		if r.cl != nil {
			r.cl.Close()
		}
		r.closeCluster(ctx.Err() != nil)
		if ctx.Err() != nil && err == nil {
			err = ctx.Err()
		}
	}()
	res.Header = Kind.Header(cfg.Command)
	res.Seed, res.Strategies, res.Rate, res.Partitions = cfg.Seed, cfg.Strategies, cfg.Rate, cfg.Partitions
	res.Members, res.Workers, res.DurationSeconds = cfg.Members, cfg.Workers, cfg.Duration.Seconds()
	if err := r.open(ctx, &res); err != nil {
		return res, err
	}
	params, err := r.setUp(ctx)
	if err != nil {
		return res, err
	}
	r.start = time.Now()
	res.Header.Started = r.start.UTC()
	for _, s := range cfg.Strategies {
		for i := 0; i < cfg.Members; i++ {
			if err := r.startMember(params[s], fmt.Sprintf("w%d", i), !strategy.IsShare(s)); err != nil {
				return res, err
			}
		}
	}
	cfg.progress(fmt.Sprintf("soak: %d strategies x %d members on %s; producing %d records/s for %s", len(cfg.Strategies), cfg.Members, r.topic, cfg.Rate, cfg.Duration))
	drained, err := r.soak(ctx, params, &res)
	if err != nil {
		return res, err
	}
	r.stopMembers(false)
	if err := r.check(ctx, params, drained, &res); err != nil {
		return res, err
	}
	res.Header.Finish()
	return res, nil
}

// setUp creates the topics and returns each strategy's worker parameters.
func (r *run) setUp(ctx context.Context) (map[string]worker.Params, error) {
	suffix := fmt.Sprintf("%d-%d", r.cfg.Seed, time.Now().UnixNano()%1e6)
	r.topic = "soak-in-" + suffix
	if err := r.create(ctx, r.topic); err != nil {
		return nil, err
	}
	params := map[string]worker.Params{}
	for _, s := range r.cfg.Strategies {
		p := worker.Params{
			Config: strategy.Config{Seeds: r.clients, Topic: r.topic, DLQTopic: "soak-dlq-" + s + "-" + suffix,
				Group: "soak-" + s + "-" + suffix, Workers: r.cfg.Workers, MaxPoll: 100},
			LogTopic: "soak-log-" + s + "-" + suffix, Strategy: s, Seed: r.cfg.Seed,
			LatencyMax: r.cfg.Latency, Permanent: r.cfg.Permanent, MetadataMinAge: time.Second,
		}
		for _, t := range []string{p.LogTopic, p.DLQTopic} {
			if err := r.create(ctx, t); err != nil {
				return nil, err
			}
		}
		if strategy.IsShare(s) {
			if _, err := worker.SetUpShareGroup(ctx, r.cl, p.Group); err != nil {
				return nil, err
			}
		}
		params[s] = p
	}
	return params, nil
}

// soak produces and samples while the fault plan runs, then waits for every
// strategy to catch up; it returns which did.
func (r *run) soak(ctx context.Context, params map[string]worker.Params, res *Result) (map[string]bool, error) {
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	sampled := make(chan []Sample, 1)
	go func() { sampled <- r.sample(sampleCtx, params) }()
	prodCtx, stopProducing := context.WithCancel(ctx)
	produced := make(chan error, 1)
	go func() { produced <- r.produce(prodCtx) }()

	superCtx, stopSupervising := context.WithCancel(ctx)
	defer stopSupervising()
	exits := make(chan []MemberExit, 1)
	go func() { exits <- r.supervise(superCtx, params) }()

	res.Faults = r.runSchedule(ctx, params, res)
	stopProducing()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := <-produced; err != nil && ctx.Err() == nil {
		return nil, err
	}
	r.cfg.progress("soak: production stopped; waiting for every strategy to catch up")
	drained := r.drain(ctx, params)
	stopSampling()
	stopSupervising()
	res.Timeline, res.MemberExits = <-sampled, <-exits
	return drained, ctx.Err()
}

// check counts every strategy's topics, keeping its duplicates' times.
func (r *run) check(ctx context.Context, params map[string]worker.Params, drained map[string]bool, res *Result) error {
	dups := map[string][]float64{}
	for _, s := range r.cfg.Strategies {
		p := params[s]
		o := StrategyOutcome{Strategy: s, Drained: drained[s]}
		input, log, err := checker.ReadTopics(ctx, kafka.Reader{Seeds: r.admin, Stall: r.cfg.Stall}, r.topic, p.LogTopic, p.DLQTopic)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			o.Error = err.Error()
		} else {
			o.Check = checker.Check(input, log, r.start)
			seen := map[int64]bool{}
			for _, e := range log {
				if seen[e.Seq] {
					dups[s] = append(dups[s], e.At.Sub(r.start).Seconds())
				}
				seen[e.Seq] = true
			}
		}
		res.Checks = append(res.Checks, o)
	}
	analyze(res, dups)
	return nil
}

// homeLabel names the cluster's home as the result records it.
func homeLabel(home string) string { return results.Label(home, broker.Home(), "$KPAR_HOME") }

// open starts the soak's own proxied cluster or checks the given one.
func (r *run) open(ctx context.Context, res *Result) error {
	cfg := r.cfg
	if len(cfg.Brokers) == 0 {
		r.own = true
		st, err := broker.Up(ctx, broker.Options{Home: cfg.Home, Nodes: Nodes, BasePort: cfg.Port, Heap: cfg.Heap, Proxied: true, Progress: cfg.progress})
		if errors.Is(err, broker.ErrAlreadyUp) && st != nil && len(st.Nodes) == Nodes && st.Proxied {
			cfg.progress("soak: reusing the soak's cluster already running under " + cfg.Home)
		} else if err != nil {
			return fmt.Errorf("starting the soak's 3-node cluster under %s: %w", cfg.Home, err)
		}
		r.admin = st.Bootstrap()
		for i, n := range st.Nodes {
			addr := fmt.Sprintf("127.0.0.1:%d", broker.ProxyPort(cfg.Port, i))
			p, err := Listen(addr, fmt.Sprintf("127.0.0.1:%d", broker.ProxiedPort(cfg.Port, i)), n.ID, cfg.Seed)
			if err != nil {
				return err
			}
			r.proxies[n.ID], r.clients = p, append(r.clients, addr)
		}
		res.Wiring = fmt.Sprintf("3 nodes under %s: brokers on 127.0.0.1:%d-%d (replication, the soak's admin and checker); clients reach them only through the soak's TCP proxies on 127.0.0.1:%d-%d, advertised by each broker's PROXIED listener (127.0.0.1:%d-%d)",
			homeLabel(cfg.Home), cfg.Port, cfg.Port+2, broker.ProxyPort(cfg.Port, 0), broker.ProxyPort(cfg.Port, 2), broker.ProxiedPort(cfg.Port, 0), broker.ProxiedPort(cfg.Port, 2))
	} else {
		r.admin, r.clients = cfg.Brokers, cfg.Brokers
		res.Wiring = "the given brokers " + strings.Join(cfg.Brokers, ",") + ", reached directly"
		res.Skipped = append(res.Skipped, "network faults: the given cluster advertises its own ports, not the soak's proxies")
	}
	var err error
	if r.cl, err = kgo.NewClient(kgo.SeedBrokers(r.admin...), kgo.RetryTimeout(5*time.Second)); err != nil {
		return err
	}
	r.adm = kadm.NewClient(r.cl)
	var brokers kadm.BrokerDetails
	if r.ids, brokers, err = kafka.Nodes(ctx, r.adm, r.admin); err != nil {
		return err
	}
	if len(r.ids) != Nodes {
		return fmt.Errorf("kpar lab soak needs a %d-node cluster; the brokers at %s report %d node(s). Omit --brokers and the soak starts its own", Nodes, strings.Join(r.admin, ","), len(r.ids))
	}
	home := cfg.Home
	if !r.own {
		home = broker.Home()
	}
	st, _ := broker.LoadState(home) // none or unreadable: Ours says there is no pid to signal
	if why := labrun.Ours(brokers, st, home); why != "" {
		res.Skipped = append(res.Skipped, "broker kills and freezes: "+why)
	} else if r.faults, err = broker.OpenFaults(home); err != nil {
		res.Skipped = append(res.Skipped, "broker kills and freezes: "+err.Error())
	}
	return nil
}

// closeCluster stops the soak's own cluster unless kept; cancelled, it
// SIGKILLs every JVM at once, so nothing waits for a graceful shutdown.
func (r *run) closeCluster(cancelled bool) {
	if !r.own || (r.cfg.KeepCluster && !cancelled) {
		return
	}
	if cancelled {
		if st, err := broker.LoadState(r.cfg.Home); err == nil {
			killNodes(st.Nodes, 4*time.Second)
		}
	} else {
		r.cfg.progress("soak: stopping the soak's cluster")
	}
	_, err := broker.Down(r.cfg.Home)
	for i := 0; err != nil && !cancelled && i < 3; i++ {
		time.Sleep(2 * time.Second)
		_, err = broker.Down(r.cfg.Home)
	}
}

// killNodes SIGCONTs and SIGKILLs every node still running (a frozen one
// included) and waits up to wait for all of them to be gone.
func killNodes(nodes []broker.Node, wait time.Duration) {
	for _, n := range nodes {
		if n.Alive() {
			_ = syscall.Kill(n.Pid, syscall.SIGCONT)
			_ = syscall.Kill(n.Pid, syscall.SIGKILL)
		}
	}
	for deadline := time.Now().Add(wait); slices.ContainsFunc(nodes, broker.Node.Alive) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *run) create(ctx context.Context, topic string) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := kafka.Create(cctx, r.adm, []kafka.Topic{{Name: topic, Partitions: r.cfg.Partitions, RF: Nodes,
		Configs: map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}}})
	return err
}

// startMember starts a worker process for slot of p's strategy.
func (r *run) startMember(p worker.Params, slot string, static bool) error {
	r.mu.Lock()
	key := p.Strategy + "/" + slot
	p.Slot, p.Static, p.Incarnation = slot, static, r.inc[key]
	r.inc[key]++
	r.mu.Unlock()
	pr, err := r.cfg.Worker(context.Background(), "lab-worker", p, proc.Options{})
	if err != nil {
		return fmt.Errorf("start %s member %s: %w", p.Strategy, slot, err)
	}
	m := &member{Process: pr, slot: slot}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed { // a restart that raced the soak's end
		go pr.Kill()
		return fmt.Errorf("start %s member %s: the soak is stopping", p.Strategy, slot)
	}
	r.members[p.Strategy] = append(r.members[p.Strategy], m)
	return nil
}

// stopMembers ends every member: SIGTERM and up to 30 s each to leave
// (dynamic ones first), or SIGKILL at once when the run was cancelled.
func (r *run) stopMembers(now bool) {
	r.mu.Lock()
	var all []*member
	for _, ms := range r.members {
		all = append(all, ms...)
	}
	r.members, r.closed = map[string][]*member{}, true
	r.mu.Unlock()
	slices.SortStableFunc(all, func(a, b *member) int {
		return strings.Compare(b.slot, a.slot) // x... (dynamic) before w...
	})
	var wg sync.WaitGroup
	for _, m := range all {
		if now {
			wg.Go(m.Kill) // all signalled at once, then waited for together
		} else {
			wg.Go(func() { m.Stop(30 * time.Second) })
		}
	}
	wg.Wait()
}
