package report

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

// hardwareLine describes the machine in one line; "" when unknown.
func hardwareLine(h *telemetry.Hardware) string {
	if h == nil {
		return ""
	}
	var parts []string
	cpu := deref(h.CPU.Model, "unknown CPU")
	if h.SoC != nil && *h.SoC != cpu {
		cpu += " (" + *h.SoC + ")"
	}
	cores := ""
	switch {
	case h.CPU.PhysicalCores != nil && h.CPU.LogicalCores != nil:
		cores = fmt.Sprintf("%d cores / %d threads", *h.CPU.PhysicalCores, *h.CPU.LogicalCores)
	case h.CPU.LogicalCores != nil:
		cores = fmt.Sprintf("%d threads", *h.CPU.LogicalCores)
	}
	parts = append(parts, strings.Join(nonEmpty(cpu, cores, h.Arch), ", "))
	if h.MemoryTotalBytes != nil {
		parts = append(parts, fmt.Sprintf("%.1f GiB RAM", float64(*h.MemoryTotalBytes)/(1<<30)))
	}
	var gpus []string
	for _, g := range h.GPUs {
		s := deref(g.Name, g.Vendor+" GPU")
		if g.MemoryTotalMiB != nil {
			s += fmt.Sprintf(" %.0f GiB", *g.MemoryTotalMiB/1024)
		}
		if g.Driver != nil {
			s += " (driver " + *g.Driver + ")"
		}
		gpus = append(gpus, s)
	}
	if len(gpus) == 0 {
		gpus = []string{"none found"}
	}
	parts = append(parts, "GPU: "+strings.Join(gpus, ", "))
	if len(h.NPUs) > 0 {
		parts = append(parts, "NPU: "+strings.Join(h.NPUs, ", "))
	}
	osl := strings.Join(nonEmpty(deref(h.OS.Platform, ""), deref(h.OS.Version, "")), " ")
	if osl == "" {
		osl = h.OS.Name
	}
	if h.OS.Kernel != nil {
		osl += " (kernel " + *h.OS.Kernel + ")"
	}
	parts = append(parts, osl)
	if h.Power.Source != "" && h.Power.Source != telemetry.PowerUnknown {
		parts = append(parts, "on "+h.Power.Source+" power")
	}
	return strings.Join(parts, "; ")
}

func deref(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// resourcesBlock prints the resource summaries per stage and per model: a
// compact table of means and peaks, "–" where the platform gave nothing.
func resourcesBlock(ew *errWriter, r *runner.Result) {
	rs := r.Resources
	if rs == nil {
		return
	}
	ew.printf("\nResources (sampled every %d ms, %d samples; the sampler used %.2f%% of one core)\n", rs.IntervalMS, rs.Samples, rs.Cost.PctOfOneCore)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tSCENARIO\tCPU % mean/peak\tENGINE CPU % mean/peak\tENGINE RSS peak\tMEM used peak\tGPU % mean/peak\tGPU mem peak\tGPU W mean\tENERGY J\tJ/token\t")
	rows := append(append([]runner.Window{}, rs.Stages...), rs.Models...)
	for i, w := range rows {
		scen := w.Scenario
		if i >= len(rs.Stages) {
			scen = "(all)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", ModelName(w.Model), scen,
			meanPeak(w.CPUPct, 1), meanPeak(w.ProcCPUPct, 1), gib(w.ProcRSSBytes.Peak), gib(w.MemUsedBytes.Peak),
			gpuMeanPeak(w.GPUs, func(g telemetry.GPUSummary) telemetry.Stat { return g.UtilPct }),
			gpuMem(w.GPUs), gpuPower(w.GPUs), optNum(w.EnergyJ), optNum(w.JoulesPerToken))
	}
	tw.Flush()
	for _, n := range rs.Notes {
		ew.printf("  note: %s\n", n)
	}
}

// meanPeak formats a stat as "mean/peak"; "–" when unknown.
func meanPeak(s telemetry.Stat, scale float64) string {
	if s.Mean == nil || s.Peak == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f/%.1f", *s.Mean*scale, *s.Peak*scale)
}

// gib formats bytes as GiB; "–" when unknown.
func gib(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f GiB", *v/(1<<30))
}

func optNum(v *float64) string {
	if v == nil {
		return "–"
	}
	return num(*v)
}

// gpuMeanPeak joins each GPU's mean/peak with " | "; "–" without GPUs.
func gpuMeanPeak(gs []telemetry.GPUSummary, f func(telemetry.GPUSummary) telemetry.Stat) string {
	if len(gs) == 0 {
		return "–"
	}
	var parts []string
	for _, g := range gs {
		parts = append(parts, meanPeak(f(g), 1))
	}
	return strings.Join(parts, " | ")
}

func gpuMem(gs []telemetry.GPUSummary) string {
	if len(gs) == 0 {
		return "–"
	}
	var parts []string
	for _, g := range gs {
		if g.MemUsedMiB.Peak == nil {
			parts = append(parts, "–")
			continue
		}
		parts = append(parts, fmt.Sprintf("%.2f GiB", *g.MemUsedMiB.Peak/1024))
	}
	return strings.Join(parts, " | ")
}

func gpuPower(gs []telemetry.GPUSummary) string {
	if len(gs) == 0 {
		return "–"
	}
	var parts []string
	for _, g := range gs {
		parts = append(parts, optNum(g.PowerW.Mean))
	}
	return strings.Join(parts, " | ")
}
