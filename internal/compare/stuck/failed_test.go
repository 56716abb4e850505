package stuck

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel"
)

// A part that fails keeps the parts that completed: here kpar's run
// through completes (the real child on kfake) and its restart's first
// process exits at once. Run returns the Result with the run through's
// figures and the restart marked failed with its reason, and an error
// naming the failed part; the Markdown shows both.
func TestAFailedPartKeepsTheCompletedOnes(t *testing.T) {
	seeds := testkit.Kfake(t)
	var calls atomic.Int32
	c, ctx := testConfig(t, seeds, 2*time.Minute)
	c.Only = []string{"kpar"}
	c.Child = func(ctx context.Context, name string, spec any, o proc.Options) (*proc.Process, error) {
		if calls.Add(1) == 2 { // the restart's first process
			return proc.Start(ctx, name, []string{"sh", "-c", "echo 'no broker today' >&2; exit 3"}, o)
		}
		return testkit.StartChild(ctx, name, spec, o)
	}
	c.Partitions, c.RecordsPerPartition, c.Keys, c.Order = 2, 40, 4, parallel.OrderKey
	c.StuckOffset, c.Concurrency = 5, 8
	c.Poll, c.Settle, c.Drain, c.MaxHold = 50*time.Millisecond, 500*time.Millisecond, time.Minute, time.Minute
	c.SessionTimeout = 6 * time.Second
	r, err := Run(ctx, c)
	if err == nil || !strings.Contains(err.Error(), "window kpar restart") {
		t.Fatalf("Run error = %v, want one naming the kpar restart", err)
	}
	if len(r.Libraries) != 1 {
		t.Fatalf("%d libraries in the Result, want kpar's (a failed part must not discard the library)", len(r.Libraries))
	}
	l := r.Libraries[0]
	if l.Through.Failed != "" || !l.Through.ExactlyOnce || l.Through.HeldPastTotal == 0 || len(l.Through.Samples) == 0 {
		t.Errorf("run through: failed %q, exactly once %v, held %d, %d samples: want its figures kept",
			l.Through.Failed, l.Through.ExactlyOnce, l.Through.HeldPastTotal, len(l.Through.Samples))
	}
	if !strings.Contains(l.Restart.Failed, "exited") || !strings.Contains(l.Restart.Failed, "no broker today") {
		t.Errorf("restart failed = %q, want the process's exit and its stderr", l.Restart.Failed)
	}
	if f := r.Failures(); len(f) != 1 || !strings.HasPrefix(f[0], "kpar restart: ") {
		t.Errorf("Failures = %q, want the kpar restart alone", f)
	}
	md := render.Markdown(Doc(r))
	for _, want := range []string{"| restart: records replayed by the fresh process | failed |", "kpar restart: ", "processed exactly once (run through) | yes"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}
