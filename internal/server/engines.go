package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"flperf/internal/bench"
	"flperf/internal/engine"
	"flperf/internal/store"
)

// SimID is the id of the built-in simulated engine.
const SimID = "sim"

// detectTTL is how long a detection is reused.
const detectTTL = 10 * time.Second

// settingEngines is the settings key of the user-added engines.
const settingEngines = "engines"

// Engine is an engine as the API shows it.
type Engine struct {
	ID           string              `json:"id"`
	Name         string              `json:"name"`
	Kind         engine.Kind         `json:"kind"`
	Endpoint     string              `json:"endpoint"`
	Simulated    bool                `json:"simulated"`
	Version      string              `json:"version"`
	DetectedBy   string              `json:"detected_by"`
	Configured   bool                `json:"configured"`
	Healthy      bool                `json:"healthy"`
	Error        string              `json:"error"`
	Capabilities engine.Capabilities `json:"capabilities"`

	info engine.Info
	cred bench.Credentials // never answered
}

// configuredEngine is a user-added engine as persisted in the settings.
// The API key and the user:password of an endpoint given with them
// (Endpoint is kept without) stay on this machine and are never answered.
type configuredEngine struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Kind     engine.Kind `json:"kind"`
	Endpoint string      `json:"endpoint"`
	APIKey   string      `json:"api_key,omitempty"`
	UserInfo string      `json:"userinfo,omitempty"` // "user:password", URL-escaped
	Forced   bool        `json:"forced,omitempty"`   // the kind was given, not identified
}

// credentials are c's API key and user:password.
func (c *configuredEngine) credentials() bench.Credentials {
	cred := bench.Credentials{APIKey: c.APIKey}
	if c.UserInfo != "" {
		if u, err := url.Parse("http://" + c.UserInfo + "@h"); err == nil {
			cred.User = u.User
		}
	}
	return cred
}

// engines is the registry: the built-in simulated engine (started on
// first use), the engines detected on this machine (probed at most every
// detectTTL) and the user-added ones (persisted, probed as often).
type engines struct {
	db     *store.DB
	detect func(context.Context) []engine.Found
	logf   func(level, format string, a ...any)

	mu       sync.Mutex
	list     []Engine // detected and configured, as last probed
	probedAt time.Time
	probing  chan struct{} // closed when the probe in flight ends

	simMu   sync.Mutex
	sim     *bench.Engine
	simStop func()
}

// slugRe finds runs of characters that do not belong in an id.
var slugRe = regexp.MustCompile(`[^a-z0-9]+`)

// engineID is the stable id of an engine: its kind and host:port.
func engineID(kind engine.Kind, endpoint string) string {
	hostport := endpoint
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		hostport = u.Host
	}
	return strings.Trim(slugRe.ReplaceAllString(strings.ToLower(string(kind)+"-"+hostport), "-"), "-")
}

// viewOf builds the API view of an engine.
func viewOf(id string, info engine.Info, healthy bool, errMsg string) Engine {
	name := string(info.Kind)
	if info.Version != "" {
		name += " " + info.Version
	}
	if info.Simulated {
		name += " (SIMULATED)"
	}
	return Engine{ID: id, Name: name, Kind: info.Kind, Endpoint: info.Endpoint, Simulated: info.Simulated, Version: info.Version,
		DetectedBy: info.DetectedBy, Healthy: healthy, Error: errMsg,
		Capabilities: engine.NewManager(info, nil).Capabilities(), info: info}
}

// simView is the built-in simulated engine's view, started or not.
func (e *engines) simView() Engine {
	e.simMu.Lock()
	defer e.simMu.Unlock()
	info := engine.Info{Kind: engine.Sim, Simulated: true, DetectedBy: "built-in (started on first use)"}
	if e.sim != nil {
		info = e.sim.Info
	}
	v := viewOf(SimID, info, true, "")
	v.Name = "Built-in simulated engine (SIMULATED, not a real model)"
	return v
}

// startSim starts the built-in simulated engine once.
func (e *engines) startSim() (*bench.Engine, error) {
	e.simMu.Lock()
	defer e.simMu.Unlock()
	if e.sim != nil {
		return e.sim, nil
	}
	eng, stop, err := bench.StartSim("app", func(level, msg string) { e.logf(level, "%s", msg) })
	if err != nil {
		return nil, err
	}
	e.sim, e.simStop = eng, stop
	return eng, nil
}

// simInfo returns the simulated engine's info when it runs.
func (e *engines) simInfo() *engine.Info {
	e.simMu.Lock()
	defer e.simMu.Unlock()
	if e.sim == nil {
		return nil
	}
	info := e.sim.Info
	return &info
}

// close stops the simulated engine.
func (e *engines) close() {
	e.simMu.Lock()
	defer e.simMu.Unlock()
	if e.simStop != nil {
		e.simStop()
		e.sim, e.simStop = nil, nil
	}
}

// configured reads the user-added engines.
func (e *engines) configured(ctx context.Context) ([]configuredEngine, error) {
	var cs []configuredEngine
	if _, err := e.db.Setting(ctx, settingEngines, &cs); err != nil {
		return nil, err
	}
	for i := range cs {
		// One saved with its user:password in the endpoint (before they
		// were kept apart): the endpoint shown never carries them.
		if base, user, err := bench.SplitEndpoint(cs[i].Endpoint); err == nil && user != nil {
			cs[i].Endpoint = base
			if cs[i].UserInfo == "" {
				cs[i].UserInfo = user.String()
			}
		}
	}
	return cs, nil
}

// all returns every engine: the simulated one first, then those detected,
// then the user-added ones (one that is also detected is listed once, as
// configured). refresh forces a new probe.
func (e *engines) all(ctx context.Context, refresh bool) ([]Engine, error) {
	list, err := e.probe(ctx, refresh)
	if err != nil {
		return nil, err
	}
	return append([]Engine{e.simView()}, list...), nil
}

// probe returns the detected and configured engines, probing them when
// the last probe is older than detectTTL (or refresh is set). Concurrent
// callers share one probe.
func (e *engines) probe(ctx context.Context, refresh bool) ([]Engine, error) {
	for {
		e.mu.Lock()
		if !refresh && e.list != nil && time.Since(e.probedAt) < detectTTL {
			list := slices.Clone(e.list)
			e.mu.Unlock()
			return list, nil
		}
		if wait := e.probing; wait != nil {
			e.mu.Unlock()
			select {
			case <-wait:
				refresh = false
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		done := make(chan struct{})
		e.probing = done
		e.mu.Unlock()

		list, err := e.probeNow(context.WithoutCancel(ctx))
		e.mu.Lock()
		e.probing = nil
		if err == nil {
			e.list, e.probedAt = list, time.Now()
		}
		close(done)
		e.mu.Unlock()
		return slices.Clone(list), err
	}
}

// probeNow detects the engines on this machine and checks the user-added
// ones.
func (e *engines) probeNow(ctx context.Context) ([]Engine, error) {
	cs, err := e.configured(ctx)
	if err != nil {
		return nil, err
	}
	found := e.detect(ctx)
	var out []Engine
	seen := map[string]int{}
	for _, f := range found {
		id := engineID(f.Kind, f.Endpoint)
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = len(out)
		out = append(out, viewOf(id, f.Info, f.Healthy, f.Note))
	}
	checked := make([]Engine, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { checked[i] = e.check(ctx, c) })
	}
	wg.Wait()
	for _, v := range checked {
		if i, ok := seen[v.ID]; ok {
			if !v.Healthy && out[i].Healthy {
				v.Healthy, v.Error, v.info, v.Version, v.DetectedBy = true, "", out[i].info, out[i].Version, out[i].DetectedBy
			}
			out[i] = v
			continue
		}
		seen[v.ID] = len(out)
		out = append(out, v)
	}
	return out, nil
}

// check probes a user-added engine.
func (e *engines) check(ctx context.Context, c configuredEngine) Engine {
	info, err := identify(ctx, c.Endpoint, c.credentials())
	info.DetectedBy = "added in the app"
	if err != nil || c.Forced {
		if err == nil && info.Kind == engine.Sim {
			err = fmt.Errorf("%s is flperf's SIMULATED engine, not a %s", c.Endpoint, c.Kind)
		}
		info.Kind, info.Endpoint = c.Kind, c.Endpoint
	}
	v := viewOf(c.ID, info, err == nil, "")
	if err != nil {
		v.Error = err.Error()
	}
	if c.Name != "" {
		v.Name = c.Name
	}
	v.Configured, v.cred = true, c.credentials()
	return v
}

// identify asks the engine at endpoint which it is.
func identify(ctx context.Context, endpoint string, cred bench.Credentials) (engine.Info, error) {
	var p engine.Prober
	if auth := cred.Authorization(); auth != "" {
		p.HTTP = bench.ProbeClient(auth)
	}
	info, err := p.Identify(ctx, endpoint)
	if errors.Is(err, engine.ErrUnreachable) {
		return info, fmt.Errorf("nothing answers at %s: is the engine running and is the port right? (%v)", endpoint, err)
	}
	return info, err
}

// get returns the engine with id; the simulated engine is started.
func (e *engines) get(ctx context.Context, id string) (Engine, error) {
	if id == SimID {
		if _, err := e.startSim(); err != nil {
			return Engine{}, unavailable("the built-in simulated engine could not start: %v", err)
		}
		return e.simView(), nil
	}
	list, err := e.probe(ctx, false)
	if err != nil {
		return Engine{}, err
	}
	for _, v := range list {
		if v.ID == id {
			return v, nil
		}
	}
	return Engine{}, notFound("no engine with id %q (GET /api/v1/engines lists them)", id)
}

// usable returns engine id for a run or a model action: found, and
// answering.
func (e *engines) usable(ctx context.Context, id string) (Engine, error) {
	v, err := e.get(ctx, id)
	if err != nil {
		return v, err
	}
	if !v.Healthy || v.info.Endpoint == "" {
		msg := v.Error
		if msg == "" {
			msg = "it does not answer"
		}
		return v, unavailable("engine %s is not usable: %s", v.Name, msg)
	}
	return v, nil
}

// defaultID is the engine a run uses when none is named: the first
// healthy real engine, else the simulated one.
func (e *engines) defaultID(ctx context.Context) (string, error) {
	list, err := e.probe(ctx, false)
	if err != nil {
		return "", err
	}
	for _, v := range list {
		if v.Healthy && !v.Simulated && v.info.Endpoint != "" {
			return v.ID, nil
		}
	}
	return SimID, nil
}

// benchEngine is the engine as bench.Prepare takes it.
func (v *Engine) benchEngine() *bench.Engine {
	return &bench.Engine{Info: v.info, Builtin: v.ID == SimID, Credentials: v.cred}
}

// manager is the engine's model manager.
func (v *Engine) manager() engine.Manager {
	return engine.NewManager(v.info, bench.ManageClient(v.cred.Authorization()))
}

// addRequest is the body of POST /engines.
type addRequest struct {
	Endpoint string `json:"endpoint"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	APIKey   string `json:"api_key"`
}

// add verifies and persists a user-added engine.
func (e *engines) add(ctx context.Context, req addRequest) (Engine, error) {
	base, user, err := bench.SplitEndpoint(req.Endpoint)
	if err != nil {
		return Engine{}, badRequest("endpoint", "%v", err)
	}
	kind := strings.TrimSpace(req.Kind)
	if kind != "" && kind != "auto" && !slices.Contains(engine.Kinds, engine.Kind(kind)) {
		return Engine{}, badRequest("kind", "unknown kind %q (auto, %s)", kind, kindList())
	}
	if kind == string(engine.Sim) {
		return Engine{}, badRequest("kind", "the built-in simulated engine is always listed (id %q); add real engines here", SimID)
	}
	if len(req.Name) > 200 || strings.ContainsAny(req.Name, "\x00\r\n") {
		return Engine{}, badRequest("name", "the name must be one line of at most 200 bytes")
	}
	if len(req.APIKey) > 4096 || strings.ContainsAny(req.APIKey, "\x00\r\n ") {
		return Engine{}, badRequest("api_key", "the API key must be one word of at most 4096 bytes")
	}
	cred := bench.Credentials{APIKey: req.APIKey, User: user}
	info, err := identify(ctx, base, cred)
	if err != nil {
		return Engine{}, unavailable("%v", err)
	}
	forced := false
	if kind != "" && kind != "auto" && info.Kind != engine.Kind(kind) {
		if info.Kind == engine.Sim {
			return Engine{}, badRequest("kind", "%s is flperf's SIMULATED engine, not %s", base, kind)
		}
		info.Kind, forced = engine.Kind(kind), true // the user knows better than a generic OpenAI answer
	}
	c := configuredEngine{ID: engineID(info.Kind, base), Name: strings.TrimSpace(req.Name), Kind: info.Kind, Endpoint: base, APIKey: req.APIKey, Forced: forced}
	if user != nil {
		c.UserInfo = user.String()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, err := e.configured(ctx)
	if err != nil {
		return Engine{}, err
	}
	cs = slices.DeleteFunc(cs, func(x configuredEngine) bool { return x.ID == c.ID })
	if len(cs) >= 100 {
		return Engine{}, conflict("100 engines are already added: delete one first")
	}
	if err := e.db.SetSetting(ctx, settingEngines, append(cs, c)); err != nil {
		return Engine{}, err
	}
	e.list = nil // probe again
	info.DetectedBy = "added in the app"
	v := viewOf(c.ID, info, true, "")
	if c.Name != "" {
		v.Name = c.Name
	}
	v.Configured = true
	return v, nil
}

// remove deletes a user-added engine.
func (e *engines) remove(ctx context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, err := e.configured(ctx)
	if err != nil {
		return err
	}
	n := len(cs)
	cs = slices.DeleteFunc(cs, func(x configuredEngine) bool { return x.ID == id })
	if len(cs) == n {
		for _, v := range e.list {
			if v.ID == id {
				return conflict("engine %s was found on this machine, not added in the app: stop it to remove it", id)
			}
		}
		if id == SimID {
			return conflict("the built-in simulated engine cannot be removed")
		}
		return notFound("no added engine with id %q", id)
	}
	if err := e.db.SetSetting(ctx, settingEngines, cs); err != nil {
		return err
	}
	e.list = nil
	return nil
}

// kindList lists the engine kinds a user may name.
func kindList() string {
	var ks []string
	for _, k := range engine.Kinds {
		if k != engine.Sim {
			ks = append(ks, string(k))
		}
	}
	return strings.Join(ks, ", ")
}
