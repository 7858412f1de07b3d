package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"flperf/internal/engine"
	"flperf/internal/runner"
)

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
// clear message; the others are still benchmarked. The returned function
// runs before each request: on Foundry Local it reloads a model the engine
// unloaded in the middle of the run.
func prepareModels(ctx context.Context, env *Env, eng *chosenEngine, cfg *runner.Config) (func(context.Context, string) error, error) {
	if eng.Kind != engine.Foundry && eng.Kind != engine.Ollama {
		return nil, nil
	}
	ttl := loadTTL(cfg)
	mgr := engine.NewManager(eng.Info, nil)
	var kept []string
	for _, name := range cfg.Models {
		m := engine.Model{ID: name}
		if f, ok := mgr.(*engine.FoundryManager); ok {
			var err error
			if m, err = f.Resolve(ctx, name, ""); err != nil {
				fmt.Fprintf(env.Stderr, "flperf: skipping model %q: %v\n", name, err)
				continue
			}
			if m.Downloaded != nil && !*m.Downloaded {
				fmt.Fprintf(env.Stderr, "flperf: skipping model %s: not downloaded (flperf models pull %s)\n", m.ID, m.ID)
				continue
			}
			if m.ID != name {
				fmt.Fprintf(env.Stderr, "flperf: %s resolves to %s (%s, %s)\n", name, m.ID, dash(m.Device), dash(m.ExecutionProvider))
			}
		}
		took, err := mgr.Load(ctx, m.ID, engine.LoadOptions{TTL: ttl})
		if err != nil {
			fmt.Fprintf(env.Stderr, "flperf: skipping model %s: loading it failed: %v\n", m.ID, err)
			continue
		}
		fmt.Fprintf(env.Stderr, "flperf: loaded %s in %s (load time is not part of any figure)\n", m.ID, took.Round(time.Millisecond))
		if !slices.Contains(kept, m.ID) {
			kept = append(kept, m.ID)
			eng.Models = append(eng.Models, m)
		}
	}
	if len(kept) == 0 {
		return nil, errors.New("no model could be prepared on " + eng.Label())
	}
	cfg.Models = kept
	f, ok := mgr.(*engine.FoundryManager)
	if !ok {
		return nil, nil
	}
	var mu sync.Mutex // one check (and reload) at a time
	return func(ctx context.Context, model string) error {
		mu.Lock()
		defer mu.Unlock()
		reloaded, took, err := f.EnsureLoaded(ctx, model, engine.LoadOptions{TTL: ttl})
		if err != nil {
			return err
		}
		if reloaded {
			return fmt.Errorf("the engine had unloaded %s; reloaded it in %s (not counted in any figure)", model, took.Round(time.Millisecond))
		}
		return nil
	}, nil
}

// coldStart returns the runner's cold-start step for an engine that can
// unload and load models: unload, then load and time it. Engines that
// cannot (llama.cpp, vLLM, SGLang serve one model for their lifetime) need a
// restart for a cold start, which flperf does not do behind your back.
func coldStart(info engine.Info, cfg *runner.Config) (func(context.Context, string) (time.Duration, error), error) {
	mgr := engine.NewManager(info, nil)
	if c := mgr.Capabilities(); !c.Load || !c.Unload {
		return nil, fmt.Errorf("%s cannot unload and load models; restart it to measure a cold start", info.Label())
	}
	ttl := loadTTL(cfg)
	return func(ctx context.Context, model string) (time.Duration, error) {
		if err := mgr.Unload(ctx, model); err != nil {
			return 0, fmt.Errorf("unloading: %w", err)
		}
		return mgr.Load(ctx, model, engine.LoadOptions{TTL: ttl})
	}, nil
}

// metricsScraper returns the engine's /metrics reader when it serves one
// (vLLM, SGLang, llama.cpp started with --metrics), so that each stage's
// server-side figures are kept beside the client's. A disabled endpoint is
// said once, not at every stage.
func metricsScraper(ctx context.Context, env *Env, info engine.Info) func(context.Context) (engine.MetricsSnapshot, error) {
	mgr := engine.NewManager(info, nil)
	sc, ok := mgr.(engine.MetricsScraper)
	if !ok || !mgr.Capabilities().Metrics {
		return nil
	}
	if _, err := sc.Metrics(ctx); err != nil {
		fmt.Fprintf(env.Stderr, "flperf: no server-side figures: %v\n", err)
		return nil
	}
	return sc.Metrics
}
