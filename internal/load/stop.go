package load

import "context"

type stopKey struct{}

// WithStop returns a context that carries a "stop scheduling" signal, and the
// function that raises it. Stopping is the first, gentle stage of an
// interrupt: no new request is scheduled, requests in flight finish (bounded
// by their own timeout). Cancelling the context itself is the second stage:
// requests in flight are cancelled and recorded as canceled.
func WithStop(parent context.Context) (context.Context, context.CancelFunc) {
	stopCtx, stop := context.WithCancel(context.Background())
	go func() {
		// Cancelling the parent also stops scheduling.
		select {
		case <-parent.Done():
			stop()
		case <-stopCtx.Done():
		}
	}()
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
