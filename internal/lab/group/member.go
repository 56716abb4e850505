package group

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/parallel"
)

// MemberParams are one member process's spec (`kpar child group-member`
// reads it on stdin); ClientOpts come from the security in its spec line.
type MemberParams struct {
	Brokers        []string
	ClientOpts     []kgo.Opt `json:"-"`
	Group          string
	Topics         []string
	Slot           string // m0, m1, ...: the member's name in the cell
	Assignor       string
	Kind           string // plain or parallel
	Static         bool   // group.instance.id = Slot
	Work           time.Duration
	SessionTimeout time.Duration // classic only
}

// check refuses a member that cannot run.
func (p MemberParams) check() error {
	switch {
	case len(p.Brokers) == 0 || p.Group == "" || len(p.Topics) == 0 || p.Slot == "":
		return fmt.Errorf("brokers, group, topics and slot are required")
	case !slices.Contains(Assignors, p.Assignor):
		return fmt.Errorf("assignor %q: want one of %s", p.Assignor, strings.Join(Assignors, ", "))
	case !slices.Contains(Members, p.Kind):
		return fmt.Errorf("kind %q: want one of %s", p.Kind, strings.Join(Members, ", "))
	}
	return nil
}

// Line is one line a member prints on stdout: a processed record ("p") or
// an assignment change ("assigned", "revoked", "lost"). T is the member's
// wall clock in Unix nanoseconds (members and orchestrator share the
// machine's clock).
type Line struct {
	T    int64  `json:"t"`
	Kind string `json:"e"`
	// "p": the record (its stream sequence number) and its produce time.
	Topic    string `json:"topic,omitempty"`
	Part     int32  `json:"part,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
	Produced int64  `json:"prod,omitempty"`
	// Assignment changes: the partitions got or given up, and the group
	// generation (classic) or member epoch (KIP-848) after the change.
	Parts map[string][]int32 `json:"parts,omitempty"`
	Gen   int32              `json:"gen,omitempty"`
}

// A member writes its Lines through proc.Lines: one write(2) each and
// unbuffered, so a line is on the orchestrator's pipe before the record's
// handler returns (and so before its offset can be committed), and a
// SIGKILL never takes away the record of work that was committed.

// groupOpts are the kgo options of the assignor's protocol, shared by both
// member kinds.
func groupOpts(p MemberParams) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(p.Brokers...), kgo.ConsumerGroup(p.Group), kgo.ConsumeTopics(p.Topics...),
		// A new group reads from the start (v1.22 rewinds one minute by
		// default); the stream starts only once the group is settled.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// A partition newly assigned joins the next fetch: with kgo's 5 s
		// long-poll it could wait that long on a quiet topic. The same as
		// the parallel library's default, so both kinds fetch alike.
		kgo.FetchMaxWait(250 * time.Millisecond),
	}
	opts = append(append(opts, p.ClientOpts...), balancers[p.Assignor]...)
	if Protocol(p.Assignor) == "classic" {
		// KIP-848's session timeout is the broker's; the classic one is
		// the client's.
		opts = append(opts, kgo.SessionTimeout(p.SessionTimeout))
	}
	if p.Static {
		opts = append(opts, kgo.InstanceID(p.Slot))
	}
	return opts
}

// balancers are each assignor's kgo options. franz-go asks for the
// server's "uniform" assignor when the first balancer of a
// ServerSideBalancer is a sticky one, "range" for the range balancer.
var balancers = map[string][]kgo.Opt{
	"range":              {kgo.Balancers(kgo.RangeBalancer())},
	"roundrobin":         {kgo.Balancers(kgo.RoundRobinBalancer())},
	"sticky":             {kgo.Balancers(kgo.StickyBalancer())},
	"cooperative-sticky": {kgo.Balancers(kgo.CooperativeStickyBalancer())},
	"kip848-uniform":     {kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer())},
	"kip848-range":       {kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer())},
}

// seqOf reads the stream sequence number from a record's value ("seq=N ...").
func seqOf(v []byte) int64 {
	s, _, _ := strings.Cut(strings.TrimPrefix(string(v), "seq="), " ")
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// RunMember runs one member until ctx is cancelled (SIGTERM, or stdin's
// end): then it stops, commits what it processed and leaves the group (a
// static member keeps its place, as kgo does). Its Lines go to o, its log
// to stderr.
func RunMember(ctx context.Context, p MemberParams, o *proc.Lines, stderr io.Writer) error {
	if err := p.check(); err != nil {
		return fmt.Errorf("group-member: %w", err)
	}
	logger := kgo.BasicLogger(stderr, kgo.LogLevelWarn, func() string { return p.Slot + " " })
	run := runPlain
	if p.Kind == "parallel" {
		run = runParallel
	}
	if err := run(ctx, p, o, logger); err != nil {
		return fmt.Errorf("group-member %s: %w", p.Slot, err)
	}
	return nil
}

func process(ctx context.Context, p MemberParams, o *proc.Lines, r *kgo.Record) {
	_ = workload.Sleep(ctx, p.Work)
	_ = o.Write(Line{T: time.Now().UnixNano(), Kind: "p", Topic: r.Topic, Part: r.Partition, Seq: seqOf(r.Value),
		Produced: r.Timestamp.UnixNano()})
}

// runPlain is the careful franz-go poll loop: process a poll's records one
// by one, mark each done, commit marks every second and synchronously on
// revoke; rebalances wait until the poll is processed (BlockRebalanceOnPoll),
// so a revoke never takes away a record being processed.
func runPlain(ctx context.Context, p MemberParams, o *proc.Lines, logger kgo.Logger) error {
	var cl *kgo.Client
	change := func(kind string) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(cctx context.Context, c *kgo.Client, m map[string][]int32) {
			if kind == "revoked" {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(cctx), 10*time.Second)
				if err := c.CommitMarkedOffsets(cctx); err != nil {
					logger.Log(kgo.LogLevelWarn, "commit on revoke failed", "err", err)
				}
				cancel()
			}
			_, gen := c.GroupMetadata()
			_ = o.Write(Line{T: time.Now().UnixNano(), Kind: kind, Parts: m, Gen: gen})
		}
	}
	opts := append(groupOpts(p), kgo.WithLogger(logger),
		kgo.AutoCommitMarks(), kgo.AutoCommitInterval(time.Second), kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(change("assigned")), kgo.OnPartitionsRevoked(change("revoked")),
		kgo.OnPartitionsLost(change("lost")))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	// Leaves the group (a static member keeps its place); OnPartitionsRevoked
	// commits on the way out.
	defer cl.CloseAllowingRebalance()
	for {
		fs := cl.PollRecords(ctx, 100)
		if ctx.Err() != nil {
			cl.AllowRebalance()
			return nil
		}
		fs.EachError(func(t string, part int32, err error) {
			logger.Log(kgo.LogLevelWarn, "fetch error", "topic", t, "partition", part, "err", err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			process(ctx, p, o, r)
			cl.MarkCommitRecords(r)
		})
		cl.AllowRebalance()
	}
}

// runParallel is kpar's parallel consumer in key order. The library keeps
// kgo's revoke and loss callbacks for itself, so the member samples the
// partitions it owns from Stats every 10 ms and reports the differences:
// its assignment times are up to 10 ms late.
func runParallel(ctx context.Context, p MemberParams, o *proc.Lines, logger kgo.Logger) error {
	c, err := parallel.New(func(hctx context.Context, r *kgo.Record) error {
		process(hctx, p, o, r)
		return nil
	}, parallel.ClientOpts(append(groupOpts(p), kgo.WithLogger(logger))...), parallel.MaxConcurrency(16),
		parallel.Logf(func(f string, a ...any) { logger.Log(kgo.LogLevelWarn, fmt.Sprintf(f, a...)) }))
	if err != nil {
		return err
	}
	defer c.Close()
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		owned := map[string]map[int32]bool{}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			now := map[string]map[int32]bool{}
			for _, ps := range c.Stats().Partitions {
				if now[ps.Topic] == nil {
					now[ps.Topic] = map[int32]bool{}
				}
				now[ps.Topic][ps.Partition] = true
			}
			got, lost := diff(now, owned), diff(owned, now)
			_, gen := c.Client().GroupMetadata()
			t := time.Now().UnixNano()
			if len(lost) > 0 {
				_ = o.Write(Line{T: t, Kind: "revoked", Parts: lost, Gen: gen})
			}
			if len(got) > 0 {
				_ = o.Write(Line{T: t, Kind: "assigned", Parts: got, Gen: gen})
			}
			owned = now
		}
	}()
	err = c.Run(ctx)
	close(stop)
	<-sampled
	return err
}

// diff is a minus b.
func diff(a, b map[string]map[int32]bool) map[string][]int32 {
	out := map[string][]int32{}
	for t, ps := range a {
		for _, n := range slices.Sorted(maps.Keys(ps)) {
			if !b[t][n] {
				out[t] = append(out[t], n)
			}
		}
	}
	return out
}
