package suite

import (
	"reflect"
	"strings"
	"testing"

	"flperf/internal/tokens"
)

// TestConversationParse reads both conversation forms and builds a turn
// with its history and nonce.
func TestConversationParse(t *testing.T) {
	s, err := Parse("t", []byte(`{"name":"c","scenarios":[
		{"name":"chat","system":"Be brief.","turns":["Hi","And then?"],"max_tokens":16},
		{"name":"gen","conversation":{"turns":5,"user_tokens":40}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	chat, gen := &s.Scenarios[0], &s.Scenarios[1]
	if !chat.IsConversation() || chat.TurnCount() != 2 || gen.TurnCount() != 5 || gen.Conversation.UserTokens != 40 {
		t.Fatalf("%+v %+v", chat, gen)
	}
	hist := []Message{{RoleUser, "Hi"}, {RoleAssistant, "Hello."}}
	got := chat.BuildTurn("n1", hist, 2)
	want := []Message{{RoleSystem, "[n1] Be brief."}, {RoleUser, "Hi"}, {RoleAssistant, "Hello."}, {RoleUser, "And then?"}}
	if !reflect.DeepEqual(got, want) || hist[0].Content != "Hi" {
		t.Fatalf("BuildTurn = %v", got)
	}
	for turn := 1; turn <= 5; turn++ {
		if n := tokens.Estimate(gen.UserTurn(turn)); n != 40 {
			t.Errorf("generated turn %d: %d tokens, want 40", turn, n)
		}
	}
	if gen.UserTurn(1) == gen.UserTurn(2) {
		t.Error("generated turns repeat")
	}
	if c := s.Clone(); &c.Scenarios[0].Turns[0] == &chat.Turns[0] || c.Scenarios[1].Conversation == gen.Conversation {
		t.Error("Clone shares the turns")
	}
	if (&Scenario{Prompt: "x"}).IsConversation() {
		t.Error("a plain scenario is a conversation")
	}
}

// TestConversationProblems lists every problem of bad conversation fields.
func TestConversationProblems(t *testing.T) {
	_, err := Parse("t", []byte(`{"name":"c","scenarios":[
		{"name":"a","prompt":"p","turns":["x"," ",""],"conversation":{"turns":0,"user_tokens":99999,"size":1}},
		{"name":"b","turns":"x"},
		{"name":"c","conversation":{"turns":101,"user_tokens":1}}]}`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"conversation: give either turns or conversation, not both",
		"prompt: a conversation's user turns are its turns",
		"turns[1]: must not be blank", "turns[2]: must not be empty",
		"conversation.turns: must be between 1 and 100, got 0",
		"conversation.user_tokens: must be between 1 and 32768, got 99999",
		"conversation.size: unknown field",
		"turns: must be an array, got string",
		"conversation.turns: must be between 1 and 100, got 101",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// TestFirstMessages checks that a conversation's first request is its
// first turn (never an empty message list), for the context check and the
// app's suite view, and that a shared prefix goes first in one system
// message.
func TestFirstMessages(t *testing.T) {
	conv := &Scenario{Turns: []string{"one two", "three"}}
	if got := conv.FirstMessages("n"); len(got) != 1 || got[0] != (Message{RoleUser, "[n] one two"}) {
		t.Fatalf("FirstMessages = %v", got)
	}
	if n := conv.InputTokensEstimate(); n != 2 {
		t.Fatalf("InputTokensEstimate = %d, want the first turn's 2", n)
	}
	plain := &Scenario{System: "sys", Prompt: "p"}
	if got := plain.FirstMessages(""); !reflect.DeepEqual(got, plain.BuildMessages("")) {
		t.Fatalf("plain FirstMessages = %v", got)
	}
	pre := SharedPrefix(50)
	if tokens.Estimate(pre) != 50 {
		t.Fatalf("SharedPrefix(50) is %d tokens", tokens.Estimate(pre))
	}
	got := WithPrefix(plain.BuildMessages(""), pre)
	if len(got) != 2 || got[0].Content != pre+"\n\nsys" || got[1].Content != "p" || plain.System != "sys" {
		t.Fatalf("WithPrefix on a system prompt = %v", got)
	}
	got = WithPrefix(conv.FirstMessages(""), pre)
	if len(got) != 2 || got[0] != (Message{RoleSystem, pre}) {
		t.Fatalf("WithPrefix without a system prompt = %v", got)
	}
	NonceLast(got, "x")
	if got[1].Content != "[x] one two" || got[0].Content != pre {
		t.Fatalf("NonceLast = %v", got)
	}
}
