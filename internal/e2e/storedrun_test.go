package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/store"
)

// storedRun describes a run written straight into a database with the
// store's API (as `flperf run` writes one), for pages that need data the
// simulated engine cannot produce: hostile text, 100,000 records.
type storedRun struct {
	id        string
	models    []string
	scenarios []string
	n         int    // records
	chunks    int    // stream events per ok record
	text      string // generated text of every ok record ("" → lorem)
	engine    bool   // ok records carry the engine's own timings (record.Server)
	// failEvery, when set, gives each model (by index) its failures: the
	// model's every failEvery[m]-th record times out (0: none). Unset:
	// every 50th record of the run does.
	failEvery []int
	sampling  *sampling
	// retryEvery, when set, makes every retryEvery-th ok record one that
	// was sent once more on a new connection (Record.ConnRetries), and the
	// engine block says the run opened a connection per request.
	retryEvery int
	// turns, when set, makes the records the turns of conversations of
	// that many turns per model (Record.Turn), each later turn's input
	// longer by 50 tokens, of which the earlier ones are cached.
	turns int
	// prefix, when set, makes the run a --prefix-cache warm one: records
	// alternate in pairs between the "prefix cold" stage and the "prefix
	// warm" stage, whose records have all but 5 of their input tokens
	// cached.
	prefix bool
	// inputLen makes every record ask for an input length: its own count
	// on the first scenario (hit exactly), 40 on the others (up to 6 off).
	inputLen bool
	// finish, when set, completes the result before it is saved (an
	// engine series, say).
	finish func(res *runner.Result, t0 time.Time)
}

// record builds record seq of the run: streamed, mostly ok, every 50th a
// timeout (or as failEvery says), every 200th a warm-up; latencies vary
// with seq so that distributions have a shape.
func (s storedRun) record(t0 time.Time, seq int) record.Record {
	const ms = time.Millisecond
	sent := t0.Add(time.Duration(seq) * 5 * ms)
	m := seq % len(s.models)
	r := record.Record{
		Seq: int64(seq), Model: s.models[m], Scenario: s.scenarios[(seq/len(s.models))%len(s.scenarios)],
		Worker: seq % 4, Stream: true, MaxTok: 2 * s.chunks, Endpoint: "http://127.0.0.1:1/v1",
		Scheduled: sent, Sent: sent, Status: 200,
		InputTokens: 40 + seq%7, InputSource: record.SourceUsage,
		Warmup: seq%200 == 0,
	}
	if s.turns > 0 {
		r.Turn = (seq/len(s.models))%s.turns + 1
		r.InputTokens += 50 * (r.Turn - 1)
		r.CachedTokens = max(50*(r.Turn-1)-seq%3, 0)
	}
	if s.prefix {
		r.Stage = runner.StagePrefixCold
		if (seq/2)%2 == 1 {
			r.Stage, r.CachedTokens = runner.StagePrefixWarm, r.InputTokens-5
		}
	}
	if s.inputLen {
		r.RequestedInputTokens, r.InputLengthMethod = 40, "calibration"
		if r.Scenario == s.scenarios[0] {
			r.RequestedInputTokens = r.InputTokens
		}
	}
	fail := seq%50 == 49
	if s.failEvery != nil {
		every, round := s.failEvery[m], seq/len(s.models)
		fail = every > 0 && round%every == every-1
	}
	if fail {
		r.Outcome, r.Phase, r.FirstByte, r.End = record.Timeout, record.PhaseFirstToken, 4*ms, 30*time.Second
		r.Error = "timeout after 30s <script>window.__xss=4</script>"
		return r
	}
	ttft := time.Duration(20+20*m)*ms + time.Duration(seq%97)*100*time.Microsecond
	gap := time.Duration(1+m)*ms + time.Duration(seq%13)*20*time.Microsecond
	at := ttft
	r.Chunks = make([]record.Chunk, s.chunks)
	for i := range r.Chunks {
		r.Chunks[i] = record.Chunk{At: at, Tokens: 2, Est: 2}
		at += gap
	}
	last := at - gap
	r.Outcome, r.FirstByte, r.FirstToken, r.FirstAnswer, r.LastToken, r.End = record.OK, ttft-ms, ttft, ttft, last, last+ms
	r.ChunkCount, r.OutputTokens, r.OutputSource, r.EstOutTokens = s.chunks, 2*s.chunks, record.SourceUsage, 2*s.chunks
	r.FinishReason = "length"
	if s.retryEvery > 0 && seq%s.retryEvery == 0 {
		r.ConnRetries = 1
	}
	r.Text = s.text
	if r.Text == "" {
		r.Text = strings.Repeat("lorem ipsum ", 40)
	}
	r.TextBytes = len(r.Text)
	if s.engine {
		prompt, decode, n := float64(ttft-5*ms)/1e6, float64(last-ttft)/1e6, r.OutputTokens-1
		r.Server = &record.ServerTimings{PromptMS: &prompt, DecodeMS: &decode, DecodeTokens: &n}
	}
	return r
}

// write stores the run in the database at path (which the app may have
// open: the store serialises writers) and returns its summary.
func (s storedRun) write(t *testing.T, path string) *runner.Result {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	temp := 0.0
	res := &runner.Result{
		ID:      s.id,
		Tool:    runner.CurrentTool(),
		Started: t0,
		Engine:  engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true, Version: "1", DetectedBy: "e2e test (store)"},
		Config: runner.Config{
			Command:  []string{"flperf", "run", "--engine", "sim"},
			Endpoint: "http://127.0.0.1:1/v1", Models: s.models, Suite: "e2e", Scenarios: s.scenarios,
			Mode: load.Sequential, Concurrency: 1, Requests: s.n, Timeout: runner.Duration(30 * time.Second),
			Temperature: &temp, Stream: true, Seed: 1, CacheBust: true,
		},
		Suite: runner.SuiteInfo{Name: "e2e", Version: "1", Source: "e2e test", Scenarios: s.scenarios},
	}
	if s.prefix {
		res.Config.PrefixTokens, res.Config.PrefixCache = 500, runner.PrefixWarm
	}
	if s.retryEvery > 0 {
		res.Engine.ConnectionReuse = "new connection per request: e2e test"
	}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter(s.id, store.WriterOptions{})
	var agg stats.Aggregator
	tokens := map[[2]string]int{} // output tokens per model × scenario
	for i := range s.n {
		r := s.record(t0, i)
		tokens[[2]string{r.Model, r.Scenario}] += r.OutputTokens
		agg.Add(&r)
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res.Status, res.Ended, res.Records = runner.Completed, t0.Add(time.Duration(s.n)*5*time.Millisecond+time.Second), s.n
	res.Summary = agg.Summary(stats.Options{})
	res.Warnings = []string{fmt.Sprintf("SIMULATED engine: written by the e2e test with %d records", s.n)}
	if s.sampling != nil {
		s.sampling.apply(res, s, t0, tokens)
	}
	if s.finish != nil {
		s.finish(res, t0)
	}
	if err := db.FinishRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	return res
}
