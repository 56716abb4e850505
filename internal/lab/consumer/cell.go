package consumer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/scenario"
	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// runCell runs one strategy under one scenario: fresh topics, the
// workload, the consumer processes and the scenario's faults until the group
// committed everything, then the checker. err is for failures of the lab
// itself (topics, produce, check).
func runCell(ctx context.Context, cfg Config, st string, sc scenario.Scenario) (Cell, error) {
	cell, params := describeCell(cfg, st, sc)
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, cfg.Opts()...)...)
	if err != nil {
		return cell, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	base := fmt.Sprintf("kpar-lab-%s-%s-%d-%d", strings.ReplaceAll(st, "@", "_"), strings.ReplaceAll(sc.Name, "+", "_"),
		cfg.Seed, time.Now().UnixNano()%1e9)
	in, logT, dlq := base+"-in", base+"-log", ""
	topics := []string{in, logT}
	specs := []kafka.Topic{{Name: in, Partitions: cfg.Partitions}, {Name: logT, Partitions: cfg.Partitions}}
	if sc.Has(scenario.Failures) {
		var dcfg map[string]*string
		dlq, dcfg = strategy.DLQTopic(st, base)
		topics = append(topics, dlq)
		specs = append(specs, kafka.Topic{Name: dlq, Partitions: cfg.Partitions, Configs: dcfg})
	}
	if _, err := kafka.Create(ctx, adm, specs); err != nil {
		return cell, fmt.Errorf("%w (brokers %v)", err, cfg.Brokers)
	}
	if !cfg.Keep {
		defer func() {
			_ = kafka.Delete(ctx, adm, topics...)
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			_, _ = adm.DeleteGroup(dctx, base)
		}()
	}
	if err := workload.ProduceInput(ctx, cl, in, workload.Generate(cfg.Seed, cfg.Records, cfg.Keys)); err != nil {
		return cell, err
	}
	isShare := strategy.IsShare(st)
	stall := cfg.StallTimeout
	if isShare {
		sh, err := setUpShareGroup(ctx, cl, base)
		if err != nil {
			return cell, err
		}
		stall = shareStall(sh, stall, sc.Kills())
		sh.StallTimeoutSeconds = stall.Seconds()
		cell.Share = &sh
	}

	params.Topic, params.LogTopic, params.DLQTopic, params.Group = in, logT, dlq, base
	start := time.Now()
	o := &orchestra{cfg: cfg, scen: sc, params: params, adm: adm, client: cl, cell: &cell, share: isShare, stall: stall}
	runErr := o.run(ctx)
	o.snapshotPC(ctx, "end")
	cell.CommitErrorsLogged, cell.PartitionsLostLogged = int(o.commitFails.Load()), int(o.lostLines.Load())
	if cell.Stalled {
		cell.StallTimeoutSeconds = stall.Seconds()
	}
	// Counted once every worker is gone; a read that stalls fails the cell.
	input, log, err := checker.ReadTopics(context.WithoutCancel(ctx),
		kafka.Reader{Seeds: cfg.Brokers, ClientOpts: cfg.Opts(), Stall: stall}, in, logT, dlq)
	if err != nil {
		return cell, fmt.Errorf("check: %w", err)
	}
	cell.Check = checker.Check(input, log, start)
	o.attributePCLoss(ctx, kafka.Reader{Seeds: cfg.Brokers, ClientOpts: cfg.Opts(), Stall: stall}, input, log)
	if cell.Share != nil {
		countShare(cell.Share, strategy.Archives(st), log, o.failures, o.killTimes)
	}
	if runErr != nil {
		cell.Error = runErr.Error()
	}
	return cell, nil
}

// describeCell is the cell's set-up as the Result records it and as the
// worker processes get it (their topics and group left for the caller).
func describeCell(cfg Config, st string, sc scenario.Scenario) (Cell, worker.Params) {
	minLat, maxLat, tail, tailLat := sc.Latency(cfg.Latency)
	cell := Cell{
		Strategy: st, Scenario: sc.Name, Seed: cfg.Seed,
		Records: cfg.Records, Partitions: cfg.Partitions, Keys: cfg.Keys, Workers: cfg.Workers, MaxPoll: cfg.MaxPoll,
		LatencyMinMs: ms(minLat), LatencyMaxMs: ms(maxLat), Tail: tail, TailLatencyMs: ms(tailLat),
	}
	p := worker.Params{Config: strategy.Config{Seeds: cfg.Brokers, Workers: cfg.Workers, MaxPoll: cfg.MaxPoll, Java: cfg.java, PCClasspath: cfg.pcClasspath},
		Strategy: st, Seed: cfg.Seed, LatencyMin: minLat, LatencyMax: maxLat, Tail: tail, TailLatency: tailLat, Instant: sc.Has(scenario.Kill)}
	if sc.Has(scenario.Failures) {
		cell.Transient, cell.Permanent = cfg.Transient, cfg.Permanent
		p.Transient, p.Permanent = cfg.Transient, cfg.Permanent
	}
	cell.Exact, cell.TimingDependent, cell.Why = Exactness(st, sc)
	if sc.Has(scenario.Slow) {
		p.SlowAt, p.SlowCount, p.SlowLatency, p.RebalanceTimeout = scenario.SlowPlan(cfg.Records, cfg.Workers)
		cell.SlowAt, cell.SlowCount, cell.SlowLatencyMs, cell.RebalanceTimeoutMs = p.SlowAt, p.SlowCount, ms(p.SlowLatency), ms(p.RebalanceTimeout)
	}
	if sc.Kills() {
		cell.CrashPoints = cfg.CrashAt
		if len(cell.CrashPoints) == 0 {
			cell.CrashPoints = scenario.CrashPoints(cfg.Seed, cfg.Records, cfg.Crashes)
		}
	}
	return cell, p
}

// Exactness says which of a cell's counts a re-run with the same seed
// reproduces, and why the others move: thread and network timing within a
// run, and the group protocol (the crash fault's freeze keeps them out; the
// kill fault lets them in on purpose).
func Exactness(st string, s scenario.Scenario) (exact, timing []string, why string) {
	if strategy.IsShare(st) {
		return shareExactness(s)
	}
	if s.Has(scenario.Rebalance) || s.Has(scenario.Slow) {
		return nil, []string{"lost", "duplicated", "reordered", "dead_lettered", "records_per_sec"},
			"members join and leave on wall-clock progress and the group protocol moves partitions by heartbeats " +
				"and timeouts, so what is in flight, committed and replayed at each move depends on timing"
	}
	// Ordered: replays are duplicates, not reorders; reordered is always 0.
	ordered := slices.Contains([]string{"lib-key", "lib-partition", "pc-key", "pc-partition", "eos"}, st)
	if s.Has(scenario.Kill) {
		exact, timing = nil, []string{"lost", "duplicated", "dead_lettered", "records_per_sec"}
		why = "kill: the consumer dies the instant its processed-log count reaches the seeded point, with handlers " +
			"mid-work, processed-log writes on the wire and a commit pending; how far commits and writes had got at " +
			"that instant is thread and network timing, so lost and duplicated move (whether they are zero does not)"
	} else {
		exact, timing = []string{"lost", "duplicated", "dead_lettered"}, []string{"records_per_sec"}
	}
	if ordered {
		return append(exact, "reordered"), timing, why
	}
	if why == "" {
		why = "reordered: two records of one key that run at once on different workers finish in the order of " +
			"their seeded latency plus the processed-log write's round trip and the scheduler, so near-ties go either way"
	}
	return exact, append(timing, "reordered"), why
}

// shareExactness is Exactness for the share-group strategies: without
// members dying, joining or leaving every count but reordered and records/s
// repeats; which records a dying member held is fetch timing.
func shareExactness(s scenario.Scenario) (exact, timing []string, why string) {
	all := []string{"lost", "duplicated", "reordered", "dead_lettered", "archived", "redelivered", "records_per_sec"}
	switch {
	case s.Has(scenario.Rebalance) || s.Has(scenario.Slow):
		return nil, all, "share group: members join and leave on wall-clock progress and the broker hands records to whichever " +
			"member fetches, so who holds what at each move depends on timing"
	case s.Has(scenario.Kill):
		return nil, all, "share group kill: the member dies with records acquired, some processed but not yet acknowledged; " +
			"those come back redelivered (duplicates if processed), and which they are is thread and fetch timing"
	case s.Has(scenario.Crash):
		return []string{"lost", "dead_lettered", "archived"},
			[]string{"duplicated", "reordered", "redelivered", "records_per_sec"},
			"share group crash: the frozen member holds the records of its last poll and what its client prefetched; " +
				"which records those are (and so what is redelivered) is fetch timing"
	}
	return []string{"lost", "duplicated", "dead_lettered", "archived", "redelivered"}, []string{"reordered", "records_per_sec"},
		"share group: records of one key run at once on different workers and finish in the order of their seeded latency " +
			"plus the processed-log write's round trip and the scheduler, so near-ties go either way"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
