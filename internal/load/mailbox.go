package load

import (
	"sync"

	"flperf/internal/record"
)

// mailbox is an unbounded FIFO between the goroutines that finish requests
// and the output channel. Putting never blocks, so neither the open-loop
// schedule nor the closed-loop workers ever wait for the consumer; the cost
// of a slow consumer is memory (the records not yet received).
type mailbox struct {
	mu     sync.Mutex
	queue  []record.Record
	closed bool
	wake   chan struct{} // capacity 1: "something changed"
}

func newMailbox() *mailbox { return &mailbox{wake: make(chan struct{}, 1)} }

// put queues a record; it never blocks.
func (m *mailbox) put(r record.Record) {
	m.mu.Lock()
	m.queue = append(m.queue, r)
	m.mu.Unlock()
	m.signal()
}

// close marks that no record will be put any more.
func (m *mailbox) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.signal()
}

func (m *mailbox) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// forward delivers every queued record to out, in the order put, and closes
// out once the mailbox is closed and empty.
func (m *mailbox) forward(out chan<- record.Record) {
	defer close(out)
	for {
		m.mu.Lock()
		batch, closed := m.queue, m.closed
		m.queue = nil
		m.mu.Unlock()
		for i := range batch {
			out <- batch[i]
			batch[i] = record.Record{} // let the consumer's copy be the only one
		}
		if len(batch) == 0 {
			if closed {
				return
			}
			<-m.wake
		}
	}
}
