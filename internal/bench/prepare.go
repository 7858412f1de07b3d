package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

// CheckEngine reports what of r the engine cannot do, without asking the
// engine anything: Ollama's native route on another engine, or a cold start
// on an engine that cannot unload and load models. Prepare checks it too;
// the app calls it first so that such a request is refused at once.
func (r *Resolved) CheckEngine(info engine.Info) error {
	var errs Problems
	if r.Spec.OllamaNative && info.Kind != engine.Ollama {
		errs = append(errs, r.check.problem("ollama_native", "%s is not Ollama", info.Label()))
	}
	if r.Spec.Cold {
		if c := engine.NewManager(info, nil).Capabilities(); !c.Load || !c.Unload {
			errs = append(errs, r.check.problem("cold", "%s cannot unload and load models; restart it to measure a cold start", info.Label()))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Prepare builds the runner of r on eng: the client (Ollama's native route
// with OllamaNative), the models when none was given (every model of a
// simulated engine, or a real engine's only one), the models' preparation
// (Foundry Local aliases resolved, models loaded with a TTL longer than the
// run, a reload hook), the cold-start step, the metrics scraper and the
// command line that repeats the run. Problems with the request are
// Problems (a usage error); anything else is the engine's failure. The
// caller adds the ID, sinks, log and progress callbacks, and runs it.
func Prepare(ctx context.Context, r *Resolved, eng *Engine, logf Logf) (*runner.Runner, error) {
	if err := r.CheckEngine(eng.Info); err != nil {
		return nil, err
	}
	cfg := r.Config
	cfg.Models = slices.Clone(cfg.Models)
	cfg.Endpoint = eng.Endpoint
	info := eng.Info
	info.Models = slices.Clone(info.Models)
	opts := backend.Options{Authorization: eng.Authorization(), Timeout: time.Duration(cfg.Timeout), MaxConns: max(cfg.Connections(), backend.DefaultMaxConns)}
	client := backend.New(eng.Endpoint, opts)
	var doer runner.Doer = client
	info.API = "openai"
	if r.Spec.OllamaNative {
		doer, info.API = backend.NewOllamaNative(eng.Endpoint, opts), "ollama-native"
	}
	sender := doer // calibrates input lengths (before any wrapping)
	if len(cfg.Models) == 0 {
		models, err := defaultModels(ctx, client, info, r.check.name("models"))
		if err != nil {
			return nil, Problems{{Field: "models", Problem: err.Error()}}
		}
		cfg.Models = models
	}
	hc := ManageClient(eng.Authorization()) // nil without credentials: each manager's own
	prep, err := prepareModels(ctx, logf, &info, &cfg, hc)
	if err != nil {
		return nil, err
	}
	if f, ok := engine.NewManager(info, hc).(*engine.FoundryManager); ok {
		// Foundry Local: is each model still loaded? Checked in the
		// background, never on a request's path (foundryLoadedCheck).
		ttl := loadTTL(&cfg)
		chk := newFoundryLoadedCheck(ctx, f, cfg.Models, func(m string) engine.LoadOptions {
			return engine.LoadOptions{TTL: ttl, ExecutionProvider: loadEP(info, m)}
		})
		prep, doer = chk.before, chk.watch(doer)
	}
	fixedOutput(logf, info, &cfg, r)
	windows := contextWindows(ctx, logf, info, &cfg, hc)
	inputs, lengths, err := resolveInputs(ctx, logf, info, engine.NewManager(info, hc), sender, &cfg, r.Scenarios, sweepSkip(info, &cfg, r.Scenarios, windows))
	if err != nil {
		return nil, err
	}
	fits := checkContextFit(ctx, logf, info, &cfg, r.Scenarios, hc, inputs, windows)
	if err := allSkipped(fits, &cfg, r.Scenarios); err != nil {
		return nil, err
	}
	cfg.Command = repeatCommand(&cfg, &r.Spec, eng.Builtin)
	var cold func(context.Context, string) (time.Duration, error)
	if r.Spec.Cold {
		cold = coldStart(info, &cfg, hc)
	}
	hw := telemetry.Fingerprint(ctx)
	run := &runner.Runner{Scrape: metricsScraper(ctx, logf, info, hc), Cold: cold, Client: doer, Engine: info,
		Suite: r.Suite, Scenarios: r.Scenarios, Config: cfg, Prepare: prep,
		Hardware: &hw, Resources: samplingFor(ctx, r.Sampling, eng, logf), ContextFit: fits, ContextWindows: windows,
		EngineSeries: engineSeriesFor(info, r.Sampling, hc)}
	if inputs != nil {
		run.Inputs, run.InputLengths = inputs, lengths
	}
	return run, nil
}

// fixedOutput records in cfg how the engine is asked for a fixed output
// length when the run or one of its scenarios asks for one, and warns, before
// any request, when the engine cannot be asked: those answers keep their
// natural length (and the short-response warning still flags them).
func fixedOutput(logf Logf, info engine.Info, cfg *runner.Config, r *Resolved) {
	var asked []string
	for _, sc := range r.Scenarios {
		if sc.FixedOutput {
			asked = append(asked, sc.Name)
		}
	}
	if !cfg.FixedOutput && len(asked) == 0 {
		return
	}
	how, why := engine.FixedOutput(info.Kind)
	cfg.OutputForcedBy = how
	if how != engine.ForceUnsupported {
		return
	}
	what := r.check.name("fixed_output")
	if !cfg.FixedOutput {
		what = "fixed_output of scenario " + strings.Join(asked, ", ")
	}
	logf.log("warn", "%s is unsupported on %s: %s; answers keep their natural length, so compare decode rates rather than output throughput", what, info.Label(), why)
}

// samplingFor completes the sampler's options for engine eng: the serving
// process is the one given, else this process for the built-in simulated
// engine, else the one listening on a loopback endpoint's port. A process
// that cannot be found costs only the engine's own CPU and memory figures.
func samplingFor(ctx context.Context, o *telemetry.Options, eng *Engine, logf Logf) *telemetry.Options {
	if o == nil {
		return nil
	}
	opts := *o
	if opts.PID != 0 {
		return &opts
	}
	if eng.Builtin {
		opts.PID = int32(os.Getpid())
		return &opts
	}
	u, err := url.Parse(eng.Endpoint)
	if err != nil {
		return &opts
	}
	host, port := u.Hostname(), u.Port()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		logf.log("info", "the engine at %s is not on this machine: its CPU and memory are not sampled (the machine's are)", eng.Endpoint)
		return &opts
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return &opts
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	pid, err := telemetry.PIDForPort(pctx, n)
	if err != nil {
		logf.log("info", "the process serving port %d was not found (%v): its CPU and memory are not sampled; pass --engine-pid to name it", n, err)
		return &opts
	}
	opts.PID = pid
	return &opts
}

// defaultModels picks the models when none was given: every model of a
// simulated engine (the built-in one serves sim.DefaultProfiles; one started
// with `flperf sim --profiles` serves its own), or a real engine's only model.
// flag is how the caller names the models field.
func defaultModels(ctx context.Context, c *backend.Client, info engine.Info, flag string) ([]string, error) {
	models, err := c.Models(ctx)
	if err != nil {
		return nil, fmt.Errorf("no %s given and listing the engine's models failed: %v", flag, err)
	}
	models = languageModels(ctx, info, models)
	switch {
	case len(models) == 0:
		return nil, fmt.Errorf("no %s given and %s lists no models: load or download one first", flag, info.Endpoint)
	case len(models) == 1 || info.Simulated:
		return models, nil
	}
	return nil, fmt.Errorf("no %s given; %s serves %d models, choose with %s: %s", flag, info.Endpoint, len(models), flag, strings.Join(models, ", "))
}

// languageModels leaves out of models (an OpenAI /v1/models list) those the
// engine says are not language models: LM Studio lists its embedding models
// there too, and a chat request to one can only fail. Where the engine
// cannot tell (its model API fails or has no types), models is kept whole.
func languageModels(ctx context.Context, info engine.Info, models []string) []string {
	if info.Kind != engine.LMStudio {
		return models
	}
	llms, err := engine.NewManager(info, nil).Models(ctx, engine.DownloadedSet)
	if err != nil || len(llms) == 0 {
		return models
	}
	keep := make(map[string]bool, len(llms))
	for _, m := range llms {
		keep[m.ID] = true
	}
	return slices.DeleteFunc(models, func(id string) bool { return !keep[id] })
}

// loadTTL is how long a model is asked to stay loaded: longer than the
// planned run (Foundry Local's default of 10 minutes unloads models in the
// middle of long benchmarks).
func loadTTL(cfg *runner.Config) time.Duration {
	ttl := 6 * time.Hour
	if cfg.Duration > 0 {
		ttl = max(ttl, 2*time.Duration(len(cfg.Models)*len(cfg.Scenarios))*time.Duration(cfg.Duration))
	}
	return ttl
}

// prepareModels gets an engine with model management ready before a run:
// Foundry Local aliases are resolved to the variant that will run (its id,
// device and execution provider are recorded with the run), and each model
// is loaded with a TTL longer than the run, its load time logged and never
// counted in any figure. A model that cannot be prepared is left out with a
// clear message; the others are still benchmarked. It returns no
// per-request hook (nil): on Foundry Local, Prepare adds the background
// check that reloads a model the engine unloads in the middle of the run
// (newFoundryLoadedCheck).
func prepareModels(ctx context.Context, logf Logf, info *engine.Info, cfg *runner.Config, hc *http.Client) (func(context.Context, string) error, error) {
	if info.Kind != engine.Foundry && info.Kind != engine.Ollama {
		return nil, nil
	}
	ttl := loadTTL(cfg)
	mgr := engine.NewManager(*info, hc)
	var kept []string
	for _, name := range cfg.Models {
		m := engine.Model{ID: name}
		var took time.Duration
		var err error
		if f, ok := mgr.(*engine.FoundryManager); ok {
			m, took, err = prepareFoundryModel(ctx, logf, f, name, ttl)
		} else if took, err = mgr.Load(ctx, m.ID, engine.LoadOptions{TTL: ttl}); err != nil {
			err = fmt.Errorf("loading it failed: %w", err)
		}
		if err != nil {
			logf.log("warn", "skipping model %q: %v", name, err)
			continue
		}
		logf.log("info", "loaded %s in %s (load time is not part of any figure)", m.ID, took.Round(time.Millisecond))
		if !slices.Contains(kept, m.ID) {
			kept = append(kept, m.ID)
			info.Models = append(info.Models, m)
		}
	}
	if len(kept) == 0 {
		return nil, errors.New("no model could be prepared on " + info.Label())
	}
	cfg.Models = kept
	return nil, nil // Foundry Local's check is Prepare's (newFoundryLoadedCheck)
}

// loadEP is the execution provider a load of model asks for on this
// engine (legacy Foundry Local: the SDKs' ep=cuda; empty: none).
func loadEP(info engine.Info, model string) string {
	for _, m := range info.Models {
		if m.ID == model {
			return m.LoadEP
		}
	}
	return ""
}

// dash shows an empty string as "–".
func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// coldStart returns the runner's cold-start step for an engine that can
// unload and load models (CheckEngine refuses the others: llama.cpp, vLLM
// and SGLang serve one model for their lifetime and need a restart for a
// cold start, which flperf does not do behind your back): unload, then load
// and time it.
func coldStart(info engine.Info, cfg *runner.Config, hc *http.Client) func(context.Context, string) (time.Duration, error) {
	mgr := engine.NewManager(info, hc)
	ttl := loadTTL(cfg)
	return func(ctx context.Context, model string) (time.Duration, error) {
		if err := mgr.Unload(ctx, model); err != nil {
			return 0, fmt.Errorf("unloading: %w", err)
		}
		return mgr.Load(ctx, model, engine.LoadOptions{TTL: ttl, ExecutionProvider: loadEP(info, model)})
	}
}

// metricsScraper returns the engine's /metrics reader when it serves one
// (vLLM, SGLang, llama.cpp started with --metrics), so that each stage's
// server-side figures are kept beside the client's. A disabled endpoint is
// said once, not at every stage.
func metricsScraper(ctx context.Context, logf Logf, info engine.Info, hc *http.Client) func(context.Context) (engine.MetricsSnapshot, error) {
	mgr := engine.NewManager(info, hc)
	sc, ok := mgr.(engine.MetricsScraper)
	if !ok || !mgr.Capabilities().Metrics {
		return nil
	}
	if _, err := sc.Metrics(ctx); err != nil {
		logf.log("warn", "no server-side figures: %v", err)
		return nil
	}
	return sc.Metrics
}

// repeatCommand is the command line that repeats this run exactly. Only
// the built-in simulated engine (builtin) is named by --engine sim; any other
// engine, a simulator served by `flperf sim` included, by its endpoint.
func repeatCommand(cfg *runner.Config, s *Spec, builtin bool) []string {
	c := []string{"flperf", "run"}
	if builtin {
		c = append(c, "--engine", "sim")
	} else {
		c = append(c, "--endpoint", cfg.Endpoint)
	}
	for _, m := range cfg.Models {
		c = append(c, "--model", m)
	}
	if s.Dataset != "" {
		c = append(c, "--dataset", s.Dataset)
		if s.DatasetSample > 0 {
			c = append(c, "--dataset-sample", strconv.Itoa(s.DatasetSample))
		}
		if s.DatasetFilter != "" {
			c = append(c, "--dataset-filter", s.DatasetFilter)
		}
	} else if s.ContextSweep != "" {
		c = append(c, "--context-sweep", sweepList(cfg.ContextSweep))
	} else if s.InputTokens == "" || s.Suite != "" || len(s.Scenarios) > 0 {
		c = append(c, "--suite", cfg.Suite)
	}
	if s.InputTokens != "" {
		c = append(c, "--input-tokens", s.InputTokens)
	}
	if cfg.Force {
		c = append(c, "--force")
	}
	if len(s.Scenarios) > 0 {
		for _, sc := range cfg.Scenarios {
			c = append(c, "--scenario", sc)
		}
	}
	if cfg.Requests > 0 {
		c = append(c, "--requests", strconv.Itoa(cfg.Requests))
	}
	if cfg.Duration > 0 {
		c = append(c, "--duration", time.Duration(cfg.Duration).String())
	}
	switch cfg.Mode {
	case load.Concurrency:
		c = append(c, "--concurrency", levelList(cfg.Levels, strconv.Itoa(cfg.Concurrency)))
	case load.Rate:
		c = append(c, "--rate", levelList(cfg.Levels, strconv.FormatFloat(cfg.Rate, 'g', -1, 64)), "--arrival", string(cfg.Arrival))
		if cfg.MaxInFlight > 0 {
			c = append(c, "--max-in-flight", strconv.Itoa(cfg.MaxInFlight))
		}
		if cfg.OnFull == load.Drop {
			c = append(c, "--on-full", string(load.Drop))
		}
		if o := cfg.Oversaturation.String(); o != "" {
			c = append(c, "--oversaturation", o)
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
	if s.OllamaNative {
		c = append(c, "--ollama-native")
	}
	if s.FixedOutput {
		c = append(c, "--fixed-output")
	}
	if s.Cold {
		c = append(c, "--cold")
	}
	if s.SampleInterval != "" {
		c = append(c, "--sample-interval", s.SampleInterval)
	}
	if s.EnginePID != nil {
		c = append(c, "--engine-pid", strconv.Itoa(*s.EnginePID))
	}
	if cfg.SLOSpec != "" {
		c = append(c, "--slo", cfg.SLOSpec)
	}
	if cfg.Retries > 0 {
		c = append(c, "--retries", strconv.Itoa(cfg.Retries))
	}
	return append(c, "--seed", strconv.FormatInt(cfg.Seed, 10))
}
