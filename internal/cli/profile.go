package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"flperf/internal/bench"
	"flperf/internal/profile"
	"flperf/internal/report"
)

// profileKeeps are the `flperf run` flags a profiled run takes: where to
// run and which models, how to save and print it, and sampling (the
// machine's side, never the workload's).
var profileKeeps = []string{"endpoint", "engine", "api-key", "model", "db", "no-save", "format", "out", "no-progress",
	"seed", "sample-interval", "engine-pid", "metrics-listen", "metrics-token", "profile"}

// buildProfile resolves `flperf run --profile NAME`: every workload flag
// on the command line is refused (a profile never takes the user's
// overrides), and one set by an FLPERF_* variable is ignored, with a note.
func buildProfile(env *Env, f *runFlags, src flagSources) (*bench.ProfileRun, error) {
	def, err := profile.Parse(f.profile)
	if err != nil {
		return nil, fmt.Errorf("--profile: %v", err)
	}
	var errs []error
	var given, ignored []string
	for name := range src.cmdline {
		if !slices.Contains(profileKeeps, name) {
			given = append(given, name)
		}
	}
	for name := range src.env {
		if !slices.Contains(profileKeeps, name) && !src.cmdline[name] {
			ignored = append(ignored, name)
		}
	}
	sort.Strings(given)
	sort.Strings(ignored)
	for _, name := range given {
		errs = append(errs, fmt.Errorf("--%s: the %s profile fixes the workload, so --%s cannot be given with --profile: drop it, or drop --profile for a custom run (never ranked against profiled ones)", name, def.ID(), name))
	}
	for _, name := range ignored {
		fmt.Fprintf(env.Stderr, "flperf: --profile %s ignores --%s set by the environment: a profile never takes overrides\n", def.ID(), name)
	}
	s := bench.Spec{Models: f.models}
	if src.given("sample-interval") {
		s.SampleInterval = f.sampleInterval
	}
	if src.given("engine-pid") {
		s.EnginePID = &f.enginePID
	}
	if f.seed != "" && src.cmdline["seed"] {
		n, err := strconv.ParseInt(f.seed, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("--seed: not an integer: %q", f.seed))
		} else {
			s.Seed = &n
		}
	}
	if !slices.Contains(report.Formats, f.format) {
		errs = append(errs, fmt.Errorf("--format: must be one of %s, got %q", strings.Join(report.Formats, ", "), f.format))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return bench.ResolveProfile(&s, def, bench.Check{Name: flagName})
}

// profileTable writes a profiled run's figures and scores: one block per
// model, each figure with its value (or why it has none) and its value
// against the reference.
func profileTable(w io.Writer, p *profile.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nProfile %s (reference %s = 100; power: %s)\n", p.ID, p.Reference.Name, p.Power)
	for i := range p.Models {
		m := &p.Models[i]
		score := "none"
		if m.Score != nil {
			score = profile.FormatScore(*m.Score, m.Complete)
		}
		fmt.Fprintf(&b, "\n%s: score %s\n", m.Model, score)
		for _, v := range m.Values {
			def, _ := profile.FigureByKey(v.Key)
			val := "–  " + v.Note
			if v.Value != nil {
				val = strconv.FormatFloat(*v.Value, 'f', 3, 64) + " " + def.Unit
				if v.Normalised != nil {
					val += fmt.Sprintf("  (%.1f against the reference)", *v.Normalised)
				} else if !def.Scored {
					val += "  (not scored)"
				}
				if v.Note != "" {
					val += "  ! " + v.Note
				}
			}
			fmt.Fprintf(&b, "  %-26s %s\n", def.Title, val)
		}
		temp := func(v *float64) string {
			if v == nil {
				return "–"
			}
			return strconv.FormatFloat(*v, 'f', 0, 64) + " °C"
		}
		fmt.Fprintf(&b, "  %-26s %s → %s\n", "GPU temperature (peak)", temp(m.TempStartC), temp(m.TempEndC))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
