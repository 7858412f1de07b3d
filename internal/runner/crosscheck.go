package runner

import (
	"fmt"
	"math"
)

// CrossCheckTTFT is how much higher the client's mean TTFT may be than the
// engine's own at concurrency 1 before a warning: more means time spent
// outside the engine (queueing in front of it, network, a proxy).
const CrossCheckTTFT = 50.0 // ms

// crossCheck compares the client's figures with the engine's own, stage by
// stage (docs/metrics.md §2, docs/engines.md §7.2), and warns where they disagree:
// the engine counting other requests than flperf's, token counts that differ
// (a counting bug), or client TTFT well above the engine's at concurrency 1.
func crossCheck(r *Result) []string {
	var w []string
	sequential := r.Config.Connections() == 1
	for _, st := range r.Server {
		g := stageGroup(r, st.Model, st.Scenario, st.Stage)
		if g == nil {
			continue
		}
		where := fmt.Sprintf("%s / %s", st.Model, st.Scenario)
		if st.Stage != "" {
			where += " / " + st.Stage
		}
		s := st.Stats
		if s.RequestsFinished != nil && int(math.Round(*s.RequestsFinished)) != st.ClientRequests {
			w = append(w, fmt.Sprintf("%s: the engine counted %.0f requests, flperf sent %d: another client used the engine during the stage, or requests were lost; its server-side figures include them",
				where, *s.RequestsFinished, st.ClientRequests))
			continue
		}
		if st.ClientWarmups == 0 && g.OK == g.Requests && s.GenerationTokens != nil && g.OutputTokens.N > 0 {
			client := g.OutputTokens.Mean * float64(g.OutputTokens.N)
			if d := math.Abs(client-*s.GenerationTokens) / math.Max(client, 1); d > 0.02 {
				w = append(w, fmt.Sprintf("%s: flperf counted %.0f output tokens, the engine %.0f (%.1f%% apart): one of the two counts is wrong",
					where, client, *s.GenerationTokens, 100*d))
			}
		}
		if sequential && s.MeanTTFT != nil && g.TTFT.N > 0 {
			if gap := g.TTFT.Mean - 1000**s.MeanTTFT; gap > CrossCheckTTFT {
				w = append(w, fmt.Sprintf("%s: mean TTFT is %.0f ms at the client but %.0f ms in the engine: %.0f ms are spent outside it (queueing in front of the engine, network or a proxy)",
					where, g.TTFT.Mean, 1000**s.MeanTTFT, gap))
			}
		}
	}
	w = append(w, perResponseCheck(r, sequential)...)
	return w
}

// perResponseCheck compares the client's TTFT with the engine's own account
// of the same responses (llama.cpp timings, Ollama durations, LM Studio
// stats): at concurrency 1 the difference is time spent outside the engine.
func perResponseCheck(r *Result, sequential bool) []string {
	if !sequential {
		return nil
	}
	var w []string
	for i := range r.Groups {
		g := &r.Groups[i]
		if g.Engine == nil || g.Engine.Overhead.N == 0 {
			continue
		}
		if o := g.Engine.Overhead.Mean; o > CrossCheckTTFT {
			w = append(w, fmt.Sprintf("%s / %s: the client's TTFT is %.0f ms above the engine's own per-response timings on average (%d requests): time spent outside the engine (network, a proxy, queueing in front of it)",
				g.Model, g.Scenario, o, g.Engine.Overhead.N))
		}
	}
	return w
}
