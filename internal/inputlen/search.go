package inputlen

import (
	"context"
	"fmt"

	"flperf/internal/suite"
)

// plateauWords is how many more words must leave a count unchanged for
// the engine to be taken as cutting prompts.
const plateauWords = 8

// TruncatedError says that the engine counted no more than Counted tokens
// of prompts long enough for Requested: it cuts them to its context window
// (Ollama's num_ctx does, silently), so the length cannot be reached.
type TruncatedError struct {
	Model              string
	Requested, Counted int
}

// Error names the model, the length and the count.
func (e *TruncatedError) Error() string {
	return fmt.Sprintf("input tokens: model %s counts at most %d tokens of a prompt, below the %d asked for: the engine cuts longer prompts to its context window (Ollama: num_ctx); ask for at most %d, or load the model with a larger context",
		e.Model, e.Counted, e.Requested, e.Counted)
}

// maxProbes bounds the counts of one search: bisection over at most
// MaxInputTokens words needs 21, the tails 8 more.
const maxProbes = 64

// search finds the filler whose prompt (system, then the filler as the
// user message, the nonce in place) counts n tokens. The filler of k words
// counts c(k), non-decreasing in k and at least k apart from the first
// word, so k lies in [1, n]: the first probe guesses from one token per
// word and a full stop per sentence, the next from the slope the probes
// show (the chat template's overhead is constant, so one or two more
// usually hit), and bisection of the bracket guarantees the end. When one
// more word costs two tokens across n, short tails are tried.
func (r *Resolver) search(ctx context.Context, fk fitKey, n int, count countFunc) (Prompt, error) {
	model, system := fk.model, fk.system
	probe := func(text string) (int, error) {
		msgs := r.messages(system, text)
		if r.o.CacheBust && len(msgs) > 0 {
			// A nonce of the runner's form; every probe gets its own, so
			// that no probe reuses another's prompt cache.
			nonce := suite.DigitNonce(r.o.Seed, model, "inputlen", r.probes[model])
			r.probes[model]++
			msgs[0].Content = "[" + nonce + "] " + msgs[0].Content
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return count(ctx, msgs)
	}
	counts := map[int]int{}
	at := func(k int) (int, error) {
		if c, ok := counts[k]; ok {
			return c, nil
		}
		if len(counts) >= maxProbes {
			return 0, fmt.Errorf("input tokens: no filler of %d tokens found in %d counts", n, maxProbes)
		}
		c, err := probe(r.filler(k))
		if err != nil {
			return c, err
		}
		// A longer filler that counts no more, short of n: the engine
		// cuts prompts (Ollama's num_ctx) and n cannot be reached.
		for k1, c1 := range counts {
			if k1 > 0 && k-k1 >= plateauWords && c1 == c && c < n {
				return c, &TruncatedError{Model: model, Requested: n, Counted: c}
			}
		}
		counts[k] = c
		r.fits[fk] = append(r.fits[fk], point{k, c})
		return c, nil
	}
	done := func(text string, c int) Prompt {
		return Prompt{Messages: r.messages(system, text), Requested: n, Tokens: c, Exact: c == n}
	}
	lo, clo := 0, 0 // largest k known to count ≤ n (0: none yet)
	hi := n + 1     // smallest k known to count > n (n+1: not probed, ≥ n+1 since each word costs a token)
	k, prev, cprev := r.guess(fk, n)
	for hi-lo > 1 {
		c, err := at(k)
		if err != nil {
			return Prompt{}, err
		}
		if c == n {
			return done(r.filler(k), c), nil
		}
		if c < n {
			lo, clo = k, c
		} else {
			hi = k
		}
		// Next: the secant through the last two probes, else one word per
		// missing token; kept strictly inside the bracket.
		next := k + (n - c)
		if prev != 0 && prev != k && c != cprev {
			next = k + int(float64(n-c)*float64(k-prev)/float64(c-cprev))
		}
		prev, cprev = k, c
		if next <= lo || next >= hi {
			next = lo + (hi-lo)/2
		}
		k = next
	}
	if lo == 0 {
		c1, err := at(1)
		if err != nil {
			return Prompt{}, err
		}
		return Prompt{}, fmt.Errorf("input tokens: %d is below the shortest prompt model %s counts (%d tokens: the chat template, the system prompt, the nonce and one word)", n, model, c1)
	}
	// c(lo) < n < c(lo+1): one more word costs two tokens or more (a
	// sentence's full stop, a long word): tails of one token each are
	// added until the count is n.
	best, cbest := r.filler(lo), clo
	for cbest < n && len(counts) < maxProbes {
		base, grew := best, false
		for _, t := range tails {
			if len(counts) >= maxProbes {
				break
			}
			c, err := probe(base + t)
			counts[-len(counts)] = c
			if err != nil {
				return Prompt{}, err
			}
			if c == n {
				return done(base+t, c), nil
			}
			if c < n && c > cbest {
				best, cbest, grew = base+t, c, true
				break
			}
		}
		if !grew {
			break
		}
	}
	return done(best, cbest), nil
}

// guess is the first filler length to probe for n tokens, with a probe to
// draw the first secant from (0: none, one word per token). Without earlier probes of the
// same model, system prompt and method, it assumes one token per word and
// one per sentence's full stop; with them, the line through the two
// farthest apart (the template's overhead is constant, so it is usually
// off by a token or two), anchored at the nearest.
func (r *Resolver) guess(fk fitKey, n int) (k, prev, cprev int) {
	ps := r.fits[fk]
	if len(ps) < 2 {
		return max(1, n*sentenceWords/(sentenceWords+1)), 0, 0
	}
	lo, hi := ps[0], ps[0]
	for _, p := range ps {
		if p.k < lo.k {
			lo = p
		}
		if p.k > hi.k {
			hi = p
		}
	}
	if hi.k == lo.k || hi.c == lo.c {
		return max(1, n*sentenceWords/(sentenceWords+1)), 0, 0
	}
	near := ps[0]
	for _, p := range ps {
		if abs(p.c-n) < abs(near.c-n) {
			near = p
		}
	}
	slope := float64(hi.k-lo.k) / float64(hi.c-lo.c) // words per token
	k = near.k + int(float64(n-near.c)*slope+0.5*sign(n-near.c))
	return max(1, min(k, n)), 0, 0
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func sign(x int) float64 {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// messages is the prompt of a filler text: the system prompt when there is
// one, then the text as the user message.
func (r *Resolver) messages(system, text string) []suite.Message {
	var msgs []suite.Message
	if system != "" {
		msgs = append(msgs, suite.Message{Role: suite.RoleSystem, Content: system})
	}
	return append(msgs, suite.Message{Role: suite.RoleUser, Content: text})
}
