package board

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	"flperf/internal/telemetry"
)

// Machine describes the machine of a run from its fingerprint
// (telemetry.Hardware), without its host name.
type Machine struct {
	// Key identifies the hardware: CPU/SoC, GPUs, NPUs, memory (whole GiB),
	// OS and architecture. Two machines of the same build share a key.
	Key    string `json:"key"`
	Class  string `json:"class"`  // hardware class the board groups by (Classes)
	CPU    string `json:"cpu"`    // CPU brand string, or the SoC
	GPU    string `json:"gpu"`    // GPU names, "; "-joined ("" when none)
	NPU    string `json:"npu"`    // NPU names ("" when none)
	Memory string `json:"memory"` // "32 GiB" ("" unknown)
	OS     string `json:"os"`     // "ubuntu 24.04 (linux/amd64)"
	Label  string `json:"label"`  // one line for a column header
	// Driver is the GPU drivers' versions, "; "-joined: not part of Key,
	// so that the trend of a machine shows a driver change between runs.
	Driver string `json:"driver,omitempty"`
}

// Hardware classes, in board order.
const (
	ClassNVIDIA  = "NVIDIA GPU"
	ClassAMD     = "AMD GPU"
	ClassApple   = "Apple silicon"
	ClassQualcom = "Snapdragon"
	ClassIntel   = "Intel GPU"
	ClassNPU     = "CPU + NPU"
	ClassCPU     = "CPU only"
	ClassUnknown = "unknown machine"
)

// Classes lists the hardware classes in the order the board shows them.
var Classes = []string{ClassNVIDIA, ClassAMD, ClassApple, ClassQualcom, ClassIntel, ClassNPU, ClassCPU, ClassUnknown}

// MachineOf describes the machine of fingerprint h (nil: unknown).
func MachineOf(h *telemetry.Hardware) Machine {
	if h == nil {
		return Machine{Key: "unknown", Class: ClassUnknown, Label: "unknown machine (no fingerprint stored)"}
	}
	m := Machine{}
	soc := deref(h.SoC)
	m.CPU = deref(h.CPU.Model)
	if m.CPU == "" {
		m.CPU = soc
	}
	var gpus, vendors, drivers []string
	for _, g := range h.GPUs {
		if d := deref(g.Driver); d != "" {
			drivers = append(drivers, d)
		}
		name := deref(g.Name)
		if name == "" {
			name = g.Vendor + " GPU"
		}
		gpus = append(gpus, name)
		vendors = append(vendors, strings.ToLower(g.Vendor))
	}
	m.GPU = strings.Join(gpus, "; ")
	m.Driver = strings.Join(drivers, "; ")
	m.NPU = strings.Join(h.NPUs, "; ")
	if h.MemoryTotalBytes != nil {
		m.Memory = fmt.Sprintf("%d GiB", int(math.Round(float64(*h.MemoryTotalBytes)/(1<<30))))
	}
	m.OS = strings.TrimSpace(deref(h.OS.Platform)+" "+deref(h.OS.Version)) + " (" + h.OS.Name + "/" + h.Arch + ")"
	m.OS = strings.TrimPrefix(m.OS, " ")
	m.Class = classOf(vendors, soc+" "+m.CPU, len(h.NPUs) > 0)
	sum := sha256.Sum256([]byte(strings.Join([]string{m.CPU, soc, m.GPU, m.NPU, m.Memory, h.OS.Name, h.Arch}, "\x00")))
	m.Key = hex.EncodeToString(sum[:6])
	parts := []string{m.CPU}
	if m.GPU != "" {
		parts = append(parts, m.GPU)
	}
	if m.NPU != "" {
		parts = append(parts, m.NPU)
	}
	if m.Memory != "" {
		parts = append(parts, m.Memory)
	}
	parts = append(parts, m.OS)
	m.Label = strings.Join(nonEmpty(parts), " · ")
	return m
}

// classOf picks the hardware class: the GPU vendor first (a discrete GPU
// runs the model), then the SoC family, then an NPU, else the CPU.
func classOf(vendors []string, chip string, npu bool) string {
	has := func(v string) bool {
		for _, x := range vendors {
			if x == v {
				return true
			}
		}
		return false
	}
	chip = strings.ToLower(chip)
	switch {
	case has("nvidia"):
		return ClassNVIDIA
	case has("amd"):
		return ClassAMD
	case strings.Contains(chip, "apple"):
		return ClassApple
	case strings.Contains(chip, "snapdragon") || strings.Contains(chip, "qcom") || has("qualcomm"):
		return ClassQualcom
	case has("intel"):
		return ClassIntel
	case npu:
		return ClassNPU
	}
	return ClassCPU
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

func nonEmpty(xs []string) []string {
	out := xs[:0]
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
