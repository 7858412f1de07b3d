package transfer

import (
	"context"
	"testing"

	"flperf/internal/memtest"
)

// TestPushPullMemoryBounded: a push or a pull reads the run from the
// database as it sends it, a chunk at a time: its peak heap is well under
// what holding the run's export takes. What still grows with the run is
// its summary's samples (about 1 KB a record, as for flperf show), which
// the header carries and the receiving store recomputes.
func TestPushPullMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 60,000 records")
	}
	ctx := context.Background()
	src, a := localRun(t, "20260303-000000-0000000000000060", 60_000)
	ts := startServer(t, nil)
	c := ts.client(t)
	dst := openDB(t)
	var err error
	export := memtest.PeakHeap(func() { _, err = src.Export(ctx, a.ID) })
	if err != nil {
		t.Fatal(err)
	}
	source := memtest.PeakHeap(func() { _, err = src.ReadPushSource(ctx, a.ID) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(ctx, src, a.ID); err != nil {
		t.Fatal(err)
	}
	pull := memtest.PeakHeap(func() { _, err = c.Pull(ctx, dst, a.ID) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peak heap growth: export %d MiB; push's reading of the run %d MiB; pull, server and client %d MiB", export>>20, source>>20, pull>>20)
	if source > export*2/3 || pull > export*2/3 {
		t.Errorf("a push reads %d MiB and a pull takes %d MiB at their peak, against %d MiB for holding the export", source>>20, pull>>20, export>>20)
	}
}
