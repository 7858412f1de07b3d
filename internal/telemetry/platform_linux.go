//go:build linux

package telemetry

import "context"

// defaultRAPLRoot is where Linux exposes RAPL energy counters.
const defaultRAPLRoot = "/sys/class/powercap"

// platform adds what Linux exposes in sysfs: device-tree SoC and board, DRM
// GPUs of vendors no tool reported, accel NPUs, and the power supply.
func (p *probe) platform(_ context.Context, h *Hardware) {
	h.SoC, h.Board = deviceTree(p.sysRoot)
	skip := map[string]bool{}
	for _, g := range h.GPUs {
		skip[g.Vendor] = true
	}
	h.GPUs = append(h.GPUs, drmGPUs(p.sysRoot, skip)...)
	h.NPUs = append(h.NPUs, accelNPUs(p.sysRoot)...)
	h.Power = powerFromSysfs(p.sysRoot)
}
