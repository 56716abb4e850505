package parallel

import "time"

// Test hooks for limit_test.go (package parallel_test).

// OnLimitUpdate makes f see every limit AdaptiveConcurrency's limiter
// decides at the end of a window. Set it before Run.
func OnLimitUpdate(c *Consumer, f func(limit int)) {
	l := c.limiterForTest()
	l.mu.Lock()
	l.onUpdate = f
	l.mu.Unlock()
}

// OnTokenDue makes f see the due time of every token RateLimit's bucket
// hands out, on the bucket's own clock. Set it before Run.
func OnTokenDue(c *Consumer, f func(due time.Time)) {
	g := c.gate
	if g == nil {
		g = c.batchGate
	}
	g.bucket.mu.Lock()
	g.bucket.due = f
	g.bucket.mu.Unlock()
}

func (c *Consumer) limiterForTest() *limiter {
	if c.gate != nil {
		return c.gate.lim
	}
	return c.batchGate.lim
}
