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
	r     *runner
	lib   string
	group string
	p     *consumerProc
	log   *Log
	tail  tail
	t0    time.Time

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
	w := &watch{r: r, lib: lib, group: group, p: p, log: NewLog(r.start, r.end), tail: tail{path: logPath},
		t0: p.Started, committed: make([]int64, n), meta: make([]string, n), held: make([]int, n)}
	for i := range w.committed {
		w.committed[i] = -1
	}
	return w
}

// stuckAt is the stuck record of partition p (prepare checked that the
// topic's offsets run from 0 without gaps).
func (r *runner) stuckAt(int) int64 { return r.c.StuckOffset }

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
func (w *watch) sample(ctx context.Context, stuck bool) (Sample, error) {
	if err := w.tail.read(w.log); err != nil {
		return Sample{}, err
	}
	if err := w.fetch(ctx); err != nil {
		return Sample{}, err
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
	key := fmt.Sprint(s.Processed, w.held, w.committed, w.meta)
	if key != w.lastKey {
		w.lastKey, w.lastChange = key, time.Now()
	}
	w.samples = append(w.samples, s)
	return s, nil
}

// committedUpTo reports whether the process has processed records and no
// partition has a committed offset past its stuck record. (A partition may
// have none: a library that stopped taking records before it read the
// partition; nor need it be at the stuck record: a library may hold back
// records done before it, Window.DoneNotCommitted counts them.)
func (w *watch) committedUpTo() bool {
	if w.log.Distinct() == 0 {
		return false // not started: nothing can have settled
	}
	for p := range w.committed {
		if w.committed[p] > w.r.stuckAt(p) {
			return false
		}
	}
	return true
}

// released reports whether every stuck record is in the processed log.
func (w *watch) released() bool {
	for p := range w.committed {
		if !w.log.Done(p, w.r.stuckAt(p)) {
			return false
		}
	}
	return true
}

// drained reports whether the group has committed every record.
func (w *watch) drained() bool {
	for p := range w.committed {
		if w.committed[p] != w.r.end[p] {
			return false
		}
	}
	return true
}

// window captures the state of w as a Window (at the plateau or now).
func (w *watch) window(plateaued bool) Window {
	win := Window{Group: w.group, Plateaued: plateaued, HeldPast: slices.Clone(w.held),
		HeldPastTotal: sum(w.held), HeldPastMax: maxOf(w.held), Committed: slices.Clone(w.committed),
		MaxMetadataBytes: w.maxMeta, PausedAtPlateau: -1, Samples: w.samples}
	if plateaued {
		win.PlateauS = time.Since(w.t0).Seconds()
	}
	for p := range w.committed {
		room := roomAbove(w.r.c, p, w.r.stuckAt(p), w.r.end[p])
		win.Room = append(win.Room, room)
		if w.held[p] < room {
			win.Stopped = append(win.Stopped, p)
		}
		win.MetadataBytes = append(win.MetadataBytes, len(w.meta[p]))
		for o := max(w.committed[p], w.r.start[p]); o < w.r.stuckAt(p); o++ {
			if w.log.Done(p, o) {
				win.DoneNotCommitted++
			}
		}
		if w.held[p] > 0 && w.meta[p] == "" {
			win.NoMap = append(win.NoMap, p)
		}
		if w.log.Partition(p) == 0 {
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
			if err := w.p.unexpected(); err != nil {
				return false, err
			}
			return false, fmt.Errorf("%s exited while its records were stuck", w.p.Name)
		case <-tick.C:
		}
		if _, err := w.sample(ctx, true); err != nil {
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

// early is errEarly, naming the partitions, when a stuck record is in the
// processed log while the records are held.
func (w *watch) early() error {
	var ps []int
	for p := range w.committed {
		if w.log.Done(p, w.r.stuckAt(p)) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return fmt.Errorf("%w: partitions %v, offset %d", errEarly, ps, w.r.c.StuckOffset)
	}
	return nil
}

// untilDrained samples until the group has committed every record, the
// process exited and its last commit was read, or Drain passed since
// from. It returns the time drained (from w.t0), or 0.
func (w *watch) untilDrained(ctx context.Context, from time.Time) (float64, error) {
	tick := time.NewTicker(w.r.c.Poll)
	defer tick.Stop()
	for {
		exited := w.p.Exited()
		if _, err := w.sample(ctx, !w.released()); err != nil {
			return 0, err
		}
		if w.drained() {
			return time.Since(w.t0).Seconds(), nil
		}
		if exited {
			if err := w.p.unexpected(); err != nil {
				return 0, err
			}
			return 0, nil
		}
		if time.Since(from) > w.r.c.Drain {
			return 0, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
}

func (w *watch) stalled() []int {
	var out []int
	for p := range w.committed {
		if w.committed[p] != w.r.end[p] {
			out = append(out, p)
		}
	}
	return out
}
