package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Generic manages an engine through the OpenAI routes only: any
// OpenAI-compatible endpoint (and the built-in simulator) serves the models
// it lists at /v1/models, so those are "loaded"; nothing else is supported,
// and Capabilities says so.
type Generic struct {
	info Info
	hc   *http.Client
}

// NewGeneric returns a Manager over the OpenAI routes of info.Endpoint.
func NewGeneric(info Info, hc *http.Client) *Generic {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Generic{info: info, hc: hc}
}

// Info describes the engine.
func (g *Generic) Info() Info { return g.info }

// Capabilities: only the loaded set. The engines with server timings or
// /metrics have their own managers (NewManager), which declare them.
func (g *Generic) Capabilities() Capabilities {
	return Capabilities{Loaded: true}
}

// Models lists GET /v1/models as the loaded set.
func (g *Generic) Models(ctx context.Context, set ModelSet) ([]Model, error) {
	if set != LoadedSet {
		return nil, fmt.Errorf("%s %s models: %w", g.info.Kind, set, ErrUnsupported)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.info.Endpoint+"/models", nil)
	if err != nil {
		return nil, err
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/models: HTTP %d: %.200s", g.info.Endpoint, resp.StatusCode, body)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("GET %s/models: not an OpenAI model list: %v", g.info.Endpoint, err)
	}
	yes := true
	var out []Model
	for _, m := range list.Data {
		if m.ID != "" {
			out = append(out, Model{ID: m.ID, Loaded: &yes})
		}
	}
	return out, nil
}

// Download is not supported over the OpenAI routes.
func (g *Generic) Download(context.Context, string, func(Progress)) error {
	return fmt.Errorf("%s download: %w", g.info.Kind, ErrUnsupported)
}

// Load is not supported over the OpenAI routes.
func (g *Generic) Load(context.Context, string, LoadOptions) (time.Duration, error) {
	return 0, fmt.Errorf("%s load: %w", g.info.Kind, ErrUnsupported)
}

// Unload is not supported over the OpenAI routes.
func (g *Generic) Unload(context.Context, string) error {
	return fmt.Errorf("%s unload: %w", g.info.Kind, ErrUnsupported)
}
