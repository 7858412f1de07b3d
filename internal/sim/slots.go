package sim

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
)

// slots is a FIFO semaphore of generation slots, like the request queues of
// Ollama, llama.cpp and Foundry Local. A limit of 0 means unlimited.
type slots struct {
	limit  int
	queued *atomic.Int64 // the server's count of queued requests

	mu     sync.Mutex
	active int
	queue  list.List // of *waiter, oldest first
}

type waiter struct {
	ready   chan struct{} // closed when the slot is handed over
	granted bool          // guarded by slots.mu
}

// acquire waits for a slot, first come first served. When ctx ends first,
// it leaves the queue (or passes on a slot granted meanwhile) and returns
// ctx's error.
func (s *slots) acquire(ctx context.Context) error {
	if s.limit == 0 {
		return nil
	}
	s.mu.Lock()
	if s.active < s.limit && s.queue.Len() == 0 {
		s.active++
		s.mu.Unlock()
		return nil
	}
	w := &waiter{ready: make(chan struct{})}
	e := s.queue.PushBack(w)
	s.queued.Add(1)
	s.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	if w.granted {
		s.mu.Unlock()
		s.release()
		return ctx.Err()
	}
	s.queue.Remove(e)
	s.queued.Add(-1)
	s.mu.Unlock()
	return ctx.Err()
}

// release frees a slot, handing it straight to the oldest waiter if any.
func (s *slots) release() {
	if s.limit == 0 {
		return
	}
	s.mu.Lock()
	if e := s.queue.Front(); e != nil {
		w := s.queue.Remove(e).(*waiter)
		s.queued.Add(-1)
		w.granted = true
		close(w.ready)
	} else {
		s.active--
	}
	s.mu.Unlock()
}
