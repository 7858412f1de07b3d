package transfer

import (
	"context"
	"testing"
)

// BenchmarkPush100k pushes a 100,000-request run to a team server over
// loopback, from the local export to the run stored whole on the server
// (issue 14's target: under 10 s). Each iteration pushes to a fresh
// server database.
//
//	go test -run '^$' -bench Push100k -benchtime 1x ./internal/transfer/
func BenchmarkPush100k(b *testing.B) {
	ctx := context.Background()
	src, a := localRun(b, "20260301-120000-0123456789abcdef", 100_000)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ts := startServer(b, nil)
		c := ts.client(b)
		b.StartTimer()
		res, err := c.Push(ctx, src, a.ID)
		if err != nil {
			b.Fatal(err)
		}
		if res.State.Total != 100_000 {
			b.Fatalf("stored %d records", res.State.Total)
		}
	}
}
