package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// SimulatedHeader is the response header by which flperf's simulated
// engines (internal/sim) mark every answer.
const SimulatedHeader = "X-FLPerf-Engine"

// ErrUnreachable means nothing answered HTTP at the endpoint.
var ErrUnreachable = errors.New("engine unreachable")

// NormalizeEndpoint turns a user-given URL into an OpenAI base URL ending in
// /v1: "http://127.0.0.1:11434" and "http://127.0.0.1:11434/v1/" both become
// "http://127.0.0.1:11434/v1". Only http and https are accepted.
func NormalizeEndpoint(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("endpoint %q: must start with http:// or https://", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("endpoint %q: no host", raw)
	}
	u.RawQuery, u.Fragment = "", ""
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/v1") && !strings.HasSuffix(p, lmStudioV0) {
		p += "/v1"
	}
	u.Path = p
	return u.String(), nil
}

// lmStudioV0 ends the base URL of LM Studio's own REST API, whose
// OpenAI-style chat route (/api/v0/chat/completions) answers with the
// engine's stats when not streaming: such a base is kept as given.
const lmStudioV0 = "/api/v0"

// root strips the trailing /v1 of an OpenAI base URL (or /api/v0 of LM
// Studio's own API): the server's root, where its management routes are.
func root(base string) string {
	b := strings.TrimRight(base, "/")
	if r, ok := strings.CutSuffix(b, lmStudioV0); ok {
		return r
	}
	return strings.TrimSuffix(b, "/v1")
}

// getJSON fetches url and decodes a JSON object body (at most 1 MiB) into v.
// It returns the status code; errUnreachable-wrapped errors mean no HTTP
// answer at all.
func (p *Prober) getJSON(ctx context.Context, u string, v any) (int, error) {
	status, _, err := p.getJSONHeader(ctx, u, v)
	return status, err
}

// getJSONHeader is getJSON that also returns the response headers (nil when
// there was no response).
func (p *Prober) getJSONHeader(ctx context.Context, u string, v any) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, resp.Header, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, resp.Header, fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("GET %s: not JSON: %v", u, err)
		}
	}
	return resp.StatusCode, resp.Header, nil
}

// Identify asks the server at base (an OpenAI base URL) which engine it is,
// using endpoints that only that engine serves. A server that answers only
// the OpenAI routes is Kind OpenAI. ErrUnreachable means no HTTP answer.
func (p *Prober) Identify(ctx context.Context, base string) (info Info, err error) {
	info = Info{Endpoint: base}
	r := root(base)
	var sim struct {
		Simulated bool   `json:"simulated"`
		Version   string `json:"version"`
		Dialect   string `json:"dialect"` // a simulated engine dressed as a real one (internal/sim/dialect)
	}
	_, hdr, err := p.getJSONHeader(ctx, r+"/flperf/sim", &sim)
	if errors.Is(err, ErrUnreachable) {
		return info, err
	}
	// flperf's simulated engines mark every response; one dressed as a real
	// engine is identified as that engine but stays labelled simulated.
	if hdr.Get(SimulatedHeader) == "simulated" {
		defer func() { info.Simulated = true }()
	}
	if err == nil && sim.Simulated {
		info.Kind, info.Simulated, info.Version = Sim, true, sim.Version
		if k := Kind(sim.Dialect); k != "" && slices.Contains(Kinds, k) {
			info.Kind = k // managed like the real engine, still labelled SIMULATED everywhere
		}
		return info, nil
	}
	var ver struct {
		Version string `json:"version"`
	}
	if _, err := p.getJSON(ctx, r+"/api/version", &ver); err == nil && ver.Version != "" {
		info.Kind, info.Version = Ollama, ver.Version
		return info, nil
	}
	if _, err := p.getJSON(ctx, r+"/openai/status", nil); err == nil {
		info.Kind = Foundry
		return info, nil
	}
	// Foundry Local 1.x (CLI 0.10+): its web service's GET /status.
	var f1 struct {
		Endpoints      []string `json:"endpoints"`
		ModelCachePath *string  `json:"modelCachePath"`
	}
	if _, err := p.getJSON(ctx, r+"/status", &f1); err == nil && (f1.Endpoints != nil || f1.ModelCachePath != nil) {
		info.Kind = Foundry
		return info, nil
	}
	var lms struct {
		Object string `json:"object"`
		Data   []struct {
			State string `json:"state"`
		} `json:"data"`
	}
	if _, err := p.getJSON(ctx, r+"/api/v0/models", &lms); err == nil && lms.Object == "list" {
		info.Kind = LMStudio
		return info, nil
	}
	var props struct {
		Settings  json.RawMessage `json:"default_generation_settings"`
		BuildInfo string          `json:"build_info"`
	}
	if _, err := p.getJSON(ctx, r+"/props", &props); err == nil && (props.Settings != nil || props.BuildInfo != "") {
		info.Kind, info.Version = LlamaCpp, props.BuildInfo
		return info, nil
	}
	var sg struct {
		Version string `json:"version"`
	}
	if _, err := p.getJSON(ctx, r+"/get_server_info", &sg); err == nil {
		info.Kind, info.Version = SGLang, sg.Version
		return info, nil
	}
	ver.Version = ""
	if _, err := p.getJSON(ctx, r+"/version", &ver); err == nil && ver.Version != "" {
		info.Kind, info.Version = VLLM, ver.Version
		return info, nil
	}
	var models struct {
		Data []struct {
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	if _, err := p.getJSON(ctx, base+"/models", &models); err != nil {
		return info, fmt.Errorf("%s does not answer like an OpenAI-compatible server: %v", base, err)
	}
	info.Kind = OpenAI
	for _, m := range models.Data {
		switch strings.ToLower(m.OwnedBy) {
		case "llamacpp":
			info.Kind = LlamaCpp
		case "vllm":
			info.Kind = VLLM
		case "sglang":
			info.Kind = SGLang
		}
	}
	return info, nil
}

var (
	urlRE      = regexp.MustCompile(`https?://[^\s"'<>]+`)
	webURLsRE  = regexp.MustCompile(`(?i)web\s*urls?\s*:?\s*(https?://[^\s;,"']+)`)
	unknownCmd = regexp.MustCompile(`(?i)unrecognized command|unknown command|not recognized`)
)

// ParseFoundryStatus extracts the service origin (scheme://host:port) from
// the output of `foundry service status` (CLI ≤ 0.8) or `foundry server
// status` (CLI 0.10+). ok is false when the output says nothing is running.
func ParseFoundryStatus(out string) (origin string, ok bool) {
	if strings.Contains(out, "not running") {
		return "", false
	}
	raw := ""
	if m := webURLsRE.FindStringSubmatch(out); m != nil {
		raw = m[1]
	} else if m := urlRE.FindString(out); m != "" {
		raw = m
	}
	raw = strings.TrimRight(raw, ".,!;")
	if raw == "" {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	h := u.Hostname()
	if h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}

// FoundryEndpoint asks the Foundry Local CLI where its service listens,
// trying the legacy `foundry service status`, then `foundry server status
// --output json` (CLI 0.10+, ParseFoundryStatusJSON) and the text of
// `foundry server status` when the CLI prints no JSON. It returns the OpenAI base URL and the command that found it.
func (p *Prober) FoundryEndpoint(ctx context.Context) (base, by string, err error) {
	if p.NoFoundryCLI {
		return "", "", errors.New("foundry CLI not used")
	}
	var outs []string
	for _, args := range [][]string{{"service", "status"}, {"server", "status", "--output", "json"}, {"server", "status"}} {
		out, err := p.command(ctx, "foundry", args...)
		asJSON := len(args) > 2
		if err != nil && len(out) == 0 {
			if asJSON {
				continue // a CLI without JSON output: ask for the text
			}
			return "", "", fmt.Errorf("foundry %s: %v", strings.Join(args, " "), err)
		}
		by := "foundry " + strings.Join(args[:2], " ")
		if asJSON {
			if origin, ok, isJSON := ParseFoundryStatusJSON(string(out)); isJSON {
				if ok {
					return origin + "/v1", by, nil
				}
				outs = append(outs, strings.TrimSpace(string(out)))
				break // the JSON status names no address: the service is not running
			}
		}
		if origin, ok := ParseFoundryStatus(string(out)); ok {
			return origin + "/v1", by, nil
		}
		if asJSON {
			continue // not JSON: ask for the text
		}
		outs = append(outs, strings.TrimSpace(string(out)))
		if !unknownCmd.MatchString(string(out)) && args[0] == "service" && strings.Contains(string(out), "not running") {
			break
		}
	}
	return "", "", fmt.Errorf("Foundry Local is installed but its service is not running (start it with `foundry service start`, or `foundry server start` on CLI 0.10+): %s", strings.Join(outs, " | "))
}

// isNotInstalled reports whether err says the foundry CLI is not on PATH.
func isNotInstalled(err error) bool {
	return errors.Is(err, exec.ErrNotFound) || strings.Contains(err.Error(), "executable file not found")
}

// Detection is the outcome of Detect: the engine found, if any, and notes on
// what was tried, for the user.
type Detection struct {
	Found bool
	Info  Info
	Notes []string
}

// Detect looks for a running engine: Foundry Local through its CLI first,
// then the usual local ports, identifying each by its own endpoints.
func (p *Prober) Detect(ctx context.Context) Detection {
	var d Detection
	if base, by, err := p.FoundryEndpoint(ctx); err == nil {
		info, ierr := p.Identify(ctx, base)
		if ierr == nil {
			info.DetectedBy = by
			if info.Kind == OpenAI {
				info.Kind = Foundry
			}
			d.Found, d.Info = true, info
			return d
		}
		d.Notes = append(d.Notes, foundryUnservedNote(by, base, ierr, false))
	} else if !isNotInstalled(err) && !p.NoFoundryCLI {
		d.Notes = append(d.Notes, err.Error())
	}
	ports := p.Ports
	if ports == nil {
		ports = DefaultPorts
	}
	found := make([]*Info, len(ports))
	var wg sync.WaitGroup
	for i, port := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := fmt.Sprintf("http://127.0.0.1:%d/v1", port.Port)
			if info, err := p.Identify(ctx, base); err == nil {
				info.DetectedBy = fmt.Sprintf("port %d", port.Port)
				found[i] = &info
			}
		}()
	}
	wg.Wait()
	for _, f := range found {
		if f != nil {
			d.Found, d.Info = true, *f
			return d
		}
	}
	return d
}
