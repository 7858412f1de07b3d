package cli

import (
	"strings"
	"testing"
)

// TestRunRecordsMachineAndResources checks that a run carries the machine's
// fingerprint and the sampler's per-stage windows in its JSON document, and
// that `flperf show` prints the same from the database; --sample-interval
// off leaves resources out (null, not zeros) but keeps the machine.
func TestRunRecordsMachineAndResources(t *testing.T) {
	suitePath := writeFile(t, "tiny.json", tinySuite)
	o := run(t, "run", "--engine", "sim", "--suite", suitePath, "--requests", "3", "--warmup", "0",
		"--sample-interval", "20ms", "--format", "json")
	wantCode(t, o, ExitOK)
	doc := decodeJSON(t, o.stdout)
	hw := obj(t, doc, "hardware")
	if a, _ := hw["arch"].(string); a == "" {
		t.Errorf("hardware.arch missing: %v", hw)
	}
	res := obj(t, doc, "resources")
	stages, _ := res["stages"].([]any)
	scenarios, _ := obj(t, doc, "suite")["scenarios"].([]any)
	models, _ := obj(t, doc, "config")["models"].([]any)
	if len(stages) != len(scenarios)*len(models) || len(stages) == 0 {
		t.Fatalf("%d stage windows for %d models × %d scenarios", len(stages), len(models), len(scenarios))
	}
	if iv, _ := res["interval_ms"].(float64); iv != 20 {
		t.Errorf("interval_ms = %v", res["interval_ms"])
	}
	run0, _ := res["run"].(map[string]any)
	if cpu, _ := run0["cpu_pct"].(map[string]any); cpu == nil || cpu["mean"] == nil {
		t.Errorf("run window has no CPU figure: %v", run0["cpu_pct"])
	}
	if cmd := strings.Join(toStrings(obj(t, doc, "config")["command"]), " "); !strings.Contains(cmd, "--sample-interval 20ms") {
		t.Errorf("repeat command lacks the interval: %s", cmd)
	}

	id, _ := doc["id"].(string)
	show := run(t, "show", id)
	wantCode(t, show, ExitOK)
	if !strings.Contains(show.stdout, "Machine  ") || !strings.Contains(show.stdout, "Resources (sampled every 20 ms") {
		t.Errorf("show lacks the machine or resources:\n%s", show.stdout)
	}

	off := run(t, "run", "--engine", "sim", "--suite", suitePath, "--requests", "1", "--warmup", "0", "--sample-interval", "off", "--format", "json")
	wantCode(t, off, ExitOK)
	doc = decodeJSON(t, off.stdout)
	if _, ok := doc["resources"]; ok {
		t.Errorf("--sample-interval off still has resources: %v", doc["resources"])
	}
	if doc["hardware"] == nil {
		t.Error("--sample-interval off lost the machine's description")
	}
}

func toStrings(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
