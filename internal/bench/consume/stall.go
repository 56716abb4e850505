package consume

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/broker"
)

// stallWatch ends a run whose distinct count stops moving: a broker that
// stops answering leaves a consumer waiting (kgo retries its fetches and
// joins for as long as its context lives), so the run's context is
// cancelled once nothing was handled for the stall timeout.
type stallWatch struct {
	stall   time.Duration
	stalled atomic.Bool
}

// watchStall returns a context cancelled when count has not moved for
// stall (stall 0: never), and the watch that says whether it was.
func watchStall(ctx context.Context, stall time.Duration, count func() int64) (context.Context, *stallWatch, context.CancelFunc) {
	wctx, cancel := context.WithCancel(ctx)
	w := &stallWatch{stall: stall}
	if stall <= 0 {
		return wctx, w, cancel
	}
	go func() {
		tick := time.NewTicker(min(stall/10, time.Second))
		defer tick.Stop()
		last, moved := count(), time.Now()
		for {
			select {
			case <-wctx.Done():
				return
			case now := <-tick.C:
				if c := count(); c != last {
					last, moved = c, now
				} else if now.Sub(moved) >= stall {
					w.stalled.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	return wctx, w, cancel
}

// err is the run's one line when it stalled (nil when it did not): how
// far it got, and whether the brokers answer a metadata request now.
func (w *stallWatch) err(ctx context.Context, run string, got, n int64, seeds []string, opts []kgo.Opt) error {
	if !w.stalled.Load() || ctx.Err() != nil {
		return nil
	}
	why := "though the broker at " + strings.Join(seeds, ",") + " answers"
	if err := broker.Probe(ctx, seeds, 5*time.Second, opts...); err != nil {
		why = fmt.Sprintf("the broker at %s does not answer (%v)", strings.Join(seeds, ","), err)
	}
	return fmt.Errorf("%s: no record handled for %s, %d of %d distinct records: %s (--stall-timeout)", run, w.stall, got, n, why)
}

// closeGrace bounds the wait for a consumer to return once its run was
// interrupted or stalled: its closing commit and group leave wait on the
// broker, which may be the one that stopped answering.
const closeGrace = 3 * time.Second

// waitRun waits for the consumer's Run to return its error (ok true);
// once ctx ends or w fired, at most closeGrace more (ok false).
func waitRun(ctx context.Context, errc <-chan error, w *stallWatch) (err error, ok bool) {
	done := ctx.Done()
	var grace <-chan time.Time
	if ctx.Err() != nil || w.stalled.Load() {
		grace, done = time.After(closeGrace), nil
	}
	for {
		select {
		case err := <-errc:
			return err, true
		case <-done:
			grace, done = time.After(closeGrace), nil
		case <-grace:
			return nil, false
		}
	}
}
