package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRunInputTokens runs `flperf run --input-tokens` on the built-in
// simulated engine (which reports usage but has no tokenizer endpoint, so
// its lengths are calibrated): every measured record asks for a drawn
// length, says how it was made, and the engine counts exactly that; the
// JSON group compares them; show prints the Input lengths block; a bad
// spec is a usage error naming the flag.
func TestRunInputTokens(t *testing.T) {
	db := t.TempDir() + "/f.db"
	o := run(t, "run", "--engine", "sim", "--model", "sim-fast", "--input-tokens", "uniform:150-400", "--requests", "4", "--warmup", "1",
		"--seed", "3", "--db", db, "--format", "jsonl")
	wantCode(t, o, ExitOK)
	recs := jsonlRecords(t, o.stdout)
	if len(recs) != 5 {
		t.Fatalf("%d records, want 5", len(recs))
	}
	seen := map[float64]bool{}
	for _, r := range recs {
		req := num(t, r, "requested_input_tokens")
		if req < 150 || req > 400 || str(t, r, "input_length_method") != "calibration" || num(t, r, "input_tokens") != req ||
			str(t, r, "scenario") != "Input tokens uniform:150-400" {
			t.Errorf("record %v", r)
		}
		seen[req] = true
	}
	if len(seen) < 2 {
		t.Errorf("uniform lengths all alike: %v", seen)
	}
	if !strings.Contains(o.stderr, "calibration requests") {
		t.Errorf("stderr does not say what calibration cost:\n%s", o.stderr)
	}

	o = run(t, "run", "--engine", "sim", "--model", "sim-fast", "--input-tokens", "300", "--requests", "3", "--seed", "3", "--db", db, "--format", "json")
	wantCode(t, o, ExitOK)
	var res struct {
		ID     string `json:"id"`
		Groups []struct {
			InputLength *struct {
				N             int      `json:"n"`
				RequestedMean *float64 `json:"requested_mean"`
				MeasuredMean  *float64 `json:"measured_mean"`
				Diff          *float64 `json:"difference"`
			} `json:"input_length"`
		} `json:"groups"`
		Suite struct {
			InputLengths *struct {
				Prompts []struct {
					Method string `json:"method"`
					Spec   string `json:"spec"`
				} `json:"prompts"`
				CalibrationRequests int `json:"calibration_requests"`
			} `json:"input_lengths"`
		} `json:"suite"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &res); err != nil {
		t.Fatal(err)
	}
	g := res.Groups[0].InputLength
	if g == nil || g.N != 3 || *g.RequestedMean != 300 || *g.MeasuredMean != 300 || *g.Diff != 0 {
		t.Fatalf("group input_length %+v", g)
	}
	il := res.Suite.InputLengths
	if il == nil || len(il.Prompts) != 1 || il.Prompts[0].Method != "calibration" || il.Prompts[0].Spec != "300" || il.CalibrationRequests == 0 {
		t.Fatalf("suite input_lengths %+v", il)
	}
	o = run(t, "show", res.ID, "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "Input lengths (tokens asked for") || !strings.Contains(o.stdout, "calibration") {
		t.Errorf("show has no Input lengths block:\n%s", o.stdout)
	}

	o = run(t, "run", "--engine", "sim", "--input-tokens", "512:x")
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, "--input-tokens: the standard deviation") {
		t.Errorf("stderr %q", o.stderr)
	}
}
