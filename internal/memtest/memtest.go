// Package memtest measures a function's peak heap for the tests that bound
// flperf's memory against hostile input (README "Memory bounds"): hostile
// engines in internal/backend, hostile import files in internal/store.
package memtest

import (
	"runtime"
	"runtime/metrics"
	"time"
)

// PeakHeap runs fn while sampling the heap's object bytes (live and not yet
// collected) every millisecond, and returns the peak growth over the heap
// before fn, after a collection.
func PeakHeap(fn func()) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(s); return s[0].Value.Uint64() }
	base := read()
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		peak := base
		for {
			peak = max(peak, read())
			select {
			case <-stop:
				done <- max(peak, read())
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	return max(<-done, base) - base
}
