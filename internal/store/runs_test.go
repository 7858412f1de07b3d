package store

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

func TestRecordFieldsRoundTrip(t *testing.T) {
	db := openTest(t)
	recs := makeRecords(30, 12)
	// Every field set to something unusual.
	recs = append(recs, record.Record{
		Seq: 30, Model: "модель/ü", Scenario: "multi\nline \"scenario\"", Stage: "c=8", Worker: 7, Warmup: true, Stream: false,
		MaxTok: 0, Attempt: 2, Endpoint: "http://127.0.0.1:9/v1",
		Scheduled: time.Unix(0, 1).UTC(), Sent: time.Date(2261, 1, 1, 0, 0, 0, 999, time.UTC),
		FirstByte: -5, FirstToken: math.MaxInt64, FirstAnswer: 1, LastToken: math.MinInt64, End: 3,
		Chunks:     []record.Chunk{{At: math.MaxInt64, Tokens: -1, Est: math.MinInt64}, {At: math.MinInt64, Tokens: math.MaxInt64, Est: 0}, {At: 0}},
		ChunkCount: -1, ReasonChunk: 5, InputTokens: 0, InputSource: "weird", OutputTokens: 0, OutputSource: record.SourceNone,
		EngineOutTokens: math.MaxInt64, EstOutTokens: -9, CachedTokens: 12, Status: 599, FinishReason: "tool_calls",
		Outcome: "bogus", Phase: record.PhaseStream, Error: "e\x00rr", Text: "nul\x00byte and \xff invalid utf-8 \U0001F600", TextBytes: 1 << 40,
	})
	writeRun(t, db, "r1", recs)
	var got []record.Record
	if err := db.Records(context.Background(), "r1", func(r *record.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("got %d records, want %d", len(got), len(recs))
	}
	if onPostgres { // PostgreSQL text holds no NUL byte nor invalid UTF-8: U+FFFD
		last := &recs[len(recs)-1]
		last.Error, last.Text = "e\uFFFDrr", "nul\uFFFDbyte and \uFFFD invalid utf-8 \U0001F600"
	}
	for i := range recs {
		if !reflect.DeepEqual(got[i], recs[i]) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], recs[i])
		}
	}
}

func TestZerosStayZerosNullsStayNulls(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	// An ok non-streamed response with no output tokens: OutputTokens 0 is a
	// count (0), FirstToken 0 is "did not happen".
	r := record.Record{Seq: 0, Model: "m", Scenario: "s", Sent: t0, Scheduled: t0, End: 80 * msec,
		OutputTokens: 0, OutputSource: record.SourceUsage, InputTokens: 0, InputSource: record.SourceUsage,
		Outcome: record.OK, Status: 200}
	res := testResult("zero")
	res.Config.SLOSpec = ""
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter("zero", WriterOptions{})
	if err := w.Add(&r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	finish(t, db, res, []record.Record{r})
	var out, ft, fb, chunks string
	var outV int64
	q := `SELECT typeof(output_tokens), output_tokens, typeof(first_token_ns), typeof(first_byte_ns), typeof(chunks) FROM records WHERE run_id = 'zero'`
	if onPostgres {
		q = `SELECT CASE WHEN output_tokens IS NULL THEN 'null' ELSE 'integer' END, output_tokens,
			CASE WHEN first_token_ns IS NULL THEN 'null' ELSE 'integer' END, CASE WHEN first_byte_ns IS NULL THEN 'null' ELSE 'integer' END,
			CASE WHEN chunks IS NULL THEN 'null' ELSE 'blob' END FROM records WHERE run_id = 'zero'`
	}
	if err := db.sql.QueryRow(q).
		Scan(&out, &outV, &ft, &fb, &chunks); err != nil {
		t.Fatal(err)
	}
	if out != "integer" || outV != 0 || ft != "null" || fb != "null" || chunks != "null" {
		t.Errorf("stored output_tokens %s %d, first_token %s, first_byte %s, chunks %s; want integer 0, null, null, null", out, outV, ft, fb, chunks)
	}
	var got []record.Record
	if err := db.Records(ctx, "zero", func(x *record.Record) error { got = append(got, *x); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], r) {
		t.Fatalf("round trip: %+v, want %+v", got, r)
	}
	if _, ok := got[0].TTFT(); ok || got[0].OutputTokens != 0 || got[0].OutputSource != record.SourceUsage {
		t.Errorf("round trip changed meaning: TTFT known %v, output %d from %q", ok, got[0].OutputTokens, got[0].OutputSource)
	}
	// The stored summary: error rate 0 is 0, and the TTFT median of a run
	// without TTFT samples is null, not 0.
	var typ string
	q = `SELECT typeof(error_rate) FROM summaries WHERE run_id = 'zero' AND kind = 'total'`
	if onPostgres {
		q = `SELECT CASE WHEN error_rate IS NULL THEN 'null' ELSE 'real' END FROM summaries WHERE run_id = 'zero' AND kind = 'total'`
	}
	if err := db.sql.QueryRow(q).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	runs, err := db.Runs(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	ri := runs[0]
	if typ != "real" || ri.ErrorRate == nil || *ri.ErrorRate != 0 {
		t.Errorf("error rate stored as %s, read %v; want real 0", typ, ri.ErrorRate)
	}
	if ri.TTFTP50 != nil || ri.DecodeP50 != nil {
		t.Errorf("TTFT p50 %v, decode p50 %v; want nil (no samples)", ri.TTFTP50, ri.DecodeP50)
	}
	if ri.Requests == nil || *ri.Requests != 1 || ri.OK == nil || *ri.OK != 1 || ri.OutputTokensPerS == nil || *ri.OutputTokensPerS != 0 {
		t.Errorf("headline: requests %v ok %v out tok/s %v", ri.Requests, ri.OK, ri.OutputTokensPerS)
	}
}

func TestRunRecomputesTheLiveSummary(t *testing.T) {
	db := openTest(t)
	recs := makeRecords(400, 30)
	res := writeRun(t, db, "live", recs)
	got, err := db.Run(context.Background(), "live")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := jsonOf(t, got.Summary), jsonOf(t, res.Summary); g != w {
		t.Errorf("recomputed summary differs from the live one:\n got %s\nwant %s", g, w)
	}
	if got.Summary.Total.Goodput == nil || got.Config.SLO.TTFT != 500*msec {
		t.Errorf("the run's SLO was not applied: goodput %v, SLO %+v", got.Summary.Total.Goodput, got.Config.SLO)
	}
	if got.Status != runner.Completed || got.Records != 400 || !got.Started.Equal(t0) || !got.Ended.Equal(t0.Add(time.Hour)) {
		t.Errorf("metadata: status %s records %d started %v ended %v", got.Status, got.Records, got.Started, got.Ended)
	}
	if !slices.Equal(got.Warnings, res.Warnings) || !reflect.DeepEqual(got.Engine, res.Engine) || got.Suite.Name != "default" || *got.Config.Temperature != 0 {
		t.Errorf("metadata: warnings %q engine %+v suite %+v", got.Warnings, got.Engine, got.Suite)
	}
	if g, w := jsonOf(t, got.Config), jsonOf(t, res.Config); g != w {
		t.Errorf("config:\n got %s\nwant %s", g, w)
	}
}

func TestFinishRunNotesUnsavedRecords(t *testing.T) {
	db := openTest(t)
	res := writeRun(t, db, "short", makeRecords(10, 2))
	res.Records = 12 // the run produced more than reached the database
	if err := db.FinishRun(context.Background(), res); err != nil {
		t.Fatal(err)
	}
	got, err := db.Run(context.Background(), "short")
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != 10 || !strings.Contains(strings.Join(got.Warnings, "\n"), "only 10 of the run's 12 request records were saved") {
		t.Errorf("records %d, warnings %q", got.Records, got.Warnings)
	}
	if err := db.FinishRun(context.Background(), testResult("missing")); err == nil {
		t.Error("FinishRun without a status succeeded")
	}
	missing := testResult("missing")
	missing.Status = runner.Completed
	if err := db.FinishRun(context.Background(), missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishRun of an unknown run: %v, want ErrNotFound", err)
	}
}

func TestRunsListsNewestFirstAndFilters(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mk := func(id string, started time.Time, models []string, kind engine.Kind, suite string, status runner.Status) {
		res := testResult(id)
		res.Started, res.Config.Models, res.Engine.Kind, res.Suite.Name = started, models, kind, suite
		if err := db.BeginRun(ctx, res); err != nil {
			t.Fatal(err)
		}
		if status != Running {
			res.Status, res.Ended = status, started.Add(time.Minute)
			if err := db.FinishRun(ctx, res); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("a", t0, []string{"llama", "qwen"}, engine.Ollama, "default", runner.Completed)
	mk("b", t0.Add(time.Hour), []string{"qwen"}, engine.Sim, "coding", runner.Interrupted)
	mk("c", t0.Add(2*time.Hour), []string{"phi"}, engine.Ollama, "default", Running)
	ids := func(f Filter) []string {
		runs, err := db.Runs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		f    Filter
		want []string
	}{
		{Filter{}, []string{"c", "b", "a"}},
		{Filter{Limit: 2}, []string{"c", "b"}},
		{Filter{Model: "qwen"}, []string{"b", "a"}},
		{Filter{Model: "qwe"}, nil},
		{Filter{Engine: "ollama"}, []string{"c", "a"}},
		{Filter{Suite: "coding"}, []string{"b"}},
		{Filter{Status: "running"}, []string{"c"}},
		{Filter{Status: "completed", Engine: "ollama"}, []string{"a"}},
	} {
		if got := ids(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.f, got, c.want)
		}
	}
	runs, _ := db.Runs(ctx, Filter{Model: "phi"})
	if r := runs[0]; r.Status != Running || r.Ended != nil || r.Requests != nil || r.ErrorRate != nil || !slices.Equal(r.Models, []string{"phi"}) || r.Suite != "default" {
		t.Errorf("running run: %+v", r)
	}
	runs, _ = db.Runs(ctx, Filter{Suite: "coding"})
	if r := runs[0]; r.Ended == nil || !r.Ended.Equal(t0.Add(time.Hour+time.Minute)) || r.Engine.Kind != engine.Sim || r.Requests == nil || *r.Requests != 0 {
		t.Errorf("finished run: %+v", r)
	}
}

func TestResolve(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for _, id := range []string{"20250301-120000-aaaaaa", "20250301-120000-aabbbb", "20250302-090000-cccccc", "2025"} {
		if err := db.BeginRun(ctx, testResult(id)); err != nil {
			t.Fatal(err)
		}
	}
	for prefix, want := range map[string]string{
		"20250302":               "20250302-090000-cccccc",
		"20250301-120000-aab":    "20250301-120000-aabbbb",
		"20250301-120000-aaaaaa": "20250301-120000-aaaaaa",
		"2025":                   "2025", // an exact id wins over the ids it prefixes
	} {
		if got, err := db.Resolve(ctx, prefix); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", prefix, got, err, want)
		}
	}
	_, err := db.Resolve(ctx, "20250301-120000-a")
	var amb *AmbiguousError
	if !errors.As(err, &amb) || !slices.Equal(amb.Candidates, []string{"20250301-120000-aaaaaa", "20250301-120000-aabbbb"}) ||
		!strings.Contains(err.Error(), "20250301-120000-aaaaaa, 20250301-120000-aabbbb") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	for _, p := range []string{"2024", "x", "20250301-120000-aaaaaaa", "%", "_"} {
		if _, err := db.Resolve(ctx, p); !errors.Is(err, ErrNotFound) {
			t.Errorf("Resolve(%q): %v, want ErrNotFound", p, err)
		}
	}
	if _, err := db.Resolve(ctx, ""); err == nil {
		t.Error("Resolve of an empty prefix succeeded")
	}
	if _, err := db.Run(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run of an unknown id: %v", err)
	}
	if err := db.Records(ctx, "nope", func(*record.Record) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Records of an unknown id: %v", err)
	}
}

func TestBeginRunRefusesDuplicatesAndBadIDs(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.BeginRun(ctx, testResult("x")); err != nil {
		t.Fatal(err)
	}
	if err := db.BeginRun(ctx, testResult("x")); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate id: %v", err)
	}
	for _, id := range []string{"", "a\nb", strings.Repeat("x", 200), "\xff"} {
		if err := db.BeginRun(ctx, testResult(id)); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
}

func TestEvents(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.BeginRun(ctx, testResult("e")); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", maxMessageLen)
	for _, e := range [][2]string{{"info", "model m1, scenario chat"}, {"", "no level"}, {"warn", long}} {
		if err := db.Event(ctx, "e", e[0], e[1]); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := db.Events(ctx, "e")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Message != "model m1, scenario chat" || evs[1].Level != "info" || evs[2].Level != "warn" {
		t.Fatalf("events %+v", evs)
	}
	if m := evs[2].Message; len(m) > maxMessageLen+len("…") || !strings.HasSuffix(m, "…") || !strings.HasPrefix(m, "éé") {
		t.Errorf("long message kept %d bytes", len(m))
	}
	if evs[0].At.IsZero() || evs[2].At.Before(evs[0].At) {
		t.Errorf("event times %v %v", evs[0].At, evs[2].At)
	}
	if err := db.Event(ctx, "nope", "info", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("event of an unknown run: %v", err)
	}
	if err := db.Event(ctx, "e", strings.Repeat("l", 40), "x"); err == nil {
		t.Error("a 40-byte level was accepted")
	}
}

// The SLO of a stored run whose spec cannot be parsed: no goodput, a warning.
func TestRunWithUnreadableSLO(t *testing.T) {
	db := openTest(t)
	res := testResult("slo")
	res.Config.SLOSpec = "ttft=fast"
	if err := db.BeginRun(context.Background(), res); err != nil {
		t.Fatal(err)
	}
	got, err := db.Run(context.Background(), "slo")
	if err != nil {
		t.Fatal(err)
	}
	if got.Total.Goodput != nil || !strings.Contains(strings.Join(got.Warnings, " "), `stored SLO "ttft=fast" cannot be read`) {
		t.Errorf("goodput %v warnings %q", got.Total.Goodput, got.Warnings)
	}
	var _ stats.SLO = got.Config.SLO
}
