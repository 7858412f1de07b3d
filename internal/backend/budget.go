package backend

import (
	"io"
	"sync/atomic"
)

// Buffering limits (README "Memory bounds"). Each response being read holds
// up to freeBuffer bytes of buffers on its own; beyond that its buffers (a
// long line, an event's joined data, a whole non-streaming body) draw on one
// budget shared by every response in flight in the process, so that however
// many streams misbehave at once, together they buffer at most
// DefaultBufferBudget more. A response that needs more than what is left
// fails with a limitError, as one that exceeds its own limits does.
const (
	freeBuffer = 64 << 10
	// DefaultBufferBudget is the buffer memory shared by all responses in
	// flight, beyond their first 64 KiB each (128 MiB).
	DefaultBufferBudget = 128 << 20
)

// budget is buffer memory shared by the responses in flight.
type budget struct{ left atomic.Int64 }

func newBudget(n int64) *budget {
	b := &budget{}
	b.left.Store(n)
	return b
}

// bufferBudget is the process's shared budget.
var bufferBudget = newBudget(DefaultBufferBudget)

// take draws n bytes, or nothing when fewer are left.
func (b *budget) take(n int) bool {
	for {
		left := b.left.Load()
		if int64(n) > left {
			return false
		}
		if b.left.CompareAndSwap(left, left-int64(n)) {
			return true
		}
	}
}

// give returns n bytes.
func (b *budget) give(n int) { b.left.Add(int64(n)) }

// holding is what one response draws on a budget for its buffers.
type holding struct {
	b    *budget
	held int // bytes drawn
}

// resize records that the response's buffers now take total bytes; it
// reports false (changing nothing) when the budget cannot cover them.
func (h *holding) resize(total int) bool {
	want := max(total-freeBuffer, 0)
	switch {
	case want > h.held:
		if !h.b.take(want - h.held) {
			return false
		}
	case want < h.held:
		h.b.give(h.held - want)
	}
	h.held = want
	return true
}

// release returns everything drawn.
func (h *holding) release() { h.resize(0) }

// limitError is a response that outgrew a limit: a failure of that request
// (stream_error), never a read error.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// errBudget is a response whose buffers the shared budget cannot cover.
var errBudget = &limitError{"responses in flight together buffer more than " + byteSize(DefaultBufferBudget) +
	" (a line, event or body this long is not a chat stream)"}

// readWhole reads a complete body of at most limit bytes into a buffer
// drawn on the shared budget; release returns it (call it once the data is
// no longer used). A longer body, or one the budget cannot hold, is a
// limitError.
func readWhole(r io.Reader, limit int) (data []byte, release func(), err error) {
	h := &holding{b: bufferBudget}
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			if len(buf) > limit {
				h.release()
				return nil, func() {}, &limitError{"response larger than " + byteSize(limit)}
			}
			n := min(max(2*cap(buf), 512), limit+1)
			if !h.resize(n) {
				h.release()
				return nil, func() {}, errBudget
			}
			nb := make([]byte, len(buf), n)
			copy(nb, buf)
			buf = nb
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			if len(buf) > limit {
				h.release()
				return nil, func() {}, &limitError{"response larger than " + byteSize(limit)}
			}
			return buf, h.release, nil
		}
		if rerr != nil {
			h.release()
			return nil, func() {}, rerr
		}
	}
}
