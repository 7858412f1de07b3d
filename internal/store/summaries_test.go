package store

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// usesStored reports whether Run would return run id's stored summaries.
func usesStored(t *testing.T, db *DB, id string) bool {
	t.Helper()
	ctx := context.Background()
	tx, err := db.readTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	r, err := db.readRun(ctx, tx, id)
	if err != nil {
		t.Fatal(err)
	}
	_, ok, err := db.storedSummary(ctx, tx, r)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// outputs renders a run as the API and every report format do.
func outputs(t *testing.T, r *runner.Result) map[string]string {
	t.Helper()
	doc, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"api json": string(doc)}
	for name, write := range map[string]func(*bytes.Buffer, *runner.Result) error{
		"report json": func(b *bytes.Buffer, r *runner.Result) error { return report.JSON(b, r) },
		"table":       func(b *bytes.Buffer, r *runner.Result) error { return report.Table(b, r) },
		"csv":         func(b *bytes.Buffer, r *runner.Result) error { return report.CSV(b, r) },
	} {
		var b bytes.Buffer
		if err := write(&b, r); err != nil {
			t.Fatal(err)
		}
		out[name] = b.String()
	}
	return out
}

// sameAsRecomputed checks that Run and RecomputeRun give the same run,
// byte for byte in the API's JSON and in every report format, and returns
// Run's.
func sameAsRecomputed(t *testing.T, db *DB, id string) *runner.Result {
	t.Helper()
	ctx := context.Background()
	got, err := db.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want, err := db.RecomputeRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	g, w := outputs(t, got), outputs(t, want)
	for name := range w {
		if g[name] != w[name] {
			t.Errorf("run %s, %s: Run differs from RecomputeRun:\n got %s\nwant %s", id, name, g[name], w[name])
		}
	}
	return got
}

// completionOrder shuffles recs (in blocks of 8, as concurrent requests
// finish out of order): the order a live run's aggregator sees them in.
func completionOrder(recs []record.Record) []record.Record {
	out := slices.Clone(recs)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < len(out); i += 8 {
		blk := out[i:min(i+8, len(out))]
		rng.Shuffle(len(blk), func(a, b int) { blk[a], blk[b] = blk[b], blk[a] })
	}
	return out
}

// A finished run (completed, interrupted by the user, canceled, failed
// before any request) is read from its stored summaries, which are what
// recomputing gives: the same bytes in the API's JSON and every report,
// whatever summary the runner passed to FinishRun.
func TestStoredSummaryIsTheRecomputation(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var seqs []int64
	for s := int64(0); len(seqs) < 2*blockSeqs+77; s++ {
		if s%5 != 2 {
			seqs = append(seqs, s)
		}
	}
	recs := variedRecords(seqs)
	var oneModel []record.Record
	for _, r := range recs {
		if r.Model == testModels[0] {
			oneModel = append(oneModel, r)
		}
	}
	for _, c := range []struct {
		st   runner.Status
		name string
		recs []record.Record
	}{
		{runner.Completed, "completed", recs}, {runner.Interrupted, "interrupted", recs}, {runner.Canceled, "canceled", recs},
		{"failed", "failed", nil}, {runner.Completed, "one-model", oneModel},
	} {
		st, rs := c.st, c.recs
		t.Run(c.name, func(t *testing.T) {
			id := "run-" + c.name
			res := testResult(id)
			if err := db.BeginRun(ctx, res); err != nil {
				t.Fatal(err)
			}
			w := db.NewRecordWriter(id, WriterOptions{})
			live := completionOrder(rs)
			for i := range live {
				if err := w.Add(&live[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			res.Status, res.Ended, res.Records = st, t0.Add(time.Hour), len(rs)
			res.Summary = liveSummary(t, res, live)
			res.Summary.Total.Requests += 1000 // what FinishRun is given is not what it stores
			res.Warnings = []string{"a warning"}
			if err := db.FinishRun(ctx, res); err != nil {
				t.Fatal(err)
			}
			if !usesStored(t, db, id) {
				t.Fatal("Run does not use the stored summaries of a finished run")
			}
			got := sameAsRecomputed(t, db, id)
			if got.Status != st || got.Records != len(rs) || got.Total.Requests == res.Summary.Total.Requests {
				t.Errorf("status %s, %d records, %d requests", got.Status, got.Records, got.Total.Requests)
			}
			if w := jsonOf(t, summaryOfRecords(t, db, id, got.Config.SLO)); jsonOf(t, got.Summary) != w {
				t.Errorf("stored summary differs from the summary of Records:\n got %s\nwant %s", jsonOf(t, got.Summary), w)
			}
			if st != "failed" && (len(got.Groups) < 4 || got.Total.Goodput == nil) {
				t.Errorf("the test run is too plain: %d groups, goodput %v", len(got.Groups), got.Total.Goodput)
			}
		})
	}
	// The run list's headline figures are the stored (recomputed) ones.
	runs, err := db.Runs(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range runs {
		r, err := db.RecomputeRun(ctx, ri.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ri.Requests == nil || *ri.Requests != r.Total.Requests {
			t.Errorf("run %s: listed with %v requests, recomputed %d", ri.ID, ri.Requests, r.Total.Requests)
		}
	}
}

// A run whose process died (never finished: marked interrupted by the
// next Open) has no stored summaries and is recomputed; so is a finished
// run that got records afterwards, one whose summaries another build
// stored, and one whose stored summary rows are damaged or incomplete.
func TestRunRecomputesWhenTheStoredSummariesCannotBeUsed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flperf.db")
	db, err := Open(ctx, loc(t, path))
	if err != nil {
		t.Fatal(err)
	}
	recs := makeRecords(300, 4)
	// A dead writer: records, no FinishRun, no sign of life for long.
	if err := db.BeginRun(ctx, testResult("dead")); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter("dead", WriterOptions{})
	for i := range recs[:200] {
		w.Add(&recs[i])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.Exec("UPDATE runs SET owner_host = 'elsewhere', heartbeat = 1 WHERE id = 'dead'"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openAt(t, path)
	if got, err := db.Run(ctx, "dead"); err != nil || got.Status != runner.Interrupted || got.Records != 200 ||
		jsonOf(t, got.Summary) != jsonOf(t, summaryOfRecords(t, db, "dead", got.Config.SLO)) {
		t.Fatalf("dead run: %v, %v", got, err)
	}
	if usesStored(t, db, "dead") {
		t.Error("a run marked interrupted at Open has stored summaries to use")
	}

	writeRun(t, db, "later", recs[:200])
	w = db.NewRecordWriter("later", WriterOptions{}) // a stray writer after FinishRun
	for i := range recs[200:] {
		w.Add(&recs[200+i])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if usesStored(t, db, "later") {
		t.Error("the summaries stored before records were added are used")
	}
	if got := sameAsRecomputed(t, db, "later"); got.Records != 300 {
		t.Errorf("%d records", got.Records)
	}

	for name, damage := range map[string]string{
		"another build":  "UPDATE runs SET summary_build = 'flperf v0.0.1 go1.20' WHERE id = ?",
		"no mark":        "UPDATE runs SET summary_records = NULL WHERE id = ?",
		"other count":    "UPDATE runs SET summary_records = summary_records - 1 WHERE id = ?",
		"missing group":  "DELETE FROM summaries WHERE run_id = ? AND kind = 'group' AND ord = 1",
		"missing total":  "DELETE FROM summaries WHERE run_id = ? AND kind = 'total'",
		"damaged json":   "UPDATE summaries SET json = '{\"requests\": \"many\"' WHERE run_id = ? AND kind = 'model'",
		"reordered rows": "UPDATE summaries SET ord = ord + 5 WHERE run_id = ? AND kind = 'group'",
	} {
		id := "damaged-" + strings.ReplaceAll(name, " ", "-")
		writeRun(t, db, id, recs)
		if !usesStored(t, db, id) {
			t.Fatalf("%s: the intact run does not use its stored summaries", name)
		}
		if _, err := db.sql.Exec(damage, id); err != nil {
			t.Fatal(err)
		}
		if usesStored(t, db, id) {
			t.Errorf("%s: the stored summaries are used", name)
		}
		got := sameAsRecomputed(t, db, id)
		if jsonOf(t, got.Summary) != jsonOf(t, liveSummary(t, got, recs)) {
			t.Errorf("%s: Run's summary differs from the records'", name)
		}
	}
}

// An imported run's stored summaries are those of its records in seq
// order, whatever order the archive lists them in; a database at an older
// schema has no mark and always recomputes.
func TestImportAndOldSchemasStoreTheRecomputation(t *testing.T) {
	ctx := context.Background()
	src := openTest(t)
	recs := variedRecords(func() []int64 {
		s := make([]int64, 500)
		for i := range s {
			s[i] = int64(3 * i)
		}
		return s
	}())
	writeRun(t, src, "orig", recs)
	doc, err := src.Export(ctx, "orig")
	if err != nil {
		t.Fatal(err)
	}
	doc.Records = completionOrder(doc.Records)
	dst := openTest(t)
	if err := dst.Import(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if !usesStored(t, dst, "orig") {
		t.Error("an imported run does not use its stored summaries")
	}
	got := sameAsRecomputed(t, dst, "orig")
	if want, err := src.RecomputeRun(ctx, "orig"); err != nil || jsonOf(t, got.Summary) != jsonOf(t, want.Summary) {
		t.Errorf("imported summary differs from the original's: %v", err)
	}

	path := filepath.Join(t.TempDir(), "old.db")
	old, err := open(ctx, loc(t, path), openOptions{target: summarySchema - 1})
	if err != nil {
		t.Fatal(err)
	}
	writeRun(t, old, "old", recs)
	if usesStored(t, old, "old") {
		t.Errorf("a database at schema %d uses stored summaries", summarySchema-1)
	}
	if r, err := old.Run(ctx, "old"); err != nil || jsonOf(t, r.Summary) != jsonOf(t, liveSummary(t, r, recs)) {
		t.Errorf("schema %d: %v", summarySchema-1, err)
	}
	old.Close()
	db := openAt(t, path) // migrated: the summaries stored before have no mark
	if usesStored(t, db, "old") {
		t.Error("summaries stored before the mark existed are used")
	}
	sameAsRecomputed(t, db, "old")
}

// RunWithRecords feeds fn every record, in seq order, exactly when it
// recomputes the summary, and returns what Run returns.
func TestRunWithRecords(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	recs := makeRecords(3*blockSeqs+10, 4)
	writeRun(t, db, "done", recs)
	if _, err := db.sql.Exec("UPDATE runs SET summary_build = 'another' WHERE id = 'done'"); err != nil {
		t.Fatal(err)
	}
	writeRun(t, db, "stored", recs)
	for _, c := range []struct {
		id         string
		recomputed bool
	}{{"done", true}, {"stored", false}} {
		var sent []time.Time
		got, recomputed, err := db.RunWithRecords(ctx, c.id, func(r *record.Record) { sent = append(sent, r.Sent) })
		if err != nil || recomputed != c.recomputed {
			t.Fatalf("%s: recomputed %v, %v; want %v", c.id, recomputed, err, c.recomputed)
		}
		want, err := db.Run(ctx, c.id)
		if err != nil || jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("%s: RunWithRecords differs from Run (%v)", c.id, err)
		}
		if !c.recomputed {
			if len(sent) != 0 {
				t.Errorf("%s: %d records fed with the stored summaries", c.id, len(sent))
			}
			continue
		}
		if len(sent) != len(recs) {
			t.Fatalf("%s: %d records fed, want %d", c.id, len(sent), len(recs))
		}
		for i := range recs {
			if !sent[i].Equal(recs[i].Sent) {
				t.Fatalf("%s: record %d fed out of order", c.id, i)
			}
		}
	}
}

// A summary computed before the write lock is used under it only while no
// record was stored meanwhile.
func TestSummarizeUnderTheLock(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	recs := makeRecords(60, 3)
	if err := db.BeginRun(ctx, testResult("r")); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter("r", WriterOptions{})
	for i := range recs[:40] {
		w.Add(&recs[i])
	}
	poll(t, "the first records", func() bool { return w.Stored() == 40 })
	pre, err := db.summarizeSnapshot(ctx, "r", stats.SLO{})
	if err != nil || pre.n != 40 || !pre.mark.found {
		t.Fatalf("before: %d records, %+v, %v", pre.n, pre.mark, err)
	}
	under := func() computed {
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		c, err := db.summarizeUnder(ctx, tx, "r", stats.SLO{}, pre)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := under(); c.n != 40 || c.mark != pre.mark {
		t.Errorf("nothing stored meanwhile: %d records, mark %+v; want the earlier summary", c.n, c.mark)
	}
	for i := range recs[40:] {
		w.Add(&recs[40+i])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c := under()
	if c.n != 60 || c.mark.records != 60 || jsonOf(t, c.sum) != jsonOf(t, liveSummary(t, &runner.Result{}, recs)) {
		t.Errorf("records stored meanwhile: %d records, mark %+v; want all 60 summarised", c.n, c.mark)
	}
	if missing, err := db.summarizeSnapshot(ctx, "nope", stats.SLO{}); err != nil || missing.mark.found {
		t.Errorf("an unknown run: %+v, %v", missing.mark, err)
	}
}

// TestDevelBuildIsNamedByItsBinary checks that a development build's mark
// carries its executable's hash, so that a rebuilt flperf never trusts the
// summaries an older binary stored.
func TestDevelBuildIsNamedByItsBinary(t *testing.T) {
	id := buildID()
	if !strings.Contains(id, "devel") {
		t.Skipf("not a development build: %q", id)
	}
	h := executableHash()
	if len(h) != 16 || strings.HasPrefix(h, "unread-") || !strings.HasSuffix(id, " "+h) {
		t.Errorf("build id %q, executable hash %q", id, h)
	}
	if executableHash() != h {
		t.Error("the hash of one executable changed")
	}
}
