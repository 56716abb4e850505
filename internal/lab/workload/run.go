package workload

import (
	"context"
	"time"
)

// PickSeed is seed, or when it is 0 one taken from the clock (1..1,000,000):
// a lab run always has a seed its Result and reruns can name.
func PickSeed(seed int64) int64 {
	if seed != 0 {
		return seed
	}
	return time.Now().UnixNano()%1_000_000 + 1
}

// Sleep waits d, or until ctx ends and then returns its error; a d of zero
// or less returns nil at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
