package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"flperf/internal/engine"
	"flperf/internal/sim"
)

// chosenEngine is the engine a run measures.
type chosenEngine struct {
	engine.Info
	builtin bool // the simulated engine started in-process for this run
}

// chooseEngine resolves --endpoint/--engine: an explicit endpoint is
// identified by its own routes; with none, a running local engine is
// detected; failing that, the built-in simulated engine is started on
// 127.0.0.1 for the duration of the run. cleanup stops it.
func chooseEngine(ctx context.Context, env *Env, f *runFlags) (chosenEngine, func(), error) {
	nop := func() {}
	var p engine.Prober
	if f.engineKind == string(engine.Sim) && f.endpoint == "" {
		return startSim(env, "--engine sim")
	}
	if f.endpoint != "" {
		base, err := engine.NormalizeEndpoint(f.endpoint)
		if err != nil {
			return chosenEngine{}, nop, fmt.Errorf("--endpoint: %v", err)
		}
		if f.apiKey != "" {
			p.HTTP = probeClient(f.apiKey)
		}
		info, err := p.Identify(ctx, base)
		if err != nil {
			if errors.Is(err, engine.ErrUnreachable) {
				return chosenEngine{}, nop, fmt.Errorf("nothing answers at %s: is the engine running and is the port right? (%v)", base, err)
			}
			return chosenEngine{}, nop, err
		}
		info.DetectedBy = "--endpoint"
		if f.engineKind != "auto" && info.Kind != engine.Kind(f.engineKind) {
			if info.Kind == engine.Sim {
				return chosenEngine{}, nop, fmt.Errorf("--engine %s: %s is flperf's SIMULATED engine", f.engineKind, base)
			}
			info.Kind = engine.Kind(f.engineKind) // the user knows better than a generic OpenAI answer
		}
		return chosenEngine{Info: info}, nop, nil
	}
	d := p.Detect(ctx)
	for _, n := range d.Notes {
		fmt.Fprintf(env.Stderr, "flperf: %s\n", n)
	}
	if d.Found {
		if f.engineKind != "auto" && d.Info.Kind != engine.Kind(f.engineKind) {
			return chosenEngine{}, nop, fmt.Errorf("--engine %s: found %s instead; pass --endpoint", f.engineKind, d.Info.Label())
		}
		fmt.Fprintf(env.Stderr, "flperf: found %s (%s)\n", d.Info.Label(), d.Info.DetectedBy)
		return chosenEngine{Info: d.Info}, nop, nil
	}
	if f.engineKind != "auto" {
		return chosenEngine{}, nop, fmt.Errorf("--engine %s: no such engine found on its usual port; start it or pass --endpoint", f.engineKind)
	}
	return startSim(env, "no engine found")
}

// startSim serves the simulated engine in-process on a free loopback port.
func startSim(env *Env, why string) (chosenEngine, func(), error) {
	r, err := sim.Start("", sim.DefaultProfiles()...)
	if err != nil {
		return chosenEngine{}, func() {}, fmt.Errorf("starting the simulated engine: %v", err)
	}
	info := engine.Info{Kind: engine.Sim, Endpoint: r.URL, Simulated: true, Version: sim.Version, DetectedBy: "built-in (" + why + ")"}
	fmt.Fprintf(env.Stderr, "flperf: %s: using the built-in SIMULATED engine; its figures describe a simulator, not a model\n", why)
	return chosenEngine{Info: info, builtin: true}, r.Close, nil
}

// probeClient is the identification client for an explicit --endpoint that
// needs an API key: a server that guards every route would otherwise answer
// each probe 401 and never be identified. Redirects are not followed, so the
// key never reaches another host. Auto-detection's probes of the usual ports
// never carry the key.
func probeClient(apiKey string) *http.Client {
	return &http.Client{
		Timeout:       1500 * time.Millisecond, // as engine.Prober's default client
		Transport:     bearer("Bearer " + apiKey),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// bearer is a RoundTripper that adds an Authorization header.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// findEngine is chooseEngine for commands that manage models: with nothing
// given and nothing running it is an error, not the simulated engine.
func findEngine(ctx context.Context, env *Env, f *runFlags) (chosenEngine, func(), error) {
	if f.endpoint == "" && f.engineKind == "auto" {
		var p engine.Prober
		d := p.Detect(ctx)
		for _, n := range d.Notes {
			fmt.Fprintf(env.Stderr, "flperf: %s\n", n)
		}
		if !d.Found {
			return chosenEngine{}, func() {}, fmt.Errorf("no engine found on this machine: start one, or pass --endpoint URL (or --engine sim for the simulated one)")
		}
		return chosenEngine{Info: d.Info}, func() {}, nil
	}
	return chooseEngine(ctx, env, f)
}
