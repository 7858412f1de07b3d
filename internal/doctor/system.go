package doctor

import (
	"fmt"
	"regexp"
	"strings"

	"flperf/internal/telemetry"
)

var (
	snapdragonRE = regexp.MustCompile(`(?i)snapdragon(?:\(r\))?\s+(x\d*(?:\s+(?:elite|plus))?)`)
	appleRE      = regexp.MustCompile(`Apple M\d+(?: (?:Pro|Max|Ultra))?`)
)

// Family names the processor family from the fingerprint: "Snapdragon X
// Elite" (brand string, or the Linux device tree's qcom,x1e…),
// "Snapdragon X Plus" (qcom,x1p…), "Apple M3 Pro", "Intel", "AMD", "ARM";
// "" when nothing says.
func Family(h telemetry.Hardware) string {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	model, soc, vendor := s(h.CPU.Model), s(h.SoC), s(h.CPU.Vendor)
	for _, t := range []string{soc, model} {
		if m := snapdragonRE.FindStringSubmatch(t); m != nil {
			return "Snapdragon " + titleWords(m[1])
		}
		if m := appleRE.FindString(t); m != "" {
			return m
		}
	}
	low := strings.ToLower(soc)
	switch {
	case strings.HasPrefix(low, "qcom,x1e"):
		return "Snapdragon X Elite"
	case strings.HasPrefix(low, "qcom,x1p"):
		return "Snapdragon X Plus"
	case strings.HasPrefix(low, "qcom,"):
		return "Qualcomm (" + soc + ")"
	case vendor == "GenuineIntel" || strings.Contains(model, "Intel"):
		return "Intel"
	case vendor == "AuthenticAMD" || strings.Contains(model, "AMD"):
		return "AMD"
	case strings.HasPrefix(strings.ToLower(vendor), "arm") || strings.HasPrefix(h.Arch, "arm"):
		return "ARM"
	}
	return ""
}

// titleWords writes a chip's name as its maker does: the first word upper
// case ("X", "X2"), the others capitalised ("elite" → "Elite").
func titleWords(s string) string {
	w := strings.Fields(s)
	for i, x := range w {
		if i == 0 {
			w[i] = strings.ToUpper(x)
		} else {
			w[i] = strings.ToUpper(x[:1]) + strings.ToLower(x[1:])
		}
	}
	return strings.Join(w, " ")
}

// summarize puts the fingerprint in a few words.
func summarize(h telemetry.Hardware, platform string) System {
	sys := System{Arch: h.Arch, Family: Family(h), GPUs: []string{}, NPUs: append([]string{}, h.NPUs...), Notes: append([]string{}, h.Notes...), Platform: platform}
	os := []string{}
	if h.OS.Platform != nil {
		os = append(os, *h.OS.Platform)
	}
	if h.OS.Version != nil {
		os = append(os, *h.OS.Version)
	}
	detail := h.OS.Name
	if h.OS.Kernel != nil {
		detail += ", kernel " + *h.OS.Kernel
	}
	sys.OS = strings.TrimSpace(strings.Join(os, " ") + " (" + detail + ")")
	if h.CPU.Model != nil {
		sys.Processor = *h.CPU.Model
	}
	switch {
	case h.CPU.PhysicalCores != nil && h.CPU.LogicalCores != nil:
		sys.Cores = fmt.Sprintf("%d cores, %d threads", *h.CPU.PhysicalCores, *h.CPU.LogicalCores)
	case h.CPU.LogicalCores != nil:
		sys.Cores = fmt.Sprintf("%d threads", *h.CPU.LogicalCores)
	}
	if h.MemoryTotalBytes != nil {
		g := float64(*h.MemoryTotalBytes) / (1 << 30)
		g = float64(int64(g*10+0.5)) / 10
		sys.MemoryGiB = &g
	}
	for _, g := range h.GPUs {
		parts := []string{g.Vendor}
		if g.Name != nil {
			parts = append(parts, *g.Name)
		}
		if g.MemoryTotalMiB != nil {
			parts = append(parts, fmt.Sprintf("%.1f GiB", *g.MemoryTotalMiB/1024))
		}
		if g.Driver != nil {
			parts = append(parts, "driver "+*g.Driver)
		}
		sys.GPUs = append(sys.GPUs, strings.Join(parts, ", ")+" ("+g.Source+")")
	}
	sys.Power = h.Power.Source
	if h.Power.BatteryPercent != nil {
		sys.Power += fmt.Sprintf(" (battery %.0f%%)", *h.Power.BatteryPercent)
	}
	return sys
}
