package inputlen

import (
	"context"
	"fmt"

	"flperf/internal/suite"
)

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
func (r *Resolver) search(ctx context.Context, model, system string, n int, count countFunc) (Prompt, error) {
	probe := func(text string) (int, error) {
		msgs := r.messages(system, text)
		if r.o.CacheBust && len(msgs) > 0 {
			// A nonce of the runner's form; every probe gets its own, so
			// that no probe reuses another's prompt cache.
			nonce := suite.Nonce(r.o.Seed, model, "inputlen", r.probes[model])
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
		c, err := probe(Filler(r.o.Seed, k))
		counts[k] = c
		return c, err
	}
	done := func(text string, c int) Prompt {
		return Prompt{Messages: r.messages(system, text), Requested: n, Tokens: c, Exact: c == n}
	}
	lo, clo := 0, 0 // largest k known to count ≤ n (0: none yet)
	hi := n + 1     // smallest k known to count > n (n+1: not probed, ≥ n+1 since each word costs a token)
	k := max(1, n*sentenceWords/(sentenceWords+1))
	var prev, cprev int
	for hi-lo > 1 {
		c, err := at(k)
		if err != nil {
			return Prompt{}, err
		}
		if c == n {
			return done(Filler(r.o.Seed, k), c), nil
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
	// c(lo) < n < c(lo+1): one more word costs two tokens or more.
	base := Filler(r.o.Seed, lo)
	best, cbest := base, clo
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
			best, cbest = base+t, c
		}
	}
	return done(best, cbest), nil
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
