package downstream

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrTimeout is a downstream call that could not finish within the timeout.
var ErrTimeout = errors.New("downstream: timed out in its queue")

// Service is the simulated downstream: capacity calls served at once, each
// for base; the rest wait in FIFO order; a call that cannot be served by
// timeout-base fails, as its caller sees it, at timeout.
type Service struct {
	base, timeout time.Duration

	mu       sync.Mutex
	capacity int
	busy     int
	queue    []chan struct{} // waiters, oldest first; closed when served
}

// NewService is a downstream of the given capacity.
func NewService(capacity int, base, timeout time.Duration) *Service {
	return &Service{capacity: capacity, base: base, timeout: timeout}
}

// SetCapacity changes the calls served at once; calls being served finish.
func (s *Service) SetCapacity(n int) {
	s.mu.Lock()
	s.capacity = n
	s.serve()
	s.mu.Unlock()
}

// serve hands free places to waiters in order (s.mu held).
func (s *Service) serve() {
	for len(s.queue) > 0 && s.busy < s.capacity {
		ch := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.busy++
		close(ch)
	}
}

// Call is one downstream call: nil after base once served, ErrTimeout at
// timeout when not served in time, ctx's error when it ends first.
func (s *Service) Call(ctx context.Context) error {
	start := time.Now()
	s.mu.Lock()
	if s.busy < s.capacity && len(s.queue) == 0 {
		s.busy++
		s.mu.Unlock()
		return s.work(ctx)
	}
	ch := make(chan struct{})
	s.queue = append(s.queue, ch)
	s.mu.Unlock()
	t := time.NewTimer(s.timeout - s.base)
	defer t.Stop()
	select {
	case <-ch:
		return s.work(ctx)
	case <-t.C:
	case <-ctx.Done():
	}
	s.mu.Lock()
	for i, w := range s.queue {
		if w == ch {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			s.mu.Unlock()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			sleep(ctx, s.timeout-time.Since(start))
			return ErrTimeout
		}
	}
	s.mu.Unlock()
	return s.work(ctx) // served just as the wait ended
}

func (s *Service) work(ctx context.Context) error {
	sleep(ctx, s.base)
	s.mu.Lock()
	s.busy--
	s.serve()
	s.mu.Unlock()
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
