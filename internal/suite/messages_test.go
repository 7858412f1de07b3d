package suite

import (
	"reflect"
	"regexp"
	"testing"
)

func TestBuildMessagesOrder(t *testing.T) {
	sc := &Scenario{
		System:   "Be terse.",
		Messages: []Message{{RoleUser, "Hi"}, {RoleAssistant, "Hello."}},
		Prompt:   "And now?",
	}
	want := []Message{{RoleSystem, "Be terse."}, {RoleUser, "Hi"}, {RoleAssistant, "Hello."}, {RoleUser, "And now?"}}
	if got := sc.BuildMessages(""); !reflect.DeepEqual(got, want) {
		t.Errorf("BuildMessages(\"\") = %v", got)
	}
	got := sc.BuildMessages("ab12cd34")
	want[0].Content = "[ab12cd34] Be terse."
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BuildMessages(nonce) = %v", got)
	}
	if sc.Messages[0].Content != "Hi" || sc.System != "Be terse." {
		t.Error("BuildMessages changed the scenario")
	}
}

func TestBuildMessagesNonceOnFirst(t *testing.T) {
	only := &Scenario{Prompt: "What is 2+2?"}
	if got := only.BuildMessages("n"); len(got) != 1 || got[0] != (Message{RoleUser, "[n] What is 2+2?"}) {
		t.Errorf("prompt only: %v", got)
	}
	conv := &Scenario{Messages: []Message{{RoleUser, "Q1"}, {RoleAssistant, "A1"}, {RoleUser, "Q2"}}}
	got := conv.BuildMessages("n")
	if got[0].Content != "[n] Q1" || got[2].Content != "Q2" || len(got) != 3 {
		t.Errorf("messages only: %v", got)
	}
	if conv.Messages[0].Content != "Q1" {
		t.Error("nonce written into the scenario's own messages")
	}
	if got := (&Scenario{}).BuildMessages("n"); len(got) != 0 {
		t.Errorf("empty scenario: %v", got)
	}
}

func TestMaxTokensOr(t *testing.T) {
	n := 42
	if (&Scenario{MaxTokens: &n}).MaxTokensOr(100) != 42 || (&Scenario{}).MaxTokensOr(100) != 100 {
		t.Error("MaxTokensOr wrong")
	}
}

func TestNonce(t *testing.T) {
	base := Nonce(1, "m", "s", 0)
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(base) {
		t.Fatalf("Nonce = %q, want 8 hex digits", base)
	}
	if Nonce(1, "m", "s", 0) != base {
		t.Error("same inputs, different nonce")
	}
	seen := map[string]string{base: "base"}
	for label, n := range map[string]string{
		"seed":     Nonce(2, "m", "s", 0),
		"model":    Nonce(1, "m2", "s", 0),
		"scenario": Nonce(1, "m", "s2", 0),
		"index":    Nonce(1, "m", "s", 1),
		"boundary": Nonce(1, "ms", "", 0),
		"negative": Nonce(-1, "m", "s", 0),
	} {
		if prev, dup := seen[n]; dup {
			t.Errorf("changing %s gives the same nonce as %s", label, prev)
		}
		seen[n] = label
	}
	distinct := map[string]bool{}
	for i := range 1000 {
		distinct[Nonce(7, "model", "scenario", i)] = true
	}
	if len(distinct) < 999 {
		t.Errorf("only %d distinct nonces in 1000 indexes", len(distinct))
	}
}
