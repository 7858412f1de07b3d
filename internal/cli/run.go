package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"flperf/internal/bench"
	"flperf/internal/dataset"
	"flperf/internal/engine"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/store"
	"flperf/internal/transfer"
)

// runFlags are the flags of `flperf run`, a documented stable set.
type runFlags struct {
	endpoint, engineKind, apiKey    string
	models, scenarios               listFlag
	suite                           string
	requests                        int
	concurrency, rate               levelsFlag
	sweep                           string
	maxInFlight, warmup, maxTok     int
	duration, timeout               time.Duration
	arrival                         string
	onFull, oversaturation          string
	temperature                     optFloat
	noStream, noCacheBust           bool
	prefixTokens                    int
	prefixCache                     string
	noProgress, noSave              bool
	ollamaNative, cold, fixedOutput bool
	db                              string
	slo, format, out                string
	seed                            string
	retries                         int
	sampleInterval                  string
	enginePID                       int
	metricsListen, metricsToken     string
	dataset, datasetFilter          string
	inputTokens                     string
	datasetSample                   int
	profile                         string
	contextSweep                    string
	force                           bool
	push, pushToken                 string // flperf run only: the team server to push to (push.go)
	pushInsecure                    bool
}

// runEnv lists the flags that an FLPERF_* variable may set.
var runEnv = map[string]bool{"db": true, "endpoint": true, "engine": true, "api-key": true, "model": true, "suite": true,
	"requests": true, "concurrency": true, "timeout": true, "max-tokens": true, "temperature": true, "seed": true, "format": true, "metrics-token": true}

func newRunFlagSet(f *runFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&f.endpoint, "endpoint", "", "OpenAI-compatible base `URL` (e.g. http://127.0.0.1:11434/v1); empty: detect a local engine, else use the simulated one")
	fs.StringVar(&f.engineKind, "engine", "auto", "engine `kind`: auto, sim (built-in simulated engine), foundry, ollama, llamacpp, vllm, sglang, lmstudio, openai")
	fs.StringVar(&f.apiKey, "api-key", "", "API `key` sent as a Bearer token (never stored or printed)")
	fs.Var(&f.models, "model", "model `id` to benchmark; repeat (or comma-separate) to compare several, one after another")
	fs.StringVar(&f.suite, "suite", "default", "built-in or saved suite `name` (saved: next to the database, e.g. by the app's suite editor), or path to a suite .json file")
	fs.Var(&f.scenarios, "scenario", "scenario `name` or unique prefix to run; repeatable (default: all)")
	fs.IntVar(&f.requests, "requests", 0, "measured requests per model × scenario (default: the suite's default_config.iterations, else 5; 0 with --duration: unbounded)")
	fs.DurationVar(&f.duration, "duration", 0, "bound each model × scenario by time instead of (or as well as) --requests")
	f.concurrency = levelsFlag{vals: []float64{1}, integer: true}
	fs.Var(&f.concurrency, "concurrency", "closed loop: `N` requests in flight at all times; a list (1,2,4,8) sweeps: each level is a stage of every model × scenario")
	fs.Var(&f.rate, "rate", "open loop: `R` requests per second (see --arrival, --max-in-flight); a list (0.5,1,2,4) sweeps: each level is a stage")
	fs.StringVar(&f.sweep, "sweep", "", "sweep a load range, doubling: concurrency=1..64 or rate=0.5..8 (each level a stage of every model × scenario)")
	fs.StringVar(&f.arrival, "arrival", "constant", "open-loop arrivals: constant or poisson (seeded)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", 0, "open loop: cap on requests in flight; waiting time shows in queue-inclusive metrics")
	fs.StringVar(&f.onFull, "on-full", "queue", "open loop with --max-in-flight: an arrival that finds no free slot waits (queue) or is dropped and counted (drop)")
	fs.StringVar(&f.oversaturation, "oversaturation", "on", "open loop: stop a stage early once the engine falls behind (in flight and TTFT growing steadily); off, or options window=20s,min_arrivals=40,growth=0.1,confidence=0.99,sustain=5s")
	fs.IntVar(&f.warmup, "warmup", 1, "warm-up requests per model, recorded but never summarised")
	fs.DurationVar(&f.timeout, "timeout", 0, "per-request deadline (default: the suite's default_config.timeout, else 60s)")
	fs.IntVar(&f.maxTok, "max-tokens", 0, "override every scenario's max_tokens")
	fs.Var(&f.temperature, "temperature", "override every scenario's temperature (0 is sent as 0)")
	fs.BoolVar(&f.noStream, "no-stream", false, "non-streaming requests (no TTFT, TPOT or ITL)")
	fs.StringVar(&f.slo, "slo", "", "service-level objectives for goodput, e.g. ttft=500ms,tpot=50ms,e2e=10s")
	fs.IntVar(&f.retries, "retries", 0, "retry a transient failure (HTTP 429/503, connection refused or reset, timeout before the first byte) up to `N` times, with seeded backoff honouring Retry-After; every attempt is a record (0: never)")
	fs.StringVar(&f.seed, "seed", "", "seed for schedules and prompt nonces (default: random, printed so the run can be repeated)")
	fs.BoolVar(&f.noCacheBust, "no-cache-bust", false, "send prompts exactly as written (no per-request nonce; prefix caches may then serve repeats)")
	fs.IntVar(&f.prefixTokens, "prefix-tokens", 0, "put a shared prefix of about `N` tokens before every prompt (0: none)")
	fs.StringVar(&f.prefixCache, "prefix-cache", "cold", "with --prefix-tokens: cold (the nonce before the prefix: every request prefills it) or warm (a cold stage, then a warm stage that primes the engine's prefix cache and shares the prefix; TTFT and cached-token share side by side)")
	fs.StringVar(&f.format, "format", "table", "output `format`: table, json, csv, jsonl (one line per request record) or markdown (GitHub tables for a pull request)")
	fs.StringVar(&f.out, "out", "", "write the output to `FILE` instead of standard output")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no live progress line on a terminal")
	fs.StringVar(&f.db, "db", "", "save the run in this SQLite database `file` (default: the user's data directory)")
	fs.BoolVar(&f.noSave, "no-save", false, "do not save the run in the database")
	fs.StringVar(&f.dataset, "dataset", "", "benchmark the prompts of a JSONL or ShareGPT JSON dataset `file` instead of a suite: one scenario whose requests take successive entries (README: Datasets)")
	fs.StringVar(&f.inputTokens, "input-tokens", "", "prompts of an exact length in the model's own tokens, chat template included: `N`, MEAN:STDDEV (normal, seeded) or uniform:A-B; alone, one generated scenario; with --suite or --scenario, it replaces their prompts (README: Input lengths)")
	fs.IntVar(&f.datasetSample, "dataset-sample", 0, "draw `N` dataset entries without replacement with the run's seed (0: every entry, in file order)")
	fs.StringVar(&f.datasetFilter, "dataset-filter", "", "keep dataset entries of a length in estimated tokens, e.g. input=..512,output=16..")
	fs.StringVar(&f.contextSweep, "context-sweep", "", "context scaling: one stage per input `length` in tokens, e.g. 128,512,2k,8k,32k (k = 1024), in place of the suite; lengths beyond a model's context window are skipped (README: Context sweep)")
	fs.BoolVar(&f.force, "force", false, "send the scenarios (and sweep lengths) that the context check would skip because they cannot fit the model's context window")
	fs.BoolVar(&f.cold, "cold", false, "cold start: unload and reload each model before its first request, and report the load time and that first request apart from the warm figures")
	fs.BoolVar(&f.fixedOutput, "fixed-output", false, "ask the engine for exactly max_tokens output tokens (ignore_eos on llama.cpp, with min_tokens on vLLM/SGLang), so decode rates compare at equal lengths; warned as unsupported on Ollama, Foundry Local, LM Studio and generic servers")
	fs.BoolVar(&f.ollamaNative, "ollama-native", false, "on Ollama, measure its native /api/chat (exact eval_count) instead of the OpenAI route")
	fs.StringVar(&f.sampleInterval, "sample-interval", "250ms", "sample CPU, memory, GPU and power every `interval` during the run, in the background; off: no sampling")
	fs.IntVar(&f.enginePID, "engine-pid", 0, "the serving process whose CPU and memory are sampled (default: the one listening on a local endpoint's port)")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve this run's live figures for Prometheus at http://`ADDR`/metrics while it runs (a port alone: loopback; beyond loopback needs --metrics-token)")
	fs.StringVar(&f.metricsToken, "metrics-token", "", "access `token` (16 characters or more) that --metrics-listen requires as Authorization: Bearer")
	return fs
}

func runCmd(ctx context.Context, env *Env, args []string) int {
	var f runFlags
	fs := newRunFlagSet(&f)
	fs.StringVar(&f.profile, "profile", "", "run a fixed, versioned `workload` whose figures compare across machines and score against a reference: standard (its newest version, standard/2), standard/1, or a variant like standard@sustain=10m; it takes no workload flag (README: For teams)")
	fs.StringVar(&f.push, "push", "", "when the run has ended (finished or interrupted), push it to the team server at `URL` (as flperf push does); the local copy stays")
	fs.StringVar(&f.pushToken, "push-token", "", "the team server's access `token` for --push (default: FLPERF_TOKEN)")
	fs.BoolVar(&f.pushInsecure, "push-insecure", false, "--push may send the token over plain http to a host beyond loopback (anyone on the way can read it)")
	fs.Usage = func() {
		fmt.Fprint(env.Stdout, "Usage: flperf run [flags]\n\nBenchmarks each --model over the suite's scenarios, one model after another.\n\nFlags:\n")
		printDefaults(env.Stdout, fs, runEnv)
	}
	src, err := parseFlags(fs, env, args, runEnv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitUsage
	}

	var prof *bench.ProfileRun
	var rs *bench.Resolved
	if src.cmdline["profile"] {
		prof, err = buildProfile(env, &f, src)
		if prof != nil {
			rs = prof.Resolved
		}
	} else {
		rs, err = buildConfig(&f, src)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitUsage
	}
	metricsAddr, err := metricsListenAddr(f.metricsListen, f.metricsToken)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitUsage
	}
	var pushTo *transfer.Client // checked before anything is sent
	if f.push != "" {
		if f.noSave {
			fmt.Fprintf(env.Stderr, "flperf run: --push sends the saved run: drop --no-save\n")
			return ExitUsage
		}
		token := f.pushToken
		if token == "" {
			token = env.Getenv("FLPERF_TOKEN")
		}
		if pushTo, err = teamClient(env, f.push, token, f.pushInsecure); err != nil {
			fmt.Fprintf(env.Stderr, "flperf run: --push: %v\n", err)
			return ExitUsage
		}
	}

	// The database and the output are opened before anything is sent: a
	// run that cannot be saved or written is refused, never silently lost.
	var db *store.DB
	if !f.noSave {
		if db, err = openDB(ctx, f.db); err != nil {
			fmt.Fprintf(env.Stderr, "flperf run: %v (or pass --no-save)\n", err)
			return ExitFailure
		}
		defer db.Close()
	}
	out, err := openOutput(env, f.out)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitFailure
	}
	metrics, err := startRunMetrics(env, metricsAddr, f.metricsToken)
	if err != nil {
		out.abort()
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitFailure
	}
	defer metrics.close()

	logf := stderrLog(env)
	eng, cleanup, err := bench.Choose(ctx, bench.Choice{Endpoint: f.endpoint, Kind: f.engineKind, APIKey: f.apiKey}, logf)
	if err != nil {
		out.abort()
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitFailure
	}
	defer cleanup()
	r, err := bench.Prepare(ctx, rs, eng, logf)
	if err != nil {
		out.abort()
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		var p bench.Problems
		if errors.As(err, &p) {
			return ExitUsage
		}
		return ExitFailure
	}
	cfg := &r.Config

	if f.format == "jsonl" {
		r.Sinks = append(r.Sinks, report.NewJSONL(out))
	}
	r.ID = runner.NewID(time.Now())
	// Store writes must outlive a second Ctrl-C: what ran is kept.
	sctx := context.WithoutCancel(ctx)
	if db != nil {
		begin := &runner.Result{ID: r.ID, Tool: runner.CurrentTool(), Status: "running", Started: time.Now(),
			Engine: r.Engine, Config: *cfg, Suite: runner.NewSuiteInfo(r.Suite, r.Scenarios)}
		if err := db.BeginRun(sctx, begin); err != nil {
			out.abort()
			fmt.Fprintf(env.Stderr, "flperf run: saving the run: %v (or pass --no-save)\n", err)
			return ExitFailure
		}
		r.Sinks = append(r.Sinks, db.NewRecordWriter(r.ID, store.WriterOptions{}))
	}
	// Warnings during the run (a model reloaded, an interrupt) go to stderr
	// as they happen, and everything to the run's event log.
	// The live display goes to stderr, only on a terminal (liveWanted):
	// a bar per stage with its running figures, redrawn in place.
	var live *liveDisplay
	r.Log = func(level, msg string) {
		if level == "warn" || level == "error" {
			if live != nil {
				live.println("flperf: " + msg)
			} else {
				fmt.Fprintf(env.Stderr, "flperf: %s\n", msg)
			}
		}
		if db != nil {
			_ = db.Event(sctx, r.ID, level, msg)
		}
	}
	if prof != nil {
		fmt.Fprintf(env.Stderr, "flperf: running profile %s on %s for %s (%d stages per model, seed %d)\n",
			prof.Def.ID(), r.Engine.Label(), strings.Join(cfg.Models, ", "), len(prof.Def.Stages), cfg.Seed)
	} else {
		fmt.Fprintf(env.Stderr, "flperf: benchmarking %s on %s (%d scenarios, %s, seed %d)\n",
			strings.Join(cfg.Models, ", "), r.Engine.Label(), len(r.Scenarios), cfg.Plan().String(), cfg.Seed)
	}
	if liveWanted(env, f.noProgress, f.format == "jsonl" && f.out == "") {
		live = newLiveDisplay(env.Stderr, cfg.Plan())
		r.Sinks = append(r.Sinks, live)
		r.Progress = live.progress
		liveNotice.Store(live)
	}
	metrics.attach(r)
	var res *runner.Result
	var runErr error
	if prof != nil {
		res, runErr = bench.RunProfile(ctx, prof, r)
	} else {
		res, runErr = r.Run(ctx)
	}
	if res != nil {
		metrics.ended(res.Status)
	}
	metrics.close() // the listener lives as long as the run
	if live != nil {
		liveNotice.Store(nil)
		live.finish()
	}
	if res == nil {
		out.abort()
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", runErr)
		return ExitFailure
	}
	var serr error
	if db != nil {
		if serr = db.FinishRun(sctx, res); serr == nil {
			fmt.Fprintf(env.Stderr, "flperf: run %s saved in %s, %s (flperf show %s)\n", res.ID, db.Path(), res.Status, res.ID)
		} else {
			// The database shows it interrupted from its next reading on
			// (store.MarkStale): the report says the same.
			res.Status = runner.Interrupted
			res.Warnings = append(res.Warnings, fmt.Sprintf("the run could not be saved as it ended (%v): the database holds it as interrupted, with the records saved before.", serr))
			serr = fmt.Errorf("saving the run: %w (the database holds it as interrupted)", serr)
		}
	}
	var werr error
	switch f.format {
	case "table":
		werr = report.Table(out, res)
		if werr == nil && res.Config.Profile != nil {
			werr = profileTable(out, res.Config.Profile)
		}
	case "json":
		werr = report.JSON(out, res)
	case "csv":
		werr = report.CSV(out, res)
	case "markdown":
		werr = report.Markdown(out, res)
	}
	cerr := out.commit()
	var perr error
	if pushTo != nil && db != nil { // a failed push says how to retry; the run stays saved
		perr = pushRun(ctx, env, env.Stderr, pushTo, db, res.ID, !f.noProgress) // stdout holds the report
	}
	if err := errors.Join(runErr, serr, werr, cerr); err != nil {
		fmt.Fprintf(env.Stderr, "flperf run: writing results: %v\n", err)
		return ExitFailure
	}
	if perr != nil {
		return ExitFailure
	}
	if f.out != "" {
		fmt.Fprintf(env.Stderr, "flperf: run %s %s; %s written to %s\n", res.ID, res.Status, f.format, f.out)
	}
	if p := res.Config.Profile; p != nil {
		for i := range p.Models {
			fmt.Fprintf(env.Stderr, "flperf: %s\n", bench.ProfileLine(p, &p.Models[i]))
		}
	}
	if res.Status != runner.Completed {
		return ExitInterrupted
	}
	return ExitOK
}

// stderrLog prints bench's messages as "flperf: MESSAGE" lines on stderr.
func stderrLog(env *Env) bench.Logf {
	return func(_, msg string) { fmt.Fprintf(env.Stderr, "flperf: %s\n", msg) }
}

// flagName names a bench.Spec field by its flag.
func flagName(field string) string {
	switch field {
	case "models":
		return "--model"
	case "scenarios":
		return "--scenario"
	case "stream":
		return "--no-stream"
	case "cache_bust":
		return "--no-cache-bust"
	}
	return "--" + strings.ReplaceAll(field, "_", "-")
}

// buildConfig turns the flags into a bench.Spec, validates it and reports
// every problem at once.
func buildConfig(f *runFlags, src flagSources) (*bench.Resolved, error) {
	s, errs := buildSpec(f, src)
	rs, err := s.Validate(bench.Check{Name: flagName, Dataset: dataset.Load, Suite: savedSuites(f.db).Resolve})
	if err := errors.Join(append([]error{err}, errs...)...); err != nil {
		return nil, err
	}
	return rs, nil
}

// buildSpec turns the flags into a bench.Spec, with the problems found in
// the flags themselves (the Spec's own are Validate's).
func buildSpec(f *runFlags, src flagSources) (bench.Spec, []error) {
	set := src.given
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	stream, cacheBust, warmup := !f.noStream, !f.noCacheBust, f.warmup
	s := bench.Spec{Models: f.models, Suite: f.suite, Scenarios: f.scenarios, MaxTokens: f.maxTok, SLO: f.slo,
		Stream: &stream, CacheBust: &cacheBust, Warmup: &warmup, Cold: f.cold, OllamaNative: f.ollamaNative,
		FixedOutput: f.fixedOutput, PrefixTokens: f.prefixTokens, PrefixCache: f.prefixCache, Dataset: f.dataset, DatasetSample: f.datasetSample, DatasetFilter: f.datasetFilter,
		InputTokens: f.inputTokens}
	if (f.dataset != "" || f.inputTokens != "" || f.contextSweep != "") && !set("suite") {
		s.Suite = "" // the dataset, the generated input-length scenario or the context sweep replaces the default suite
	}
	s.ContextSweep, s.Force = f.contextSweep, f.force
	if set("sample-interval") {
		s.SampleInterval = f.sampleInterval
	}
	if set("engine-pid") {
		s.EnginePID = &f.enginePID
	}
	if set("requests") {
		s.Requests = &f.requests
	}
	if set("duration") {
		s.Duration = f.duration.String()
	}
	if set("timeout") {
		s.Timeout = f.timeout.String()
	}
	if f.temperature.set {
		s.Temperature = &f.temperature.v
	}
	// A load mode on the command line beats another one from the environment.
	rate, conc := set("rate"), set("concurrency")
	if rate && conc && src.cmdline["rate"] != src.cmdline["concurrency"] {
		rate, conc = src.cmdline["rate"], src.cmdline["concurrency"]
	}
	if rate {
		if vs := f.rate.vals; len(vs) == 1 {
			s.Rate = &vs[0]
		} else {
			s.RateList = vs
		}
	}
	if conc {
		if vs := f.concurrency.ints(); len(vs) == 1 {
			s.Concurrency = &vs[0]
		} else {
			s.ConcurrencyList = vs
		}
	}
	if set("sweep") {
		s.Sweep = f.sweep
	}
	if set("max-in-flight") {
		s.MaxInFlight = &f.maxInFlight
	}
	if set("retries") {
		s.Retries = &f.retries
	}
	if set("arrival") {
		s.Arrival = f.arrival
	}
	if set("on-full") {
		s.OnFull = f.onFull
	}
	if set("oversaturation") {
		s.Oversaturation = f.oversaturation
	}
	if f.seed != "" {
		if n, err := strconv.ParseInt(f.seed, 10, 64); err != nil {
			bad("--seed: not an integer: %q", f.seed)
		} else {
			s.Seed = &n
		}
	}
	if !slices.Contains(report.Formats, f.format) {
		bad("--format: must be one of %s, got %q", strings.Join(report.Formats, ", "), f.format)
	}
	if f.engineKind != "auto" && !slices.Contains(engine.Kinds, engine.Kind(f.engineKind)) {
		bad("--engine: unknown kind %q", f.engineKind)
	}
	if f.endpoint != "" {
		if _, _, err := bench.SplitEndpoint(f.endpoint); err != nil {
			bad("--endpoint: %v", err)
		}
	}
	if fi, err := os.Stat(f.out); f.out != "" && err == nil && fi.IsDir() {
		bad("--out: %s is a directory; give the name of the file to write", f.out)
	}
	return s, errs
}

// output is where the report goes. With --out it is FILE.partial until
// commit renames it to FILE, so an existing FILE is never truncated by a run
// that then fails, and a file named FILE is always a finished report.
type output struct {
	io.Writer
	f    *os.File
	path string
}

// openOutput opens the report's destination.
func openOutput(env *Env, path string) (*output, error) {
	if path == "" {
		return &output{Writer: env.Stdout}, nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("--out: %s is a directory; give the name of the file to write", path)
	}
	f, err := os.Create(path + ".partial")
	if err != nil {
		return nil, fmt.Errorf("--out: %v", err)
	}
	return &output{Writer: f, f: f, path: path}, nil
}

// commit closes the file and gives it its final name.
func (o *output) commit() error {
	if o.f == nil {
		return nil
	}
	if err := o.f.Close(); err != nil {
		return err
	}
	return os.Rename(o.f.Name(), o.path)
}

// abort closes and removes the partial file of a run that produced nothing.
func (o *output) abort() {
	if o.f != nil {
		o.f.Close()
		os.Remove(o.f.Name())
	}
}
