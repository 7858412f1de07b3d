package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/store"
	"flperf/internal/suite"
)

// runFlags are the flags of `flperf run`, a documented stable set.
type runFlags struct {
	endpoint, engineKind, apiKey string
	models, scenarios            listFlag
	suite                        string
	requests, concurrency        int
	maxInFlight, warmup, maxTok  int
	duration, timeout            time.Duration
	rate                         float64
	arrival                      string
	temperature                  optFloat
	noStream, noCacheBust        bool
	noProgress, noSave           bool
	ollamaNative, cold           bool
	db                           string
	slo, format, out             string
	seed                         string
}

// runEnv lists the flags that an FLPERF_* variable may set.
var runEnv = map[string]bool{"db": true, "endpoint": true, "engine": true, "api-key": true, "model": true, "suite": true,
	"requests": true, "concurrency": true, "timeout": true, "max-tokens": true, "temperature": true, "seed": true, "format": true}

func newRunFlagSet(f *runFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&f.endpoint, "endpoint", "", "OpenAI-compatible base `URL` (e.g. http://127.0.0.1:11434/v1); empty: detect a local engine, else use the simulated one")
	fs.StringVar(&f.engineKind, "engine", "auto", "engine `kind`: auto, sim (built-in simulated engine), foundry, ollama, llamacpp, vllm, sglang, lmstudio, openai")
	fs.StringVar(&f.apiKey, "api-key", "", "API `key` sent as a Bearer token (never stored or printed)")
	fs.Var(&f.models, "model", "model `id` to benchmark; repeat (or comma-separate) to compare several, one after another")
	fs.StringVar(&f.suite, "suite", "default", "built-in suite `name` or path to a suite .json file")
	fs.Var(&f.scenarios, "scenario", "scenario `name` or unique prefix to run; repeatable (default: all)")
	fs.IntVar(&f.requests, "requests", 0, "measured requests per model × scenario (default: the suite's default_config.iterations, else 5; 0 with --duration: unbounded)")
	fs.DurationVar(&f.duration, "duration", 0, "bound each model × scenario by time instead of (or as well as) --requests")
	fs.IntVar(&f.concurrency, "concurrency", 1, "closed loop: `N` requests in flight at all times")
	fs.Float64Var(&f.rate, "rate", 0, "open loop: `R` requests per second (see --arrival, --max-in-flight)")
	fs.StringVar(&f.arrival, "arrival", "constant", "open-loop arrivals: constant or poisson (seeded)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", 0, "open loop: cap on requests in flight; waiting time shows in queue-inclusive metrics")
	fs.IntVar(&f.warmup, "warmup", 1, "warm-up requests per model, recorded but never summarised")
	fs.DurationVar(&f.timeout, "timeout", 0, "per-request deadline (default: the suite's default_config.timeout, else 60s)")
	fs.IntVar(&f.maxTok, "max-tokens", 0, "override every scenario's max_tokens")
	fs.Var(&f.temperature, "temperature", "override every scenario's temperature (0 is sent as 0)")
	fs.BoolVar(&f.noStream, "no-stream", false, "non-streaming requests (no TTFT, TPOT or ITL)")
	fs.StringVar(&f.slo, "slo", "", "service-level objectives for goodput, e.g. ttft=500ms,tpot=50ms,e2e=10s")
	fs.StringVar(&f.seed, "seed", "", "seed for schedules and prompt nonces (default: random, printed so the run can be repeated)")
	fs.BoolVar(&f.noCacheBust, "no-cache-bust", false, "send prompts exactly as written (no per-request nonce; prefix caches may then serve repeats)")
	fs.StringVar(&f.format, "format", "table", "output `format`: table, json, csv or jsonl (one line per request record)")
	fs.StringVar(&f.out, "out", "", "write the output to `FILE` instead of standard output")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no live progress line on a terminal")
	fs.StringVar(&f.db, "db", "", "save the run in this SQLite database `file` (default: the user's data directory)")
	fs.BoolVar(&f.noSave, "no-save", false, "do not save the run in the database")
	fs.BoolVar(&f.cold, "cold", false, "cold start: unload and reload each model before its first request, and report the load time and that first request apart from the warm figures")
	fs.BoolVar(&f.ollamaNative, "ollama-native", false, "on Ollama, measure its native /api/chat (exact eval_count) instead of the OpenAI route")
	return fs
}

func runCmd(ctx context.Context, env *Env, args []string) int {
	var f runFlags
	fs := newRunFlagSet(&f)
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

	st, cfg, err := buildConfig(&f, src)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitUsage
	}

	// The database is opened before anything runs: a run that cannot be
	// saved is refused, never silently lost.
	var db *store.DB
	if !f.noSave {
		if db, err = openDB(ctx, f.db); err != nil {
			fmt.Fprintf(env.Stderr, "flperf run: %v (or pass --no-save)\n", err)
			return ExitFailure
		}
		defer db.Close()
	}

	eng, cleanup, err := chooseEngine(ctx, env, &f)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitFailure
	}
	defer cleanup()
	cfg.Endpoint = eng.Endpoint
	opts := backend.Options{APIKey: f.apiKey, Timeout: time.Duration(cfg.Timeout), MaxConns: max(cfg.Connections(), backend.DefaultMaxConns)}
	client := backend.New(eng.Endpoint, opts)
	var doer runner.Doer = client
	eng.API = "openai"
	if f.ollamaNative {
		if eng.Kind != engine.Ollama {
			fmt.Fprintf(env.Stderr, "flperf run: --ollama-native: %s is not Ollama\n", eng.Label())
			return ExitUsage
		}
		doer, eng.API = backend.NewOllamaNative(eng.Endpoint, opts), "ollama-native"
	}
	if len(cfg.Models) == 0 {
		models, err := defaultModels(ctx, client, eng.Info)
		if err != nil {
			fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
			return ExitUsage
		}
		cfg.Models = models
	}
	prep, err := prepareModels(ctx, env, &eng, cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitFailure
	}
	cfg.Command = repeatCommand(cfg, &f, eng.builtin)

	out, err := openOutput(env, f.out)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", err)
		return ExitFailure
	}
	var coldFn func(context.Context, string) (time.Duration, error)
	if f.cold {
		if coldFn, err = coldStart(eng.Info, cfg); err != nil {
			fmt.Fprintf(env.Stderr, "flperf run: --cold: %v\n", err)
			return ExitUsage
		}
	}
	scrape := metricsScraper(ctx, env, eng.Info)
	r := &runner.Runner{Scrape: scrape, Cold: coldFn, Client: doer, Engine: eng.Info, Suite: st.suite, Scenarios: st.scenarios, Config: *cfg, Prepare: prep}
	if f.format == "jsonl" {
		r.Sinks = append(r.Sinks, report.NewJSONL(out))
	}
	r.ID = runner.NewID(time.Now())
	// Store writes must outlive a second Ctrl-C: what ran is kept.
	sctx := context.WithoutCancel(ctx)
	if db != nil {
		begin := &runner.Result{ID: r.ID, Tool: runner.CurrentTool(), Status: "running", Started: time.Now(),
			Engine: eng.Info, Config: *cfg, Suite: runner.NewSuiteInfo(st.suite, st.scenarios)}
		if err := db.BeginRun(sctx, begin); err != nil {
			out.abort()
			fmt.Fprintf(env.Stderr, "flperf run: saving the run: %v (or pass --no-save)\n", err)
			return ExitFailure
		}
		r.Sinks = append(r.Sinks, db.NewRecordWriter(r.ID, store.WriterOptions{}))
	}
	// Warnings during the run (a model reloaded, an interrupt) go to stderr
	// as they happen, and everything to the run's event log.
	r.Log = func(level, msg string) {
		if level == "warn" {
			fmt.Fprintf(env.Stderr, "flperf: %s\n", msg)
		}
		if db != nil {
			_ = db.Event(sctx, r.ID, level, msg)
		}
	}
	fmt.Fprintf(env.Stderr, "flperf: benchmarking %s on %s (%d scenarios, %s, seed %d)\n",
		strings.Join(cfg.Models, ", "), eng.Info.Label(), len(st.scenarios), cfg.Plan().String(), cfg.Seed)
	// The live line goes to stderr, and only when both streams are a
	// terminal and no records stream to that terminal.
	prog := newProgressLine(env.Stderr, !f.noProgress && isTerminal(env.Stdout) && isTerminal(env.Stderr) &&
		!(f.format == "jsonl" && f.out == ""))
	r.Progress = prog.update
	res, runErr := r.Run(ctx)
	prog.clear()
	if res == nil {
		out.abort()
		fmt.Fprintf(env.Stderr, "flperf run: %v\n", runErr)
		return ExitFailure
	}
	var serr error
	if db != nil {
		if serr = db.FinishRun(sctx, res); serr == nil {
			fmt.Fprintf(env.Stderr, "flperf: run %s saved in %s (flperf show %s)\n", res.ID, db.Path(), res.ID)
		}
	}
	var werr error
	switch f.format {
	case "table":
		werr = report.Table(out, res)
	case "json":
		werr = report.JSON(out, res)
	case "csv":
		werr = report.CSV(out, res)
	}
	if err := errors.Join(runErr, serr, werr, out.commit()); err != nil {
		fmt.Fprintf(env.Stderr, "flperf run: writing results: %v\n", err)
		return ExitFailure
	}
	if f.out != "" {
		fmt.Fprintf(env.Stderr, "flperf: run %s %s; %s written to %s\n", res.ID, res.Status, f.format, f.out)
	}
	if res.Status != runner.Completed {
		return ExitInterrupted
	}
	return ExitOK
}

// suiteChoice is the resolved suite and the scenarios to run.
type suiteChoice struct {
	suite     *suite.Suite
	scenarios []suite.Scenario
}

// buildConfig validates every flag and reports all problems at once.
func buildConfig(f *runFlags, src flagSources) (*suiteChoice, *runner.Config, error) {
	set := src.given
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	st := &suiteChoice{}
	s, err := suite.Resolve(f.suite)
	if err != nil {
		bad("--suite: %v", err)
	} else {
		st.suite = s
		if st.scenarios, err = s.Select(f.scenarios); err != nil {
			bad("--scenario: %v", err)
		}
	}
	cfg := &runner.Config{
		Models:    slices.Clone([]string(f.models)),
		Suite:     f.suite,
		Stream:    !f.noStream,
		CacheBust: !f.noCacheBust,
		Warmup:    f.warmup,
		MaxTokens: f.maxTok,
		Requests:  f.requests,
		Duration:  runner.Duration(f.duration),
		Timeout:   runner.Duration(f.timeout),
	}
	for _, m := range cfg.Models {
		if strings.ContainsAny(m, "\x00\r\n") {
			bad("--model: %q contains control characters", m)
		}
	}
	if st.suite != nil && st.suite.DefaultConfig != nil {
		dc := st.suite.DefaultConfig
		if !set("requests") && !set("duration") && dc.Iterations != nil {
			cfg.Requests = *dc.Iterations
		}
		if !set("timeout") && dc.Timeout != nil {
			cfg.Timeout = runner.Duration(time.Duration(*dc.Timeout) * time.Millisecond)
		}
		if dc.Temperature != nil {
			for i := range st.scenarios {
				if st.scenarios[i].Temperature == nil {
					t := *dc.Temperature
					st.scenarios[i].Temperature = &t
				}
			}
		}
	}
	if !set("requests") && !set("duration") && cfg.Requests == 0 {
		cfg.Requests = 5
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = runner.Duration(60 * time.Second)
	}
	if f.timeout < 0 {
		bad("--timeout: must be positive, got %s", f.timeout)
	}
	if f.maxTok < 0 || f.maxTok > 1<<20 {
		bad("--max-tokens: must be between 1 and %d, got %d", 1<<20, f.maxTok)
	}
	if f.temperature.set {
		if f.temperature.v < 0 || f.temperature.v > 2 {
			bad("--temperature: must be between 0 and 2, got %g", f.temperature.v)
		}
		t := f.temperature.v
		cfg.Temperature = &t
	}
	if f.warmup < 0 {
		bad("--warmup: must be 0 or more, got %d", f.warmup)
	}
	if f.cold && f.warmup < 1 {
		bad("--cold: needs --warmup 1 or more (the first warm-up request measures the cold TTFT)")
	}
	// A load mode on the command line beats another one from the environment.
	rate, conc := set("rate"), set("concurrency")
	if rate && conc && src.cmdline["rate"] != src.cmdline["concurrency"] {
		rate, conc = src.cmdline["rate"], src.cmdline["concurrency"]
		if !conc {
			f.concurrency = 1
		}
	}
	switch {
	case rate:
		cfg.Mode, cfg.Rate, cfg.MaxInFlight = load.Rate, f.rate, f.maxInFlight
		cfg.Arrival = load.Arrival(f.arrival)
		if conc {
			bad("--concurrency: not used with --rate (an open loop); cap requests in flight with --max-in-flight")
		}
	case f.concurrency > 1:
		cfg.Mode, cfg.Concurrency = load.Concurrency, f.concurrency
	default:
		cfg.Mode, cfg.Concurrency = load.Sequential, 1
		if f.concurrency < 1 {
			bad("--concurrency: must be 1 or more, got %d", f.concurrency)
		}
	}
	if set("max-in-flight") && !rate {
		bad("--max-in-flight: only used with --rate")
	}
	if set("arrival") && !rate {
		bad("--arrival: only used with --rate")
	}
	if f.slo != "" {
		slo, err := stats.ParseSLO(f.slo)
		if err != nil {
			bad("--slo: %v", err)
		}
		cfg.SLO, cfg.SLOSpec = slo, f.slo
	}
	if f.seed == "" {
		cfg.Seed = rand.Int64N(1 << 31)
	} else if n, err := strconv.ParseInt(f.seed, 10, 64); err != nil {
		bad("--seed: not an integer: %q", f.seed)
	} else {
		cfg.Seed = n
	}
	if !slices.Contains(report.Formats, f.format) {
		bad("--format: must be one of %s, got %q", strings.Join(report.Formats, ", "), f.format)
	}
	if f.engineKind != "auto" && !slices.Contains(engine.Kinds, engine.Kind(f.engineKind)) {
		bad("--engine: unknown kind %q", f.engineKind)
	}
	if st.scenarios != nil {
		for _, sc := range st.scenarios {
			cfg.Scenarios = append(cfg.Scenarios, sc.Name)
		}
	}
	for _, e := range cfg.Plan().Validate() {
		var fe *load.FieldError
		if errors.As(e, &fe) {
			e = fmt.Errorf("--%s: %s", strings.ReplaceAll(fe.Field, "_", "-"), fe.Problem)
		}
		errs = append(errs, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return st, cfg, nil
}

// repeatCommand is the command line that repeats this run exactly. Only
// the built-in simulated engine (builtin) is named by --engine sim; any other
// engine, a simulator served by `flperf sim` included, by its endpoint.
func repeatCommand(cfg *runner.Config, f *runFlags, builtin bool) []string {
	c := []string{"flperf", "run"}
	if builtin {
		c = append(c, "--engine", "sim")
	} else {
		c = append(c, "--endpoint", cfg.Endpoint)
	}
	for _, m := range cfg.Models {
		c = append(c, "--model", m)
	}
	c = append(c, "--suite", cfg.Suite)
	if len(f.scenarios) > 0 {
		for _, s := range cfg.Scenarios {
			c = append(c, "--scenario", s)
		}
	}
	if cfg.Requests > 0 {
		c = append(c, "--requests", strconv.Itoa(cfg.Requests))
	}
	if cfg.Duration > 0 {
		c = append(c, "--duration", time.Duration(cfg.Duration).String())
	}
	switch string(cfg.Mode) {
	case "concurrency":
		c = append(c, "--concurrency", strconv.Itoa(cfg.Concurrency))
	case "rate":
		c = append(c, "--rate", strconv.FormatFloat(cfg.Rate, 'g', -1, 64), "--arrival", string(cfg.Arrival))
		if cfg.MaxInFlight > 0 {
			c = append(c, "--max-in-flight", strconv.Itoa(cfg.MaxInFlight))
		}
	}
	c = append(c, "--warmup", strconv.Itoa(cfg.Warmup), "--timeout", time.Duration(cfg.Timeout).String())
	if cfg.MaxTokens > 0 {
		c = append(c, "--max-tokens", strconv.Itoa(cfg.MaxTokens))
	}
	if cfg.Temperature != nil {
		c = append(c, "--temperature", strconv.FormatFloat(*cfg.Temperature, 'g', -1, 64))
	}
	if !cfg.Stream {
		c = append(c, "--no-stream")
	}
	if !cfg.CacheBust {
		c = append(c, "--no-cache-bust")
	}
	if f.ollamaNative {
		c = append(c, "--ollama-native")
	}
	if f.cold {
		c = append(c, "--cold")
	}
	if cfg.SLOSpec != "" {
		c = append(c, "--slo", cfg.SLOSpec)
	}
	return append(c, "--seed", strconv.FormatInt(cfg.Seed, 10))
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

// defaultModels picks the models when none was given: every model of a
// simulated engine (the built-in one serves sim.DefaultProfiles; one started
// with `flperf sim --profiles` serves its own), or a real engine's only model.
func defaultModels(ctx context.Context, c *backend.Client, info engine.Info) ([]string, error) {
	models, err := c.Models(ctx)
	if err != nil {
		return nil, fmt.Errorf("no --model given and listing the engine's models failed: %v", err)
	}
	switch {
	case len(models) == 0:
		return nil, fmt.Errorf("no --model given and %s lists no models: load or download one first", info.Endpoint)
	case len(models) == 1 || info.Simulated:
		return models, nil
	}
	return nil, fmt.Errorf("no --model given; %s serves %d models, choose with --model: %s", info.Endpoint, len(models), strings.Join(models, ", "))
}
