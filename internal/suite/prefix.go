package suite

// SharedPrefix is the text of n tokens (tokens.Estimate) that `flperf run
// --prefix-tokens n` puts before every prompt of a run, the same for every
// scenario and request.
func SharedPrefix(n int) string { return fillerText(0, n) }

// WithPrefix returns msgs with prefix before them: the prefix and the
// first message's text in one system message when msgs start with one
// (some chat templates accept a single system message only), else a
// system message of its own first. msgs is not modified.
func WithPrefix(msgs []Message, prefix string) []Message {
	if prefix == "" {
		return msgs
	}
	out := make([]Message, 0, len(msgs)+1)
	if len(msgs) > 0 && msgs[0].Role == RoleSystem {
		out = append(out, Message{Role: RoleSystem, Content: prefix + "\n\n" + msgs[0].Content})
		return append(out, msgs[1:]...)
	}
	out = append(out, Message{Role: RoleSystem, Content: prefix})
	return append(out, msgs...)
}

// NonceLast prepends a non-empty nonce to the last message of msgs (in
// place) as "[<nonce>] ", so that requests stay distinct while sharing
// everything before their last message.
func NonceLast(msgs []Message, nonce string) {
	if nonce != "" && len(msgs) > 0 {
		msgs[len(msgs)-1].Content = "[" + nonce + "] " + msgs[len(msgs)-1].Content
	}
}
