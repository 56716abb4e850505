// The member processes of one cell: started, watched, signalled and
// stopped, their output lines merged into one log.

package group

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kpar/kpar/internal/proc"
)

// tailLines is how much of a member's output a failed cell quotes.
const tailLines = 15

// member is one member process (one incarnation of a slot). Signaled:
// the orchestrator SIGKILLed or SIGTERMed it, its exit is expected.
type member struct {
	*proc.Process
	slot string
}

func (p *member) tailText() string {
	if t := p.Tail(tailLines); t != "" {
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
	onLine := func(b []byte) {
		var l Line
		if err := json.Unmarshal(b, &l); err != nil || l.Kind == "" {
			return
		}
		o.add(entry{Slot: slot, Line: l})
	}
	var onErr func([]byte)
	if w := o.cfg.MemberStderr; w != nil {
		onErr = func(b []byte) { fmt.Fprintln(w, string(b)) }
	}
	pr, err := o.cfg.Member(context.Background(), "group-member", mp, proc.Options{OnLine: onLine, OnErrLine: onErr})
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

// owned is each live slot's partitions now, from the log.
func (o *orchestra) owned() map[string]map[string]bool {
	own := map[string]map[string]bool{}
	for _, e := range o.snapshot() {
		switch e.Kind {
		case "assigned":
			if own[e.Slot] == nil {
				own[e.Slot] = map[string]bool{}
			}
			for t, ps := range e.Parts {
				for _, n := range ps {
					own[e.Slot][partKey(t, n)] = true
				}
			}
		case "revoked", "lost":
			for t, ps := range e.Parts {
				for _, n := range ps {
					delete(own[e.Slot], partKey(t, n))
				}
			}
		case "exit":
			delete(own, e.Slot)
		}
	}
	return own
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

// waitUp waits until slot's current process owns a partition.
//
// A restarted static member may have to wait out its old self's session:
// franz-go does not leave the group on close when it has an instance id,
// and a KIP-848 broker refuses the id (UNRELEASED_INSTANCE_ID) until the old
// member's session expired; so the wait is the settle timeout plus the
// protocol's session timeout.
func (o *orchestra) waitUp(ctx context.Context, slot string, since time.Time) error {
	limit := o.cfg.Settle + o.session
	deadline := time.Now().Add(limit)
	for {
		for _, e := range o.snapshot() {
			if e.Slot == slot && e.Kind == "assigned" && e.T >= since.UnixNano() && len(e.Parts) > 0 {
				return nil
			}
		}
		if err := o.unexpected(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			o.mu.Lock()
			p := o.procs[slot]
			o.mu.Unlock()
			return fmt.Errorf("member %s did not come up (no partition within %s); its last output:\n%s", slot, limit, p.tailText())
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitSettled waits until the live members own every partition between
// them, evenly (at most one apart), with no change for a second.
func (o *orchestra) waitSettled(ctx context.Context, partitions []string, members int) error {
	deadline := time.Now().Add(o.cfg.Settle)
	var last string
	since := time.Now()
	for {
		own := o.owned()
		var counts []int
		union := map[string]bool{}
		var keys []string
		for s, ps := range own {
			counts = append(counts, len(ps))
			for p := range ps {
				union[p] = true
				keys = append(keys, s+":"+p)
			}
		}
		slices.Sort(keys)
		state := strings.Join(keys, ",")
		if state != last {
			last, since = state, time.Now()
		}
		even := len(counts) == members && slices.Min(counts) > 0 && slices.Max(counts)-slices.Min(counts) <= 1
		if even && len(union) == len(partitions) && time.Since(since) >= time.Second {
			return nil
		}
		if err := o.unexpected(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			var tails []string
			o.mu.Lock()
			for _, p := range o.procs {
				tails = append(tails, fmt.Sprintf("%s: %s", p.slot, p.tailText()))
			}
			o.mu.Unlock()
			slices.Sort(tails)
			return fmt.Errorf("the group did not settle within %s (%d members own %d of %d partitions); members' last output:\n%s",
				o.cfg.Settle, len(counts), len(union), len(partitions), strings.Join(tails, "\n"))
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// signal sends sig to slot's process and marks its exit as expected.
func (o *orchestra) signal(slot string, sig syscall.Signal) *member {
	o.mu.Lock()
	p := o.procs[slot]
	o.mu.Unlock()
	_ = p.Signal(sig)
	return p
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
	var live []*member
	for _, p := range o.all {
		if !p.Exited() {
			live = append(live, p)
		}
	}
	o.mu.Unlock()
	sig := syscall.SIGTERM
	if ctx.Err() != nil {
		sig = syscall.SIGKILL
	}
	for _, p := range live {
		_ = p.Signal(sig)
	}
	for _, p := range live {
		select {
		case <-p.Done():
		case <-time.After(30 * time.Second):
			p.Kill()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// event performs the membership event on the settled, streaming group.
func (o *orchestra) event(ctx context.Context, event, victim string, mark func(string)) error {
	switch event {
	case "join":
		mark("m3 joins")
		at := time.Now()
		if _, err := o.start("m3"); err != nil {
			return err
		}
		return o.waitUp(ctx, "m3", at)
	case "leave":
		mark(victim + " leaves (SIGTERM)")
		o.signal(victim, syscall.SIGTERM)
	case "kill":
		mark(victim + " is killed (SIGKILL)")
		o.signal(victim, syscall.SIGKILL)
	case "restart-static", "restart-dynamic":
		mark(victim + " restarts")
		p := o.signal(victim, syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(30 * time.Second):
			return fmt.Errorf("member %s ignored SIGTERM for 30 s; its last output:\n%s", victim, p.tailText())
		case <-ctx.Done():
			return ctx.Err()
		}
		at := time.Now()
		if _, err := o.start(victim); err != nil {
			return err
		}
		return o.waitUp(ctx, victim, at)
	default:
		return errors.New("unknown event " + event)
	}
	return nil
}
