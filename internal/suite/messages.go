package suite

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"flperf/internal/tokens"
)

// BuildMessages returns the chat messages to send for the scenario: the
// system prompt (if any), then its messages (if any), then the prompt (if
// any) as the last user turn. A non-empty nonce is prepended to the first
// message's content as "[<nonce>] ", so that no two requests share a prefix
// and prefix caches cannot skip the prefill.
func (sc *Scenario) BuildMessages(nonce string) []Message {
	msgs := make([]Message, 0, len(sc.Messages)+2)
	if sc.System != "" {
		msgs = append(msgs, Message{Role: RoleSystem, Content: sc.System})
	}
	msgs = append(msgs, sc.Messages...)
	if sc.Prompt != "" {
		msgs = append(msgs, Message{Role: RoleUser, Content: sc.Prompt})
	}
	if nonce != "" && len(msgs) > 0 {
		msgs[0].Content = "[" + nonce + "] " + msgs[0].Content
	}
	return msgs
}

// InputTokensEstimate estimates the tokens of the text the scenario sends
// first (a conversation: its first turn; tokens.Estimate over every
// message, no nonce, no chat-template overhead).
func (sc *Scenario) InputTokensEstimate() int {
	n := 0
	for _, m := range sc.FirstMessages("") {
		n += tokens.Estimate(m.Content)
	}
	return n
}

// Nonce returns a short deterministic token (8 hex digits) derived from its
// inputs, for BuildMessages: the same seed gives the same prompts, and each
// model, scenario and request index gets its own.
func Nonce(seed int64, model, scenario string, index int) string {
	h := sha256.New()
	var b [8]byte
	put := func(v uint64) {
		binary.BigEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	put(uint64(seed))
	put(uint64(len(model)))
	h.Write([]byte(model))
	put(uint64(len(scenario)))
	h.Write([]byte(scenario))
	put(uint64(int64(index)))
	return hex.EncodeToString(h.Sum(nil)[:4])
}

// DigitNonce is Nonce in 8 decimal digits, for prompts of an exact length
// (Scenario.InputTokens): real tokenizers split runs of digits alike
// whatever the digits (one per digit, or groups of three), so every
// request's nonce costs the same tokens, where hexadecimal letters merge
// differently from one nonce to the next.
func DigitNonce(seed int64, model, scenario string, index int) string {
	b, _ := hex.DecodeString(Nonce(seed, model, scenario, index))
	return fmt.Sprintf("%08d", binary.BigEndian.Uint32(b)%100_000_000)
}
