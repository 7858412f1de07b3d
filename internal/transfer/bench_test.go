package transfer

import (
	"context"
	"testing"
	"time"
)

// BenchmarkPush100k pushes a 100,000-request run to a team server over
// loopback, from the local export to the run stored whole on the server
// (issue 14's target: under 10 s). Each iteration pushes to a fresh
// server database. It also reports the CPU time client and server used
// together (cpu-s/op), which a busy machine does not inflate as it does
// the wall time.
//
//	go test -run '^$' -bench Push100k -benchtime 1x ./internal/transfer/
func BenchmarkPush100k(b *testing.B) {
	ctx := context.Background()
	src, a := localRun(b, "20260301-120000-0123456789abcdef", 100_000)
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		b.StopTimer()
		ts := startServer(b, nil)
		c := ts.client(b)
		c0, _ := processCPU()
		b.StartTimer()
		res, err := c.Push(ctx, src, a.ID)
		b.StopTimer()
		c1, ok := processCPU()
		if ok {
			cpu += c1 - c0
		}
		b.StartTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.State.Total != 100_000 {
			b.Fatalf("stored %d records", res.State.Total)
		}
	}
	if cpu > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	}
}

// BenchmarkPull100k pulls a stored 100,000-request run from a team
// server over loopback into a fresh local database.
//
//	go test -run '^$' -bench Pull100k -benchtime 1x ./internal/transfer/
func BenchmarkPull100k(b *testing.B) {
	ctx := context.Background()
	src, a := localRun(b, "20260301-120000-fedcba9876543210", 100_000)
	ts := startServer(b, nil)
	c := ts.client(b)
	if _, err := c.Push(ctx, src, a.ID); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		b.StopTimer()
		dst := openDB(b)
		c0, _ := processCPU()
		b.StartTimer()
		res, err := c.Pull(ctx, dst, a.ID)
		b.StopTimer()
		if c1, ok := processCPU(); ok {
			cpu += c1 - c0
		}
		b.StartTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.State.Total != 100_000 {
			b.Fatalf("pulled %d records", res.State.Total)
		}
	}
	if cpu > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	}
}
