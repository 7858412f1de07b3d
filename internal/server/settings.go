package server

import (
	"context"
	"errors"
	"net/http"

	"flperf/internal/bench"
)

// settingDefaults is the settings key of the defaults for new runs.
const settingDefaults = "defaults"

// runDefaults are the defaults for new runs, kept in the database. A nil
// field is not set: the run's own default applies (the suite's
// default_config, then flperf's).
type runDefaults struct {
	Suite       string   `json:"suite"`
	Requests    *int     `json:"requests"`
	Concurrency *int     `json:"concurrency"`
	Warmup      *int     `json:"warmup"`
	Timeout     *string  `json:"timeout"`
	MaxTokens   *int     `json:"max_tokens"`
	Temperature *float64 `json:"temperature"`
	Stream      *bool    `json:"stream"`
	SLO         string   `json:"slo"`
}

// builtinDefaults are the defaults when none were saved: those of
// `flperf run`.
func builtinDefaults() runDefaults {
	one, stream := 1, true
	warmup := 1
	return runDefaults{Suite: "default", Concurrency: &one, Warmup: &warmup, Stream: &stream}
}

// defaults reads the saved defaults over the built-in ones.
func (s *Server) defaults(ctx context.Context) (runDefaults, error) {
	d := builtinDefaults()
	if _, err := s.db.Setting(ctx, settingDefaults, &d); err != nil {
		return d, err
	}
	return d, nil
}

// apply fills what spec leaves unset from d. Temperature null and
// absent are alike: both take the default.
func (d *runDefaults) apply(s *bench.Spec) {
	// input_tokens alone runs its generated scenario, and a context sweep
	// replaces the suite: neither takes the default suite.
	if s.Suite == "" && s.ContextSweep == "" && (s.InputTokens == "" || len(s.Scenarios) > 0) {
		s.Suite = d.Suite
	}
	if s.Requests == nil && s.Duration == "" {
		s.Requests = d.Requests
	}
	if s.Concurrency == nil && s.Rate == nil && len(s.ConcurrencyList) == 0 && len(s.RateList) == 0 && s.Sweep == "" && (s.Mode == "" || s.Mode == "concurrency") {
		s.Concurrency = d.Concurrency
	}
	if s.Warmup == nil {
		s.Warmup = d.Warmup
	}
	if s.Timeout == "" && d.Timeout != nil {
		s.Timeout = *d.Timeout
	}
	if s.MaxTokens == 0 && d.MaxTokens != nil {
		s.MaxTokens = *d.MaxTokens
	}
	if s.Temperature == nil {
		s.Temperature = d.Temperature
	}
	if s.Stream == nil {
		s.Stream = d.Stream
	}
	if s.SLO == "" {
		s.SLO = d.SLO
	}
}

// settingsView is GET /settings.
type settingsView struct {
	DataPath string      `json:"data_path"`
	DBPath   string      `json:"db_path"`
	Defaults runDefaults `json:"defaults"`
	Engines  []Engine    `json:"engines"`
}

// handleSettings answers GET /settings.
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) error {
	v, err := s.settings(r.Context())
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, v)
}

// settings builds the settings view.
func (s *Server) settings(ctx context.Context) (*settingsView, error) {
	d, err := s.defaults(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.engines.probe(ctx, false)
	if err != nil {
		return nil, err
	}
	v := &settingsView{DataPath: s.db.DataDir(), DBPath: s.db.Path(), Defaults: d, Engines: []Engine{}}
	for _, e := range list {
		if e.Configured {
			v.Engines = append(v.Engines, e)
		}
	}
	return v, nil
}

// handlePutSettings answers PUT /settings: the defaults are validated as a
// run would be, then saved.
func (s *Server) handlePutSettings(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Defaults *runDefaults `json:"defaults"`
	}
	if err := decodeBody(w, r, &body, maxBody); err != nil {
		return err
	}
	if body.Defaults == nil {
		return badRequest("defaults", "send {\"defaults\": {...}}")
	}
	d := *body.Defaults
	if d.Suite == "" {
		d.Suite = "default"
	}
	spec := bench.Spec{Models: []string{"any"}}
	d.apply(&spec)
	if _, err := spec.Validate(bench.Check{Suite: s.suites.resolve}); err != nil {
		var probs bench.Problems
		if errors.As(err, &probs) {
			for _, p := range probs {
				p.Field = "defaults." + p.Field
			}
		}
		return err
	}
	if err := s.db.SetSetting(r.Context(), settingDefaults, d); err != nil {
		return err
	}
	v, err := s.settings(r.Context())
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, v)
}
