package suite

// Entry is one request's messages of a scenario built from a dataset
// (internal/dataset): the scenario's requests take its entries in turn.
type Entry struct {
	ID        string    // the dataset entry's id, "" if none
	Messages  []Message // sent as they are (the nonce is still prepended)
	MaxTokens *int      // the entry's own max_tokens, nil: the scenario's
}

// At returns the scenario that request index (0-based, warm-ups counted
// apart) sends: sc itself when it has no Entries, else a copy whose
// messages are entry index mod len(Entries) and whose max_tokens is that
// entry's, when it has one.
func (sc *Scenario) At(index int) *Scenario {
	if len(sc.Entries) == 0 {
		return sc
	}
	if index < 0 {
		index = 0
	}
	e := sc.Entries[index%len(sc.Entries)]
	c := *sc
	c.Entries = nil
	c.Prompt, c.System = "", ""
	c.Messages = e.Messages
	if e.MaxTokens != nil {
		c.MaxTokens = e.MaxTokens
	}
	return &c
}
