package telemetry

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strings"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
)

// Hardware describes the machine a run was measured on. Unknown figures are
// null, never 0. It holds no host name, serial number or other identifier.
type Hardware struct {
	CPU CPU `json:"cpu"`
	// Arch is the Go architecture of this binary (runtime.GOARCH).
	Arch string `json:"arch"`
	// SoC names the system on chip on ARM machines where the OS says it:
	// the last "compatible" entry of the Linux device tree
	// ("qcom,x1e80100"), or the CPU brand string on Windows and macOS
	// ("Snapdragon(R) X Elite - X1E78100 - Qualcomm(R) Oryon(TM) CPU",
	// "Apple M3 Pro").
	SoC *string `json:"soc"`
	// Board is the Linux device-tree model of the machine
	// ("Raspberry Pi 5 Model B Rev 1.0"), where there is one.
	Board *string `json:"board"`
	// MemoryTotalBytes is the physical memory size.
	MemoryTotalBytes *uint64 `json:"memory_total_bytes"`
	// GPUs lists every GPU found ([] when none): from nvidia-smi and
	// rocm-smi where present, else (Linux) from /sys/class/drm.
	GPUs []GPU `json:"gpus"`
	// NPUs names the neural accelerators found (Linux /sys/class/accel);
	// [] when none or not detectable on this OS.
	NPUs []string `json:"npus"`
	OS   OS       `json:"os"`
	// Power says whether the machine ran on mains or battery.
	Power Power `json:"power"`
	// Notes explains figures that are missing because a probe failed (a
	// tool that is present but errored); absence of a tool is not noted.
	Notes []string `json:"notes,omitempty"`
}

// CPU describes the processor.
type CPU struct {
	Vendor        *string  `json:"vendor"`         // "GenuineIntel", "AuthenticAMD", "ARM"…
	Model         *string  `json:"model"`          // brand string
	PhysicalCores *int     `json:"physical_cores"` // cores, not hardware threads
	LogicalCores  *int     `json:"logical_cores"`  // hardware threads
	MHz           *float64 `json:"mhz"`            // nominal or maximum clock as the OS reports it
}

// GPU describes one graphics processor.
type GPU struct {
	// Index is the tool's index (nvidia-smi index, rocm-smi cardN, or the
	// DRM cardN); it matches GPUSample.Index for the same vendor.
	Index int `json:"index"`
	// Vendor is "nvidia", "amd", "intel", "qualcomm"… .
	Vendor string `json:"vendor"`
	// Name is the product name; for DRM-only GPUs the vendor and PCI
	// device id.
	Name *string `json:"name"`
	// MemoryTotalMiB is the dedicated memory, MiB.
	MemoryTotalMiB *float64 `json:"memory_total_mib"`
	// Driver is the driver version (nvidia-smi, rocm-smi) or the kernel
	// driver's name (DRM).
	Driver *string `json:"driver"`
	// BusID is the PCI address.
	BusID *string `json:"bus_id"`
	// Source says where the entry came from: "nvidia-smi", "rocm-smi" or
	// "drm".
	Source string `json:"source"`
}

// OS describes the operating system.
type OS struct {
	Name     string  `json:"name"`     // runtime.GOOS: "linux", "windows", "darwin"
	Platform *string `json:"platform"` // distribution or edition: "ubuntu", "Microsoft Windows 11 Pro"
	Version  *string `json:"version"`  // platform version: "24.04", "10.0.26100 Build 26100"
	Kernel   *string `json:"kernel"`   // kernel version
}

// Power source values.
const (
	PowerAC      = "ac"
	PowerBattery = "battery"
	PowerUnknown = "unknown"
)

// Power says what powered the machine when the fingerprint was taken.
type Power struct {
	// Source is PowerAC, PowerBattery or PowerUnknown.
	Source string `json:"source"`
	// OnBattery is Source == "battery", or nil when unknown.
	OnBattery *bool `json:"on_battery"`
	// BatteryPercent is the charge of the system battery (mean over
	// batteries), or nil when there is none or it is not readable.
	BatteryPercent *float64 `json:"battery_percent"`
}

// probe holds what the fingerprint reads from outside the process, so that
// tests can replace it.
type probe struct {
	run      runFunc
	lookPath lookPathFunc
	sysRoot  string // root of /sys and /proc; "/" in production
	notes    []string
}

func defaultProbe() *probe {
	return &probe{run: execRun, lookPath: exec.LookPath, sysRoot: "/"}
}

// Fingerprint describes this machine. It takes a few hundred milliseconds
// (more when GPU tools are installed: each runs with a 2 s timeout) and
// never fails: what cannot be found is null.
func Fingerprint(ctx context.Context) Hardware {
	return defaultProbe().fingerprint(ctx)
}

func (p *probe) notef(format string, args ...any) {
	p.notes = append(p.notes, fmt.Sprintf(format, args...))
}

func (p *probe) fingerprint(ctx context.Context) Hardware {
	h := Hardware{
		Arch:  runtime.GOARCH,
		GPUs:  []GPU{},
		NPUs:  []string{},
		OS:    OS{Name: runtime.GOOS},
		Power: Power{Source: PowerUnknown},
	}
	p.cpu(ctx, &h)
	if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil && vm.Total > 0 {
		h.MemoryTotalBytes = &vm.Total
	}
	if platform, _, version, err := host.PlatformInformationWithContext(ctx); err == nil {
		h.OS.Platform = nonEmpty(platform)
		h.OS.Version = nonEmpty(version)
	}
	if k, err := host.KernelVersionWithContext(ctx); err == nil {
		h.OS.Kernel = nonEmpty(k)
	}
	h.GPUs = append(h.GPUs, p.toolGPUs(ctx, nvidiaSMI, NvidiaSMIFingerprintArgs, ParseNvidiaSMIFingerprint)...)
	h.GPUs = append(h.GPUs, p.toolGPUs(ctx, rocmSMI, ROCmSMIFingerprintArgs, ParseROCmSMIFingerprint)...)
	p.platform(ctx, &h)
	if len(p.notes) > 0 {
		h.Notes = p.notes
	}
	return h
}

// cpu fills the CPU block from gopsutil.
func (p *probe) cpu(ctx context.Context, h *Hardware) {
	if infos, err := cpu.InfoWithContext(ctx); err == nil && len(infos) > 0 {
		h.CPU.Vendor = nonEmpty(infos[0].VendorID)
		h.CPU.Model = nonEmpty(infos[0].ModelName)
		if infos[0].Mhz > 0 {
			mhz := infos[0].Mhz
			h.CPU.MHz = &mhz
		}
	}
	if n, err := cpu.CountsWithContext(ctx, false); err == nil && n > 0 {
		h.CPU.PhysicalCores = &n
	}
	if n, err := cpu.CountsWithContext(ctx, true); err == nil && n > 0 {
		h.CPU.LogicalCores = &n
	}
}

// toolGPUs runs a GPU tool when it is on PATH and parses its output. A
// missing tool gives nothing and no note.
func (p *probe) toolGPUs(ctx context.Context, tool string, args []string, parse func([]byte) ([]GPU, error)) []GPU {
	path, err := p.lookPath(tool)
	if err != nil {
		return nil
	}
	out, _, err := p.run(ctx, path, args...)
	if err != nil {
		p.notef("%s failed: %v", tool, err)
		return nil
	}
	gpus, err := parse(out)
	if err != nil {
		p.notef("%s output not understood: %v", tool, err)
	}
	return gpus
}

// nonEmpty returns a pointer to the trimmed s, or nil when it is empty.
func nonEmpty(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}
