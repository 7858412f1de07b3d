package store

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"flperf/internal/result"
)

// TestPushSourceIsExport: a push's header and digest are Export's, also
// for a run whose prompts the engine cut, whose groups carry the
// truncation as a warning (they once did in Export only, so a truncated
// run's push header lacked it).
func TestPushSourceIsExport(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	recs := makeRecords(30, 3)
	res := testResult("trunc")
	const msg = "the engine cut the prompts: 4096 tokens asked, 2048 counted (context window 2048)"
	res.Suite.Truncated = []result.Truncation{{Model: "m1", Scenario: "chat", Requested: 4096, Window: 2048, Message: msg}}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter(res.ID, WriterOptions{})
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	finish(t, db, res, recs)

	a, err := db.Export(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	marked := 0
	for _, g := range a.Groups {
		if slices.Contains(g.Warnings, msg) {
			marked++
			if g.Model != "m1" || g.Scenario != "chat" {
				t.Errorf("group %s / %s carries the truncation warning", g.Model, g.Scenario)
			}
		}
	}
	if marked != 1 {
		t.Fatalf("%d groups carry the truncation warning, want 1 (m1 / chat)", marked)
	}
	src, err := db.ReadPushSource(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	header, err := PushHeader(a)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src.Header, header) {
		t.Errorf("push header differs from Export's:\npush:   %s\nexport: %s", src.Header, header)
	}
	digest, err := ArchiveDigest(a)
	if err != nil {
		t.Fatal(err)
	}
	if src.Digest != digest || src.Records != 30 || src.Status != "completed" {
		t.Errorf("push source = %s, %d records, %s; want %s, 30, completed", src.Digest, src.Records, src.Status, digest)
	}
}
