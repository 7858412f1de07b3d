package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"flperf/internal/bench"
	"flperf/internal/engine"
	"flperf/internal/record"
)

// handleEngines answers GET /engines.
func (s *Server) handleEngines(w http.ResponseWriter, r *http.Request) error {
	refresh := r.URL.Query().Get("refresh")
	if refresh != "" && refresh != "0" && refresh != "1" {
		return badRequest("refresh", "refresh must be 1 or 0, got %s", quote(refresh))
	}
	list, err := s.engines.all(r.Context(), refresh == "1")
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, list)
}

// handleAddEngine answers POST /engines.
func (s *Server) handleAddEngine(w http.ResponseWriter, r *http.Request) error {
	var req addRequest
	if err := decodeBody(w, r, &req, maxBody); err != nil {
		return err
	}
	if strings.TrimSpace(req.Endpoint) == "" {
		return badRequest("endpoint", "give the engine's URL, e.g. http://127.0.0.1:8000/v1")
	}
	v, err := s.engines.add(r.Context(), req)
	if err != nil {
		return err
	}
	return writeData(w, http.StatusCreated, v)
}

// handleDeleteEngine answers DELETE /engines/{id}.
func (s *Server) handleDeleteEngine(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.engines.remove(r.Context(), id); err != nil {
		return err
	}
	return writeData(w, http.StatusOK, map[string]string{"deleted": id})
}

// modelRequest is the body of the model actions.
type modelRequest struct {
	Model  string `json:"model"`
	TTL    string `json:"ttl,omitempty"`    // load: how long to stay loaded when idle
	Prompt string `json:"prompt,omitempty"` // test: what to send
}

// modelAction decodes a model action's body and finds its usable engine.
func (s *Server) modelAction(w http.ResponseWriter, r *http.Request, req *modelRequest) (Engine, error) {
	if err := decodeBody(w, r, req, maxBody); err != nil {
		return Engine{}, err
	}
	switch m := req.Model; {
	case strings.TrimSpace(m) == "":
		return Engine{}, badRequest("model", "give the model's id")
	case len(m) > bench.MaxModelLen || strings.ContainsAny(m, "\x00\r\n"):
		return Engine{}, badRequest("model", "a model id is one line of at most %d bytes", bench.MaxModelLen)
	}
	return s.engines.usable(r.Context(), r.PathValue("id"))
}

// capable refuses an action the engine does not support.
func capable(v Engine, ok bool, what string) error {
	if !ok {
		return unavailable("%s cannot %s models (capability %q): not supported by this engine", v.Name, what, what)
	}
	return nil
}

// engineError classifies a model manager's error.
func engineError(v Engine, err error) error {
	if errors.Is(err, engine.ErrUnsupported) {
		return unavailable("%s: %v", v.Name, err)
	}
	return unavailable("%s answered: %v", v.Name, err)
}

// handleModels answers GET /engines/{id}/models: every model the engine
// knows, its catalog, downloaded and loaded sets merged (each model once,
// with downloaded and loaded filled from the sets the engine lists).
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) error {
	v, err := s.engines.usable(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	mgr := v.manager()
	caps := mgr.Capabilities()
	var models []engine.Model
	index := map[string]int{}
	yes := true
	for _, set := range []struct {
		set engine.ModelSet
		ok  bool
	}{{engine.CatalogSet, caps.Catalog}, {engine.DownloadedSet, caps.Downloaded}, {engine.LoadedSet, caps.Loaded}} {
		if !set.ok {
			continue
		}
		ms, err := mgr.Models(r.Context(), set.set)
		if err != nil {
			return engineError(v, err)
		}
		for _, m := range ms {
			switch set.set {
			case engine.DownloadedSet:
				m.Downloaded = &yes
			case engine.LoadedSet:
				m.Loaded = &yes
			}
			i, seen := index[m.ID]
			if !seen {
				index[m.ID] = len(models)
				models = append(models, m)
				continue
			}
			merge(&models[i], m)
		}
	}
	if models == nil {
		models = []engine.Model{}
	}
	return writeData(w, http.StatusOK, map[string]any{"engine": v, "models": models})
}

// merge fills what a knows not about model from b.
func merge(a *engine.Model, b engine.Model) {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&a.Alias, b.Alias)
	fill(&a.Device, b.Device)
	fill(&a.ExecutionProvider, b.ExecutionProvider)
	fill(&a.Quantization, b.Quantization)
	fill(&a.Family, b.Family)
	fill(&a.Parameters, b.Parameters)
	if a.SizeBytes == 0 {
		a.SizeBytes = b.SizeBytes
	}
	if a.VRAMBytes == 0 {
		a.VRAMBytes = b.VRAMBytes
	}
	if a.ContextLength == 0 {
		a.ContextLength = b.ContextLength
	}
	if b.Downloaded != nil && *b.Downloaded {
		a.Downloaded = b.Downloaded
	}
	if b.Loaded != nil && *b.Loaded {
		a.Loaded = b.Loaded
	}
	if a.ExpiresAt == nil {
		a.ExpiresAt = b.ExpiresAt
	}
}

// handlePull answers POST /engines/{id}/pull: the download runs as a task.
func (s *Server) handlePull(w http.ResponseWriter, r *http.Request) error {
	var req modelRequest
	v, err := s.modelAction(w, r, &req)
	if err != nil {
		return err
	}
	if err := capable(v, v.Capabilities.Download, "download"); err != nil {
		return err
	}
	select {
	case <-s.closing:
		return unavailable("the app is shutting down")
	default:
	}
	t := s.tasks.start(s.base, "pull", v.ID, req.Model, func(ctx context.Context, progress func(engine.Progress)) error {
		return v.manager().Download(ctx, req.Model, progress)
	})
	return writeData(w, http.StatusAccepted, map[string]any{"task": t})
}

// handleLoad answers POST /engines/{id}/load.
func (s *Server) handleLoad(w http.ResponseWriter, r *http.Request) error {
	var req modelRequest
	v, err := s.modelAction(w, r, &req)
	if err != nil {
		return err
	}
	if err := capable(v, v.Capabilities.Load, "load"); err != nil {
		return err
	}
	opts := engine.LoadOptions{}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			return badRequest("ttl", "ttl must be a duration like 30m (negative: forever), got %s", quote(req.TTL))
		}
		opts.TTL = d
	}
	took, err := v.manager().Load(r.Context(), req.Model, opts)
	if err != nil {
		return engineError(v, err)
	}
	return writeData(w, http.StatusOK, map[string]any{"model": req.Model, "load_ms": ms(took)})
}

// handleUnload answers POST /engines/{id}/unload.
func (s *Server) handleUnload(w http.ResponseWriter, r *http.Request) error {
	var req modelRequest
	v, err := s.modelAction(w, r, &req)
	if err != nil {
		return err
	}
	if err := capable(v, v.Capabilities.Unload, "unload"); err != nil {
		return err
	}
	if err := v.manager().Unload(r.Context(), req.Model); err != nil {
		return engineError(v, err)
	}
	return writeData(w, http.StatusOK, map[string]any{"model": req.Model})
}

// maxPrompt bounds a test prompt.
const maxPrompt = 8 << 10

// testView is the answer of POST /engines/{id}/test. Reply is the model's
// output: untrusted, to be shown as text.
type testView struct {
	Model        string   `json:"model"`
	Reply        string   `json:"reply"`
	TTFTMS       *float64 `json:"ttft_ms"`
	E2EMS        *float64 `json:"e2e_ms"`
	OutputTokens int      `json:"output_tokens"`
	Error        string   `json:"error"`
}

// handleTest answers POST /engines/{id}/test: one short completion, its
// reply and latency, or why it failed.
func (s *Server) handleTest(w http.ResponseWriter, r *http.Request) error {
	var req modelRequest
	v, err := s.modelAction(w, r, &req)
	if err != nil {
		return err
	}
	if len(req.Prompt) > maxPrompt {
		return badRequest("prompt", "a test prompt is at most %d bytes", maxPrompt)
	}
	prompt := req.Prompt
	if strings.TrimSpace(prompt) == "" {
		prompt = bench.TestPrompt
	}
	rec := bench.TestModel(r.Context(), v.info, v.cred, req.Model, prompt)
	sv := sampleOf(&rec)
	out := testView{Model: req.Model, Reply: sv.Text, TTFTMS: sv.TTFTMS, E2EMS: sv.E2EMS, OutputTokens: rec.OutputTokens}
	if rec.Outcome != record.OK {
		out.Error = string(rec.Outcome)
		if rec.Status != 0 {
			out.Error += " (HTTP " + strconv.Itoa(rec.Status) + ")"
		}
		if rec.Error != "" {
			out.Error += ": " + rec.Error
		}
	}
	return writeData(w, http.StatusOK, out)
}
