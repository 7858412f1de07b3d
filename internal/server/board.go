package server

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"time"

	"flperf/internal/bench"
	"flperf/internal/board"
	"flperf/internal/profile"
	"flperf/internal/stats"
	"flperf/internal/store"
)

// Limits of the board's queries.
const (
	maxBoardParam = 1024 // bytes of one query parameter
	maxTrendRuns  = 50   // the newest runs a trend compares, one after another
)

// boardAnswer is GET /api/v1/board's payload.
type boardAnswer struct {
	Configs []store.BoardConfig `json:"configs"` // every configuration on the board
	Matrix  *board.Matrix       `json:"matrix"`  // the chosen one's (null: the board is empty)
	Filters boardFilters        `json:"filters"` // the values the chosen configuration's rows have, to filter by
}

// boardFilters lists the distinct engines, versions and quantisations of a
// configuration's rows.
type boardFilters struct {
	Engines        []string `json:"engines"`
	EngineVersions []string `json:"engine_versions"`
	Quantizations  []string `json:"quantizations"`
}

// boardQuery reads the board's query parameters: the configuration (suite,
// scenarios, load, profile; default: the configuration with the most
// runs) and the filters.
func boardQuery(q url.Values, configs []store.BoardConfig) (store.BoardFilter, error) {
	var f store.BoardFilter
	for _, k := range []string{"suite", "scenarios", "load", "profile", "engine", "engine_version", "quantization", "since", "until", "rank", "model", "machine", "metric"} {
		for _, v := range q[k] {
			if len(v) > maxBoardParam {
				return f, badRequest(k, "%s is longer than %d bytes", k, maxBoardParam)
			}
		}
	}
	f.Suite, f.Scenarios, f.Load, f.Profile = q.Get("suite"), q.Get("scenarios"), q.Get("load"), q.Get("profile")
	if f.Suite == "" {
		if f.Scenarios != "" || f.Load != "" || f.Profile != "" {
			return f, badRequest("suite", "a configuration is a suite, scenarios and load together: give suite too")
		}
		if len(configs) > 0 {
			f.Config = configs[0].Config
		}
	} else if f.Scenarios == "" || f.Load == "" {
		field := "scenarios"
		if f.Scenarios != "" {
			field = "load"
		}
		return f, badRequest(field, "a configuration is a suite, scenarios and load together: give %s too (GET /api/v1/board lists them)", field)
	}
	f.Engine, f.EngineVersion, f.Quant = q.Get("engine"), q.Get("engine_version"), q.Get("quantization")
	var err error
	if f.Since, err = boardTime(q.Get("since"), "since"); err != nil {
		return f, err
	}
	if f.Until, err = boardTime(q.Get("until"), "until"); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, badRequest("until", "until must be after since")
	}
	return f, nil
}

// boardTime reads a date (2026-12-07, the day's start in UTC) or an RFC
// 3339 time.
func boardTime(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, badRequest(field, "%s must be a date (2026-12-07) or an RFC 3339 time, got %s", field, quote(v))
	}
	return t, nil
}

// handleBoard answers the leaderboard of one configuration from the
// board's index (stored summaries; never the records).
func (s *Server) handleBoard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	configs, err := s.db.BoardConfigs(ctx)
	if err != nil {
		return boardErr(err)
	}
	q := r.URL.Query()
	f, err := boardQuery(q, configs)
	if err != nil {
		return err
	}
	rank := q.Get("rank")
	if _, ok := board.RankMetric(rank); rank != "" && !ok {
		return badRequest("rank", "rank must be one of score, ttft_p50_ms, decode_p50_tps, output_tps, e2e_p95_ms, j_per_token, got %s", quote(rank))
	}
	ans := boardAnswer{Configs: configs, Filters: boardFilters{Engines: []string{}, EngineVersions: []string{}, Quantizations: []string{}}}
	if f.Suite == "" {
		return writeData(w, http.StatusOK, ans)
	}
	// The filters' choices: every value of the configuration's rows.
	fl := &ans.Filters
	if fl.Engines, fl.EngineVersions, fl.Quantizations, err = s.db.BoardChoices(ctx, f.Config); err != nil {
		return boardErr(err)
	}
	rows, err := s.db.BoardCells(ctx, f)
	if err != nil {
		return boardErr(err)
	}
	m := board.Build(f.Config, rows, rank)
	ans.Matrix = &m
	return writeData(w, http.StatusOK, ans)
}

// boardErr maps a store error of the board to the envelope.
func boardErr(err error) error {
	if errors.Is(err, store.ErrOldSchema) {
		return newError(kindUnavailable, "", "%v", err)
	}
	return err
}

// trendAnswer is GET /api/v1/board/trend's payload.
type trendAnswer struct {
	Model   string        `json:"model"`
	Machine board.Machine `json:"machine"`
	Config  board.Config  `json:"config"`
	Alpha   float64       `json:"alpha"`
	Points  []trendPoint  `json:"points"` // oldest first
}

// trendPoint is one run of the model on the machine, and what changed
// since the run before it.
type trendPoint struct {
	board.Cell
	// Marks are `flperf compare`'s pooled rows of this run against the
	// previous point (null for the first point): each metric's medians,
	// relative change, p-value and whether it is significant and worse.
	Marks   []trendMark `json:"marks"`
	Changed []string    `json:"changed"` // what differs from the previous point: engine version, quantization
}

// trendMark is one metric's comparison with the previous point.
type trendMark struct {
	Metric      string   `json:"metric"`
	Base        *float64 `json:"base_p50"`
	Cand        *float64 `json:"cand_p50"`
	Delta       *float64 `json:"delta"`
	P           *float64 `json:"p"`
	Significant bool     `json:"significant"`
	Worse       bool     `json:"worse"`
	Note        string   `json:"note,omitempty"`
}

// handleTrend answers one model on one machine over time in one
// configuration, each run compared with the one before it as `flperf
// compare` does (the comparison reads the two runs' records).
func (s *Server) handleTrend(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	model, machine := q.Get("model"), q.Get("machine")
	if model == "" {
		return badRequest("model", "give model=ID")
	}
	if machine == "" {
		return badRequest("machine", "give machine=KEY (a machine's key from GET /api/v1/board)")
	}
	configs, err := s.db.BoardConfigs(ctx)
	if err != nil {
		return boardErr(err)
	}
	f, err := boardQuery(q, configs)
	if err != nil {
		return err
	}
	f.Model, f.Machine = model, machine
	ms, unknown := bench.CompareMetrics(q["metric"])
	if len(unknown) > 0 {
		return badRequest("metric", "unknown metric %s", quote(unknown[0]))
	}
	rows, err := s.db.BoardRows(ctx, f)
	if err != nil {
		return boardErr(err)
	}
	if len(rows) == 0 {
		return notFound("no run of model %s on machine %s in this configuration", quote(model), quote(machine))
	}
	if len(rows) > maxTrendRuns {
		rows = rows[len(rows)-maxTrendRuns:]
	}
	ans := trendAnswer{Model: model, Machine: rows[0].Machine, Config: f.Config, Alpha: stats.DefaultAlpha, Points: []trendPoint{}}
	for i := range rows {
		m := board.Build(f.Config, rows[i:i+1], "")
		p := trendPoint{Cell: m.Cells[0], Changed: []string{}}
		p.Runs, p.Best = 0, false
		if i > 0 {
			prev := &rows[i-1]
			if prev.EngineVersion != rows[i].EngineVersion || prev.Engine != rows[i].Engine {
				p.Changed = append(p.Changed, "engine "+prev.Engine+" "+prev.EngineVersion+" → "+rows[i].Engine+" "+rows[i].EngineVersion)
			}
			if prev.Machine.Driver != rows[i].Machine.Driver {
				p.Changed = append(p.Changed, "GPU driver "+orUnknown(prev.Machine.Driver)+" → "+orUnknown(rows[i].Machine.Driver))
			}
			if prev.Power != rows[i].Power {
				p.Changed = append(p.Changed, "power "+prev.Power+" → "+rows[i].Power)
			}
			if prev.Quant != rows[i].Quant {
				p.Changed = append(p.Changed, "quantization "+prev.Quant+" → "+rows[i].Quant)
			}
			cmp, err := bench.Compare(ctx, s.db, prev.RunID+"@"+model, rows[i].RunID+"@"+model, ms, stats.DefaultAlpha)
			if err != nil {
				return err
			}
			p.Marks = []trendMark{}
			for _, row := range cmp.Rows {
				if row.Pooled && row.Model == model {
					p.Marks = append(p.Marks, trendMark{Metric: row.Metric, Base: fin(row.Base.P50), Cand: fin(row.Cand.P50), Delta: fin(row.Delta),
						P: fin(row.P), Significant: row.Significant, Worse: row.Worse, Note: row.Note})
				}
			}
		}
		ans.Points = append(ans.Points, p)
	}
	return writeData(w, http.StatusOK, ans)
}

// orUnknown is s, or "unknown" when empty.
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// fin is &v, or nil for NaN and infinities.
func fin(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// profileRequest is POST /api/v1/profile's body: the profile and where to
// run it (engine, models, seed, sampling); every workload field of a
// RunSpec is refused, naming it (a profile never takes overrides, nor the
// app's saved defaults).
type profileRequest struct {
	Profile string `json:"profile"`
	bench.Spec
}

// UnmarshalJSON reads the profile's name, then the rest as a RunSpec
// (bench.Spec's own reading, unknown fields refused).
func (p *profileRequest) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if raw, ok := fields["profile"]; ok {
		if err := json.Unmarshal(raw, &p.Profile); err != nil {
			return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[string](), Field: "profile"}
		}
		delete(fields, "profile")
	}
	rest, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	return json.Unmarshal(rest, &p.Spec)
}

// handleStartProfile starts a profiled run (`flperf run --profile`).
func (s *Server) handleStartProfile(w http.ResponseWriter, r *http.Request) error {
	var req profileRequest
	if err := decodeBody(w, r, &req, maxBody); err != nil {
		return err
	}
	if req.Profile == "" {
		return badRequest("profile", "give profile: %q (its newest version, %q; or %q, or a variant like %q)", profile.Standard, "standard/2", "standard/1", "standard@sustain=10m")
	}
	def, err := profile.Parse(req.Profile)
	if err != nil {
		return badRequest("profile", "%v", err)
	}
	pr, err := bench.ResolveProfile(&req.Spec, def, bench.Check{ModelsRequired: true})
	if err != nil {
		return err
	}
	return s.startRun(w, r, pr.Resolved, runKind{profile: pr})
}
