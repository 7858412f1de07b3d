package cli

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestRunDataset runs a three-entry JSONL dataset on the simulated engine
// and checks that the engine received exactly the dataset's prompts (each
// once, behind its nonce, with an entry's own max_tokens), that the run is
// one "dataset - d.jsonl" scenario, and that the stored config records the
// file's name, format and counts.
func TestRunDataset(t *testing.T) {
	s := startTestSim(t, quickProfile())
	path := writeFile(t, "d.jsonl", `{"id":"a","prompt":"alpha prompt"}
{"id":2,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"beta prompt"}],"max_tokens":7}

{"prompt":"gamma prompt","extra":"ignored"}
`)
	o := run(t, "run", "--endpoint", s.base, "--model", "quick", "--dataset", path, "--warmup", "0",
		"--seed", "3", "--no-save", "--format", "json")
	wantCode(t, o, ExitOK)
	var got []string
	maxTok := map[string]float64{}
	for _, r := range s.chats() {
		var body struct {
			Messages  []struct{ Role, Content string } `json:"messages"`
			MaxTokens float64                          `json:"max_tokens"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		last := body.Messages[len(body.Messages)-1].Content
		if len(body.Messages) == 1 { // the nonce is prepended to the first message
			_, last, _ = strings.Cut(last, "] ")
		}
		got = append(got, last)
		maxTok[last] = body.MaxTokens
		if last == "beta prompt" && !strings.HasSuffix(body.Messages[0].Content, "] be brief") {
			t.Errorf("entry 2's system message not sent first: %+v", body.Messages)
		}
	}
	slices.Sort(got)
	if want := []string{"alpha prompt", "beta prompt", "gamma prompt"}; !slices.Equal(got, want) {
		t.Fatalf("the engine received the last messages %q, want each dataset prompt once %q", got, want)
	}
	if maxTok["beta prompt"] != 7 || maxTok["alpha prompt"] != 100 {
		t.Errorf("max_tokens sent %v, want 7 for the entry that sets it and the default 100 otherwise", maxTok)
	}
	var res struct {
		Config struct {
			Scenarios []string       `json:"scenarios"`
			Requests  int            `json:"requests"`
			Dataset   map[string]any `json:"dataset"`
			Command   []string       `json:"command"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, o.stdout)
	}
	if !slices.Equal(res.Config.Scenarios, []string{"dataset - d.jsonl"}) || res.Config.Requests != 3 {
		t.Errorf("scenarios %q, requests %d; want the one dataset scenario and one request per entry", res.Config.Scenarios, res.Config.Requests)
	}
	if cmd := strings.Join(res.Config.Command, " "); !strings.Contains(cmd, "--dataset "+path) || strings.Contains(cmd, "--suite") {
		t.Errorf("the repeat command %q does not name the dataset in place of a suite", cmd)
	}
	d := res.Config.Dataset
	if d["file"] != "d.jsonl" || d["format"] != "jsonl" || d["entries"] != 3.0 || d["filtered"] != 3.0 || d["used"] != 3.0 || len(d["sha256"].(string)) != 64 {
		t.Errorf("config.dataset = %v", d)
	}
}

// TestRunDatasetBad checks that a malformed dataset stops the run before
// any request, naming each bad line, and that --dataset refuses --suite.
func TestRunDatasetBad(t *testing.T) {
	s := startTestSim(t, quickProfile())
	path := writeFile(t, "bad.jsonl", "{\"prompt\":\"ok\"}\n{\"prompt\":5}\nnot json\n")
	o := run(t, "run", "--endpoint", s.base, "--model", "quick", "--dataset", path, "--no-save")
	wantCode(t, o, ExitUsage)
	for _, want := range []string{"line 2: prompt: must be a string, got number", "line 3: invalid JSON"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
		}
	}
	if n := len(s.chats()); n != 0 {
		t.Errorf("%d chat requests sent from a bad dataset", n)
	}
	o = run(t, "run", "--endpoint", s.base, "--model", "quick", "--dataset", path, "--suite", "default", "--no-save")
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, "--dataset: replaces the suite") {
		t.Errorf("--dataset with --suite not refused:\n%s", o.stderr)
	}
}
