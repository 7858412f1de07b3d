package store

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/runner"
)

// archiveJSON encodes an archive as `flperf export` does.
func archiveJSON(t *testing.T, a *Archive) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// oddRecords covers what an archive must carry unchanged.
func oddRecords() []record.Record {
	recs := makeRecords(60, 9) // ok, timeouts, HTTP errors, warm-ups, chunks with and without usage
	recs = append(recs,
		record.Record{Seq: 60, Model: "m1", Scenario: "chat", Outcome: record.ConnectError, Phase: record.PhaseConnect,
			Error: "dial tcp 127.0.0.1:1: connection refused"}, // no times at all
		record.Record{Seq: 61, Model: "m1", Scenario: "chat", Stage: "c=4", Sent: t0, Scheduled: t0, End: 900 * msec,
			FirstToken: 100 * msec, LastToken: 100 * msec, OutputTokens: 0, OutputSource: record.SourceEngine,
			Text: "line1\nline2\r\n\t\"quotes\" 'single' \\back\\ <tag> & 日本語 🚀 \u2028", TextBytes: 70,
			Outcome: record.OK, Status: 200, Chunks: []record.Chunk{{At: 100 * msec, Est: 1}}},
		record.Record{Seq: 62, Model: "m2", Scenario: "code", Sent: t0, End: 5 * msec, Outcome: record.Canceled, Attempt: 1},
	)
	return recs
}

func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	a, b := openTest(t), openTest(t)
	writeRun(t, a, "exp", oddRecords())
	if err := a.Event(ctx, "exp", LevelWarn, "multi\nline \"event\""); err != nil {
		t.Fatal(err)
	}
	first, err := a.Export(ctx, "exp")
	if err != nil {
		t.Fatal(err)
	}
	j1 := archiveJSON(t, first)
	var doc Archive
	if err := json.Unmarshal(j1, &doc); err != nil {
		t.Fatal(err)
	}
	if err := b.Import(ctx, &doc); err != nil {
		t.Fatal(err)
	}
	second, err := b.Export(ctx, "exp")
	if err != nil {
		t.Fatal(err)
	}
	if j2 := archiveJSON(t, second); !bytes.Equal(j1, j2) {
		t.Errorf("export → import → export changed the document:\n%s\n---\n%s", j1, j2)
	}
	// The archive is the run document plus the records.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(j1, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "tool", "status", "engine", "config", "suite", "records", "groups", "models", "total", "warnings", "events"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("archive lacks %q", k)
		}
	}
	if len(first.Records) != 63 || first.Result.Records != 63 || len(first.Events) != 1 {
		t.Errorf("%d records (run says %d), %d events", len(first.Records), first.Result.Records, len(first.Events))
	}
	// The records themselves, not just their JSON, survive.
	orig := oddRecords()
	for i := range orig {
		if g, w := jsonOf(t, second.Records[i]), jsonOf(t, orig[i]); g != w {
			t.Errorf("record %d:\n got %s\nwant %s", i, g, w)
		}
	}
	// The imported run lists with its headline figures.
	runs, err := b.Runs(ctx, Filter{})
	if err != nil || len(runs) != 1 || runs[0].Requests == nil || *runs[0].Requests != first.Total.Requests {
		t.Errorf("imported run listing %+v %v", runs, err)
	}
	// Importing it again is refused, and changes nothing.
	err = b.Import(ctx, &doc)
	if err == nil || !strings.Contains(err.Error(), "run exp already exists") {
		t.Errorf("second import: %v", err)
	}
	if n := count(t, b, "SELECT count(*) FROM records"); n != 63 {
		t.Errorf("%d records after the refused import", n)
	}
}

func TestImportRefusesBadDocuments(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	good := func() *Archive {
		return &Archive{Result: runner.Result{ID: "imp", Status: runner.Completed, Started: t0, Config: testResult("x").Config}, Records: makeRecords(5, 2)}
	}
	cases := map[string]func(a *Archive){
		"no id":         func(a *Archive) { a.ID = "" },
		"no status":     func(a *Archive) { a.Status = "" },
		"no start":      func(a *Archive) { a.Started = time.Time{} },
		"duplicate seq": func(a *Archive) { a.Records[3].Seq = 1 },
		"bad time":      func(a *Archive) { a.Records[2].Scheduled = time.Date(1200, 1, 1, 0, 0, 0, 0, time.UTC) },
		"control id":    func(a *Archive) { a.ID = "a\x00b" },
	}
	for name, spoil := range cases {
		a := good()
		spoil(a)
		if err := db.Import(ctx, a); err == nil {
			t.Errorf("%s: imported", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM runs") + count(t, db, "SELECT count(*) FROM records"); n != 0 {
		t.Errorf("refused imports left %d rows", n)
	}
	if err := db.Import(ctx, nil); err == nil {
		t.Error("nil document imported")
	}
	// An archived running run is not live here: it is stored interrupted.
	a := good()
	a.Status = Running
	if err := db.Import(ctx, a); err != nil {
		t.Fatal(err)
	}
	if res, err := db.Run(ctx, "imp"); err != nil || res.Status != runner.Interrupted || res.Records != 5 {
		t.Errorf("imported running run: %v %v", res.Status, err)
	}
}
