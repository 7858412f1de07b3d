package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/record"
	"flperf/internal/runner"
)

// prepareFoundryModel gets one model ready on Foundry Local before a run:
// name is resolved to a variant (as the SDKs resolve an alias, the reason
// logged), a variant not downloaded is refused, and the variant is loaded
// with ttl. The Model returned is the variant that is loaded and will be
// benchmarked: on Foundry Local 1.x, which loads by alias, that can be
// another variant of the alias than the one resolved, which is then logged
// as a warning and recorded (Requested, Choice).
func prepareFoundryModel(ctx context.Context, logf Logf, f *engine.FoundryManager, name string, ttl time.Duration) (engine.Model, time.Duration, error) {
	m, err := f.Resolve(ctx, name, "")
	if err != nil {
		return m, 0, err
	}
	if m.Downloaded != nil && !*m.Downloaded {
		return m, 0, fmt.Errorf("%s is not downloaded (flperf models pull %s)", m.ID, m.ID)
	}
	if m.ID != name {
		logf.log("info", "%s resolves to %s (%s, %s)%s", name, m.ID, dash(m.Device), dash(m.ExecutionProvider), foundryWhy(m.Choice))
	}
	l, err := f.LoadModel(ctx, m, engine.LoadOptions{TTL: ttl})
	if err != nil {
		return m, l.Took, fmt.Errorf("loading it failed: %w", err)
	}
	if l.Model.ID != m.ID {
		logf.log("warn", "%s: the engine loaded %s (%s, %s), not %s: %s; %s is benchmarked",
			name, l.Model.ID, dash(l.Model.Device), dash(l.Model.ExecutionProvider), m.ID, l.Model.Choice, l.Model.ID)
	}
	return l.Model, l.Took, nil
}

// foundryWhy words a resolution's reason for a log line.
func foundryWhy(choice string) string {
	if choice == "" {
		return ""
	}
	return ": " + choice
}

// foundryCheckEvery is how often, at most, a run asks Foundry Local
// whether each model is still loaded (a variable so that tests can shorten
// it).
var foundryCheckEvery = 5 * time.Second

// foundryLoadedCheck keeps the models of a Foundry Local run loaded
// without costing any request anything: the runner calls before ahead of
// each request, which only starts a background check of the model when
// one is due (foundryCheckEvery after the last) and never waits for it.
// Only when the model is known to be gone do its requests wait, since the
// engine cannot serve them: after a request was refused with 400 "Model
// not loaded" (the check then runs at once, and the next requests wait for
// it) and while a reload is in progress; the reload is reported to the
// run's log and is part of no figure. A check's own time is therefore outside every measured
// request, and at any concurrency at most one check per model is in
// flight.
type foundryLoadedCheck struct {
	f    *engine.FoundryManager
	ctx  context.Context // bounds the background checks: the run's
	opts func(model string) engine.LoadOptions
	now  func() time.Time

	mu     sync.Mutex
	models map[string]*foundryModelCheck
}

// foundryModelCheck is one model's check state.
type foundryModelCheck struct {
	last      time.Time     // when the last check finished (or the model was loaded)
	running   bool          // a check is in flight
	due       bool          // a request was refused with "not loaded": check now
	reloading chan struct{} // closed when the reload in progress ends; nil when none
	pending   []string      // what the checks found, for the run's log
}

// newFoundryLoadedCheck returns the check of a Foundry Local run whose
// models were loaded just now; opts gives each model's load options.
func newFoundryLoadedCheck(ctx context.Context, f *engine.FoundryManager, models []string, opts func(string) engine.LoadOptions) *foundryLoadedCheck {
	c := &foundryLoadedCheck{f: f, ctx: ctx, opts: opts, now: time.Now, models: map[string]*foundryModelCheck{}}
	for _, m := range models {
		c.models[m] = &foundryModelCheck{last: c.now()}
	}
	return c
}

// before is the runner's Prepare hook: it starts a due check in the
// background, waits only for a reload in progress, and returns what
// earlier checks found (the runner logs it).
func (c *foundryLoadedCheck) before(ctx context.Context, model string) error {
	c.mu.Lock()
	mc := c.models[model]
	if mc == nil {
		mc = &foundryModelCheck{last: c.now()}
		c.models[model] = mc
	}
	if !mc.running && mc.reloading == nil && (mc.due || c.now().Sub(mc.last) >= foundryCheckEvery) {
		if mc.due {
			// A request was refused: the model is most likely gone, so its
			// requests wait for this check (and reload) instead of failing too.
			mc.reloading = make(chan struct{})
		}
		mc.running, mc.due = true, false
		go c.check(model, mc)
	}
	wait := mc.reloading
	c.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return nil
		}
	}
	c.mu.Lock()
	msgs := mc.pending
	mc.pending = nil
	c.mu.Unlock()
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// check asks the engine whether model is loaded and reloads it when not,
// holding the model's requests back during the reload only.
func (c *foundryLoadedCheck) check(model string, mc *foundryModelCheck) {
	finish := func(msg string) {
		c.mu.Lock()
		if msg != "" {
			mc.pending = append(mc.pending, msg)
		}
		mc.last, mc.running = c.now(), false
		if mc.reloading != nil {
			close(mc.reloading)
			mc.reloading = nil
		}
		c.mu.Unlock()
	}
	loaded, err := c.f.IsLoaded(c.ctx, model)
	switch {
	case c.ctx.Err() != nil:
		finish("")
		return
	case err != nil:
		finish(fmt.Sprintf("could not check whether %s is still loaded: %v", model, err))
		return
	case loaded:
		finish("")
		return
	}
	c.mu.Lock()
	if mc.reloading == nil {
		mc.reloading = make(chan struct{})
	}
	c.mu.Unlock()
	reloaded, took, err := c.f.EnsureLoaded(c.ctx, model, c.opts(model))
	switch {
	case err != nil:
		finish(fmt.Sprintf("the engine had unloaded %s and reloading it failed: %v", model, err))
	case reloaded:
		finish(fmt.Sprintf("the engine had unloaded %s; reloaded it in %s (not counted in any figure; its requests waited for the reload)",
			model, took.Round(time.Millisecond)))
	default:
		finish("")
	}
}

// refused marks model for a check at once (a request was refused because
// it is not loaded).
func (c *foundryLoadedCheck) refused(model string) {
	c.mu.Lock()
	if mc := c.models[model]; mc != nil {
		mc.due = true
	}
	c.mu.Unlock()
}

// watch wraps the run's client so that a request Foundry Local 1.x refuses
// with 400 "Model not loaded" makes its model's check due at once.
func (c *foundryLoadedCheck) watch(d runner.Doer) runner.Doer {
	return foundryWatch{Doer: d, c: c}
}

// foundryWatch is a runner.Doer that reports "not loaded" refusals.
type foundryWatch struct {
	runner.Doer
	c *foundryLoadedCheck
}

// Do sends req and notes a refusal because the model is not loaded.
func (w foundryWatch) Do(ctx context.Context, req backend.Request, rec *record.Record) {
	w.Doer.Do(ctx, req, rec)
	if rec.Status == 400 && strings.Contains(strings.ToLower(rec.Error), "not loaded") {
		w.c.refused(req.Model)
	}
}
