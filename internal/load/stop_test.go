package load

import (
	"context"
	"testing"
	"time"
)

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestStoppedWithoutWithStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if Stopped(ctx) != ctx.Done() {
		t.Fatal("Stopped(ctx) is not ctx.Done() for a context without WithStop")
	}
	if Stopped(context.Background()) != nil {
		t.Fatal("Stopped(Background) should never fire (nil channel)")
	}
}

func TestWithStopStopsWithoutCancelling(t *testing.T) {
	ctx, stop := WithStop(context.Background())
	if closed(Stopped(ctx)) {
		t.Fatal("stopped before stop()")
	}
	stop()
	if !closed(Stopped(ctx)) {
		t.Fatal("stop() did not close Stopped")
	}
	if ctx.Err() != nil {
		t.Fatalf("stop() cancelled the context: %v", ctx.Err())
	}
	stop() // idempotent
	// Derived contexts carry the signal.
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	if !closed(Stopped(child)) {
		t.Fatal("a context derived from a stopped one is not stopped")
	}
}

func TestWithStopParentCancel(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, stop := WithStop(parent)
	defer stop()
	cancel()
	// Synchronous: no goroutine hop between cancel and the signal.
	if !closed(Stopped(ctx)) {
		t.Fatal("cancelling the parent did not stop scheduling at once")
	}
	if ctx.Err() == nil {
		t.Fatal("cancelling the parent did not cancel the context")
	}
}

func TestWithStopNested(t *testing.T) {
	run, stopRun := WithStop(context.Background())
	stage, stopStage := WithStop(run)
	other, stopOther := WithStop(run)
	defer stopOther()

	stopStage()
	if !closed(Stopped(stage)) {
		t.Fatal("inner stop did not stop the inner context")
	}
	if closed(Stopped(run)) || closed(Stopped(other)) {
		t.Fatal("inner stop leaked to the outer context or a sibling")
	}

	stopRun()
	if !closed(Stopped(run)) {
		t.Fatal("outer stop did not stop the outer context")
	}
	// context.AfterFunc runs its function in a goroutine: wait for it.
	select {
	case <-Stopped(other):
	case <-time.After(10 * time.Second):
		t.Fatal("outer stop did not reach an inner context")
	}
	if other.Err() != nil {
		t.Fatal("outer stop cancelled an inner context")
	}
}
