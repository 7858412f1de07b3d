package bench

import (
	"net/http"

	"flperf/internal/engine"
	"flperf/internal/engineseries"
	"flperf/internal/telemetry"
)

// engineSeriesFor returns the engine series' options for engine info when
// the run samples resources (sampling nil: off, and so is this) and the
// engine has routes for its queue (vLLM, SGLang, llama.cpp, Ollama): read
// every 500 ms or every resource sample, whichever is longer.
func engineSeriesFor(info engine.Info, sampling *telemetry.Options, hc *http.Client) *engineseries.Options {
	if sampling == nil {
		return nil
	}
	rd := engineseries.ReaderFor(info, hc)
	if rd == nil {
		return nil
	}
	iv := sampling.Interval
	if iv == 0 {
		iv = telemetry.DefaultInterval
	}
	return &engineseries.Options{Interval: max(iv, engineseries.DefaultInterval), Engine: string(info.Kind), Reader: rd}
}
