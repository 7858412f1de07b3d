package dataset

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"flperf/internal/suite"
)

// TestJSONL checks both JSONL shapes, ids, max_tokens, blank lines and
// the line each entry starts on.
func TestJSONL(t *testing.T) {
	d, err := Parse("d.jsonl", []byte("\uFEFF{\"id\":\"x\",\"prompt\":\"hello there\"}\n\n"+
		`{"id":7,"messages":[{"role":"system","content":"s"},{"role":"user","content":"q"}],"max_tokens":9,"other":1}`+"\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != FormatJSONL || len(d.Entries) != 2 || len(d.SHA256) != 64 {
		t.Fatalf("format %q, %d entries, sha %q", d.Format, len(d.Entries), d.SHA256)
	}
	a, b := d.Entries[0], d.Entries[1]
	if a.ID != "x" || a.Line != 1 || !slices.Equal(a.Messages, []suite.Message{{Role: "user", Content: "hello there"}}) || a.MaxTokens != nil || a.OutputTokens() != -1 {
		t.Errorf("entry 1 = %+v", a)
	}
	if b.ID != "7" || b.Line != 3 || len(b.Messages) != 2 || b.Messages[0].Role != "system" || *b.MaxTokens != 9 || b.OutputTokens() != 9 {
		t.Errorf("entry 2 = %+v", b)
	}
	if a.InputTokens() != 2 {
		t.Errorf("input tokens of %q = %d, want 2", "hello there", a.InputTokens())
	}
}

// TestShareGPT checks that turns up to the last human turn are the
// messages and that the gpt turn after it is the reference output length.
func TestShareGPT(t *testing.T) {
	d, err := Parse("s.json", []byte(`[
  {"id": "c1", "conversations": [
    {"from": "system", "value": "sys"},
    {"from": "human", "value": "first"},
    {"from": "gpt", "value": "answer one"},
    {"from": "human", "value": "second"},
    {"from": "gpt", "value": "a b c d"}
  ]},
  {"id": 5, "conversations": [{"from": "human", "value": "only"}]}
]`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != FormatShareGPT || len(d.Entries) != 2 {
		t.Fatalf("format %q, %d entries", d.Format, len(d.Entries))
	}
	a, b := d.Entries[0], d.Entries[1]
	want := []suite.Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "first"}, {Role: "assistant", Content: "answer one"}, {Role: "user", Content: "second"}}
	if a.ID != "c1" || a.Line != 2 || !slices.Equal(a.Messages, want) || a.OutputTokens() != 4 {
		t.Errorf("entry 1 = %+v (output %d)", a, a.OutputTokens())
	}
	if b.ID != "5" || b.Line != 9 || len(b.Messages) != 1 || b.OutputTokens() != -1 {
		t.Errorf("entry 2 = %+v", b)
	}
}

// TestMalformed checks that every problem of a file is reported at once,
// each with its line and field.
func TestMalformed(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"jsonl", strings.Join([]string{
			`{"prompt":"fine"}`,
			`{"prompt": 1}`,
			`not json`,
			`{"text":"x"}`,
			`[1]`,
			`{"prompt":"a","messages":[]}`,
			`{"messages":[]}`,
			`{"messages":[{"role":"bot","content":"x"}]}`,
			`{"messages":[{"role":"user","content":3}]}`,
			`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`,
			`{"prompt":"p","max_tokens":"9"}`,
			`{"prompt":"p","max_tokens":0}`,
			`{"prompt":"p","max_tokens":1.5}`,
			`{"prompt":"p","id":true}`,
			`{"prompt":"  "}`,
			`{"messages":"hi"}`,
		}, "\n"), []string{
			"line 2: prompt: must be a string, got number",
			"line 3: invalid JSON",
			"line 4: missing prompt or messages",
			"line 5: an entry must be an object, got array",
			"line 6: give either prompt or messages, not both",
			"line 7: messages: is empty",
			`line 8: messages[0].role: must be system, user or assistant, got "bot"`,
			"line 9: messages[0].content: must be a string, got number",
			"line 10: messages[1].role: the last message must be the user's, got assistant",
			"line 11: max_tokens: must be an integer, got string",
			"line 12: max_tokens: must be between 1 and 131072, got 0",
			"line 13: max_tokens: must be an integer, got 1.5",
			"line 14: id: must be a string or an integer, got boolean",
			"line 15: prompt: is empty",
			"line 16: messages: must be an array, got string",
		}},
		{"sharegpt", `[
{"conversations": [{"from": "human", "value": "ok"}]},
{"conversations": []},
{"conversations": [{"from": "bing", "value": "x"}, {"from": "human", "value": 2}]},
{"id": "n"},
{"conversations": [{"from": "gpt", "value": "x"}]},
"str",
{"conversations": [{"value": "x"}]}
]`, []string{
			"line 3: conversations: is empty",
			`line 4: conversations[0].from: must be human, gpt or system, got "bing"`,
			"line 4: conversations[1].value: must be a string, got number",
			"line 5: conversations: missing",
			"line 6: conversations: has no human turn",
			"line 7: an entry must be an object, got string",
			"line 8: conversations[0].from: missing",
		}},
		{"sharegpt syntax", "[\n{\"conversations\": []},\n{\"conversations\": [}\n]", []string{"line 3: invalid JSON"}},
		{"empty", "\n\n", []string{`dataset "empty": no entries`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse(c.name, []byte(c.doc))
			var e *Error
			if d != nil || !errors.As(err, &e) {
				t.Fatalf("got %v, %v; want a *Error", d, err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(c.want) {
				t.Errorf("%d problems, want %d:\n%s", len(lines), len(c.want), err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
		})
	}
}

// TestLimits checks the line-length and entry-count limits.
func TestLimits(t *testing.T) {
	long := `{"prompt":"` + strings.Repeat("a", MaxLineLen) + `"}`
	_, err := Parse("l", []byte(`{"prompt":"ok"}`+"\n"+long))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("line 2: line is %d bytes, longer than the %d-byte limit", len(long), MaxLineLen)) {
		t.Errorf("long line: %v", err)
	}
	many := strings.Repeat(`{"prompt":"p"}`+"\n", MaxEntries+1)
	_, err = Parse("m", []byte(many))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("line %d: more than %d entries", MaxEntries+1, MaxEntries)) {
		t.Errorf("too many entries: %v", err)
	}
	if _, err := Parse("ok", []byte(strings.Repeat(`{"prompt":"p"}`+"\n", MaxEntries))); err != nil {
		t.Errorf("%d entries refused: %v", MaxEntries, err)
	}
}

// entries returns n prompt entries "p0".."p<n-1>" whose input is i+1
// estimated tokens and whose max_tokens is 10*(i+1).
func entries(n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		mt := 10 * (i + 1)
		out[i] = Entry{ID: fmt.Sprint(i), Messages: []suite.Message{{Role: "user", Content: strings.TrimSpace(strings.Repeat("w ", i+1))}}, MaxTokens: &mt, Reference: -1}
	}
	return out
}

func ids(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// TestSample checks that a seed fixes the sample, that another seed
// changes it, and that it is without replacement.
func TestSample(t *testing.T) {
	all := entries(50)
	a, _ := Sample(all, 10, 1)
	b, _ := Sample(all, 10, 1)
	c, _ := Sample(all, 10, 2)
	if !slices.Equal(ids(a), ids(b)) {
		t.Errorf("seed 1 twice: %v and %v", ids(a), ids(b))
	}
	if slices.Equal(ids(a), ids(c)) {
		t.Errorf("seeds 1 and 2 drew the same sample %v", ids(a))
	}
	if u := slices.Compact(slices.Sorted(slices.Values(ids(a)))); len(u) != 10 {
		t.Errorf("sample repeats an entry: %v", ids(a))
	}
	if full, _ := Sample(all, 0, 9); !slices.Equal(ids(full), ids(all)) {
		t.Error("n 0 does not keep every entry in order")
	}
	if _, err := Sample(all, 51, 1); err == nil || !strings.Contains(err.Error(), "asks for 51 entries, the dataset has 50") {
		t.Errorf("oversized sample: %v", err)
	}
}

// TestFilter checks exact counts at inclusive bounds and the filter
// syntax's errors.
func TestFilter(t *testing.T) {
	all := entries(20) // inputs 1..20, outputs 10..200
	for spec, want := range map[string]int{
		"":                       20,
		"input=..5":              5,
		"input=5..":              16,
		"input=5..8":             4,
		"input=7":                1,
		"output=50..":            16,
		"input=..10,output=50..": 6,
	} {
		f, err := ParseFilter(spec)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		if got := len(f.Keep(all)); got != want {
			t.Errorf("%q keeps %d, want %d", spec, got, want)
		}
	}
	unknown := all[:1:1]
	unknown[0].MaxTokens = nil
	if f, _ := ParseFilter("output=0.."); len(f.Keep(unknown)) != 0 {
		t.Error("an output filter keeps an entry of unknown output length")
	}
	for spec, want := range map[string]string{
		"size=1..2":       `unknown key "size"`,
		"input":           "want key=range",
		"input=..":        "want a range",
		"input=9..3":      "empty range",
		"input=x..":       `want a token count (0 or more), got "x"`,
		"input=1,input=2": "input given twice",
	} {
		if _, err := ParseFilter(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", spec, err, want)
		}
	}
}

// TestScenario checks that a dataset scenario's requests take successive
// entries with their own max_tokens.
func TestScenario(t *testing.T) {
	d := &Dataset{Source: "/x/d.jsonl", Format: FormatJSONL}
	sc := Scenario(d, entries(3))
	if sc.Name != "dataset - d.jsonl" || sc.Category != "dataset" {
		t.Errorf("name %q category %q", sc.Name, sc.Category)
	}
	for i, want := range []string{"w", "w w", "w w w", "w"} {
		at := sc.At(i)
		if got := at.BuildMessages("")[0].Content; got != want || at.MaxTokensOr(0) != 10*(i%3+1) {
			t.Errorf("request %d sends %q max_tokens %d", i, got, at.MaxTokensOr(0))
		}
	}
}
