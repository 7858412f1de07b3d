package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"flperf/internal/stats"
)

// energyComparison is sampleComparison with energy rows: two stages and
// the pooled row of "llama", one stage with different power sources, and
// a row whose base is 0 (no change computable).
func energyComparison(t *testing.T) stats.Comparison {
	t.Helper()
	c := sampleComparison(t)
	c.Energy = []stats.EnergyRow{
		stats.NewEnergyRow("llama", "chat", false, 0.5, 0.4, ""),
		stats.NewEnergyRow("llama", "Q&A - Short", false, 0.25, 0.3, "the sides measured different power sources"),
		stats.NewEnergyRow("llama", "zero", false, 0, 0.1, ""),
		stats.NewEnergyRow("llama", "", true, 0.4, 0.36, ""),
	}
	return c
}

func TestNewEnergyRow(t *testing.T) {
	r := stats.NewEnergyRow("m", "s", false, 0.5, 0.4, "")
	if math.Abs(r.Delta-(-0.2)) > 1e-12 || r.Note != stats.EnergyNote {
		t.Errorf("row %+v: want delta -0.2 and the plain note", r)
	}
	if r := stats.NewEnergyRow("m", "s", false, 0, 0.4, "x"); !math.IsNaN(r.Delta) || r.Note != stats.EnergyNote+"; x" {
		t.Errorf("zero base: %+v, want NaN delta and the extra note", r)
	}
}

func TestCompareTableEnergy(t *testing.T) {
	var b bytes.Buffer
	if err := CompareTable(&b, energyComparison(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	start, end := strings.Index(out, "Energy per output token"), strings.Index(out, "\nWarnings")
	if start < 0 || end < start {
		t.Fatalf("no energy block before the warnings in\n%s", out)
	}
	block := out[start:end]
	t.Logf("energy block:\n%s", block)
	head := lineWith(t, block, "Energy per output token")
	if !strings.Contains(head, "J/token") || !strings.Contains(head, "no significance test") {
		t.Errorf("energy header %q", head)
	}
	if l := lineWith(t, block, "   "); !strings.Contains(l, "run-a") || !strings.Contains(l, "run-b") || !strings.Contains(l, "vs base") {
		t.Errorf("energy column header %q", l)
	}
	if l := lineWith(t, block, "chat "); !strings.Contains(l, "0.5000") || !strings.Contains(l, "0.4000") || !strings.HasSuffix(l, "-20.00%") {
		t.Errorf("chat energy line %q", l)
	}
	if l := lineWith(t, block, "Q&A - Short "); !strings.Contains(l, "+20.00% ¹") {
		t.Errorf("Q&A energy line %q: want +20.00%% and a footnote", l)
	}
	if l := lineWith(t, block, "¹ "); l != "¹ the sides measured different power sources" {
		t.Errorf("footnote %q", l)
	}
	if l := lineWith(t, block, "zero "); !strings.HasSuffix(l, "?") || !strings.Contains(l, " 0 ") {
		t.Errorf("zero-base line %q: want base 0 and the change as ?", l)
	}
	if l := lineWith(t, block, PooledLabel); !strings.HasSuffix(l, "-10.00%") {
		t.Errorf("pooled energy line %q", l)
	}
	if strings.Contains(block, "~") || strings.Contains(block, "p=") {
		t.Errorf("the energy block shows a test result:\n%s", block)
	}
	// Without energy rows the block is absent.
	var plain bytes.Buffer
	if err := CompareTable(&plain, sampleComparison(t)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "Energy") {
		t.Error("an energy block without energy rows")
	}
}

func TestCompareJSONEnergy(t *testing.T) {
	var b bytes.Buffer
	if err := CompareJSON(&b, energyComparison(t)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Energy []map[string]any `json:"energy"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Energy) != 4 {
		t.Fatalf("%d energy rows, want 4", len(doc.Energy))
	}
	keys := []string{"base", "candidate", "delta", "model", "note", "pooled", "scenario", "significant", "unit"}
	for _, r := range doc.Energy {
		if got := sortedKeysOf(r); strings.Join(got, ",") != strings.Join(keys, ",") {
			t.Fatalf("energy row keys %q", got)
		}
		if r["unit"] != "J/token" || r["significant"] != false {
			t.Errorf("row %v: unit or significance", r)
		}
	}
	if r := doc.Energy[0]; r["base"] != 0.5 || r["candidate"] != 0.4 || math.Abs(r["delta"].(float64)+0.2) > 1e-12 {
		t.Errorf("chat row %v", r)
	}
	if r := doc.Energy[2]; r["delta"] != nil || r["base"] != 0.0 {
		t.Errorf("zero-base row %v: want base 0 (a real zero) and delta null", r)
	}
	if r := doc.Energy[3]; r["pooled"] != true || r["scenario"] != "" {
		t.Errorf("pooled row %v", r)
	}
}
