package bench

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"flperf/internal/inputlen"
	"flperf/internal/load"
	"flperf/internal/profile"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/suite"
	"flperf/internal/telemetry"
)

// ProfileRun is a valid profiled run (`flperf run --profile standard`): the
// profile's fixed workload as a resolved request, and its definition.
type ProfileRun struct {
	*Resolved
	Def *profile.Definition
}

// ProfileFixes lists the Spec fields a profile fixes: a request that gives
// any of them is refused (a profile never takes the user's overrides).
// Engine, models, seed, sample_interval and engine_pid stay the user's.
var ProfileFixes = []string{"suite", "scenarios", "mode", "concurrency", "rate", "sweep", "arrival", "max_in_flight",
	"requests", "duration", "warmup", "timeout", "max_tokens", "temperature", "stream", "slo", "cache_bust", "cold",
	"ollama_native", "fixed_output", "retries", "on_full", "oversaturation", "dataset", "dataset_sample", "dataset_filter",
	"prefix_tokens", "prefix_cache", "context_sweep", "force", "input_tokens"}

// profileTimeout is every profile request's deadline: long enough for a
// 32k-token prompt on a slow machine.
const profileTimeout = 10 * time.Minute

// ResolveProfile validates a profiled run: def's workload for the models
// of s. Every field of s a profile fixes (ProfileFixes) that s gives is a
// problem naming it; every problem is reported at once as Problems.
func ResolveProfile(s *Spec, def *profile.Definition, c Check) (*ProfileRun, error) {
	var errs Problems
	for _, f := range specGiven(s) {
		errs = append(errs, c.problem(f, "the %s profile fixes the workload, so %s cannot be given with it: drop it, or drop the profile for a custom run (never ranked against profiled ones)", def.ID(), c.name(f)))
	}
	st := def.Suite()
	stream, bust, warm := true, true, 1
	sp := Spec{Engine: s.Engine, Models: s.Models, Seed: s.Seed, SampleInterval: s.SampleInterval, EnginePID: s.EnginePID,
		Suite: st.Name, Stream: &stream, CacheBust: &bust, Warmup: &warm, Timeout: profileTimeout.String()}
	c.Suite = func(string) (*suite.Suite, error) { return st, nil }
	rs, err := sp.Validate(c)
	if err != nil {
		if ps, ok := err.(Problems); ok {
			errs = append(errs, ps...)
		} else {
			errs = append(errs, c.problem("", "%v", err))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	rs.Config.Profile = &profile.Result{ID: def.ID(), Name: def.Name, Version: def.Version, SustainS: def.Sustain.Seconds(),
		Reference: def.Reference, Power: telemetry.PowerUnknown, Models: []profile.ModelResult{}}
	return &ProfileRun{Resolved: rs, Def: def}, nil
}

// specGiven names the fields of s that a profile fixes and s gives.
func specGiven(s *Spec) []string {
	var out []string
	add := func(given bool, field string) {
		if given {
			out = append(out, field)
		}
	}
	add(s.Suite != "", "suite")
	add(len(s.Scenarios) > 0, "scenarios")
	add(s.Mode != "", "mode")
	add(s.Concurrency != nil || len(s.ConcurrencyList) > 0, "concurrency")
	add(s.Rate != nil || len(s.RateList) > 0, "rate")
	add(s.Sweep != "", "sweep")
	add(s.Arrival != "", "arrival")
	add(s.MaxInFlight != nil, "max_in_flight")
	add(s.Requests != nil, "requests")
	add(s.Duration != "", "duration")
	add(s.Warmup != nil, "warmup")
	add(s.Timeout != "", "timeout")
	add(s.MaxTokens != 0, "max_tokens")
	add(s.Temperature != nil, "temperature")
	add(s.Stream != nil, "stream")
	add(s.SLO != "", "slo")
	add(s.CacheBust != nil, "cache_bust")
	add(s.Cold, "cold")
	add(s.OllamaNative, "ollama_native")
	add(s.FixedOutput, "fixed_output")
	add(s.Retries != nil, "retries")
	add(s.OnFull != "", "on_full")
	add(s.Oversaturation != "", "oversaturation")
	add(s.Dataset != "", "dataset")
	add(s.DatasetSample != 0, "dataset_sample")
	add(s.DatasetFilter != "", "dataset_filter")
	add(s.PrefixTokens != 0, "prefix_tokens")
	add(s.PrefixCache != "", "prefix_cache")
	add(s.ContextSweep != "", "context_sweep")
	add(s.Force, "force")
	add(s.InputTokens != "", "input_tokens")
	return out
}

// RunProfile runs pr's stages for every model with the prepared runner r
// (Prepare of pr.Resolved), as one run whose configuration carries the
// profile's figures and scores (Config.Profile). It returns an error only
// for set-up problems, as runner.Run does.
func RunProfile(ctx context.Context, pr *ProfileRun, r *runner.Runner) (*runner.Result, error) {
	out := *r.Config.Profile
	out.Models = []profile.ModelResult{}
	if r.Hardware != nil && r.Hardware.Power.Source != "" {
		out.Power = r.Hardware.Power.Source
	}
	r.Config.Profile = &out
	r.Config.Command = profileCommand(r.Config.Command, pr.Def.ID(), &r.Config)
	scs := map[string]*suite.Scenario{}
	for i := range r.Scenarios {
		scs[r.Scenarios[i].Name] = &r.Scenarios[i]
	}
	s, err := r.Begin(ctx)
	if err != nil {
		return nil, err
	}
	base := r.Config.Plan()
models:
	for _, model := range r.Config.Models {
		for _, st := range pr.Def.Stages {
			sc := scs[st.Scenario]
			if sc == nil {
				return nil, fmt.Errorf("profile %s: stage %s names an unknown scenario %q", pr.Def.ID(), st.Label, st.Scenario)
			}
			plan := base
			plan.Mode, plan.Concurrency, plan.Rate = load.Concurrency, st.Concurrency, 0
			if st.Concurrency == 1 {
				plan.Mode = load.Sequential
			}
			plan.Requests, plan.Duration = st.Requests, st.Duration
			res := s.RunStage(runner.StageSpec{Model: model, Scenario: sc, Plan: plan, Stage: st.Label})
			if res.Stopped {
				break models
			}
		}
	}
	res, err := s.End()
	if res != nil {
		res.Config.Profile = &out
		for _, model := range res.Config.Models {
			out.Models = append(out.Models, ProfileFigures(res, model))
		}
		for _, m := range out.Models {
			if m.Score != nil && r.Log != nil {
				r.Log("info", fmt.Sprintf("profile %s: model %s scores %s against %s", out.ID, m.Model, profile.FormatScore(*m.Score, m.Complete), out.Reference.Name))
			}
		}
	}
	return res, err
}

// ProfileCommand is the command line that repeats a profiled run of the
// profile id on eng (what RunProfile records), known before Prepare: the
// app stores it with the run as the run starts, so that a run stopped
// while its long prompts are being resolved still says how to repeat it.
func ProfileCommand(eng *Engine, id string, cfg *runner.Config) []string {
	cmd := []string{"flperf", "run", "--engine", "sim"}
	if !eng.Builtin {
		cmd = []string{"flperf", "run", "--endpoint", eng.Endpoint}
	}
	return profileCommand(cmd, id, cfg)
}

// profileCommand is the command line that repeats a profiled run: the
// profile, the engine as Prepare's repeat command names it (cmd, "flperf
// run --engine sim …" or "flperf run --endpoint URL …"), the models and
// the seed; nothing of the workload, which the profile fixes.
func profileCommand(cmd []string, id string, cfg *runner.Config) []string {
	out := []string{"flperf", "run", "--profile", id}
	if len(cmd) >= 4 && (cmd[2] == "--engine" || cmd[2] == "--endpoint") {
		out = append(out, cmd[2], cmd[3])
	}
	for _, m := range cfg.Models {
		out = append(out, "--model", m)
	}
	return append(out, "--seed", strconv.FormatInt(cfg.Seed, 10))
}

// ProfileFigures computes one model's profile figures and score from a
// profiled run's summaries and resources.
func ProfileFigures(res *runner.Result, model string) profile.ModelResult {
	ref := profile.StandardReference
	if res.Config.Profile != nil {
		ref = res.Config.Profile.Reference
	}
	group := func(scenario, stage string) *stats.Group {
		for i := range res.Groups {
			g := &res.Groups[i]
			if g.Model == model && g.Scenario == scenario && g.Stage == stage {
				return g
			}
		}
		return nil
	}
	skippedNote := func(scenario string) string {
		for _, cf := range res.Suite.ContextFit {
			if cf.Model == model && cf.Scenario == scenario && cf.Action != runner.FitWarned {
				return cf.String()
			}
		}
		return "not measured: the stage did not run (the run stopped before it)"
	}
	m := profile.ModelResult{Model: model}
	put := func(key string, v float64, ok bool, why string) {
		val := profile.Value{Key: key}
		if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			val.Value = &v
		} else {
			val.Note = why
		}
		m.Values = append(m.Values, val)
	}
	ttft := func(key, scenario string) {
		g := group(scenario, profile.StageC1)
		switch {
		case g == nil:
			put(key, 0, false, skippedNote(scenario))
		case g.TTFT.N == 0:
			put(key, 0, false, fmt.Sprintf("no request of %s succeeded with a first token (%d of %d failed)", scenario, g.Requests-g.OK, g.Requests))
		default:
			put(key, g.TTFT.P50, true, "")
			// A prompt the engine may have cut, or that did not fit: the
			// figure stays, with the reason to doubt it.
			for _, cf := range res.Suite.ContextFit {
				if cf.Model == model && cf.Scenario == scenario && cf.Action == runner.FitWarned {
					m.Values[len(m.Values)-1].Note = cf.String()
				}
			}
			if why := inexactInput(res, model, scenario); why != "" && m.Values[len(m.Values)-1].Note == "" {
				m.Values[len(m.Values)-1].Note = why
			}
		}
	}
	ttft(profile.ChatTTFT, profile.ScenarioChat)
	ttft(profile.TTFT4k, profile.ScenarioPrompt4k)
	ttft(profile.TTFT32k, profile.ScenarioPrompt32)
	c1 := group(profile.ScenarioDecode, profile.StageC1)
	c4 := group(profile.ScenarioDecode, profile.StageC4)
	end := group(profile.ScenarioDecode, profile.StageSustainEnd)
	decodeOK := func(g *stats.Group) bool { return g != nil && g.DecodeTPS.N > 0 }
	if decodeOK(c1) {
		put(profile.DecodeRate, c1.DecodeTPS.P50, true, "")
	} else {
		put(profile.DecodeRate, 0, false, "no decode rate at one stream (no request with two tokens or more succeeded)")
	}
	if c1 != nil && c4 != nil && c1.OutputTokensPerS > 0 && c4.OK > 0 {
		put(profile.ConcurrencyGain, c4.OutputTokensPerS/c1.OutputTokensPerS, true, "")
	} else {
		put(profile.ConcurrencyGain, 0, false, "no output throughput at one or at four streams")
	}
	if decodeOK(c1) && decodeOK(end) && c1.DecodeTPS.P50 > 0 {
		put(profile.SustainedRatio, end.DecodeTPS.P50/c1.DecodeTPS.P50, true, "")
	} else {
		put(profile.SustainedRatio, 0, false, "no decode rate before or after the sustained generation")
	}
	tpj, why := stageWindow(res, model, profile.ScenarioDecode, profile.StageC1, func(w *runner.Window) *float64 { return w.TokensPerJoule })
	if tpj != nil {
		put(profile.TokensPerJoule, *tpj, true, "")
	} else {
		put(profile.TokensPerJoule, 0, false, why)
	}
	m.TempStartC, _ = stageWindow(res, model, profile.ScenarioDecode, profile.StageC1, hottestGPU)
	m.TempEndC, _ = stageWindow(res, model, profile.ScenarioDecode, profile.StageSustainEnd, hottestGPU)
	if score, complete, missing, ok := profile.Score(m.Values, ref); ok {
		m.Score, m.Complete = &score, complete
		m.Missing = missing
	} else {
		m.Missing = missing
	}
	return m
}

// inexactInput says why the prompts of an input-length stage (standard/2's
// long prompts) may not be the length asked for: estimated, because the
// engine could not count them, or not hit exactly. "" when they are exact.
func inexactInput(res *runner.Result, model, scenario string) string {
	if res.Suite.InputLengths == nil {
		return ""
	}
	for _, p := range res.Suite.InputLengths.Prompts {
		if p.Model != model || p.Scenario != scenario {
			continue
		}
		switch {
		case p.Method == inputlen.MethodEstimate:
			return fmt.Sprintf("the prompt's %s tokens are estimated (the engine could not count them): approximate", p.Spec)
		case p.Missed > 0:
			return fmt.Sprintf("no prompt counts exactly %s tokens by %s: the nearest shorter one was sent", p.Spec, p.Method)
		}
	}
	return ""
}

// stageWindow reads one figure of a stage's resource window; why says why
// there is none.
func stageWindow(res *runner.Result, model, scenario, stage string, get func(*runner.Window) *float64) (*float64, string) {
	if res.Resources == nil {
		return nil, "not measured: resources were not sampled"
	}
	for i := range res.Resources.Stages {
		w := &res.Resources.Stages[i]
		if w.Model == model && w.Scenario == scenario && w.Stage == stage {
			if v := get(w); v != nil {
				return v, ""
			}
			return nil, "not measured: no power reading on this machine (docs/metrics.md §9)"
		}
	}
	return nil, "not measured: the stage did not run"
}

// hottestGPU is the hottest GPU temperature of a window (°C), or nil.
func hottestGPU(w *runner.Window) *float64 {
	var hot *float64
	for _, g := range w.GPUs {
		if p := g.TempC.Peak; p != nil && (hot == nil || *p > *hot) {
			v := *p
			hot = &v
		}
	}
	return hot
}

// ProfileLine is the one-line answer of a profiled model.
func ProfileLine(p *profile.Result, m *profile.ModelResult) string {
	if m.Score == nil {
		return fmt.Sprintf("%s: no score (%s)", m.Model, strings.Join(m.Missing, ", "))
	}
	return fmt.Sprintf("%s: %s score %s (reference %s = 100)", m.Model, p.ID, profile.FormatScore(*m.Score, m.Complete), p.Reference.Name)
}
