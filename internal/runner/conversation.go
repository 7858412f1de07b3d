package runner

import (
	"sync"

	"flperf/internal/record"
	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// MaxAnswerKeep bounds each answer a conversation keeps to send back in its
// later turns, in bytes of content (a longer answer is sent back cut at
// this length, which a prefix cache then serves only up to the cut). A
// conversation therefore holds at most MaxTurns × (its user turns +
// MaxAnswerKeep) bytes, only while it lasts.
const MaxAnswerKeep = 64 << 10

// conversations are one model × scenario × stage's conversations in
// flight, one per closed-loop worker or open-loop slot (the warm-ups have
// their own), so that the turns of one conversation go one after another
// while different conversations run side by side at the stage's load.
// A conversation ends after its last turn or at its first failed turn:
// its remaining turns are not sent, and the worker's next request starts a
// new conversation at turn 1 (docs/metrics.md §12).
type conversations struct {
	mu     sync.Mutex
	active map[convKey]*conversation
	next   int // conversations started so far: the next one's id
}

// convKey says whose conversation it is.
type convKey struct {
	warmup bool
	worker int
}

// conversation is one conversation in flight.
type conversation struct {
	id      int             // 0.. in the order conversations started (per stage, warm-ups apart)
	sent    int             // turns answered so far
	ended   bool            // a turn failed: the conversation is over
	history []suite.Message // earlier user turns and answers, as sent and received
	context int             // input + output tokens of the last turn (0: unknown)
}

// take returns the conversation of key to send its next turn in, starting a
// new one when there is none, its last turn was sent, or it ended.
func (cs *conversations) take(key convKey, turns int) *conversation {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.active == nil {
		cs.active = make(map[convKey]*conversation)
	}
	c := cs.active[key]
	if c == nil || c.ended || c.sent >= turns {
		c = &conversation{id: cs.next}
		cs.next++
		cs.active[key] = c
	}
	return c
}

// answered records the outcome of a turn whose user message was user: a
// successful turn joins the history with its answer, a failed one ends the
// conversation. On an engine that reports no cache hit but counts only the
// prompt tokens it evaluated (evaluated: Ollama's prompt_eval_count, on
// its own API and its OpenAI route alike) it also reads the hit: a turn
// whose input count falls below the previous turn's input + output was
// served that much from the cache, so that much is cached and the input
// is the evaluated tokens plus the cached ones (docs/metrics.md §12). The
// previous turn counts only when its whole answer was sent back and it had
// no reasoning (which the history leaves out), and the drop only when what
// was evaluated is about the new user message (at most twice its estimate
// + 64 tokens for the chat template): a count well above it is Ollama
// cutting a prompt longer than its context (num_ctx), not a cache hit.
func (c *conversation) answered(rec *record.Record, user string, evaluated bool) {
	if evaluated && rec.CachedTokens == 0 && c.context > 0 && rec.InputTokens > 0 && rec.InputTokens < c.context &&
		rec.InputTokens <= 2*tokens.Estimate(user)+64 &&
		(rec.InputSource == record.SourceUsage || rec.InputSource == record.SourceEngine) {
		rec.CachedTokens = c.context
		rec.InputTokens += c.context
	}
	if rec.Outcome != record.OK {
		c.ended, c.history = true, nil
		return
	}
	c.sent++
	c.history = append(c.history,
		suite.Message{Role: suite.RoleUser, Content: user},
		suite.Message{Role: suite.RoleAssistant, Content: rec.Answer})
	c.context = 0
	if rec.InputTokens > 0 && rec.OutputTokens > 0 && rec.ReasonChunk == 0 && !rec.AnswerCut {
		c.context = rec.InputTokens + rec.OutputTokens
	}
}
