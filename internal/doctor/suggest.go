package doctor

import (
	"fmt"
	"strings"
)

// suggest lists what to do next, most useful first: concrete commands for
// what the report found wrong.
func suggest(r *Report) []string {
	var out []string
	f := r.Foundry
	healthy := 0
	for _, e := range r.Engines {
		if e.Healthy {
			healthy++
		}
		if !e.Healthy && e.DetectedBy != f.StatusCommand {
			out = append(out, fmt.Sprintf("%s does not answer in time: restart the engine behind it, or stop whatever else listens there.", e.Endpoint))
		}
	}
	switch {
	case f.Installed && !f.Running:
		out = append(out, "Start the Foundry Local service: `foundry service start` (CLI 0.8 and older) or `foundry server start` (CLI 0.10+).")
	case f.Running && !f.Answers && r.System.Platform == "windows/arm64":
		out = append(out, "Foundry Local's service does not serve the address its CLI reports (the Windows ARM64 problem): benchmark Ollama (`ollama serve`) or llama.cpp (`llama-server -m MODEL.gguf`) instead, or pass --endpoint.")
	case f.Running && !f.Answers:
		out = append(out, "Restart the Foundry Local service: `"+f.Restart+"`; then run `flperf doctor` again.")
	}
	if healthy == 0 {
		out = append(out, "No engine answers: start one (`ollama serve`, `llama-server -m MODEL.gguf`, Foundry Local, LM Studio's server), or pass --endpoint URL to flperf run. `flperf sim` serves a SIMULATED engine for trying flperf out.")
	}
	d := r.Data
	switch {
	case d.Error != "":
		out = append(out, "The data directory could not be found ("+d.Error+"): pass --db FILE or set FLPERF_DB.")
	case d.DB.Exists && !d.DB.OK:
		out = append(out, fmt.Sprintf("The database is damaged or unusable (%s): move %s aside (flperf starts a new one) or restore a backup; `flperf db backup FILE` copies a healthy one.",
			strings.Join(first(d.DB.Problems, 2), "; "), d.DB.Path))
	case !d.DB.Exists:
		out = append(out, "No database yet: flperf creates "+d.DB.Path+" on the first run.")
	}
	if len(out) == 0 {
		out = append(out, "Nothing wrong found. When reporting a problem, attach this output (`flperf doctor --format json`) and the command you ran.")
	}
	return out
}

func first(ss []string, n int) []string {
	if len(ss) > n {
		return ss[:n]
	}
	return ss
}
