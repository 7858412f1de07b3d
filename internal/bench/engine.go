package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"flperf/internal/engine"
	"flperf/internal/sim"
)

// Engine is the engine a run measures.
type Engine struct {
	engine.Info
	Builtin bool // the simulated engine started in this process (StartSim)
	// Credentials are the API key or the endpoint's user:password (Info's
	// Endpoint never holds them); never stored or logged.
	Credentials
}

// Choice is what the command line says about the engine: an explicit
// endpoint, a kind ("auto" or "" for any, "sim" for the built-in simulated
// engine) and an API key.
type Choice struct {
	Endpoint, Kind, APIKey string
}

// auto reports whether any kind will do.
func (c *Choice) auto() bool { return c.Kind == "" || c.Kind == "auto" }

// Choose resolves the command line's --endpoint/--engine: an explicit
// endpoint is identified by its own routes; with none, a running local
// engine is detected; failing that, the built-in simulated engine is started
// on 127.0.0.1 for the duration of the run. cleanup stops it.
func Choose(ctx context.Context, c Choice, logf Logf) (*Engine, func(), error) {
	nop := func() {}
	var p engine.Prober
	if c.Kind == string(engine.Sim) && c.Endpoint == "" {
		return StartSim("--engine sim", logf)
	}
	if c.Endpoint != "" {
		base, user, err := SplitEndpoint(c.Endpoint)
		if err != nil {
			return nil, nop, fmt.Errorf("--endpoint: %v", err)
		}
		cred := Credentials{APIKey: c.APIKey, User: user}
		if auth := cred.Authorization(); auth != "" {
			p.HTTP = ProbeClient(auth)
		}
		info, err := p.Identify(ctx, base)
		if err != nil {
			if errors.Is(err, engine.ErrUnreachable) {
				return nil, nop, fmt.Errorf("nothing answers at %s: is the engine running and is the port right? (%v)", base, err)
			}
			return nil, nop, err
		}
		info.DetectedBy = "--endpoint"
		if !c.auto() && info.Kind != engine.Kind(c.Kind) {
			if info.Kind == engine.Sim {
				return nil, nop, fmt.Errorf("--engine %s: %s is flperf's SIMULATED engine", c.Kind, base)
			}
			info.Kind = engine.Kind(c.Kind) // the user knows better than a generic OpenAI answer
		}
		return &Engine{Info: info, Credentials: cred}, nop, nil
	}
	d := p.Detect(ctx)
	for _, n := range d.Notes {
		logf.log("info", "%s", n)
	}
	if d.Found {
		if !c.auto() && d.Info.Kind != engine.Kind(c.Kind) {
			return nil, nop, fmt.Errorf("--engine %s: found %s instead; pass --endpoint", c.Kind, d.Info.Label())
		}
		logf.log("info", "found %s (%s)", d.Info.Label(), d.Info.DetectedBy)
		return &Engine{Info: d.Info, Credentials: Credentials{APIKey: c.APIKey}}, nop, nil
	}
	if !c.auto() {
		return nil, nop, fmt.Errorf("--engine %s: no such engine found on its usual port; start it or pass --endpoint", c.Kind)
	}
	return StartSim("no engine found", logf)
}

// Find is Choose for commands that manage models: with nothing given and
// nothing running it is an error, not the simulated engine.
func Find(ctx context.Context, c Choice, logf Logf) (*Engine, func(), error) {
	if c.Endpoint == "" && c.auto() {
		var p engine.Prober
		d := p.Detect(ctx)
		for _, n := range d.Notes {
			logf.log("info", "%s", n)
		}
		if !d.Found {
			return nil, func() {}, fmt.Errorf("no engine found on this machine: start one, or pass --endpoint URL (or --engine sim for the simulated one)")
		}
		return &Engine{Info: d.Info, Credentials: Credentials{APIKey: c.APIKey}}, func() {}, nil
	}
	return Choose(ctx, c, logf)
}

// StartSim serves the simulated engine (sim.DefaultProfiles) in this
// process on a free loopback port; why says what chose it ("no engine
// found"). cleanup stops it.
func StartSim(why string, logf Logf) (*Engine, func(), error) {
	r, err := sim.Start("", sim.DefaultProfiles()...)
	if err != nil {
		return nil, func() {}, fmt.Errorf("starting the simulated engine: %v", err)
	}
	info := engine.Info{Kind: engine.Sim, Endpoint: r.URL, Simulated: true, Version: sim.Version, DetectedBy: "built-in (" + why + ")"}
	logf.log("info", "%s: using the built-in SIMULATED engine; its figures describe a simulator, not a model", why)
	return &Engine{Info: info, Builtin: true}, r.Close, nil
}

// ProbeClient is the identification client for an explicit endpoint that
// needs credentials (authorization is Credentials.Authorization): a server
// that guards every route would otherwise answer each probe 401 and never be
// identified. Redirects are not followed, so the credentials never reach
// another host. Auto-detection's probes of the usual ports never carry them.
func ProbeClient(authorization string) *http.Client {
	return &http.Client{
		Timeout:       1500 * time.Millisecond, // as engine.Prober's default client
		Transport:     bearer(authorization),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ManageClient is the model-management client for an engine that needs
// credentials (authorization is Credentials.Authorization): like
// ProbeClient, but without a timeout (downloads and loads are bounded by
// their context). With none it returns nil, each manager's default.
func ManageClient(authorization string) *http.Client {
	if authorization == "" {
		return nil
	}
	return &http.Client{
		Transport:     bearer(authorization),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// bearer is a RoundTripper that adds an Authorization header.
type bearer string

// RoundTrip sends a copy of r with the header set.
func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", string(b))
	return http.DefaultTransport.RoundTrip(r)
}
