package store

import (
	"context"
	"strings"
	"testing"

	"flperf/internal/memtest"
)

// An import file whose records claim 30,000,000 output tokens once cost
// 487 MB on import and on every recompute (one ITL sample per claimed
// token). The claims are now a warned token-source disagreement, records
// claiming huge text too give at most record.MaxEventSamples samples per
// event, and counts that contradict each other are refused, naming the
// field and the record.
func TestImportHostileCounts(t *testing.T) {
	ctx := context.Background()
	src := openTest(t)
	recs := makeRecords(20, 9)
	for _, i := range []int{1, 2} {
		recs[i].OutputTokens = 30_000_000
	}
	recs[3].TextBytes, recs[3].OutputTokens = 1<<40, 1<<40 // possible for such a text: bounded per event
	writeRun(t, src, "hostile", recs)
	doc, err := src.Export(ctx, "hostile")
	if err != nil {
		t.Fatal(err)
	}

	dst := openTest(t)
	peak := memtest.PeakHeap(func() {
		if err := dst.Import(ctx, doc); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := dst.RecomputeRun(ctx, "hostile"); err != nil {
				t.Fatal(err)
			}
		}
	})
	if peak > 50<<20 {
		t.Errorf("import and three recomputations: peak heap growth %d MiB, want < 50", peak>>20)
	}
	t.Logf("peak heap growth %.1f MiB", float64(peak)/(1<<20))
	res, err := dst.RecomputeRun(ctx, "hostile")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, g := range res.Summary.Groups {
		for _, w := range g.Warnings {
			found = found || strings.Contains(w, "more output tokens than their text can hold (largest: usage 30000000")
		}
	}
	if !found {
		t.Error("no group warns about the impossible counts")
	}

	// Counts that contradict each other: refused, naming field and record.
	doc.ID = "contradicts"
	doc.Records[5].EstOutTokens = doc.Records[5].TextBytes + 1
	err = dst.Import(ctx, doc)
	if err == nil || !strings.Contains(err.Error(), "record seq 5") || !strings.Contains(err.Error(), "estimated_output_tokens") {
		t.Errorf("import of a record estimating more tokens than its text bytes: %v", err)
	}
}
