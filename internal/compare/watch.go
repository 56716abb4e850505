package compare

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/broker"
)

// watchBrokers probes seeds until ctx ends and, once they have not
// answered a metadata request for stall, cancels ctx with an error naming
// them: a broker that stops answering would otherwise leave every
// contender waiting out --timeout, part after part.
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
