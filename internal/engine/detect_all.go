package engine

import (
	"context"
	"fmt"
	"sync"
)

// Found is one engine DetectAll found, or a note about one it could not use.
type Found struct {
	Info
	Healthy bool   `json:"healthy"`        // answered its identifying endpoints
	Note    string `json:"note,omitempty"` // why it is unusable, or what to do
}

// DetectAll looks for every running engine (Foundry Local through its CLI,
// then each usual port) and reports all of them, for `flperf engines`.
func (p *Prober) DetectAll(ctx context.Context) []Found {
	var out []Found
	if base, by, err := p.FoundryEndpoint(ctx); err == nil {
		info, ierr := p.Identify(ctx, base)
		f := Found{Info: info, Healthy: ierr == nil}
		f.DetectedBy = by
		if ierr != nil {
			f.Kind = Foundry
			f.Note = foundryUnservedNote(by, base, ierr, true)
		} else if f.Kind == OpenAI {
			f.Kind = Foundry
		}
		out = append(out, f)
	} else if !p.NoFoundryCLI && !isNotInstalled(err) {
		out = append(out, Found{Info: Info{Kind: Foundry, DetectedBy: "foundry CLI"}, Note: err.Error()})
	}
	ports := p.Ports
	if ports == nil {
		ports = DefaultPorts
	}
	found := make([]*Found, len(ports))
	var wg sync.WaitGroup
	for i, port := range ports {
		wg.Go(func() {
			base := fmt.Sprintf("http://127.0.0.1:%d/v1", port.Port)
			if info, err := p.Identify(ctx, base); err == nil {
				info.DetectedBy = fmt.Sprintf("port %d", port.Port)
				found[i] = &Found{Info: info, Healthy: true}
			}
		})
	}
	wg.Wait()
	for _, f := range found {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}
