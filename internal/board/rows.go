package board

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"flperf/internal/load"
	"flperf/internal/profile"
	"flperf/internal/result"
	"flperf/internal/stats"
)

// Row is one model at one load level of one completed run: its
// configuration, its machine and engine, and its headline figures from the
// run's stored summaries (null: no sample). It is what the store indexes
// (schema 17's board table) and what the board reads.
type Row struct {
	RunID   string    `json:"run"`
	Model   string    `json:"model"`
	Stage   string    `json:"stage,omitempty"` // the load level's label in a sweep
	Started time.Time `json:"started"`
	Config
	Machine       Machine `json:"machine"`
	Engine        string  `json:"engine"`         // engine kind
	EngineVersion string  `json:"engine_version"` // "" unknown
	Quant         string  `json:"quantization"`   // the model's quantisation as the engine reports it ("" unknown)
	Simulated     bool    `json:"simulated"`
	Power         string  `json:"power"` // "ac", "battery" or "unknown": what powered the machine
	Requests      int     `json:"requests"`
	OK            int     `json:"ok"`
	ErrorRate     float64 `json:"error_rate"`
	Figures
	// Score is a profiled model's composite score (null for custom runs
	// and for a profiled model with no scored figure); ScoreComplete is
	// false for a partial one (docs/metrics.md §11).
	Score         *float64 `json:"score"`
	ScoreComplete bool     `json:"score_complete"`
	// Runs, when above 0, is how many runs of this model on this machine
	// in this configuration the row stands for (it is their newest).
	Runs int `json:"-"`
}

// Figures are the board's headline figures.
type Figures struct {
	TTFTP50   *float64 `json:"ttft_p50_ms"`
	DecodeP50 *float64 `json:"decode_p50_tps"`
	OutputTPS *float64 `json:"output_tps"`
	E2EP95    *float64 `json:"e2e_p95_ms"`
	JPerToken *float64 `json:"j_per_token"`
}

// Config is what makes two rows like-for-like: rows of equal Configs share
// a matrix, never rows of different ones.
type Config struct {
	Suite     string `json:"suite"`     // the suite's name ("profile:standard/1" for a profiled run)
	Scenarios string `json:"scenarios"` // the scenarios run, sorted and comma-separated
	Load      string `json:"load"`      // LoadOf: mode, level, max_tokens, streaming, fixed output
	Profile   string `json:"profile"`   // the profile's ID ("standard/1"); "" for a custom run
}

// Key is the configuration in one string (its fields joined by "|").
func (c Config) Key() string {
	return c.Suite + "|" + c.Scenarios + "|" + c.Load + "|" + c.Profile
}

// LoadOf describes the load of a run's stage: the mode and level (the
// stage's own in a sweep), max_tokens ("scenario": each scenario's own),
// streaming and fixed output. Equal strings are equal loads.
func LoadOf(c *result.Config, stage string) string {
	level := stage
	if level == "" {
		switch c.Mode {
		case load.Rate:
			level = "rate=" + strconv.FormatFloat(c.Rate, 'g', -1, 64) + "/s"
		default:
			level = "c=" + strconv.Itoa(max(c.Concurrency, 1))
		}
	}
	mode := string(c.Mode)
	if mode == "" || mode == string(load.Sequential) {
		mode = string(load.Concurrency) // sequential is one stream in flight: c=1
	}
	if c.Mode == load.Rate && c.Arrival != "" {
		mode += " " + string(c.Arrival)
	}
	if c.Mode == load.Rate && c.MaxInFlight > 0 {
		mode += fmt.Sprintf(" max_in_flight=%d", c.MaxInFlight)
	}
	mt := "scenario"
	if c.MaxTokens > 0 {
		mt = strconv.Itoa(c.MaxTokens)
	}
	s := fmt.Sprintf("%s %s max_tokens=%s", mode, level, mt)
	if !c.Stream {
		s += " no-stream"
	}
	if c.FixedOutput {
		s += " fixed-output"
	}
	return s
}

// Indexed reports whether a run belongs on the board: completed, not
// imported from the original FLPerformance, not a capacity search.
func Indexed(res *result.Result) bool {
	return res.Status == result.Completed && res.Legacy == nil && res.Config.Capacity == nil
}

// RowsOf is the board's rows of a completed run whose summary is sum (the
// stored one): one per model × load level, or one per model of a profiled
// run, its figures from the profile's stages. Nil when the run does not
// belong on the board (Indexed).
func RowsOf(res *result.Result, sum *stats.Summary) []Row {
	if !Indexed(res) {
		return nil
	}
	scs := slices.Clone(res.Config.Scenarios)
	slices.Sort(scs)
	power := "unknown"
	if res.Hardware != nil && res.Hardware.Power.Source != "" {
		power = res.Hardware.Power.Source
	}
	base := Row{RunID: res.ID, Started: res.Started, Machine: MachineOf(res.Hardware), Power: power,
		Engine: string(res.Engine.Kind), EngineVersion: res.Engine.Version, Simulated: res.Engine.Simulated,
		Config: Config{Suite: res.Suite.Name, Scenarios: strings.Join(scs, ",")}}
	quant := func(model string) string {
		for _, m := range res.Engine.Models {
			if m.ID == model {
				return m.Quantization
			}
		}
		return ""
	}
	if p := res.Config.Profile; p != nil {
		var rows []Row
		for _, model := range res.Config.Models {
			r := base
			r.Model, r.Quant = model, quant(model)
			r.Profile, r.Load = p.ID, "profile "+p.ID
			chat := findGroup(sum.Groups, model, profile.ScenarioChat, profile.StageC1)
			dec := findGroup(sum.Groups, model, profile.ScenarioDecode, profile.StageC1)
			for _, g := range sum.Groups {
				if g.Model == model {
					r.Requests += g.Requests
					r.OK += g.OK
				}
			}
			if r.Requests > 0 {
				r.ErrorRate = float64(r.Requests-r.OK) / float64(r.Requests)
			}
			if chat != nil {
				r.TTFTP50, r.E2EP95 = pct(chat.TTFT, chat.TTFT.P50), pct(chat.E2E, chat.E2E.P95)
			}
			if dec != nil {
				r.DecodeP50, r.OutputTPS = pct(dec.DecodeTPS, dec.DecodeTPS.P50), finite(dec.OutputTokensPerS)
			}
			r.JPerToken = joules(res, model, profile.ScenarioDecode, profile.StageC1, true)
			if m := p.Model(model); m != nil && m.Score != nil {
				s := *m.Score
				r.Score, r.ScoreComplete = &s, m.Complete
			}
			rows = append(rows, r)
		}
		return rows
	}
	rows := make([]Row, 0, len(sum.Models))
	for i := range sum.Models {
		g := &sum.Models[i]
		r := base
		r.Model, r.Stage, r.Quant = g.Model, g.Stage, quant(g.Model)
		r.Load = LoadOf(&res.Config, g.Stage)
		r.Requests, r.OK, r.ErrorRate = g.Requests, g.OK, finiteOr0(g.ErrorRate)
		r.TTFTP50, r.E2EP95 = pct(g.TTFT, g.TTFT.P50), pct(g.E2E, g.E2E.P95)
		r.DecodeP50, r.OutputTPS = pct(g.DecodeTPS, g.DecodeTPS.P50), finite(g.OutputTokensPerS)
		r.JPerToken = joules(res, g.Model, "", g.Stage, false)
		rows = append(rows, r)
	}
	return rows
}

// findGroup finds the group of model × scenario × stage.
func findGroup(gs []stats.Group, model, scenario, stage string) *stats.Group {
	for i := range gs {
		if gs[i].Model == model && gs[i].Scenario == scenario && gs[i].Stage == stage {
			return &gs[i]
		}
	}
	return nil
}

// joules is the J/token of a model's resource window: a stage's (byStage:
// scenario × stage) or the model's at a load level.
func joules(res *result.Result, model, scenario, stage string, byStage bool) *float64 {
	if res.Resources == nil {
		return nil
	}
	ws := res.Resources.Models
	if byStage {
		ws = res.Resources.Stages
	}
	for i := range ws {
		w := &ws[i]
		if w.Model == model && w.Stage == stage && (!byStage || w.Scenario == scenario) {
			if w.JoulesPerToken != nil {
				return finite(*w.JoulesPerToken)
			}
			return nil
		}
	}
	return nil
}

// pct is a distribution's figure v, or nil when it has no samples.
func pct(d stats.Dist, v float64) *float64 {
	if d.N == 0 {
		return nil
	}
	return finite(v)
}

// finite is &v, or nil for NaN and infinities.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
