package parallel

import (
	"sync"
)

// readyQueue is an unbounded FIFO of runnable lanes. Unbounded because
// pushes happen under partition locks and must never block; its length is
// bounded by the records held, which MaxBuffered bounds.
type readyQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	items   []runnable
	head    int
	waiting int
	closed  bool
}

func (q *readyQueue) init() { q.cond.L = &q.mu }

func (q *readyQueue) put(l runnable) {
	q.mu.Lock()
	q.items = append(q.items, l)
	wake := q.waiting > 0
	q.mu.Unlock()
	if wake {
		q.cond.Signal()
	}
}

func (q *readyQueue) putAll(ls []runnable) {
	if len(ls) == 0 {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, ls...)
	wake := min(q.waiting, len(ls))
	all := wake == q.waiting
	q.mu.Unlock()
	if all && wake > 1 {
		q.cond.Broadcast()
		return
	}
	for ; wake > 0; wake-- {
		q.cond.Signal()
	}
}

func (q *readyQueue) get() (runnable, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.waiting++
		q.cond.Wait()
		q.waiting--
	}
	if q.closed {
		return nil, false
	}
	l := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 4096 && q.head > len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return l, true
}

func (q *readyQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
