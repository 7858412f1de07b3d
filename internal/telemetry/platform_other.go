//go:build !linux && !darwin && !windows

package telemetry

import "context"

// defaultRAPLRoot is empty: RAPL is read on Linux only.
const defaultRAPLRoot = ""

// platform adds nothing on other systems: what gopsutil gives is all there
// is.
func (p *probe) platform(context.Context, *Hardware) {}
