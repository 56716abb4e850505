package stuck

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// watch samples one consumer process, its processed log and its group.
type watch struct {
	r          *runner
	lib, group string
	p          *consumerProc
	log        *Log
	tail       tail
	t0         time.Time

	committed []int64
	meta      []string
	held      []int
	samples   []Sample
	maxMeta   int

	// plateau bookkeeping: when the held count or the commits last changed
	lastKey    string
	lastChange time.Time
}

func (r *runner) newWatch(lib, group string, p *consumerProc, logPath string) *watch {
	n := len(r.end)
	return &watch{r: r, lib: lib, group: group, p: p, log: NewLog(r.start, r.end), tail: tail{path: logPath},
		t0: p.Started, committed: slices.Repeat([]int64{-1}, n), meta: make([]string, n), held: make([]int, n)}
}

// read feeds what the process appended to its processed log.
func (w *watch) read() error { return w.tail.read(w.log) }

// fetch reads the group's committed offsets and metadata.
func (w *watch) fetch(ctx context.Context) error {
	resps, err := w.r.adm.FetchOffsets(ctx, w.group)
	if kerr.IsRetriable(err) || errors.Is(err, kerr.GroupIDNotFound) {
		return nil // the coordinator is moving or loading, or the group has not joined yet: the next poll reads it
	}
	if err != nil {
		return fmt.Errorf("fetch offsets of group %s: %w", w.group, err)
	}
	for p := range w.committed {
		if o, ok := resps.Lookup(w.r.topic, int32(p)); ok && o.Err == nil && o.At >= 0 {
			w.committed[p], w.meta[p] = o.At, o.Metadata
		}
	}
	return nil
}

// sample takes one sample; stuck says the stuck records were still
// running.
func (w *watch) sample(ctx context.Context, stuck bool) error {
	if err := w.read(); err != nil {
		return err
	}
	if err := w.fetch(ctx); err != nil {
		return err
	}
	w.held = w.log.HeldPast(w.committed)
	s := Sample{T: time.Since(w.t0).Seconds(), Processed: w.log.Distinct(), Completed: -1, HeldPast: sum(w.held),
		Paused: -1, Stuck: stuck}
	for p := range w.committed {
		s.Metadata = max(s.Metadata, len(w.meta[p]))
		s.Committed += max(w.committed[p], 0)
	}
	if pl, ok := w.p.progress(); ok {
		s.Completed = pl.Completed
		if w.lib == "kpar" {
			s.Paused = 0
			for _, pp := range pl.Partitions {
				if pp.Paused {
					s.Paused++
				}
			}
		}
	}
	if stuck {
		w.maxMeta = max(w.maxMeta, s.Metadata)
	}
	if key := fmt.Sprint(s.Processed, w.held, w.committed, w.meta); key != w.lastKey {
		w.lastKey, w.lastChange = key, time.Now()
	}
	w.samples = append(w.samples, s)
	return nil
}

// committedUpTo reports whether the process has processed records and no
// partition has a committed offset past its stuck record. (A partition may
// have none: a library that stopped taking records before it read the
// partition; nor need it be at the stuck record: a library may hold back
// records done before it, Window.DoneNotCommitted counts them.)
func (w *watch) committedUpTo() bool {
	// Not started: nothing can have settled.
	return w.log.Distinct() > 0 && slices.Max(w.committed) <= w.r.c.StuckOffset
}

// stuckDone lists the partitions whose stuck record is in the processed
// log; stalled those the group has not committed to the end.
func (w *watch) stuckDone() []int {
	return w.partitions(func(p int) bool { return w.log.Done(p, w.r.c.StuckOffset) })
}

func (w *watch) stalled() []int {
	return w.partitions(func(p int) bool { return w.committed[p] != w.r.end[p] })
}

func (w *watch) partitions(f func(p int) bool) []int {
	var out []int
	for p := range w.committed {
		if f(p) {
			out = append(out, p)
		}
	}
	return out
}

// released reports whether every stuck record is in the processed log.
func (w *watch) released() bool { return len(w.stuckDone()) == len(w.committed) }

// early is errEarly, naming the partitions, when a stuck record is in the
// processed log while the records are held.
func (w *watch) early() error {
	if ps := w.stuckDone(); len(ps) > 0 {
		return fmt.Errorf("%w: partitions %v, offset %d", errEarly, ps, w.r.c.StuckOffset)
	}
	return nil
}

// window captures the state of w as a Window (at the plateau or now).
func (w *watch) window(plateaued bool) Window {
	win := Window{Group: w.group, Plateaued: plateaued, HeldPast: slices.Clone(w.held),
		HeldPastTotal: sum(w.held), HeldPastMax: maxOf(w.held), Committed: slices.Clone(w.committed),
		MaxMetadataBytes: w.maxMeta, PausedAtPlateau: -1, Samples: w.samples}
	if plateaued {
		win.PlateauS = time.Since(w.t0).Seconds()
	}
	stuck := w.r.c.StuckOffset
	distinct := w.log.each(w.log.done)
	for p := range w.committed {
		room := roomAbove(w.r.c, p, stuck, w.r.end[p])
		win.Room = append(win.Room, room)
		if w.held[p] < room {
			win.Stopped = append(win.Stopped, p)
		}
		win.MetadataBytes = append(win.MetadataBytes, len(w.meta[p]))
		for o := max(w.committed[p], w.r.start[p]); o < stuck; o++ {
			if w.log.Done(p, o) {
				win.DoneNotCommitted++
			}
		}
		if w.held[p] > 0 && w.meta[p] == "" {
			win.NoMap = append(win.NoMap, p)
		}
		if distinct[p] == 0 {
			win.Untouched = append(win.Untouched, p)
		}
	}
	if n := len(w.samples); n > 0 {
		win.PausedAtPlateau = w.samples[n-1].Paused
	}
	return win
}

// untilPlateau samples, the stuck records held, until the plateau (true)
// or MaxHold from the process's start (false). A stuck record in the
// processed log before then (errEarly) or the process exiting is an error.
func (w *watch) untilPlateau(ctx context.Context) (bool, error) {
	tick := time.NewTicker(w.r.c.Poll)
	defer tick.Stop()
	deadline := w.t0.Add(w.r.c.MaxHold)
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-w.p.Done():
			return false, w.p.exitedStuck()
		case <-tick.C:
		}
		if err := w.sample(ctx, true); err != nil {
			return false, err
		}
		if err := w.early(); err != nil {
			return false, err
		}
		if w.committedUpTo() && time.Since(w.lastChange) >= w.r.c.Settle {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
	}
}

// untilReleased samples on after the release until the stuck records
// finish, bounded by Drain.
func (w *watch) untilReleased(ctx context.Context) error {
	for released := time.Now(); !w.released(); {
		if time.Since(released) > w.r.c.Drain {
			return fmt.Errorf("the stuck records were not all processed within %v of their release", w.r.c.Drain)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.p.Done():
			return w.p.exitedStuck()
		case <-time.After(w.r.c.Poll):
		}
		if err := w.sample(ctx, true); err != nil {
			return err
		}
	}
	return nil
}

// finish samples until the group has committed every record, the
// process exited and its last commit was read, or Drain passed; then it
// stops the process and reads the rest of its log. It returns the time
// drained (from w.t0), or 0.
func (w *watch) finish(ctx context.Context) (float64, error) {
	tick := time.NewTicker(w.r.c.Poll)
	defer tick.Stop()
	var drained float64
	for from := time.Now(); ; {
		exited := w.p.Exited()
		if err := w.sample(ctx, !w.released()); err != nil {
			return 0, err
		}
		if len(w.stalled()) == 0 {
			drained = time.Since(w.t0).Seconds()
			break
		}
		if exited {
			if err := w.p.unexpected(); err != nil {
				return 0, err
			}
			break
		}
		if time.Since(from) > w.r.c.Drain {
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
	w.p.Stop(20 * time.Second)
	return drained, w.read()
}
