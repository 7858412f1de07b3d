//go:build darwin

package telemetry

import (
	"context"
	"runtime"
)

// defaultRAPLRoot is empty: macOS exposes no RAPL counters to users.
const defaultRAPLRoot = ""

// platform names the Apple silicon chip (the CPU brand string) and reads the
// power source from "pmset -g batt".
func (p *probe) platform(ctx context.Context, h *Hardware) {
	if runtime.GOARCH == "arm64" && h.CPU.Model != nil {
		soc := *h.CPU.Model
		h.SoC = &soc
	}
	path, err := p.lookPath("pmset")
	if err != nil {
		return
	}
	if out, _, err := p.run(ctx, path, "-g", "batt"); err == nil {
		h.Power = parsePmset(string(out))
	}
}
