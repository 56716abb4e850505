package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/broker"
)

// defaultStall is --stall-timeout's default: long enough that a broker
// busy under a bench still answers a metadata request in it.
const defaultStall = 30 * time.Second

// addStallTimeout defines --stall-timeout: how long the brokers may not
// answer before the run ends.
func addStallTimeout(fl *pflag.FlagSet, to *time.Duration) {
	fl.DurationVar(to, "stall-timeout", defaultStall, "end the run, naming the brokers, once they have not answered for this long")
}

// checkStall refuses a --stall-timeout that is not more than 0.
func checkStall(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--stall-timeout %s: must be more than 0", d)
	}
	return nil
}

// watchBrokers probes seeds until ctx ends and, once they have not
// answered a metadata request for stall, cancels ctx with an error naming
// them: a broker that stops answering would otherwise leave a run waiting
// (kgo retries its requests for as long as its context lives).
func watchBrokers(ctx context.Context, cancel context.CancelCauseFunc, seeds []string, stall time.Duration, opts []kgo.Opt) {
	every := max(time.Second, min(stall/10, 2*time.Second))
	tick := time.NewTicker(every)
	defer tick.Stop()
	answered := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := broker.Probe(ctx, seeds, every, opts...)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			answered = time.Now()
		case time.Since(answered) >= stall:
			cancel(fmt.Errorf("the broker at %s has not answered for %s (--stall-timeout): %w", strings.Join(seeds, ","), stall.Round(time.Second), err))
			return
		}
	}
}
