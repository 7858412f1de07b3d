package dataset

import (
	"bytes"
	"testing"

	"flperf/internal/suite"
)

// checkRead is what every reader must hold on any input: no panic; each
// entry has messages ending in a non-empty user message, known roles and a
// line within the document; each problem's line is within it too.
func checkRead(t *testing.T, data []byte, read func([]byte, *problems) []Entry) {
	var p problems
	es := read(data, &p)
	lines := bytes.Count(data, []byte("\n")) + 1
	for _, pr := range p.list {
		if pr.Line < 0 || pr.Line > lines || pr.Message == "" {
			t.Fatalf("problem %+v outside the document's %d lines", pr, lines)
		}
	}
	for _, e := range es {
		if e.Line < 1 || e.Line > lines || len(e.Messages) == 0 {
			t.Fatalf("entry %+v", e)
		}
		if last := e.Messages[len(e.Messages)-1]; last.Role != suite.RoleUser || len(bytes.TrimSpace([]byte(last.Content))) == 0 {
			t.Fatalf("entry at line %d does not end in a user message: %+v", e.Line, e.Messages)
		}
		for _, m := range e.Messages {
			if m.Role != suite.RoleUser && m.Role != suite.RoleAssistant && m.Role != suite.RoleSystem {
				t.Fatalf("role %q", m.Role)
			}
		}
		if e.MaxTokens != nil && (*e.MaxTokens < 1 || *e.MaxTokens > suite.MaxMaxTokens) {
			t.Fatalf("max_tokens %d", *e.MaxTokens)
		}
	}
}

// FuzzJSONL fuzzes the JSONL reader (seeds in testdata/fuzz/FuzzJSONL).
func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"prompt":"p","id":1,"max_tokens":5}` + "\n" + `{"messages":[{"role":"user","content":"q"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkRead(t, data, parseJSONL) })
}

// FuzzShareGPT fuzzes the ShareGPT reader (seeds in
// testdata/fuzz/FuzzShareGPT).
func FuzzShareGPT(f *testing.F) {
	f.Add([]byte(`[{"id":"a","conversations":[{"from":"human","value":"q"},{"from":"gpt","value":"a"}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) { checkRead(t, data, parseShareGPT) })
}
