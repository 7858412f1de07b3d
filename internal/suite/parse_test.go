package suite

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// doc wraps scenario objects in a minimal valid suite.
func doc(scenarios ...string) string {
	return `{"name": "t", "scenarios": [` + strings.Join(scenarios, ",") + `]}`
}

// problemsOf parses data and returns its problems, failing if it parses.
func problemsOf(t *testing.T, data string) []Problem {
	t.Helper()
	s, err := Parse("x.json", []byte(data))
	if err == nil {
		t.Fatalf("Parse succeeded (%d scenarios), want an error for:\n%s", len(s.Scenarios), data)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T %v is not a *ValidationError", err, err)
	}
	if ve.Source != "x.json" {
		t.Errorf("source %q", ve.Source)
	}
	return ve.Problems
}

func TestOriginalFormatLoadsUnchanged(t *testing.T) {
	path := filepath.Join("testdata", "original-format.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture must use exactly the original's field set.
	var raw struct {
		Top       map[string]json.RawMessage
		Scenarios []map[string]any `json:"scenarios"`
		Config    map[string]any   `json:"default_config"`
	}
	if err := json.Unmarshal(data, &raw.Top); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(data, &raw)
	onlyKeys := func(what string, keys []string, allowed ...string) {
		for _, k := range keys {
			if !strings.Contains(" "+strings.Join(allowed, " ")+" ", " "+k+" ") {
				t.Errorf("fixture %s has field %q, not in the original's format", what, k)
			}
		}
	}
	var keys []string
	for k := range raw.Top {
		keys = append(keys, k)
	}
	onlyKeys("suite", keys, "name", "description", "version", "scenarios", "default_config")
	for _, sc := range raw.Scenarios {
		keys = keys[:0]
		for k := range sc {
			keys = append(keys, k)
		}
		onlyKeys("scenario", keys, "name", "description", "prompt", "max_tokens", "expected_output_length")
	}
	keys = keys[:0]
	for k := range raw.Config {
		keys = append(keys, k)
	}
	onlyKeys("default_config", keys, "iterations", "concurrency", "timeout", "temperature", "streaming")

	s, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Source != path || s.Name != "Original Format Sample" || s.Version != "1.0.0" || len(s.Scenarios) != 3 {
		t.Fatalf("got %+v", s)
	}
	if got := s.Scenarios[0]; got.Category != "Simple Q&A" || *got.MaxTokens != 50 || got.ExpectedOutputLength != "short" {
		t.Errorf("scenario 1 = %+v", got)
	}
	last := s.Scenarios[2]
	if last.MaxTokens != nil || last.MaxTokensOr(DefaultMaxTokens) != 100 || last.Category != "Long-form Response" {
		t.Errorf("scenario 3: max_tokens %v (want nil → 100), category %q", last.MaxTokens, last.Category)
	}
	if dc := s.DefaultConfig; dc == nil || *dc.Timeout != 30000 || *dc.Iterations != 5 || !*dc.Streaming {
		t.Errorf("default_config = %+v", dc)
	}
}

func TestValidationRules(t *testing.T) {
	long := strings.Repeat("n", 201)
	cases := []struct {
		name     string
		data     string
		scenario int    // expected Problem.Scenario
		field    string // expected Problem.Field
		msg      string // substring of Problem.Message
	}{
		{"empty document", "  \n", 0, "", "empty document"},
		{"syntax error position", "{\"name\": \"t\",\n  \"scenarios\": [}", 0, "", "invalid JSON at line 2, column 17"},
		{"unexpected end", "{\"name\": \"t\",\n\"scen", 0, "", "invalid JSON at line 2, column 6: unexpected end of input"},
		{"trailing data", doc(`{"name":"a","prompt":"p"}`) + "\n  {}", 0, "", "trailing data after the top-level value at line 2, column 3"},
		{"top level array", `[1, 2]`, 0, "", "must be a JSON object, got array"},
		{"top level null", `null`, 0, "", "must be a JSON object, got null"},
		{"name missing", `{"scenarios": [{"name":"a","prompt":"p"}]}`, 0, "name", "required"},
		{"name wrong type", `{"name": 5, "scenarios": [{"name":"a","prompt":"p"}]}`, 0, "name", "must be a string, got number"},
		{"name too long", `{"name": "` + long + `", "scenarios": [{"name":"a","prompt":"p"}]}`, 0, "name", "at most 200 characters, got 201"},
		{"name control", `{"name": "a\u0007b", "scenarios": [{"name":"a","prompt":"p"}]}`, 0, "name", "control characters"},
		{"scenarios missing", `{"name": "t"}`, 0, "scenarios", "at least one scenario"},
		{"scenarios empty", doc(), 0, "scenarios", "at least one scenario"},
		{"scenarios not array", `{"name": "t", "scenarios": {}}`, 0, "scenarios", "must be an array, got object"},
		{"scenario not object", doc(`"hello"`), 1, "", "must be an object, got string"},
		{"scenario name missing", doc(`{"prompt":"p"}`), 1, "name", "required"},
		{"scenario name blank", doc(`{"name":"  ","prompt":"p"}`), 1, "name", "must not be blank"},
		{"scenario name control", doc(`{"name":"a\nb","prompt":"p"}`), 1, "name", "control characters"},
		{"scenario name bidi", doc(`{"name":"a\u202Eb","prompt":"p"}`), 1, "name", "control characters"},
		{"scenario name too long", doc(`{"name":"` + long + `","prompt":"p"}`), 1, "name", "at most 200"},
		{"duplicate name ignoring case", doc(`{"name":"Code","prompt":"p"}`, `{"name":"cODE","prompt":"p"}`), 2, "name", `duplicate of scenario 1 ("Code")`},
		{"language not a tag", doc(`{"name":"a","prompt":"p","language":"Eng1"}`), 1, "language", `"Eng1" is not a BCP 47 language tag`},
		{"language underscore", doc(`{"name":"a","prompt":"p","language":"en_US"}`), 1, "language", "character other than a letter or digit"},
		{"language wrong type", doc(`{"name":"a","prompt":"p","language":7}`), 1, "language", "must be a string, got number"},
		{"no prompt or messages", doc(`{"name":"a"}`), 1, "prompt", "a prompt or messages are required"},
		{"empty prompt no messages", doc(`{"name":"a","prompt":""}`), 1, "prompt", "a prompt or messages are required"},
		{"blank prompt", doc(`{"name":"a","prompt":" \n "}`), 1, "prompt", "must not be blank"},
		{"blank system", doc(`{"name":"a","prompt":"p","system":"  "}`), 1, "system", "must not be blank"},
		{"bad role", doc(`{"name":"a","messages":[{"role":"bot","content":"hi"}]}`), 1, "messages[0].role", `must be one of "system", "user", "assistant", got "bot"`},
		{"missing role", doc(`{"name":"a","messages":[{"content":"hi"}]}`), 1, "messages[0].role", "required"},
		{"empty content", doc(`{"name":"a","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":""}],"prompt":"p"}`), 1, "messages[1].content", "required"},
		{"blank content", doc(`{"name":"a","messages":[{"role":"user","content":"  "}]}`), 1, "messages[0].content", "must not be blank"},
		{"last turn not user", doc(`{"name":"a","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}`), 1, "messages", `the last message must have role "user" when there is no prompt, got "assistant"`},
		{"only system message", doc(`{"name":"a","messages":[{"role":"system","content":"be brief"}]}`), 1, "messages", `got "system"`},
		{"late system message", doc(`{"name":"a","messages":[{"role":"user","content":"hi"},{"role":"system","content":"x"},{"role":"user","content":"q"}]}`), 1, "messages[1].role", "must come before"},
		{"message unknown field", doc(`{"name":"a","messages":[{"role":"user","content":"hi","contnet":"x"}]}`), 1, "messages[0].contnet", `unknown field; did you mean "content"?`},
		{"message not object", doc(`{"name":"a","prompt":"p","messages":["hi"]}`), 1, "messages[0]", "must be an object, got string"},
		{"messages not array", doc(`{"name":"a","messages":"hi"}`), 1, "messages", "must be an array, got string"},
		{"max_tokens zero", doc(`{"name":"a","prompt":"p","max_tokens":0}`), 1, "max_tokens", "must be between 1 and 131072, got 0"},
		{"max_tokens too big", doc(`{"name":"a","prompt":"p","max_tokens":131073}`), 1, "max_tokens", "must be between 1 and 131072, got 131073"},
		{"max_tokens fraction", doc(`{"name":"a","prompt":"p","max_tokens":1.5}`), 1, "max_tokens", "must be an integer, got 1.5"},
		{"max_tokens string", doc(`{"name":"a","prompt":"p","max_tokens":"100"}`), 1, "max_tokens", "must be an integer, got string"},
		{"max_tokens huge", doc(`{"name":"a","prompt":"p","max_tokens":1e400}`), 1, "max_tokens", "out of range"},
		{"temperature high", doc(`{"name":"a","prompt":"p","temperature":2.5}`), 1, "temperature", "must be between 0 and 2, got 2.5"},
		{"temperature negative", doc(`{"name":"a","prompt":"p","temperature":-0.1}`), 1, "temperature", "got -0.1"},
		{"temperature bool", doc(`{"name":"a","prompt":"p","temperature":true}`), 1, "temperature", "must be a number, got boolean"},
		{"min_tokens over max", doc(`{"name":"a","prompt":"p","max_tokens":50,"min_tokens":60}`), 1, "min_tokens", "must not exceed max_tokens (50), got 60"},
		{"min_tokens over default", doc(`{"name":"a","prompt":"p","min_tokens":101}`), 1, "min_tokens", "must not exceed max_tokens (100 by default), got 101"},
		{"min_tokens negative", doc(`{"name":"a","prompt":"p","min_tokens":-1}`), 1, "min_tokens", "must be between 0 and 131072, got -1"},
		{"ignore_eos string", doc(`{"name":"a","prompt":"p","ignore_eos":"true"}`), 1, "ignore_eos", "must be true or false, got string"},
		{"too many stops", doc(`{"name":"a","prompt":"p","stop":["a","b","c","d","e"]}`), 1, "stop", "at most 4 entries are allowed, got 5"},
		{"empty stop", doc(`{"name":"a","prompt":"p","stop":["\n",""]}`), 1, "stop[1]", "must not be empty"},
		{"stop not string", doc(`{"name":"a","prompt":"p","stop":[7]}`), 1, "stop[0]", "must be a string, got number"},
		{"stop null entry", doc(`{"name":"a","prompt":"p","stop":[null]}`), 1, "stop[0]", "must be a string, got null"},
		{"bad output length", doc(`{"name":"a","prompt":"p","expected_output_length":"huge"}`), 1, "expected_output_length", `must be one of "short", "medium", "long" or empty, got "huge"`},
		{"category control", doc(`{"name":"a","prompt":"p","category":"x\ty"}`), 1, "category", "control characters"},
		{"unknown scenario field", doc(`{"name":"a","prompt":"p","max_token":10}`), 1, "max_token", `unknown field; did you mean "max_tokens"?`},
		{"unknown field case", doc(`{"name":"a","prompt":"p","Prompt":"q"}`), 1, "Prompt", `did you mean "prompt"?`},
		{"unknown unrelated field", doc(`{"name":"a","prompt":"p","zzzzzzzz":1}`), 1, "zzzzzzzz", "unknown field (known fields: name,"},
		{"unknown odd key quoted", doc(`{"name":"a","prompt":"p","a b\n":1}`), 1, `"a b\n"`, "unknown field"},
		{"unknown suite field", `{"name":"t","scenario":[{"name":"a","prompt":"p"}],"scenarios":[{"name":"a","prompt":"p"}]}`, 0, "scenario", `did you mean "scenarios"?`},
		{"duplicate key", doc(`{"name":"a","prompt":"p","prompt":"q"}`), 1, "prompt", "duplicate key"},
		{"unknown config field", `{"name":"t","scenarios":[{"name":"a","prompt":"p"}],"default_config":{"iteration":5}}`, 0, "default_config.iteration", `did you mean "iterations"?`},
		{"config not object", `{"name":"t","scenarios":[{"name":"a","prompt":"p"}],"default_config":[]}`, 0, "default_config", "must be an object, got array"},
		{"config iterations zero", `{"name":"t","scenarios":[{"name":"a","prompt":"p"}],"default_config":{"iterations":0}}`, 0, "default_config.iterations", "must be between 1 and 1000000, got 0"},
		{"config concurrency zero", `{"name":"t","scenarios":[{"name":"a","prompt":"p"}],"default_config":{"concurrency":0}}`, 0, "default_config.concurrency", "got 0"},
		{"config timeout negative", `{"name":"t","scenarios":[{"name":"a","prompt":"p"}],"default_config":{"timeout":-5}}`, 0, "default_config.timeout", "got -5"},
		{"config temperature", `{"name":"t","scenarios":[{"name":"a","prompt":"p"}],"default_config":{"temperature":3}}`, 0, "default_config.temperature", "must be between 0 and 2, got 3"},
		{"config streaming string", `{"name":"t","scenarios":[{"name":"a","prompt":"p"}],"default_config":{"streaming":"yes"}}`, 0, "default_config.streaming", "must be true or false, got string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := problemsOf(t, tc.data)
			if len(ps) != 1 {
				t.Errorf("%d problems, want exactly 1: %v", len(ps), ps)
			}
			p := ps[0]
			if p.Scenario != tc.scenario || p.Field != tc.field || !strings.Contains(p.Message, tc.msg) {
				t.Errorf("problem = {scenario %d, field %q, %q}\nwant      {scenario %d, field %q, containing %q}",
					p.Scenario, p.Field, p.Message, tc.scenario, tc.field, tc.msg)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	data := doc(`{"name":"A","prompt":"p"}`, `{"name":"B","prompt":"p"}`, `{"name":"Code","prompt":"p","max_tokens":0}`)
	_, err := Parse("x.json", []byte(data))
	want := `suite "x.json": scenario 3 ("Code"): max_tokens: must be between 1 and 131072, got 0`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestMultipleProblemsReportedTogether(t *testing.T) {
	data := `{
  "scenarios": [
    {"name": "Code", "prompt": "p", "max_tokens": 0},
    {"prompt": "p", "temperature": 9},
    {"name": "code", "messages": [{"role": "assistant", "content": "x"}]}
  ],
  "default_config": {"iterations": 0, "colour": "red"}
}`
	ps := problemsOf(t, data)
	want := []struct {
		scenario int
		field    string
	}{
		{0, "default_config.colour"},
		{0, "name"},
		{0, "default_config.iterations"},
		{1, "max_tokens"},
		{2, "name"},
		{2, "temperature"},
		{3, "messages"},
		{3, "name"},
	}
	if len(ps) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i, w := range want {
		if ps[i].Scenario != w.scenario || ps[i].Field != w.field {
			t.Errorf("problem %d = scenario %d field %q, want scenario %d field %q (%s)",
				i, ps[i].Scenario, ps[i].Field, w.scenario, w.field, ps[i])
		}
	}
	_, err := Parse("x.json", []byte(data))
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("error has %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, `suite "x.json": `) {
			t.Errorf("line %q does not name the source", l)
		}
	}
	if !strings.Contains(err.Error(), `scenario 3 ("code"): name: duplicate of scenario 1 ("Code")`) {
		t.Errorf("duplicate not reported with both names:\n%v", err)
	}
}

func TestProblemCap(t *testing.T) {
	var scs []string
	for range 300 {
		scs = append(scs, `{}`)
	}
	_, err := Parse("x.json", []byte(doc(scs...)))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	// Each empty scenario has two problems: no name, no prompt.
	if len(ve.Problems) != maxProblems || ve.Omitted != 600-maxProblems {
		t.Errorf("%d problems kept, %d omitted; want %d and %d", len(ve.Problems), ve.Omitted, maxProblems, 600-maxProblems)
	}
	if !strings.HasSuffix(err.Error(), "… and 500 more problems") {
		t.Errorf("error does not say how many were left out")
	}
}

func TestTemperatureZeroStaysZero(t *testing.T) {
	data := `{"name":"t","scenarios":[{"name":"a","prompt":"p","temperature":0},{"name":"b","prompt":"p"}],
		"default_config":{"temperature":0}}`
	s, err := Parse("x.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if tp := s.Scenarios[0].Temperature; tp == nil || *tp != 0 {
		t.Errorf("temperature 0 became %v", tp)
	}
	if s.Scenarios[1].Temperature != nil {
		t.Errorf("unset temperature became %v", *s.Scenarios[1].Temperature)
	}
	if tp := s.DefaultConfig.Temperature; tp == nil || *tp != 0 {
		t.Errorf("default_config temperature 0 became %v", tp)
	}
	out, _ := json.Marshal(s)
	if !strings.Contains(string(out), `"temperature":0`) {
		t.Errorf("temperature 0 lost when marshalled: %s", out)
	}
}

func TestParseExtensions(t *testing.T) {
	data := "\uFEFF" + `{"name":"t","scenarios":[{
		"name":"Chat - Follow-up", "system":"Be terse.",
		"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."}],
		"prompt":"And now?", "max_tokens":"\u0031"}]}`
	if _, err := Parse("x.json", []byte(data)); err == nil {
		t.Fatal("a string max_tokens was accepted")
	}
	data = "\uFEFF" + `{"name":"t","scenarios":[{
		"name":"Chat - Follow-up", "system":"Be terse.",
		"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."}],
		"prompt":"And now?", "max_tokens":1e2, "min_tokens":100, "ignore_eos":true,
		"stop":["\n\n"], "messages_unused": null}]}`
	if _, err := Parse("x.json", []byte(data)); err == nil {
		t.Fatal("unknown field messages_unused accepted")
	}
	data = strings.Replace(data, `, "messages_unused": null`, `, "category": "Chat", "description": null, "temperature": null, "messages": []`, 1)
	_, err := Parse("x.json", []byte(data))
	if err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Fatalf("duplicate messages key: err = %v", err)
	}
	data = strings.Replace(data, `, "messages": []`, "", 1)
	s, err := Parse("x.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Scenarios[0]
	if *sc.MaxTokens != 100 || sc.MinTokens != 100 || !sc.IgnoreEOS || len(sc.Stop) != 1 ||
		sc.Category != "Chat" || sc.Temperature != nil || len(sc.Messages) != 2 {
		t.Errorf("got %+v", sc)
	}
}

func TestEmptyListsBecomeNil(t *testing.T) {
	s, err := Parse("x.json", []byte(doc(`{"name":"a","prompt":"p","messages":[],"stop":[]}`)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Scenarios[0].Messages != nil || s.Scenarios[0].Stop != nil {
		t.Errorf("empty lists kept: %#v", s.Scenarios[0])
	}
}

func TestParseSizeLimit(t *testing.T) {
	big := make([]byte, MaxFileSize+1)
	_, err := Parse("big.json", big)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err = %v", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("big file: err = %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(doc(`{"name":"a"}`)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Source != bad {
		t.Errorf("invalid file: err = %v", err)
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	zero := 0
	s := &Suite{Name: "code", Source: "memory", Scenarios: []Scenario{
		{Name: "a", Prompt: "p"},
		{Name: "b", Prompt: "p", MaxTokens: &zero},
	}}
	err := s.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "max_tokens" || ve.Source != "memory" {
		t.Errorf("Validate() = %v", err)
	}
	s.Scenarios[1].MaxTokens = nil
	if err := s.Validate(); err != nil {
		t.Errorf("valid suite: %v", err)
	}
}

func TestCategory(t *testing.T) {
	for in, want := range map[string]string{
		"Simple Q&A - Short":      "Simple Q&A",
		"Creative Writing":        "Creative Writing",
		"A - B - C":               "A",
		"Long-form Response":      "Long-form Response",
		"Reasoning -Math Problem": "Reasoning -Math Problem",
	} {
		if got := Category(in); got != want {
			t.Errorf("Category(%q) = %q, want %q", in, got, want)
		}
	}
}
