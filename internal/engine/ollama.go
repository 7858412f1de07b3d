package engine

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// OllamaDefaultNumCtx is the context Ollama loads a model with when nothing
// sets num_ctx (OLLAMA_CONTEXT_LENGTH, a Modelfile, options): 2048 tokens in
// the 0.6 releases CI runs. A longer prompt is cut to it without an error.
const OllamaDefaultNumCtx = 2048

// OllamaManager manages the models of an Ollama server through its native
// API (docs/engines.md §2): downloaded models from /api/tags, loaded ones from
// /api/ps, downloads with /api/pull, loads and unloads with /api/generate
// and keep_alive. Ollama has no local catalog (its library is online) and
// no /metrics. It is safe for concurrent use.
type OllamaManager struct {
	info Info
	root string // scheme://host:port, the native routes' base
	hc   *http.Client
}

var _ Manager = (*OllamaManager)(nil)

// ollamaCallTimeout bounds the short management calls (lists, show,
// version) when the caller's context has no deadline. Downloads and loads
// have none: they take as long as the model needs.
const ollamaCallTimeout = 30 * time.Second

// ollamaMaxBody is the largest answer read from a management call.
const ollamaMaxBody = 8 << 20

// NewOllama returns a manager for the Ollama server described by info
// (info.Endpoint is its OpenAI base URL, …/v1; the native routes are on the
// root). hc sends the requests; its Timeout should be 0, since it would cap
// downloads. nil means a client without proxy or timeout.
func NewOllama(info Info, hc *http.Client) *OllamaManager {
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		hc = &http.Client{Transport: tr}
	}
	return &OllamaManager{info: info, root: root(info.Endpoint), hc: hc}
}

// Info describes the engine.
func (o *OllamaManager) Info() Info { return o.info }

// Capabilities are Ollama's: everything but a catalog and /metrics, and
// server timings in every native response.
func (o *OllamaManager) Capabilities() Capabilities {
	return Capabilities{Downloaded: true, Loaded: true, Download: true, Load: true, Unload: true, ServerTimings: true}
}

// OllamaError is an error answer of Ollama's native API: an HTTP status
// with {"error": …}, or an {"error": …} line in a stream (Status 0).
type OllamaError struct {
	Op     string // what was asked: "pull", "show", "load", …
	Model  string // the model it was about ("" for none)
	Status int    // HTTP status; 0 for an error line in a stream
	Msg    string // the engine's own message
}

// Error implements error; a missing model is named as such.
func (e *OllamaError) Error() string {
	switch {
	case e.NotFound() && e.Model != "":
		return fmt.Sprintf("ollama: model %q not found (pull it first, e.g. `ollama pull %s`): %s", e.Model, e.Model, e.Msg)
	case e.Status == 0:
		return fmt.Sprintf("ollama: %s %q: %s", e.Op, e.Model, e.Msg)
	case e.Model != "":
		return fmt.Sprintf("ollama: %s %q: HTTP %d: %s", e.Op, e.Model, e.Status, e.Msg)
	}
	return fmt.Sprintf("ollama: %s: HTTP %d: %s", e.Op, e.Status, e.Msg)
}

// NotFound reports whether Ollama does not have the model (HTTP 404).
func (e *OllamaError) NotFound() bool { return e.Status == http.StatusNotFound }

// ollamaDetails is the "details" object of tags, ps and show.
type ollamaDetails struct {
	Family            string `json:"family"`
	ParameterSize     string `json:"parameter_size"`
	QuantizationLevel string `json:"quantization_level"`
}

// ollamaListed is one entry of /api/tags or /api/ps.
type ollamaListed struct {
	Name          string        `json:"name"`
	Model         string        `json:"model"`
	Size          int64         `json:"size"`
	Details       ollamaDetails `json:"details"`
	ExpiresAt     string        `json:"expires_at"` // ps
	SizeVRAM      int64         `json:"size_vram"`  // ps
	ContextLength int           `json:"context_length"`
}

// Models lists the downloaded (/api/tags) or loaded (/api/ps) models.
// Ollama has no catalog: CatalogSet gives ErrUnsupported.
func (o *OllamaManager) Models(ctx context.Context, set ModelSet) ([]Model, error) {
	path := ""
	switch set {
	case DownloadedSet:
		path = "/api/tags"
	case LoadedSet:
		path = "/api/ps"
	case CatalogSet:
		return nil, fmt.Errorf("ollama: no local catalog (models come from the online library at ollama.com): %w", ErrUnsupported)
	default:
		return nil, fmt.Errorf("ollama: unknown model set %q", set)
	}
	var list struct {
		Models []ollamaListed `json:"models"`
	}
	if err := o.call(ctx, "list models", "", http.MethodGet, path, nil, &list); err != nil {
		return nil, err
	}
	out := make([]Model, 0, len(list.Models))
	for _, e := range list.Models {
		id := cmp.Or(e.Name, e.Model)
		if id == "" {
			continue
		}
		m := Model{
			ID: id, Alias: ollamaAlias(id), Family: e.Details.Family, Parameters: e.Details.ParameterSize,
			Quantization: e.Details.QuantizationLevel, Downloaded: ollamaBool(true),
		}
		if set == LoadedSet {
			m.Loaded = ollamaBool(true)
			m.VRAMBytes = max(e.SizeVRAM, 0)
			m.Device = ollamaDevice(e.Size, e.SizeVRAM)
			m.ContextLength = max(e.ContextLength, 0)
			if t, err := time.Parse(time.RFC3339Nano, e.ExpiresAt); err == nil && !t.IsZero() {
				m.ExpiresAt = &t
			}
		} else {
			m.SizeBytes = max(e.Size, 0)
		}
		out = append(out, m)
	}
	return out, nil
}

// ollamaDevice says where a loaded model is from /api/ps: size_vram equal
// to size is all on the GPU, 0 is CPU only, anything between is split.
func ollamaDevice(size, vram int64) string {
	switch {
	case vram <= 0:
		return "CPU"
	case vram >= size:
		return "GPU"
	}
	return "CPU+GPU"
}

// ollamaAlias is a model name without its tag: "library/qwen3:8b" →
// "library/qwen3" (a registry port, "host:5000/m:tag", is not a tag).
func ollamaAlias(name string) string {
	slash := strings.LastIndexByte(name, '/')
	if i := strings.LastIndexByte(name, ':'); i > slash {
		return name[:i]
	}
	return name
}

// Show describes one downloaded model (POST /api/show): family, parameter
// size, quantization and trained context length.
func (o *OllamaManager) Show(ctx context.Context, name string) (Model, error) {
	var show struct {
		Details   ollamaDetails              `json:"details"`
		ModelInfo map[string]json.RawMessage `json:"model_info"`
	}
	if err := o.call(ctx, "show", name, http.MethodPost, "/api/show", map[string]string{"model": name}, &show); err != nil {
		return Model{}, err
	}
	return Model{
		ID: name, Alias: ollamaAlias(name), Family: show.Details.Family, Parameters: show.Details.ParameterSize,
		Quantization: show.Details.QuantizationLevel, ContextLength: ollamaContextLength(show.ModelInfo),
		Downloaded: ollamaBool(true),
	}, nil
}

// ollamaContextLength reads "<architecture>.context_length" from /api/show's
// model_info (any "*.context_length" when the architecture is not given).
func ollamaContextLength(info map[string]json.RawMessage) int {
	var arch string
	_ = json.Unmarshal(info["general.architecture"], &arch)
	read := func(raw json.RawMessage) int {
		var n float64
		if json.Unmarshal(raw, &n) != nil || n < 0 || n > 1<<40 {
			return 0
		}
		return int(n)
	}
	if raw, ok := info[arch+".context_length"]; arch != "" && ok {
		return read(raw)
	}
	for k, raw := range info {
		if strings.HasSuffix(k, ".context_length") {
			if n := read(raw); n > 0 {
				return n
			}
		}
	}
	return 0
}

// Version asks the server its version (GET /api/version).
func (o *OllamaManager) Version(ctx context.Context) (string, error) {
	var v struct {
		Version string `json:"version"`
	}
	if err := o.call(ctx, "version", "", http.MethodGet, "/api/version", nil, &v); err != nil {
		return "", err
	}
	if v.Version == "" {
		return "", errors.New("ollama: /api/version gave no version")
	}
	return v.Version, nil
}

// Load loads a model with an empty generate request (no prompt) and
// returns how long it took: the engine's load_duration when the answer has
// one, else the time the request took (Ollama answers once the model is in
// memory). TTL becomes keep_alive: 0 leaves the server default (5 min),
// negative keeps the model loaded until it is unloaded. Ollama has no
// execution providers: setting one gives ErrUnsupported.
func (o *OllamaManager) Load(ctx context.Context, id string, opts LoadOptions) (time.Duration, error) {
	if opts.ExecutionProvider != "" {
		return 0, fmt.Errorf("ollama: execution provider %q: %w (Ollama picks its own backend)", opts.ExecutionProvider, ErrUnsupported)
	}
	body := map[string]any{"model": id}
	switch {
	case opts.TTL < 0:
		body["keep_alive"] = -1
	case opts.TTL > 0:
		body["keep_alive"] = opts.TTL.Seconds()
	}
	var ans struct {
		LoadDuration int64 `json:"load_duration"`
	}
	start := time.Now()
	if err := o.call(ctx, "load", id, http.MethodPost, "/api/generate", body, &ans); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if ans.LoadDuration > 0 {
		return time.Duration(ans.LoadDuration), nil
	}
	return took, nil
}

// Unload unloads a model now (an empty generate request with keep_alive 0).
func (o *OllamaManager) Unload(ctx context.Context, id string) error {
	return o.call(ctx, "unload", id, http.MethodPost, "/api/generate", map[string]any{"model": id, "keep_alive": 0}, nil)
}

// call sends one management request and decodes its JSON answer into out
// (nil: ignored). Error answers become *OllamaError; no answer at all
// wraps ErrUnreachable.
func (o *OllamaManager) call(ctx context.Context, op, model, method, path string, in, out any) error {
	if _, ok := ctx.Deadline(); !ok && op != "load" && op != "unload" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ollamaCallTimeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, o.root+path, body)
	if err != nil {
		return fmt.Errorf("ollama: %s: %v", op, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("ollama: %s: %w", op, context.Cause(ctx))
		}
		return fmt.Errorf("ollama: %s: %w: %v", op, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, ollamaMaxBody+1))
	if err != nil {
		return fmt.Errorf("ollama: %s: reading the answer: %v", op, err)
	}
	if resp.StatusCode >= 400 {
		return &OllamaError{Op: op, Model: model, Status: resp.StatusCode, Msg: ollamaErrorText(data, resp.Status)}
	}
	if len(data) > ollamaMaxBody {
		return fmt.Errorf("ollama: %s: answer larger than %d MiB", op, ollamaMaxBody>>20)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("ollama: %s: answer is not the expected JSON: %v", op, err)
		}
	}
	return nil
}

// ollamaErrorText is the message of an error body: {"error": …}, else
// the body itself (at most 1 KiB), else the HTTP status.
func ollamaErrorText(body []byte, status string) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 && string(e.Error) != "null" {
		if s := ollamaErrValue(e.Error); s != "" {
			return s
		}
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		return ollamaClip(s)
	}
	return status
}

// ollamaErrValue is the text of an "error" value: a string, an object's
// message, or the raw JSON (at most 1 KiB).
func ollamaErrValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return ollamaClip(s)
	}
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
		return ollamaClip(obj.Message)
	}
	return ollamaClip(string(raw))
}

// ollamaClip keeps the first KiB of an engine message, whole runes only.
func ollamaClip(s string) string {
	const limit = 1 << 10
	if len(s) <= limit {
		return s
	}
	return strings.ToValidUTF8(s[:limit], "")
}

func ollamaBool(b bool) *bool { return &b }
