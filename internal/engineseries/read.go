package engineseries

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"

	"flperf/internal/engine"
)

// ReaderFor returns the reader of the engine info describes: vLLM and
// SGLang's /metrics, llama.cpp's /slots and /metrics, Ollama's /api/ps.
// Other engines (Foundry Local, LM Studio, the built-in simulator, other
// OpenAI servers) serve no such figure: nil. hc may be nil (each manager's
// own client).
func ReaderFor(info engine.Info, hc *http.Client) Reader {
	mgr := engine.NewManager(info, hc)
	switch m := mgr.(type) {
	case *engine.LlamaCppManager:
		return &reader{metrics: m.Metrics, slots: m.Slots, engine: "llama.cpp", sources: map[string]string{}}
	case *engine.OllamaManager:
		return &reader{ps: func(ctx context.Context) ([]engine.Model, error) { return m.Models(ctx, engine.LoadedSet) },
			engine: "Ollama", sources: map[string]string{}}
	}
	if info.Kind == engine.VLLM || info.Kind == engine.SGLang {
		if sc, ok := mgr.(engine.MetricsScraper); ok {
			return &reader{metrics: sc.Metrics, engine: string(info.Kind), sources: map[string]string{}}
		}
	}
	return nil
}

// reader reads the routes an engine has; a route it answers as turned
// off (llama.cpp without --metrics or with --no-slots, SGLang without
// --enable-metrics) is not read again and its figures stay null.
type reader struct {
	engine  string
	metrics func(context.Context) (engine.MetricsSnapshot, error)
	slots   func(context.Context) ([]engine.LlamaCppSlot, error)
	ps      func(context.Context) ([]engine.Model, error)
	sources map[string]string
	notes   []string
	scraped bool // /metrics was read at least once
}

// Read implements Reader.
func (r *reader) Read(ctx context.Context, s *Sample) map[string]error {
	errs := map[string]error{}
	if r.metrics != nil {
		if snap, err := r.metrics(ctx); err != nil {
			what := "requests running and waiting or KV cache"
			if r.slots != nil {
				what = "requests waiting (deferred) or KV cache (running is read from /slots)"
			}
			r.failed(errs, "/metrics", err, what, func() { r.metrics = nil })
		} else {
			r.scraped = true
			run, wait, kv, src := engine.QueueGauges(snap)
			s.Running, s.Waiting, s.KVCacheUsage = run, wait, kv
			maps.Copy(r.sources, src)
		}
	}
	if r.slots != nil {
		if slots, err := r.slots(ctx); err != nil {
			r.failed(errs, "/slots", err, "busy slots", func() { r.slots = nil })
		} else {
			busy := 0
			for _, sl := range slots {
				if sl.Processing {
					busy++
				}
			}
			b, n := float64(busy), float64(len(slots))
			s.SlotsBusy, s.SlotsTotal = &b, &n
			r.sources["slots_busy"], r.sources["slots_total"] = "/slots is_processing", "/slots"
			if r.metrics == nil && s.Running == nil { // llama.cpp without --metrics: its busy slots are its running requests
				s.Running = &b
				r.sources["running"] = "/slots is_processing"
			}
		}
	}
	if r.ps != nil {
		if ms, err := r.ps(ctx); err != nil {
			r.failed(errs, "/api/ps", err, "loaded models and their VRAM", nil)
		} else {
			var vram float64
			for _, m := range ms {
				vram += float64(m.VRAMBytes)
			}
			n := float64(len(ms))
			s.LoadedModels, s.VRAMBytes = &n, &vram
			r.sources["loaded_models"], r.sources["vram_bytes"] = "/api/ps", "/api/ps size_vram"
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// failed handles a failed read of route: one the engine has turned off is
// noted once and dropped (off), any other is this sample's failure.
func (r *reader) failed(errs map[string]error, route string, err error, what string, off func()) {
	if off != nil && errors.Is(err, engine.ErrUnsupported) {
		r.notes = append(r.notes, fmt.Sprintf("%s: %s is turned off (%v): no %s figures", r.engine, route, err, what))
		off()
		return
	}
	errs[route] = err
}

// Sources implements Reader.
func (r *reader) Sources() map[string]string { return maps.Clone(r.sources) }

// Notes implements Reader: the routes turned off, and the gauges a
// /metrics page that was read never had.
func (r *reader) Notes() []string {
	notes := append([]string{}, r.notes...)
	if r.scraped {
		for _, k := range []string{"running", "waiting", "kv_cache_usage"} {
			if r.sources[k] == "" {
				notes = append(notes, fmt.Sprintf("%s: its /metrics has no %s gauge flperf knows: that figure is null", r.engine, k))
			}
		}
	}
	return notes
}
