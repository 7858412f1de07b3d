package result

import "slices"

// Truncation is one model × scenario (× stage) whose prompts the engine
// cut, by its own input counts (docs/metrics.md §13).
type Truncation struct {
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	Stage    string `json:"stage,omitempty"`
	// Requested is the mean input tokens the prompts asked for (a
	// scenario's input_tokens, a context sweep's length; 0: none).
	Requested int `json:"requested,omitempty"`
	// Window is the model's context window as the engine told it (0:
	// unknown).
	Window int `json:"window,omitempty"`
	// Counted is the fewest input tokens the engine counted for one ok
	// request of the group; CountedMax the most.
	Counted    int    `json:"counted"`
	CountedMax int    `json:"counted_max"`
	Message    string `json:"message"` // what happened and what to do, for people
}

// String is the truncation as one run warning.
func (t *Truncation) String() string {
	s := t.Model + " / " + t.Scenario
	if t.Stage != "" {
		s += " / " + t.Stage
	}
	return s + ": " + t.Message
}

// MarkTruncated puts each of the run's truncations (Suite.Truncated, kept
// with the run) on its group as a warning, once: the runner calls it after
// the run, and the store whenever it summarises a stored run's records
// again, so that the groups say it wherever they are shown.
func MarkTruncated(res *Result) {
	for _, t := range res.Suite.Truncated {
		for i := range res.Groups {
			g := &res.Groups[i]
			if g.Model == t.Model && g.Scenario == t.Scenario && g.Stage == t.Stage && !slices.Contains(g.Warnings, t.Message) {
				g.Warnings = append(g.Warnings, t.Message)
			}
		}
	}
}
