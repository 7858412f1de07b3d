package load

import "context"

type stopKey struct{}

// WithStop returns a context that carries a "stop scheduling" signal, and the
// function that raises it. Stopping is the first, gentle stage of an
// interrupt: no new request is scheduled, requests in flight finish (bounded
// by their own timeout). Cancelling the context itself is the second stage:
// requests in flight are cancelled and recorded as canceled.
//
// Cancelling the parent also raises the signal, at once (before its cancel
// function returns, for the standard library's contexts), and so does a stop
// signal that the parent already carries: stopping a run stops its stages.
// Raising the signal does not cancel the returned context. Like a
// CancelFunc, stop is idempotent and should be called once the context is no
// longer needed, to release its resources.
func WithStop(parent context.Context) (context.Context, context.CancelFunc) {
	stopCtx, cancel := context.WithCancel(parent)
	stop := cancel
	if outer, ok := parent.Value(stopKey{}).(context.Context); ok {
		unregister := context.AfterFunc(outer, cancel)
		stop = func() {
			unregister()
			cancel()
		}
	}
	return context.WithValue(parent, stopKey{}, stopCtx), stop
}

// Stopped returns a channel closed once scheduling should stop. For a context
// without WithStop it is the context's own Done channel.
func Stopped(ctx context.Context) <-chan struct{} {
	if s, ok := ctx.Value(stopKey{}).(context.Context); ok {
		return s.Done()
	}
	return ctx.Done()
}
