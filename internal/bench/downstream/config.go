// Package downstream is `kpar bench downstream`: when does an adaptive
// concurrency limit, a rate limit or a fixed concurrency win against a
// downstream the consumer does not control.
//
// The downstream is simulated in process (Service): Capacity calls are
// served at once, each taking BaseLatency; further calls wait in a FIFO
// queue, and a call that cannot finish within Timeout fails at Timeout.
// The records come from a real broker (never kfake); every contender is a
// parallel consumer on its own group reading the same topic, for one run
// of three phases: steady (Capacity), halved (Capacity/2), recovered
// (Capacity again). Failed calls are retried in place by the library.
//
// The shape: Config (Validate names the flag) -> Run(ctx, Config) ->
// Result (schema Schema/Version) with the targets judged here over the
// repeats (clock.Judge) -> Markdown, Text and charts, which read only the
// Result.
package downstream

import (
	"fmt"
	"math"
	"time"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/flagcheck"

	"github.com/kpar/kpar/parallel"
)

// Contender is one consumer setting.
type Contender struct {
	Name string `json:"name"`
	// Fixed is MaxConcurrency for a fixed contender (0 otherwise).
	Fixed int `json:"fixed,omitempty"`
	// AdaptiveMin, AdaptiveMax: parallel.AdaptiveConcurrency (0: off).
	AdaptiveMin int `json:"adaptive_min,omitempty"`
	AdaptiveMax int `json:"adaptive_max,omitempty"`
	// Rate, Burst: parallel.RateLimit (0: off), with MaxConcurrency Fixed.
	Rate  float64 `json:"rate,omitempty"`
	Burst int     `json:"burst,omitempty"`
}

// Adaptive reports whether c runs AdaptiveConcurrency.
func (c Contender) Adaptive() bool { return c.AdaptiveMax > 0 }

// fixed reports whether c is a fixed contender: neither adaptive nor rate
// limited.
func (c Contender) fixed() bool { return !c.Adaptive() && c.Rate == 0 }

// Config is one downstream bench.
type Config struct {
	TopicPrefix string
	Partitions  int
	Order       parallel.Order

	Capacity    int           // calls the downstream serves at once (steady)
	BaseLatency time.Duration // a call's latency when served at once
	Timeout     time.Duration // a call not done by then fails

	Fixed       []int   // fixed MaxConcurrency contenders
	AdaptiveMin int     // the adaptive contender's AdaptiveConcurrency(min, max)
	AdaptiveMax int     //
	Rate        float64 // the rate contender's RateLimit per second (0: no rate contender)
	Burst       int     // and its burst

	Steady, Halved, Recovered time.Duration // phase lengths
	Warmup                    time.Duration // skipped at the start of the steady phase
	Settle                    time.Duration // skipped after each capacity change (the target: back within 10% in Settle)
	Tick                      time.Duration // timeline resolution

	Attempts int // parallel.Retries: attempts per record in place
	Repeat   int

	env.Env // brokers, client options, command line, progress notes
}

// DefaultConfig: capacity 128 at 10 ms (12,800 calls/s at most), calls past
// 50 ms fail; phases of 15 s.
func DefaultConfig() Config {
	return Config{
		TopicPrefix: "kpar-downstream", Partitions: 12, Order: parallel.OrderNone,
		Capacity: 128, BaseLatency: 10 * time.Millisecond, Timeout: 50 * time.Millisecond,
		Fixed: []int{16, 64, 256, 1024}, AdaptiveMin: 1, AdaptiveMax: 1024,
		Rate: 0, Burst: 0,
		Steady: 15 * time.Second, Halved: 15 * time.Second, Recovered: 10 * time.Second,
		Warmup: 3 * time.Second, Settle: 5 * time.Second, Tick: 250 * time.Millisecond,
		Attempts: 5, Repeat: 1,
	}
}

// Validate checks everything that can be checked without a broker; every
// error names its flag.
func (c Config) Validate() error {
	if err := flagcheck.AtLeast(flagcheck.Int("partitions", c.Partitions, 1), flagcheck.Int("capacity", c.Capacity, 2),
		flagcheck.Int("adaptive-min", c.AdaptiveMin, 1), flagcheck.Int("attempts", c.Attempts, 1), flagcheck.Int("repeat", c.Repeat, 1),
		flagcheck.Int("burst", c.Burst, 0)); err != nil {
		return err
	}
	switch {
	case c.AdaptiveMax < c.AdaptiveMin:
		return fmt.Errorf("--adaptive-max %d: must be at least --adaptive-min %d", c.AdaptiveMax, c.AdaptiveMin)
	case c.BaseLatency <= 0:
		return fmt.Errorf("--base-latency %s: must be more than 0", c.BaseLatency)
	case c.Timeout <= c.BaseLatency:
		return fmt.Errorf("--timeout %s: must be more than --base-latency %s (a call served at once must succeed)", c.Timeout, c.BaseLatency)
	case len(c.Fixed) == 0:
		return fmt.Errorf("--fixed: at least one fixed concurrency is needed (the targets compare against the best)")
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("--rate %v: must be 0 (no rate contender) or a positive number", c.Rate)
	case c.Rate > 0 && c.Burst < 1:
		return fmt.Errorf("--burst %d: must be at least 1 with --rate", c.Burst)
	case c.Tick <= 0:
		return fmt.Errorf("--tick %s: must be more than 0", c.Tick)
	case c.Warmup < 0 || c.Settle < 0:
		return fmt.Errorf("--warmup %s / --settle %s: must not be negative", c.Warmup, c.Settle)
	case c.Steady <= c.Warmup:
		return fmt.Errorf("--steady %s: must be longer than --warmup %s", c.Steady, c.Warmup)
	case c.Halved <= c.Settle:
		return fmt.Errorf("--halved %s: must be longer than --settle %s", c.Halved, c.Settle)
	case c.Recovered <= c.Settle:
		return fmt.Errorf("--recovered %s: must be longer than --settle %s", c.Recovered, c.Settle)
	}
	for _, f := range c.Fixed {
		if f < 1 {
			return fmt.Errorf("--fixed %d: every fixed concurrency must be at least 1", f)
		}
	}
	return nil
}

// Contenders are the settings run, in order: the fixed ones, adaptive, rate.
func (c Config) Contenders() []Contender {
	var cs []Contender
	for _, f := range c.Fixed {
		cs = append(cs, Contender{Name: fmt.Sprintf("fixed-%d", f), Fixed: f})
	}
	cs = append(cs, Contender{Name: fmt.Sprintf("adaptive-%d-%d", c.AdaptiveMin, c.AdaptiveMax),
		Fixed: c.AdaptiveMax, AdaptiveMin: c.AdaptiveMin, AdaptiveMax: c.AdaptiveMax})
	if c.Rate > 0 {
		cs = append(cs, Contender{Name: fmt.Sprintf("rate-%.0f", c.Rate), Fixed: c.AdaptiveMax, Rate: c.Rate, Burst: c.Burst})
	}
	return cs
}

// total is one contender's run.
func (c Config) total() time.Duration { return c.Steady + c.Halved + c.Recovered }

// records the topic must hold: the most any contender can take in a run
// (capacity / base latency for its length), and a fifth more.
func (c Config) records() int64 {
	perS := float64(c.Capacity) / c.BaseLatency.Seconds()
	return int64(math.Ceil(perS * c.total().Seconds() * 1.2))
}
