package telemetry

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// nvidiaSMI is the NVIDIA tool's executable name.
const nvidiaSMI = "nvidia-smi"

// nvidiaSampleQuery is the field list of the sampling loop; ParseNvidiaSMILine
// expects its fields in this order.
const nvidiaSampleQuery = "index,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu"

// NvidiaSMIFingerprintArgs is the argument vector (after the executable name)
// of the one-shot nvidia-smi query used by Fingerprint. Its output is parsed
// by ParseNvidiaSMIFingerprint.
var NvidiaSMIFingerprintArgs = []string{
	"--query-gpu=index,name,memory.total,driver_version,pci.bus_id",
	"--format=csv,noheader,nounits",
}

// NvidiaSMISampleArgs returns the argument vector (after the executable name)
// of the long-lived nvidia-smi loop the Sampler runs: one CSV line per GPU
// every intervalMS milliseconds, each parsed by ParseNvidiaSMILine.
func NvidiaSMISampleArgs(intervalMS int) []string {
	return []string{
		"--query-gpu=" + nvidiaSampleQuery,
		"--format=csv,noheader,nounits",
		"-lms", strconv.Itoa(intervalMS),
	}
}

// ParseNvidiaSMILine parses one line of the sampling loop
// (index, utilization.gpu, memory.used, memory.total, power.draw,
// temperature.gpu). Values may carry units ("45 %", "1234 MiB", "70.12 W")
// or not. "[N/A]", "N/A", "[Not Supported]", "[Unknown Error]", "" and
// anything else that is not a finite number become nil; a real "0" stays 0.
// A line without six fields or without an integer index is an error (it is
// typically a message such as "No devices were found").
func ParseNvidiaSMILine(line string) (GPUSample, error) {
	f := strings.Split(strings.TrimSpace(line), ",")
	if len(f) != 6 {
		return GPUSample{}, fmt.Errorf("nvidia-smi line: %d fields, want 6: %q", len(f), clip(line))
	}
	idx, err := parseIndex(f[0])
	if err != nil {
		return GPUSample{}, fmt.Errorf("nvidia-smi line: %w: %q", err, clip(line))
	}
	return GPUSample{
		Index:       idx,
		Vendor:      "nvidia",
		UtilPct:     parseSMIValue(f[1]),
		MemUsedMiB:  parseSMIValue(f[2]),
		MemTotalMiB: parseSMIValue(f[3]),
		PowerW:      parseSMIValue(f[4]),
		TempC:       parseSMIValue(f[5]),
	}, nil
}

// ParseNvidiaSMIFingerprint parses the output of nvidia-smi run with
// NvidiaSMIFingerprintArgs: one line per GPU (index, name, memory.total,
// driver_version, pci.bus_id). Blank lines are skipped; any other line that
// does not parse is an error, and the GPUs parsed so far are returned with it.
func ParseNvidiaSMIFingerprint(data []byte) ([]GPU, error) {
	var gpus []GPU
	var errs []error
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 5 {
			errs = append(errs, fmt.Errorf("nvidia-smi fingerprint line: %d fields, want 5: %q", len(f), clip(line)))
			continue
		}
		idx, err := parseIndex(f[0])
		if err != nil {
			errs = append(errs, fmt.Errorf("nvidia-smi fingerprint line: %w: %q", err, clip(line)))
			continue
		}
		n := len(f)
		// A name never holds a comma in practice; should one appear, the
		// fields are still found from both ends.
		name := strings.TrimSpace(strings.Join(f[1:n-3], ","))
		gpus = append(gpus, GPU{
			Index:          idx,
			Vendor:         "nvidia",
			Name:           smiString(name),
			MemoryTotalMiB: parseSMIValue(f[n-3]),
			Driver:         smiString(f[n-2]),
			BusID:          smiString(f[n-1]),
			Source:         nvidiaSMI,
		})
	}
	return gpus, errors.Join(errs...)
}

// parseIndex parses a GPU index: a small non-negative integer.
func parseIndex(s string) (int, error) {
	i, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || i < 0 || i > 1<<16 {
		return 0, fmt.Errorf("bad GPU index %q", clip(strings.TrimSpace(s)))
	}
	return i, nil
}

// parseSMIValue turns one field of a GPU tool into a number, or nil when the
// tool reports it unavailable. A unit after the number ("45 %", "1234 MiB",
// "70.12 W", "45 C") is accepted and ignored; the brackets of "[N/A]" and
// the like are ignored too.
func parseSMIValue(s string) *float64 {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 {
		return nil
	}
	num := fields[0]
	if len(fields) == 1 {
		// A unit glued to the number ("45%", "70.12W", "1234MiB").
		num = strings.TrimRightFunc(num, func(r rune) bool {
			return r == '%' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z')
		})
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// smiString returns the trimmed field, or nil when it is empty or an
// "unavailable" marker.
func smiString(s string) *string {
	s = strings.TrimSpace(s)
	switch strings.ToLower(strings.Trim(s, "[]")) {
	case "", "n/a", "not supported", "unknown error", "unknown":
		return nil
	}
	return &s
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 120 {
		return strings.ToValidUTF8(s[:120], "") + "…"
	}
	return s
}
