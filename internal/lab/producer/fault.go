package producer

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/workload"
)

// Event is one step of a fault, at seconds since the cell's producers started.
type Event struct {
	At   float64 `json:"at_seconds"`
	What string  `json:"what"`
}

// faultRun applies one fault to the cluster and logs its steps.
type faultRun struct {
	c      *cluster
	topic  string
	start  time.Time
	events []Event
	log    func(string)
	frozen bool // a node is SIGSTOPped: apply resumes it whatever happens
}

func (f *faultRun) note(format string, args ...any) {
	e := Event{At: time.Since(f.start).Seconds(), What: fmt.Sprintf(format, args...)}
	f.events = append(f.events, e)
	f.log(fmt.Sprintf("  %6.1fs %s", e.At, e.What))
}

// allLeadersOff holds once no partition is led by node (or led by none).
func allLeadersOff(node int) func(kadm.TopicDetail) bool {
	return func(td kadm.TopicDetail) bool {
		return !slices.ContainsFunc(td.Partitions.Sorted(), func(p kadm.PartitionDetail) bool { return p.Leader < 0 || p.Leader == int32(node) })
	}
}

// fullISR holds once every partition has every replica in sync again.
func fullISR(td kadm.TopicDetail) bool {
	return !slices.ContainsFunc(td.Partitions.Sorted(), func(p kadm.PartitionDetail) bool { return p.Leader < 0 || len(p.ISR) != Nodes })
}

// recoveryLimit bounds each wait for the cluster to heal: a node's JVM start
// and catch-up on a loaded 2-core machine take tens of seconds.
const recoveryLimit = 120 * time.Second

// apply runs fault against node victim (and, for rolling, every node in
// order). Whatever happens, no node is left frozen or down: a frozen node
// is resumed and a dead node restarted before apply returns.
func (f *faultRun) apply(ctx context.Context, fault string, victim int, order []int, freeze time.Duration) (err error) {
	defer func() {
		if f.frozen {
			_ = f.c.faults.Cont(victim)
		}
		for _, id := range f.c.ids {
			if !f.c.faults.Alive(id) {
				if serr := f.c.faults.Start(id); serr != nil && err == nil {
					err = serr
				}
			}
		}
	}()
	switch fault {
	case FaultNone:
		return nil
	case FaultLeaderKill:
		return f.leaderKill(ctx, victim)
	case FaultFreeze:
		return f.freeze(ctx, victim, freeze)
	case FaultRolling:
		for _, id := range order {
			if err := f.restart(ctx, id); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown fault %q", fault)
}

// step is one step of a fault: what it does and, once done, what the
// timeline notes ("" for nothing).
type step struct {
	do   func() error
	note string
}

// steps runs steps in order until one fails.
func (f *faultRun) steps(steps ...step) error {
	for _, s := range steps {
		if err := s.do(); err != nil {
			return err
		}
		if s.note != "" {
			f.note("%s", s.note)
		}
	}
	return nil
}

func (f *faultRun) wait(ctx context.Context, what string, limit time.Duration, ok func(kadm.TopicDetail) bool) func() error {
	return func() error { return kafka.WaitFor(ctx, f.c.adm, []string{f.topic}, limit, what, ok) }
}

// backInISR waits until node id is back in every partition's ISR.
func (f *faultRun) backInISR(ctx context.Context, id int) step {
	what := fmt.Sprintf("node %d back in every ISR", id)
	return step{f.wait(ctx, what, recoveryLimit, fullISR), what}
}

// leaderKill SIGKILLs the leader, waits for new leaders, lets the producers
// write to them before the old one returns, and restarts it.
func (f *faultRun) leaderKill(ctx context.Context, victim int) error {
	return f.steps(
		step{func() error { return f.c.faults.Kill(victim) }, fmt.Sprintf("SIGKILL node %d (leader of every partition)", victim)},
		step{f.wait(ctx, fmt.Sprintf("new leaders after node %d was killed", victim), recoveryLimit, allLeadersOff(victim)), "new leaders elected"},
		step{func() error { return workload.Sleep(ctx, 2*time.Second) }, ""},
		step{func() error { return f.c.faults.Start(victim) }, fmt.Sprintf("node %d restarted", victim)},
		f.backInISR(ctx, victim))
}

// freeze SIGSTOPs the leader for d, noting whether the leaders moved off it,
// and resumes it.
func (f *faultRun) freeze(ctx context.Context, victim int, d time.Duration) error {
	if err := f.c.faults.Stop(victim); err != nil {
		return err
	}
	f.frozen = true
	began := time.Now()
	f.note("SIGSTOP node %d (leader of every partition) for %s", victim, d)
	if f.wait(ctx, "", d, allLeadersOff(victim))() == nil {
		f.note("leaders moved off the frozen node")
	} else {
		f.note("leaders still on the frozen node in the metadata")
	}
	return f.steps(
		step{func() error { return workload.Sleep(ctx, d-time.Since(began)) }, ""},
		step{func() error { err := f.c.faults.Cont(victim); f.frozen = err != nil; return err }, fmt.Sprintf("SIGCONT node %d", victim)},
		f.backInISR(ctx, victim))
}

// restart is one step of a rolling restart: a controlled shutdown of node
// id, then its start. Its ISR exits are in the metadata before it may come
// back, so the wait for the full ISR cannot pass on a stale one.
func (f *faultRun) restart(ctx context.Context, id int) error {
	return f.steps(
		step{func() error { return f.c.faults.Shutdown(id, 60*time.Second) }, fmt.Sprintf("node %d stopped (SIGTERM, controlled shutdown)", id)},
		step{f.wait(ctx, fmt.Sprintf("node %d out of the ISRs", id), 30*time.Second, func(td kadm.TopicDetail) bool { return !fullISR(td) }), ""},
		step{func() error { return f.c.faults.Start(id) }, fmt.Sprintf("node %d started", id)},
		f.backInISR(ctx, id))
}
