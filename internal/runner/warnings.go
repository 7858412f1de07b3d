package runner

import (
	"fmt"

	"flperf/internal/stats"
)

// runWarnings lists what a reader of the run must know before trusting it.
func runWarnings(r *Result) []string {
	w := []string{}
	if r.Engine.Simulated {
		w = append(w, "SIMULATED engine: these figures come from flperf's built-in simulator, not from a real model. Pass --endpoint (or start Foundry Local, Ollama, llama.cpp or LM Studio) to measure a real engine.")
	}
	switch r.Status {
	case Interrupted:
		w = append(w, "interrupted: scheduling was stopped early; figures cover only the requests that ran.")
	case Canceled:
		w = append(w, "canceled: requests in flight were cancelled; figures cover only the requests that finished.")
	}
	if n := r.Total.ConnRetries; n > 0 {
		what := fmt.Sprintf("%d requests", n)
		if n == 1 {
			what = "1 request"
		}
		w = append(w, fmt.Sprintf("connection retries: %s went once more on a new connection because the engine had closed the reused one before any response byte; they never reached it, are not counted as failures, and their TTFT and E2E count from the sending that got through.%s",
			what, reuseNote(r.Engine.ConnectionReuse)))
	}
	for i := range r.Suite.ContextFit {
		w = append(w, r.Suite.ContextFit[i].String())
	}
	w = append(w, r.Suite.InputLengths.Warnings()...)
	for i := range r.Suite.OpenLoop {
		w = append(w, r.Suite.OpenLoop[i].String())
	}
	for _, t := range r.Suite.Truncated {
		w = append(w, t.String())
	}
	for _, g := range r.Models {
		if g.Requests > 0 && g.OK == 0 {
			w = append(w, fmt.Sprintf("model %s: all %d requests failed; it has no latency or throughput figures and is ranked last.", g.Model, g.Requests))
		}
	}
	return w
}

// reuseNote is the connection note of a run's warning.
func reuseNote(s string) string {
	if s == "" {
		return ""
	}
	return " Connections: " + s + "."
}

// connectionReuse is what the client learned about the engine's
// connections (backend.Client.ConnectionReuse), when it says.
func connectionReuse(d Doer) string {
	if c, ok := d.(interface{ ConnectionReuse() string }); ok {
		return c.ConnectionReuse()
	}
	return ""
}

// group finds the summary of one model × scenario (of a run of one level).
func group(r *Result, model, scenario string) *stats.Group { return stageGroup(r, model, scenario, "") }

// stageGroup finds the summary of one model × scenario × stage.
func stageGroup(r *Result, model, scenario, stage string) *stats.Group {
	for i := range r.Groups {
		if r.Groups[i].Model == model && r.Groups[i].Scenario == scenario && r.Groups[i].Stage == stage {
			return &r.Groups[i]
		}
	}
	return nil
}
