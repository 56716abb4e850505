package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/scenario"
	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/proc"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// orchestra starts, kills and stops the consumer processes of one cell.
type orchestra struct {
	cfg    Config
	scen   scenario.Scenario
	params worker.Params
	adm    *kadm.Client
	client *kgo.Client // adm's
	cell   *Cell

	members map[string]*member

	slowOnce    sync.Once
	slowStarted chan struct{} // closed when w0 writes worker.EventSlow
	commitFails atomic.Int64  // worker log lines reporting a failed commit
	lostLines   atomic.Int64  // worker log lines reporting partitions lost (kicked from the group)

	mu           sync.Mutex                 // guards the events' counts: permAttempts, failures, cell.InFlightAtKill
	permAttempts map[int64]int              // per record seq: handler attempts that ended in a permanent failure
	failures     map[int64][]failedDelivery // share groups: worker.EventFailed lines, by record seq

	share     bool          // a share-group strategy
	stall     time.Duration // the cell's stall timeout (shareStall)
	killTimes []time.Time   // when each SIGKILLed w0 was seen gone
}

type member struct {
	*proc.Process
	slot string
	inc  int
	gone bool // the orchestra asked it to leave
}

func (o *orchestra) start(slot string, static bool, inc, killAfter int) (*member, error) {
	p := o.params
	p.Slot, p.Static, p.Incarnation, p.KillAfter = slot, static, inc, killAfter
	if slot != "w0" || inc != 0 {
		p.SlowAt, p.SlowCount, p.SlowLatency = 0, 0, 0
	}
	pr, err := o.cfg.Worker(context.Background(), "lab-worker", p, proc.Options{OnLine: o.event, OnErrLine: o.logLine})
	if err != nil {
		return nil, fmt.Errorf("start worker %s: %w", slot, err)
	}
	m := &member{Process: pr, slot: slot, inc: inc}
	o.members[slot] = m
	return m, nil
}

// event reads a worker's stdout: its Events.
func (o *orchestra) event(line []byte) {
	var e worker.Event
	if json.Unmarshal(line, &e) != nil {
		o.logLine(line)
		return
	}
	o.mu.Lock()
	switch e.Kind {
	case worker.EventSlow:
		o.slowOnce.Do(func() { close(o.slowStarted) })
	case worker.EventFailed:
		o.failures[e.Seq] = append(o.failures[e.Seq], failedDelivery{e.Delivery, e.Permanent})
	case worker.EventKill:
		o.cell.InFlightAtKill = append(o.cell.InFlightAtKill, int(e.InFlight))
	case worker.EventPermanent:
		o.permAttempts[e.Seq]++
	}
	o.mu.Unlock()
	if w := o.cfg.WorkerStderr; w != nil {
		fmt.Fprintln(w, string(line))
	}
}

// logLine counts a worker's log lines of failed commits and lost
// partitions, and passes every line on to WorkerStderr when set.
func (o *orchestra) logLine(b []byte) {
	switch line := string(b); {
	// A share group's acknowledgements are its commits.
	case strings.Contains(line, "commit") && !strings.Contains(line, "record"), strings.Contains(line, "share ack"):
		o.commitFails.Add(1)
	case strings.Contains(line, "partitions lost"):
		o.lostLines.Add(1)
	}
	if w := o.cfg.WorkerStderr; w != nil {
		fmt.Fprintln(w, string(b))
	}
}

// progress is what the orchestra watches.
type progress struct {
	entries   int
	committed int
	caughtUp  bool
}

func (o *orchestra) progress(ctx context.Context, inputEnds map[int32]int64) (progress, error) {
	var p progress
	ends, err := kafka.Ends(ctx, o.adm, o.params.LogTopic)
	if err != nil {
		return p, fmt.Errorf("processed-log %w", err)
	}
	p.entries = int(ends.Sum())
	n, all, err := worker.Acknowledged(ctx, o.client, o.share, o.params.Group, o.params.Topic, inputEnds)
	p.committed, p.caughtUp = int(n), all
	return p, err
}

// startGrace is the least time a worker has, after each (re)start, to show
// its first progress before the cell counts as stalled: a JVM start and a
// group join on a loaded machine are not a stall.
const startGrace = 60 * time.Second

// stallLimit is how long a cell may go without progress: the stall timeout,
// or startGrace when longer until the (re)started worker has moved.
func stallLimit(timeout time.Duration, moved bool) time.Duration {
	if moved {
		return timeout
	}
	return max(timeout, startGrace)
}

// run drives the cell until the group committed the whole input with every
// planned fault done (or impossible), or nothing moved for the stall
// timeout; it always stops every process it started.
func (o *orchestra) run(ctx context.Context) (err error) {
	o.members = map[string]*member{}
	o.slowStarted = make(chan struct{})
	o.permAttempts = map[int64]int{}
	o.failures = map[int64][]failedDelivery{}
	defer func() {
		o.countPermanent()
		if serr := o.stopAll(); err == nil {
			err = serr
		}
	}()
	inputEnds, err := kafka.EndsOf(ctx, o.adm, o.params.Topic)
	if err != nil {
		return fmt.Errorf("input %w", err)
	}
	// w0 is static: a restart takes its partitions back at once.
	w0, err := o.start("w0", true, 0, o.killAfter(0))
	if err != nil {
		return err
	}
	rebalance := o.scen.Has(scenario.Rebalance)
	slow := o.scen.Has(scenario.Slow)
	var last progress
	lastMove := time.Now()
	moved := false // since w0's last (re)start
	stall := func() time.Duration { return stallLimit(o.stall, moved) }
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		p, err := o.progress(ctx, inputEnds)
		if err != nil {
			// Only a lasting failure ends the cell: coordinators move.
			if time.Since(lastMove) > stall() {
				return err
			}
			continue
		}
		if p != last {
			last, lastMove, moved = p, time.Now(), true
		}
		if w0.Exited() {
			if w0, err = o.restartW0(ctx, w0, inputEnds); err != nil {
				return err
			}
			lastMove, moved = time.Now(), false
			continue
		}
		if err := o.checkExits(); err != nil {
			return err
		}
		if rebalance {
			if err := o.rebalance(p.entries); err != nil {
				return err
			}
		}
		select {
		case <-o.slowStarted:
			// s1 joins as w0's stall starts, so the rebalance it causes
			// runs while w0's handlers are slower than its timeout.
			if o.members["s1"] == nil {
				if err := o.join("s1"); err != nil {
					return err
				}
				lastMove = time.Now()
			}
		default:
		}
		if o.over(p, lastMove, stall(), rebalance, slow) {
			return nil
		}
	}
}

// countPermanent adds the permanent failures counted so far to the cell:
// not through the stop, where PC would keep adding attempts as it drains.
func (o *orchestra) countPermanent() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range o.permAttempts {
		o.cell.PermanentRecords++
		o.cell.PermanentAttempts += n
		o.cell.PermanentMaxAttempts = max(o.cell.PermanentMaxAttempts, n)
	}
	o.permAttempts = map[int64]int{}
}

// killAfter is how many processed-log entries past entries the next w0
// writes before its planned crash; 0 when no crash is left.
func (o *orchestra) killAfter(entries int) int {
	crashes := o.cell.CrashPoints
	if o.cell.Crashes >= len(crashes) {
		return 0
	}
	return max(1, crashes[o.cell.Crashes]-entries)
}

// restartW0 starts w0's next incarnation after a planned SIGKILL; w0
// exiting any other way fails the cell.
func (o *orchestra) restartW0(ctx context.Context, w0 *member, inputEnds map[int32]int64) (*member, error) {
	if w0.ExitSignal() != syscall.SIGKILL || o.cell.Crashes >= len(o.cell.CrashPoints) {
		return nil, fmt.Errorf("worker w0#%d exited on its own: %v", w0.inc, w0.Wait())
	}
	o.killTimes = append(o.killTimes, time.Now())
	o.snapshotPC(ctx, fmt.Sprintf("kill %d", o.cell.Crashes+1))
	// The count that fixes the next kill is read after this one.
	p, err := o.progress(ctx, inputEnds)
	if err != nil {
		return nil, err
	}
	o.cell.Crashes++
	return o.start("w0", true, w0.inc+1, o.killAfter(p.entries))
}

// checkExits fails the cell when a worker other than w0 exited with an
// error the orchestra did not ask for.
func (o *orchestra) checkExits() error {
	for _, slot := range []string{"w1", "w2", "s1"} {
		if m := o.members[slot]; m != nil && m.Exited() && m.Wait() != nil && !m.gone {
			return fmt.Errorf("worker %s exited on its own: %v", slot, m.Wait())
		}
	}
	return nil
}

// rebalance runs the rebalance scenario by the processed-log entries: w1
// joins at 20% of the records, w2 at 40%, w1 leaves at 60% (dynamic
// members, so that leaving rebalances at once).
func (o *orchestra) rebalance(entries int) error {
	n := o.cfg.Records
	for i, slot := range []string{"w1", "w2"} {
		if o.members[slot] == nil && entries >= n*2*(i+1)/10 {
			if err := o.join(slot); err != nil {
				return err
			}
		}
	}
	if m := o.members["w1"]; m != nil && !m.gone && entries >= n*6/10 {
		_ = m.Signal(syscall.SIGTERM)
		m.gone = true
		o.cell.Leaves++
	}
	return nil
}

// join starts a dynamic member.
func (o *orchestra) join(slot string) error {
	_, err := o.start(slot, false, 0, 0)
	if err == nil {
		o.cell.Joins++
	}
	return err
}

// over says whether the cell ends: caught up with every fault done or
// impossible, or stalled (marked in the cell).
func (o *orchestra) over(p progress, lastMove time.Time, stall time.Duration, rebalance, slow bool) bool {
	faultsDone := o.cell.Crashes >= len(o.cell.CrashPoints) && (!rebalance || o.cell.Leaves > 0) && (!slow || o.members["s1"] != nil)
	if p.caughtUp && faultsDone {
		return true
	}
	// Faults still planned with nothing left to process cannot happen;
	// waited longer than a frozen worker's settle, so a crash on its way
	// is not mistaken for one.
	settle := worker.Settle
	if o.share {
		settle = worker.ShareSettle
	}
	if p.caughtUp && time.Since(lastMove) > settle+3*time.Second {
		return true
	}
	if time.Since(lastMove) > stall {
		o.cell.Stalled = true
		return true
	}
	return false
}

// stopAll SIGTERMs every live process and waits; one that will not stop is
// killed. Dynamic members go first: a static member does not leave the
// group on close, and a dynamic member leaving after it hung in JoinGroup
// until its session expired.
func (o *orchestra) stopAll() error {
	var errs []error
	for _, static := range []bool{false, true} {
		var batch []*member
		for _, m := range o.members {
			if (m.slot == "w0") == static {
				batch = append(batch, m)
			}
		}
		for _, m := range batch {
			if !m.Exited() {
				_ = m.Signal(syscall.SIGTERM)
			}
		}
		for _, m := range batch {
			select {
			case <-m.Done():
			case <-time.After(30 * time.Second):
				m.Kill()
				errs = append(errs, fmt.Errorf("worker %s ignored SIGTERM for 30s and was killed", m.slot))
			}
		}
	}
	return errors.Join(errs...)
}
