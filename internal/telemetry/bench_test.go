package telemetry

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkTick measures one sampling tick on this machine: system CPU
// times, memory, this process's CPU and RSS, and RAPL where readable; no
// GPU. It reports the share of one core the tick costs at the default
// 250 ms interval.
func BenchmarkTick(b *testing.B) {
	s, err := Start(context.Background(), Options{Interval: time.Hour, PID: int32(os.Getpid()), GPU: GPUOff})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Stop()
	ctx := context.Background()
	s.tick(ctx, false) // warm up; the loop goroutine never ticks at 1 h
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.tick(ctx, false)
	}
	b.StopTimer()
	perTick := float64(b.Elapsed()) / float64(b.N)
	b.ReportMetric(perTick/float64(DefaultInterval)*100, "%core@250ms")
	s.samples = s.samples[:0]
}
