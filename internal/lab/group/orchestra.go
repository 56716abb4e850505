// The member processes of one cell: started, watched, signalled and
// stopped, their output lines merged into one log.

package group

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/proc"
)

// member is one member process (one incarnation of a slot).
type member struct {
	*proc.Process
	slot string
}

// tailText is how much of a member's output a failed cell quotes.
func (p *member) tailText() string {
	if t := p.Tail(15); t != "" {
		return t
	}
	return "(no output)"
}

// orchestra runs one cell's processes and collects their lines.
type orchestra struct {
	cfg     Config
	params  MemberParams
	session time.Duration // the group's session timeout

	mu      sync.Mutex
	entries []entry
	procs   map[string]*member // the slot's current incarnation
	all     []*member
}

func (o *orchestra) add(e entry) {
	o.mu.Lock()
	o.entries = append(o.entries, e)
	o.mu.Unlock()
}

func (o *orchestra) start(slot string) (*member, error) {
	mp := o.params
	mp.Slot = slot
	opts := proc.Options{OnLine: func(b []byte) {
		var l Line
		if err := json.Unmarshal(b, &l); err == nil && l.Kind != "" {
			o.add(entry{Slot: slot, Line: l})
		}
	}}
	if w := o.cfg.MemberStderr; w != nil {
		opts.OnErrLine = func(b []byte) { fmt.Fprintln(w, string(b)) }
	}
	pr, err := o.cfg.Member(context.Background(), "group-member", mp, opts)
	if err != nil {
		return nil, fmt.Errorf("start member %s: %w", slot, err)
	}
	p := &member{Process: pr, slot: slot}
	go func() {
		<-p.Done()
		o.add(entry{Slot: slot, Line: Line{T: time.Now().UnixNano(), Kind: "exit"}})
	}()
	o.mu.Lock()
	o.procs[slot] = p
	o.all = append(o.all, p)
	o.mu.Unlock()
	return p, nil
}

// snapshot returns the log so far, sorted by time.
func (o *orchestra) snapshot() []entry {
	o.mu.Lock()
	es := slices.Clone(o.entries)
	o.mu.Unlock()
	sort.SliceStable(es, func(i, j int) bool { return es[i].T < es[j].T })
	return es
}

// current is the slot's current process.
func (o *orchestra) current(slot string) *member {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.procs[slot]
}

// unexpected names a member that exited without being asked to.
func (o *orchestra) unexpected() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range o.all {
		if p.Exited() && !p.Signaled() {
			return fmt.Errorf("member %s exited on its own (%v); its last output:\n%s", p.slot, p.Wait(), p.tailText())
		}
	}
	return nil
}

// until checks done every 50 ms until it holds; a member that exited on its
// own, ctx's end or the limit (late's error) end the wait first.
func (o *orchestra) until(ctx context.Context, limit time.Duration, done func() bool, late func() error) error {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var err error
	switch {
	case labrun.Until(wctx, 50*time.Millisecond, func() bool { err = o.unexpected(); return err != nil || done() }):
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return late()
}

// waitUp waits until slot's current process owns a partition.
//
// A restarted static member may have to wait out its old self's session:
// franz-go does not leave the group on close when it has an instance id,
// and a KIP-848 broker refuses the id (UNRELEASED_INSTANCE_ID) until the old
// member's session expired; so the wait is the settle timeout plus the
// protocol's session timeout.
func (o *orchestra) waitUp(ctx context.Context, slot string, since time.Time) error {
	limit := o.cfg.Settle + o.session
	return o.until(ctx, limit, func() bool {
		return slices.ContainsFunc(o.snapshot(), func(e entry) bool {
			return e.Slot == slot && e.Kind == "assigned" && e.T >= since.UnixNano() && len(e.Parts) > 0
		})
	}, func() error {
		return fmt.Errorf("member %s did not come up (no partition within %s); its last output:\n%s", slot, limit, o.current(slot).tailText())
	})
}

// waitSettled waits until the live members own every partition between
// them, evenly (at most one apart), with no change for a second.
func (o *orchestra) waitSettled(ctx context.Context, partitions []string, members int) error {
	var last string
	var owners, owned int
	since := time.Now()
	return o.until(ctx, o.cfg.Settle, func() bool {
		counts, union := map[string]int{}, map[string]bool{}
		var keys []string
		for _, s := range (window{entries: o.snapshot(), drained: math.MaxInt64}).ownership() {
			if s.to == math.MaxInt64 { // owned now
				counts[s.slot]++
				union[s.part] = true
				keys = append(keys, s.slot+":"+s.part)
			}
		}
		slices.Sort(keys)
		if state := strings.Join(keys, ","); state != last {
			last, since = state, time.Now()
		}
		owners, owned = len(counts), len(union)
		n := slices.Collect(maps.Values(counts))
		even := len(n) == members && slices.Max(n)-slices.Min(n) <= 1
		return even && owned == len(partitions) && time.Since(since) >= time.Second
	}, func() error {
		var tails []string
		o.mu.Lock()
		for _, p := range o.procs {
			tails = append(tails, fmt.Sprintf("%s: %s", p.slot, p.tailText()))
		}
		o.mu.Unlock()
		slices.Sort(tails)
		return fmt.Errorf("the group did not settle within %s (%d members own %d of %d partitions); members' last output:\n%s",
			o.cfg.Settle, owners, owned, len(partitions), strings.Join(tails, "\n"))
	})
}

// waitProduced waits for the stream's producer, at most the drain timeout
// (its records' delivery timeout) and never past ctx: a broker that stopped
// answering ends the cell with one line naming the brokers.
func (o *orchestra) waitProduced(ctx context.Context, produced <-chan error) error {
	select {
	case err := <-produced:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.cfg.Drain + 5*time.Second):
		return fmt.Errorf("the stream's records were not acknowledged within %s: the brokers at %s stopped answering",
			o.cfg.Drain, strings.Join(o.cfg.Brokers, ","))
	}
}

// stopAll SIGTERMs every live member together (dynamic members leave and
// commit; static ones commit and keep their place), SIGKILLing any that has
// not exited after 30 s, or at once when ctx was cancelled (stopped by
// SIGINT/SIGTERM: nothing is measured any more).
func (o *orchestra) stopAll(ctx context.Context) {
	o.mu.Lock()
	live := slices.DeleteFunc(slices.Clone(o.all), (*member).Exited)
	o.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range live {
		if ctx.Err() != nil {
			p.Kill()
			continue
		}
		wg.Go(func() { p.Stop(30 * time.Second) })
	}
	wg.Wait()
}

// event performs the membership event on the settled, streaming group.
func (o *orchestra) event(ctx context.Context, event, victim string, mark func(string)) error {
	switch event {
	case "join":
		mark("m3 joins")
		victim = "m3"
	case "leave":
		mark(victim + " leaves (SIGTERM)")
		_ = o.current(victim).Signal(syscall.SIGTERM)
		return nil
	case "kill":
		mark(victim + " is killed (SIGKILL)")
		_ = o.current(victim).Signal(syscall.SIGKILL)
		return nil
	case "restart-static", "restart-dynamic":
		mark(victim + " restarts")
		p := o.current(victim)
		_ = p.Signal(syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(30 * time.Second):
			return fmt.Errorf("member %s ignored SIGTERM for 30 s; its last output:\n%s", victim, p.tailText())
		case <-ctx.Done():
			return ctx.Err()
		}
	default:
		return errors.New("unknown event " + event)
	}
	at := time.Now()
	if _, err := o.start(victim); err != nil {
		return err
	}
	return o.waitUp(ctx, victim, at)
}
