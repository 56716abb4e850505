package producer

import (
	"context"
	"fmt"
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

// allLeadersOff waits until no partition is led by node (or led by none).
func allLeadersOff(node int) func(kadm.TopicDetail) bool {
	return func(td kadm.TopicDetail) bool {
		for _, p := range td.Partitions {
			if p.Leader < 0 || p.Leader == int32(node) {
				return false
			}
		}
		return true
	}
}

// fullISR waits until every partition has every replica in sync again.
func fullISR(td kadm.TopicDetail) bool {
	for _, p := range td.Partitions {
		if p.Leader < 0 || len(p.ISR) != Nodes {
			return false
		}
	}
	return true
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
		for _, id := range f.c.nodeIDs() {
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

func (f *faultRun) wait(ctx context.Context, what string, limit time.Duration, ok func(kadm.TopicDetail) bool) error {
	return kafka.WaitFor(ctx, f.c.adm, []string{f.topic}, limit, what, ok)
}

// leaderKill SIGKILLs the leader, waits for new leaders, lets the producers
// write to them, and restarts it.
func (f *faultRun) leaderKill(ctx context.Context, victim int) error {
	if err := f.c.faults.Kill(victim); err != nil {
		return err
	}
	f.note("SIGKILL node %d (leader of every partition)", victim)
	if err := f.wait(ctx, fmt.Sprintf("new leaders after node %d was killed", victim), recoveryLimit, allLeadersOff(victim)); err != nil {
		return err
	}
	f.note("new leaders elected")
	// Let the producers write to the new leaders before the old one returns.
	if err := workload.Sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	if err := f.c.faults.Start(victim); err != nil {
		return err
	}
	f.note("node %d restarted", victim)
	return f.backInISR(ctx, victim)
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
	if f.wait(ctx, "", d, allLeadersOff(victim)) == nil {
		f.note("leaders moved off the frozen node")
	} else {
		f.note("leaders still on the frozen node in the metadata")
	}
	if err := workload.Sleep(ctx, d-time.Since(began)); err != nil {
		return err
	}
	if err := f.c.faults.Cont(victim); err != nil {
		return err
	}
	f.frozen = false
	f.note("SIGCONT node %d", victim)
	return f.backInISR(ctx, victim)
}

// restart is one step of a rolling restart: a controlled shutdown of node
// id, then its start.
func (f *faultRun) restart(ctx context.Context, id int) error {
	if err := f.c.faults.Shutdown(id, 60*time.Second); err != nil {
		return err
	}
	f.note("node %d stopped (SIGTERM, controlled shutdown)", id)
	// Its ISR exits are in the metadata before it may come back, so the
	// wait for the full ISR cannot pass on a stale one.
	if err := f.wait(ctx, fmt.Sprintf("node %d out of the ISRs", id), 30*time.Second, func(td kadm.TopicDetail) bool { return !fullISR(td) }); err != nil {
		return err
	}
	if err := f.c.faults.Start(id); err != nil {
		return err
	}
	f.note("node %d started", id)
	return f.backInISR(ctx, id)
}

// backInISR waits until node id is back in every partition's ISR.
func (f *faultRun) backInISR(ctx context.Context, id int) error {
	if err := f.wait(ctx, fmt.Sprintf("node %d back in every ISR", id), recoveryLimit, fullISR); err != nil {
		return err
	}
	f.note("node %d back in every ISR", id)
	return nil
}
