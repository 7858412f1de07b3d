package telemetry

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"testing"
)

func TestFingerprintRealMachine(t *testing.T) {
	h := Fingerprint(context.Background())
	if h.Arch != runtime.GOARCH || h.OS.Name != runtime.GOOS {
		t.Errorf("arch %q os %q", h.Arch, h.OS.Name)
	}
	if h.CPU.LogicalCores == nil || *h.CPU.LogicalCores < 1 {
		t.Errorf("logical cores %v", h.CPU.LogicalCores)
	}
	if h.CPU.PhysicalCores != nil && h.CPU.LogicalCores != nil && *h.CPU.PhysicalCores > *h.CPU.LogicalCores {
		t.Errorf("%d physical > %d logical cores", *h.CPU.PhysicalCores, *h.CPU.LogicalCores)
	}
	if h.MemoryTotalBytes == nil || *h.MemoryTotalBytes < 64<<20 {
		t.Errorf("memory %v", h.MemoryTotalBytes)
	}
	if h.GPUs == nil || h.NPUs == nil {
		t.Error("GPUs or NPUs is null instead of []")
	}
	switch h.Power.Source {
	case PowerAC, PowerBattery, PowerUnknown:
	default:
		t.Errorf("power source %q", h.Power.Source)
	}
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", b)

	// No JSON string anywhere equals the host name.
	host, err := os.Hostname()
	if err != nil || host == "" {
		return
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if x == host {
				t.Errorf("host name %q in the fingerprint", host)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				if k == "hostname" || k == "host_id" || k == "serial" {
					t.Errorf("identifying key %q", k)
				}
				walk(e)
			}
		}
	}
	walk(v)
}
