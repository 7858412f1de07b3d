package load

import (
	"context"
	"sync"
)

// slots hands out open-loop slot ids, so that Job.Worker says which of the
// requests in flight a request was. With a cap, the ids are [0, cap), handed
// out in the order they were released, and acquiring waits for a free one.
// Without one, a request takes the smallest free id, so ids stay within
// [0, peak requests in flight).
type slots struct {
	capped chan int // with a cap: the free ids

	mu   sync.Mutex // without a cap
	free []int      // released ids, sorted descending (short: at most the peak in flight)
	next int        // ids handed out so far
}

func newSlots(limit int) *slots {
	s := &slots{}
	if limit > 0 {
		s.capped = make(chan int, limit)
		for i := range limit {
			s.capped <- i
		}
	}
	return s
}

// acquire returns a free slot id, waiting for one under a cap; ok is false if
// scheduling stopped (or ctx ended) first.
func (s *slots) acquire(ctx context.Context, stopped <-chan struct{}) (id int, ok bool) {
	return s.acquireUnless(ctx, stopped, nil)
}

// acquireUnless is acquire, also giving up when halt is closed.
func (s *slots) acquireUnless(ctx context.Context, stopped, halt <-chan struct{}) (id int, ok bool) {
	if s.capped != nil {
		select {
		case id := <-s.capped:
			return id, true
		case <-stopped:
			return 0, false
		case <-halt:
			return 0, false
		case <-ctx.Done():
			return 0, false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		id = s.free[n-1]
		s.free = s.free[:n-1]
		return id, true
	}
	id = s.next
	s.next++
	return id, true
}

// tryAcquire returns a free slot id under a cap without waiting; ok is
// false when all are taken. Without a cap there is always one.
func (s *slots) tryAcquire() (id int, ok bool) {
	if s.capped != nil {
		select {
		case id := <-s.capped:
			return id, true
		default:
			return 0, false
		}
	}
	return s.acquire(context.Background(), nil)
}

// release returns a slot id acquired earlier.
func (s *slots) release(id int) {
	if s.capped != nil {
		s.capped <- id
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keep free sorted descending so that the smallest id is reused first.
	i := len(s.free)
	s.free = append(s.free, id)
	for i > 0 && s.free[i-1] < id {
		s.free[i] = s.free[i-1]
		i--
	}
	s.free[i] = id
}
