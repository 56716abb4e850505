package downstream

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/render"
)

// A call that finds the downstream full waits in its queue and fails with
// ErrTimeout when it could no longer finish within the timeout.
func TestServiceFailsACallQueuedPastTheTimeout(t *testing.T) {
	s := NewService(1, 300*time.Millisecond, 350*time.Millisecond)
	first := make(chan error, 1)
	go func() { first <- s.Call(context.Background()) }()
	waitBusy(t, s, 1)
	if err := s.Call(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("queued call: %v, want ErrTimeout", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("served call: %v", err)
	}
}

// Raising the capacity serves a waiting call at once.
func TestServiceServesWaitersWhenCapacityGrows(t *testing.T) {
	s := NewService(1, 200*time.Millisecond, time.Hour)
	go s.Call(context.Background())
	waitBusy(t, s, 1)
	done := make(chan error, 1)
	go func() { done <- s.Call(context.Background()) }()
	for {
		s.mu.Lock()
		q := len(s.queue)
		s.mu.Unlock()
		if q == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.SetCapacity(2)
	s.mu.Lock()
	busy := s.busy
	s.mu.Unlock()
	if busy != 2 {
		t.Fatalf("busy %d after SetCapacity(2) with one waiter, want 2", busy)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitBusy(t *testing.T, s *Service, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		b := s.busy
		s.mu.Unlock()
		if b >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("busy %d, want %d", b, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func phases(steadyPerS, steadyP99 float64, steadyErr uint64, halvedPerS, halvedP99 float64, halvedErr uint64) []Phase {
	return []Phase{{Name: "steady", PerS: steadyPerS, P99Ms: steadyP99, Errors: steadyErr},
		{Name: "halved", PerS: halvedPerS, P99Ms: halvedP99, Errors: halvedErr}, {Name: "recovered"}}
}

// The targets follow the data: each flips when its figure crosses the goal.
func TestJudgeFollowsTheFigures(t *testing.T) {
	c := DefaultConfig()
	c.Fixed, c.Capacity, c.Repeat = []int{16, 256}, 128, 2
	r := Result{Contenders: c.Contenders()}
	// Repeat 0: adaptive close to the best in both phases, few errors.
	r.Runs = append(r.Runs,
		ContenderRun{Contender: "fixed-16", Repeat: 0, Phases: phases(1600, 11, 0, 1600, 11, 0)},
		ContenderRun{Contender: "fixed-256", Repeat: 0, Phases: phases(12000, 20, 500, 6000, 48, 9000)},
		ContenderRun{Contender: "adaptive-1-1024", Repeat: 0, Phases: phases(11500, 12, 10, 5800, 13, 5)},
		// Repeat 1: adaptive slow and erring.
		ContenderRun{Contender: "fixed-16", Repeat: 1, Phases: phases(1600, 11, 0, 1600, 11, 0)},
		ContenderRun{Contender: "fixed-256", Repeat: 1, Phases: phases(12000, 20, 500, 6000, 48, 9000)},
		ContenderRun{Contender: "adaptive-1-1024", Repeat: 1, Phases: phases(9000, 40, 400, 3000, 13, 5)},
	)
	r.judge(c)
	want := map[string]string{"steady-throughput": "mixed (1 of 2)", "steady-p99": "mixed (1 of 2)",
		"steady-errors": "mixed (1 of 2)", "halved-throughput": "mixed (1 of 2)", "best-before-suffers": "met"}
	for _, tg := range r.Targets {
		if got := tg.Verdict.Word; got != want[tg.Name] {
			t.Errorf("%s: %s (values %v against %v), want %s", tg.Name, got, tg.Values, tg.Against, want[tg.Name])
		}
	}
	if md := render.Markdown(Doc(r)); !strings.Contains(md, "Steady: most records/s **fixed-256** (12,000/s)") {
		t.Errorf("Markdown does not name the steady winner from the data:\n%s", md)
	}

	// The answer: the adaptive contender's four targets, each with its goal
	// and verdict beside the figures per repeat; the fifth in the body.
	d := Doc(r)
	if len(d.Answer) != 4 {
		t.Fatalf("answer: %+v", d.Answer)
	}
	for _, f := range d.Answer {
		if f.Verdict != "mixed (1 of 2)" || !strings.HasPrefix(f.Target, "adaptive ") {
			t.Errorf("answer finding %+v, want a mixed (1 of 2) verdict on the adaptive contender's goal", f)
		}
	}
	if a := d.Answer[0].Text; a != "In the steady phase adaptive-1-1024 ran at **0.96x, 0.75x** the records/s of the best fixed setting (fixed-256) (per repeat)." {
		t.Errorf("steady throughput: %s", a)
	}
	if f := d.Body[0].Findings[0]; f.Verdict != "met" || !strings.Contains(f.Text, "(fixed-256) had a p99 **2.40x, 2.40x** its steady p99 and 9,000, 9,000 errors") {
		t.Errorf("best before suffers: %+v", f)
	}
	if cs := d.Charts(); len(cs) != 2 || cs[0].Name != "downstream-throughput" || cs[1].Name != "downstream-limit" || len(cs[1].Marks) != 2 {
		t.Errorf("charts: %+v", cs)
	}
}

// Every invalid setting is refused naming its flag.
func TestValidateNamesTheFlag(t *testing.T) {
	for flag, mut := range map[string]func(*Config){
		"--capacity":     func(c *Config) { c.Capacity = 1 },
		"--timeout":      func(c *Config) { c.Timeout = c.BaseLatency },
		"--base-latency": func(c *Config) { c.BaseLatency = 0 },
		"--adaptive-max": func(c *Config) { c.AdaptiveMax = 0 },
		"--fixed":        func(c *Config) { c.Fixed = []int{16, 0} },
		"--rate":         func(c *Config) { c.Rate = -1 },
		"--burst":        func(c *Config) { c.Rate, c.Burst = 100, 0 },
		"--steady":       func(c *Config) { c.Steady = c.Warmup },
		"--halved":       func(c *Config) { c.Halved = c.Settle },
		"--repeat":       func(c *Config) { c.Repeat = 0 },
	} {
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: Validate() = %v, want an error naming it", flag, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}
