package suite

import (
	"fmt"
	"strings"
)

// Limits of a conversation scenario.
const (
	// MaxTurns is the most user turns a conversation may have.
	MaxTurns = 100
	// MaxUserTokens is the largest generated user turn, in tokens.
	MaxUserTokens = 32768
)

// Conversation asks for N generated user turns of a given length, in
// tokens as tokens.Estimate counts them (the labelled estimate: an engine's
// own tokenizer may count a few more or less).
type Conversation struct {
	Turns      int `json:"turns"`       // user turns, 1..MaxTurns
	UserTokens int `json:"user_tokens"` // tokens of each generated user turn, 1..MaxUserTokens
}

// IsConversation reports whether the scenario is a conversation: its
// requests are the turns of conversations, each sent with the whole
// history before it, the model's real answers included.
func (sc *Scenario) IsConversation() bool { return len(sc.Turns) > 0 || sc.Conversation != nil }

// TurnCount is the number of user turns of a conversation, 0 otherwise.
func (sc *Scenario) TurnCount() int {
	switch {
	case len(sc.Turns) > 0:
		return len(sc.Turns)
	case sc.Conversation != nil:
		return sc.Conversation.Turns
	}
	return 0
}

// UserTurn returns the text of user turn t (1-based) of a conversation:
// the scenario's own text, or a generated one of exactly UserTokens
// tokens by tokens.Estimate, different for every turn.
func (sc *Scenario) UserTurn(t int) string {
	if len(sc.Turns) > 0 {
		return sc.Turns[(t-1)%len(sc.Turns)]
	}
	if sc.Conversation == nil {
		return ""
	}
	return fillerText(t, sc.Conversation.UserTokens)
}

// fillerWords are the words of generated turns: short lowercase words,
// one token each for tokens.Estimate.
var fillerWords = [...]string{
	"tell", "me", "more", "about", "the", "next", "step", "and", "why",
	"it", "works", "so", "well", "in", "this", "case", "now", "please",
}

// fillerText is a deterministic text of n one-token words, seeded by turn.
func fillerText(turn, n int) string {
	var b strings.Builder
	b.Grow(6 * n)
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fillerWords[(i*7+turn*5)%len(fillerWords)])
	}
	return b.String()
}

// BuildTurn returns the messages of turn t (1-based) of a conversation:
// the system prompt and fixed messages of the scenario, the history so far
// (earlier user turns and the model's answers, as sent and received), and
// user turn t. A non-empty nonce is prepended to the first message as in
// BuildMessages, so that one conversation's turns share their prefix with
// each other and with no other conversation.
func (sc *Scenario) BuildTurn(nonce string, history []Message, t int) []Message {
	msgs := make([]Message, 0, len(sc.Messages)+len(history)+2)
	if sc.System != "" {
		msgs = append(msgs, Message{Role: RoleSystem, Content: sc.System})
	}
	msgs = append(msgs, sc.Messages...)
	msgs = append(msgs, history...)
	msgs = append(msgs, Message{Role: RoleUser, Content: sc.UserTurn(t)})
	if nonce != "" {
		msgs[0].Content = "[" + nonce + "] " + msgs[0].Content
	}
	return msgs
}

// validateConversation checks the turns and conversation fields.
func (c *checker) validateConversation(a at, sc *Scenario) {
	if len(sc.Turns) > 0 && sc.Conversation != nil {
		c.check(a, "conversation", "give either turns or conversation, not both")
	}
	if sc.IsConversation() && sc.Prompt != "" {
		c.check(a, "prompt", "a conversation's user turns are its turns; leave prompt out")
	}
	if len(sc.Turns) > MaxTurns {
		c.check(a, "turns", "at most %d turns are allowed, got %d", MaxTurns, len(sc.Turns))
	}
	for i, t := range sc.Turns {
		f := fmt.Sprintf("turns[%d]", i)
		switch {
		case c.isBad(a, f):
		case t == "":
			c.check(a, f, "must not be empty")
		case blank(t):
			c.check(a, f, "must not be blank")
		}
	}
	if cv := sc.Conversation; cv != nil {
		if cv.Turns < 1 || cv.Turns > MaxTurns {
			c.check(a, "conversation.turns", "must be between 1 and %d, got %d", MaxTurns, cv.Turns)
		}
		if cv.UserTokens < 1 || cv.UserTokens > MaxUserTokens {
			c.check(a, "conversation.user_tokens", "must be between 1 and %d, got %d", MaxUserTokens, cv.UserTokens)
		}
	}
}

// decodeTurns decodes a scenario's turns (nil for null or []).
func (c *checker) decodeTurns(a at, raw []byte) []string {
	if jsonKind(raw) == "null" {
		return nil
	}
	elems, ok := c.array(a, "turns", raw)
	if !ok || len(elems) == 0 {
		return nil
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		c.str(a, fmt.Sprintf("turns[%d]", i), e, &out[i])
	}
	return out
}

// conversationFields is the conversation object's field set.
var conversationFields = []string{"turns", "user_tokens"}

// decodeConversation decodes a scenario's conversation object (nil for null).
func (c *checker) decodeConversation(a at, raw []byte) *Conversation {
	if jsonKind(raw) == "null" {
		return nil
	}
	ms, ok := c.members(a, "conversation", raw)
	if !ok {
		return nil
	}
	cv := &Conversation{}
	for _, m := range ms {
		var n *int
		switch m.key {
		case "turns":
			c.integer(a, "conversation.turns", m.val, &n)
			if n != nil {
				cv.Turns = *n
			}
		case "user_tokens":
			c.integer(a, "conversation.user_tokens", m.val, &n)
			if n != nil {
				cv.UserTokens = *n
			}
		default:
			c.unknown(a, "conversation", m.key, conversationFields)
		}
	}
	return cv
}

// FirstMessages returns the messages of the scenario's first request:
// BuildMessages, or a conversation's first turn (BuildTurn).
func (sc *Scenario) FirstMessages(nonce string) []Message {
	if sc.IsConversation() {
		return sc.BuildTurn(nonce, nil, 1)
	}
	return sc.BuildMessages(nonce)
}
