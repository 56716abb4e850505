package producer

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kpar/kpar/internal/kafka"
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
	fz := f.c.faults
	frozen := false
	defer func() {
		if frozen {
			_ = fz.Cont(victim)
		}
		for _, id := range f.c.nodeIDs() {
			if !fz.Alive(id) {
				if serr := fz.Start(id); serr != nil && err == nil {
					err = serr
				}
			}
		}
	}()
	wait := func(what string, limit time.Duration, ok func(kadm.TopicDetail) bool) error {
		return kafka.WaitFor(ctx, f.c.adm, []string{f.topic}, limit, what, ok)
	}
	switch fault {
	case FaultNone:
		return nil
	case FaultLeaderKill:
		if err := fz.Kill(victim); err != nil {
			return err
		}
		f.note("SIGKILL node %d (leader of every partition)", victim)
		if err := wait(fmt.Sprintf("new leaders after node %d was killed", victim), recoveryLimit, allLeadersOff(victim)); err != nil {
			return err
		}
		f.note("new leaders elected")
		// Let the producers write to the new leaders before the old one returns.
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		if err := fz.Start(victim); err != nil {
			return err
		}
		f.note("node %d restarted", victim)
		if err := wait(fmt.Sprintf("node %d back in every ISR", victim), recoveryLimit, fullISR); err != nil {
			return err
		}
		f.note("node %d back in every ISR", victim)
	case FaultFreeze:
		if err := fz.Stop(victim); err != nil {
			return err
		}
		frozen = true
		began := time.Now()
		f.note("SIGSTOP node %d (leader of every partition) for %s", victim, freeze)
		if wait("", freeze, allLeadersOff(victim)) == nil {
			f.note("leaders moved off the frozen node")
		} else {
			f.note("leaders still on the frozen node in the metadata")
		}
		if err := sleep(ctx, freeze-time.Since(began)); err != nil {
			return err
		}
		if err := fz.Cont(victim); err != nil {
			return err
		}
		frozen = false
		f.note("SIGCONT node %d", victim)
		if err := wait(fmt.Sprintf("node %d back in every ISR", victim), recoveryLimit, fullISR); err != nil {
			return err
		}
		f.note("node %d back in every ISR", victim)
	case FaultRolling:
		for _, id := range order {
			if err := fz.Shutdown(id, 60*time.Second); err != nil {
				return err
			}
			f.note("node %d stopped (SIGTERM, controlled shutdown)", id)
			// Its ISR exits are in the metadata before it may come back, so
			// the wait below cannot pass on a stale full ISR.
			if err := wait(fmt.Sprintf("node %d out of the ISRs", id), 30*time.Second, func(td kadm.TopicDetail) bool { return !fullISR(td) }); err != nil {
				return err
			}
			if err := fz.Start(id); err != nil {
				return err
			}
			f.note("node %d started", id)
			if err := wait(fmt.Sprintf("node %d back in every ISR", id), recoveryLimit, fullISR); err != nil {
				return err
			}
			f.note("node %d back in every ISR", id)
		}
	default:
		return fmt.Errorf("unknown fault %q", fault)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
