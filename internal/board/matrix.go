package board

import (
	"cmp"
	"slices"
)

// MaxErrorRate is the failed fraction above which a model is never the
// best of its machine (as the app's "best model for…" ranking).
const MaxErrorRate = 0.05

// Rank metrics: which figure picks the best model of each machine.
var rankMetrics = map[string]bool{"score": false, "ttft_p50_ms": true, "decode_p50_tps": false, "output_tps": false, "e2e_p95_ms": true, "j_per_token": true}

// RankMetric reports whether key is a rank metric, and whether lower is
// better for it.
func RankMetric(key string) (lowerIsBetter, ok bool) {
	lowerIsBetter, ok = rankMetrics[key]
	return
}

// Matrix is the model × machine matrix of one configuration.
type Matrix struct {
	Config   Config       `json:"config"`
	Rank     string       `json:"rank"`     // the figure the best model of each machine is picked by
	Scored   bool         `json:"scored"`   // a profiled configuration: cells carry a composite score
	Models   []string     `json:"models"`   // rows, sorted
	Machines []Machine    `json:"machines"` // columns, grouped by class (Classes order), then by label
	Classes  []ClassGroup `json:"classes"`  // the column groups
	Cells    []Cell       `json:"cells"`    // one per model × machine that ran, model-major
}

// ClassGroup is one hardware class and its machines' keys.
type ClassGroup struct {
	Class    string   `json:"class"`
	Machines []string `json:"machines"`
}

// Cell is one model on one machine: its latest run's row in the
// configuration, how many runs the configuration holds for the pair, and
// whether it is the machine's best model.
type Cell struct {
	Model         string   `json:"model"`
	Machine       string   `json:"machine"` // Machine.Key
	Run           string   `json:"run"`     // the run the figures are from (the newest)
	Stage         string   `json:"stage,omitempty"`
	Started       string   `json:"started"` // RFC 3339
	Engine        string   `json:"engine"`
	EngineVersion string   `json:"engine_version"`
	Quant         string   `json:"quantization"`
	Simulated     bool     `json:"simulated"`
	Power         string   `json:"power"` // "ac", "battery" or "unknown"
	Requests      int      `json:"requests"`
	ErrorRate     float64  `json:"error_rate"`
	Runs          int      `json:"runs"` // runs of this model on this machine in the configuration
	Best          bool     `json:"best"`
	Score         *float64 `json:"score"`
	ScoreComplete bool     `json:"score_complete"`
	Figures
}

// Build assembles the matrix of rows of configuration c, oldest first
// (every row, or each model × machine's newest with Runs set, as the
// store's BoardCells returns them): each cell is the newest row of its
// model × machine, and the best model of each machine is the one with the
// best rank figure ("" picks score for a profiled configuration, output
// tokens/s otherwise) among those with at most MaxErrorRate failed.
func Build(c Config, rows []Row, rank string) Matrix {
	m := Matrix{Config: c, Scored: c.Profile != "", Rank: rank, Models: []string{}, Machines: []Machine{}, Classes: []ClassGroup{}, Cells: []Cell{}}
	if m.Rank == "" {
		m.Rank = "output_tps"
		if m.Scored {
			m.Rank = "score"
		}
	}
	type pair struct{ model, machine string }
	cells := map[pair]*Cell{}
	machines := map[string]Machine{}
	for i := range rows {
		r := &rows[i]
		if r.Config != c {
			continue
		}
		k := pair{r.Model, r.Machine.Key}
		runs := 1
		if old := cells[k]; old != nil {
			runs = old.Runs + 1
			if old.Run == r.RunID { // one row per run and model in a configuration
				runs = old.Runs
			}
		}
		if r.Runs > 0 {
			runs = r.Runs
		}
		cells[k] = &Cell{Model: r.Model, Machine: r.Machine.Key, Run: r.RunID, Stage: r.Stage, Started: r.Started.Format("2006-01-02T15:04:05Z07:00"),
			Engine: r.Engine, EngineVersion: r.EngineVersion, Quant: r.Quant, Simulated: r.Simulated, Power: r.Power, Requests: r.Requests,
			ErrorRate: r.ErrorRate, Runs: runs, Score: r.Score, ScoreComplete: r.ScoreComplete, Figures: r.Figures}
		machines[r.Machine.Key] = r.Machine
	}
	models := map[string]bool{}
	for k := range cells {
		models[k.model] = true
	}
	for mod := range models {
		m.Models = append(m.Models, mod)
	}
	slices.Sort(m.Models)
	for _, mc := range machines {
		m.Machines = append(m.Machines, mc)
	}
	slices.SortFunc(m.Machines, func(a, b Machine) int {
		return cmp.Or(cmp.Compare(slices.Index(Classes, a.Class), slices.Index(Classes, b.Class)), cmp.Compare(a.Label, b.Label), cmp.Compare(a.Key, b.Key))
	})
	for _, mc := range m.Machines {
		if n := len(m.Classes); n == 0 || m.Classes[n-1].Class != mc.Class {
			m.Classes = append(m.Classes, ClassGroup{Class: mc.Class})
		}
		g := &m.Classes[len(m.Classes)-1]
		g.Machines = append(g.Machines, mc.Key)
	}
	lower, _ := RankMetric(m.Rank)
	for _, mc := range m.Machines {
		var best *Cell
		var bestV float64
		for _, mod := range m.Models {
			c := cells[pair{mod, mc.Key}]
			if c == nil || c.ErrorRate > MaxErrorRate {
				continue
			}
			v := c.rankValue(m.Rank)
			if v == nil {
				continue
			}
			if best == nil || (lower && *v < bestV) || (!lower && *v > bestV) {
				best, bestV = c, *v
			}
		}
		if best != nil {
			best.Best = true
		}
	}
	for _, mod := range m.Models {
		for _, mc := range m.Machines {
			if c := cells[pair{mod, mc.Key}]; c != nil {
				m.Cells = append(m.Cells, *c)
			}
		}
	}
	return m
}

// rankValue is the cell's figure named key, or nil.
func (c *Cell) rankValue(key string) *float64 {
	switch key {
	case "score":
		return c.Score
	case "ttft_p50_ms":
		return c.TTFTP50
	case "decode_p50_tps":
		return c.DecodeP50
	case "output_tps":
		return c.OutputTPS
	case "e2e_p95_ms":
		return c.E2EP95
	case "j_per_token":
		return c.JPerToken
	}
	return nil
}
