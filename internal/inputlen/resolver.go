package inputlen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/record"
	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// How a prompt's length was made exact (the records' input_length_method),
// best first.
const (
	MethodTokenizer   = "tokenizer"   // the engine's own chat template and tokenizer endpoint
	MethodCalibration = "calibration" // probes with max_tokens 1, the engine's usage read
	MethodGGUF        = "gguf"        // the model's tokenizer read from its local GGUF file
	MethodEstimate    = "estimate"    // tokens.Estimate: approximate
)

// Sender sends one chat request and fills rec with what came back, as the
// runner's client does (backend.Client, backend.OllamaNative).
type Sender interface {
	Do(ctx context.Context, req backend.Request, rec *record.Record)
}

// TextCounter counts a prompt's tokens from the model's own files, the chat
// template included (the gguf method; gguf.Counter).
type TextCounter interface {
	CountMessages(msgs []suite.Message) (int, error)
}

// Options configure a Resolver. Every source is optional: the Resolver
// uses the first that works for a model, in the order of the Method
// constants, and falls back to the estimate.
type Options struct {
	Counter engine.PromptCounter // the engine's tokenizer endpoint (nil: none)
	Sender  Sender               // the engine's chat route, for calibration (nil: none)
	// GGUF opens the model's tokenizer from its local GGUF file (nil:
	// none); an error means the model has no readable local file.
	GGUF func(ctx context.Context, model string) (TextCounter, error)
	// Seed seeds the filler text and the nonces of the probes.
	Seed int64
	// CacheBust counts every prompt with a nonce in place, as the runner
	// sends them when it defeats prompt caches (runner.Config.CacheBust).
	CacheBust bool
	// Logf receives notes (a method that failed, the estimate's warning).
	Logf func(level, msg string)
	// Skip, when set, names the model × scenario stages that Resolve
	// leaves alone: those the context check skips before the run (a
	// context sweep's lengths beyond the model's window), whose prompts
	// are never sent and must not be calibrated either.
	Skip func(model, scenario string) bool
	// Force, when set, names the stages sent although the context check
	// would skip them (--force): a length such a stage's engine cuts
	// (TruncatedError) gets a prompt of that length by the estimate
	// instead of an error, so that it is sent, cut, and reported as cut.
	Force func(model, scenario string) bool
}

// Prompt is a prompt of a requested length.
type Prompt struct {
	// Messages are the chat messages to send (the system prompt, then the
	// filler as the user message), without the nonce, which the runner
	// prepends to the first.
	Messages []suite.Message
	// Requested is the length asked for, Tokens the length as Method
	// counted it (the nonce and the chat template included): equal unless
	// no filler length hits it (Exact false).
	Requested, Tokens int
	Method            string
	Exact             bool
}

// Stats are what resolving cost.
type Stats struct {
	CountCalls          int           // counts by the tokenizer endpoint
	CalibrationRequests int           // chat requests with max_tokens 1 sent to calibrate
	CalibrationTime     time.Duration // their time, end to end, added up
}

// Resolver resolves prompt lengths against one engine. It is safe for
// concurrent use; counts for one model run one at a time.
type Resolver struct {
	o       Options
	mu      sync.Mutex
	cache   map[cacheKey]Prompt
	methods map[string]string      // model → the method that works for it
	ggufs   map[string]TextCounter // model → its GGUF tokenizer
	probes  map[string]int         // model → calibration probes sent (their nonces)
	fits    map[fitKey][]point     // the probes of earlier searches, for the next first guess
	fill    fillerText             // the filler, shared by every prompt
	stats   Stats
}

// fitKey names the prompts that share a chat template and system prompt,
// whose count grows alike with the filler: one model, one system prompt,
// one method.
type fitKey struct{ model, system, method string }

// point is one probe: a filler of k words counted c tokens.
type point struct{ k, c int }

type cacheKey struct {
	model, system string
	n             int
}

// New returns a Resolver with options o.
func New(o Options) *Resolver {
	return &Resolver{o: o, cache: map[cacheKey]Prompt{}, methods: map[string]string{},
		ggufs: map[string]TextCounter{}, probes: map[string]int{}, fits: map[fitKey][]point{}}
}

// Stats returns what resolving has cost so far.
func (r *Resolver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Prompt returns a prompt of n tokens for model, as the engine counts them
// with its chat template: the filler as the only (user) message.
func (r *Resolver) Prompt(ctx context.Context, model string, n int) (Prompt, error) {
	return r.PromptSystem(ctx, model, "", n)
}

// PromptSystem is Prompt with a system prompt first, counted in the n
// tokens.
func (r *Resolver) PromptSystem(ctx context.Context, model, system string, n int) (Prompt, error) {
	if n < 1 || n > suite.MaxInputTokens {
		return Prompt{}, fmt.Errorf("input tokens: want between 1 and %d, got %d", suite.MaxInputTokens, n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := cacheKey{model, system, n}
	if p, ok := r.cache[k]; ok {
		return p, nil
	}
	for _, m := range r.order(model) {
		count, err := r.counter(ctx, model, m)
		if err != nil {
			r.logf("info", "model %s: input lengths by %s unavailable (%v)", model, m, err)
			continue
		}
		p, err := r.search(ctx, fitKey{model, system, m}, n, count)
		if _, cut := errors.AsType[*TruncatedError](err); cut {
			r.methods[model] = m // the method works; the length is what cannot be
			return Prompt{}, err
		}
		if errors.Is(err, errUnavailable) {
			r.logf("info", "model %s: input lengths by %s unavailable (%v)", model, m, err)
			continue
		}
		if err != nil {
			return Prompt{}, err
		}
		if r.methods[model] != m {
			r.methods[model] = m
			if m == MethodEstimate {
				r.logf("warn", "model %s: the engine has no tokenizer endpoint, reports no usage and no local GGUF was found: input lengths are estimated (tokens.Estimate) and only approximate", model)
			}
		}
		p.Method = m
		r.cache[k] = p
		return p, nil
	}
	return Prompt{}, fmt.Errorf("input tokens: no way to count model %s's prompts", model)
}

// estimated is a prompt of n tokens by the estimate (MethodEstimate,
// never exact): for a length that the engine cuts but that the run sends
// anyway (Options.Force).
func (r *Resolver) estimated(ctx context.Context, model, system string, n int) (Prompt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	count, err := r.counter(ctx, model, MethodEstimate)
	if err != nil {
		return Prompt{}, err
	}
	p, err := r.search(ctx, fitKey{model, system, MethodEstimate}, n, count)
	p.Method, p.Exact = MethodEstimate, false
	return p, err
}

// errUnavailable marks a method that does not work on this engine or
// model: the next is tried.
var errUnavailable = errors.New("unavailable")

// order is the methods to try for model: the one that worked before, else
// every method with a source, best first.
func (r *Resolver) order(model string) []string {
	if m, ok := r.methods[model]; ok {
		return []string{m}
	}
	var out []string
	if r.o.Counter != nil {
		out = append(out, MethodTokenizer)
	}
	if r.o.Sender != nil {
		out = append(out, MethodCalibration)
	}
	if r.o.GGUF != nil {
		out = append(out, MethodGGUF)
	}
	return append(out, MethodEstimate)
}

// countFunc counts a prompt's messages (nonce included) by one method.
type countFunc func(ctx context.Context, msgs []suite.Message) (int, error)

// counter returns the count function of method m for model.
func (r *Resolver) counter(ctx context.Context, model, m string) (countFunc, error) {
	switch m {
	case MethodTokenizer:
		return func(ctx context.Context, msgs []suite.Message) (int, error) {
			pm := make([]engine.PromptMessage, len(msgs))
			for i, x := range msgs {
				pm[i] = engine.PromptMessage{Role: x.Role, Content: x.Content}
			}
			r.stats.CountCalls++
			n, err := r.o.Counter.CountPrompt(ctx, model, pm)
			if err != nil && r.methods[model] != MethodTokenizer {
				return 0, fmt.Errorf("%w: %v", errUnavailable, err)
			}
			return n, err
		}, nil
	case MethodCalibration:
		return func(ctx context.Context, msgs []suite.Message) (int, error) {
			return r.calibrate(ctx, model, msgs)
		}, nil
	case MethodGGUF:
		tc, ok := r.ggufs[model]
		if !ok {
			var err error
			if tc, err = r.o.GGUF(ctx, model); err != nil {
				return nil, err
			}
			r.ggufs[model] = tc
		}
		return func(_ context.Context, msgs []suite.Message) (int, error) { return tc.CountMessages(msgs) }, nil
	}
	return func(_ context.Context, msgs []suite.Message) (int, error) {
		n := 0
		for _, x := range msgs {
			n += tokens.Estimate(x.Content)
		}
		return n, nil
	}, nil
}

// calibrate sends msgs with max_tokens 1 and returns the prompt tokens the
// engine reports. An engine that reports none makes calibration
// unavailable.
func (r *Resolver) calibrate(ctx context.Context, model string, msgs []suite.Message) (int, error) {
	req := backend.Request{Model: model, MaxTokens: 1, Messages: make([]backend.Message, len(msgs))}
	zero := 0.0
	req.Temperature = &zero
	for i, x := range msgs {
		req.Messages[i] = backend.Message{Role: x.Role, Content: x.Content}
	}
	var rec record.Record
	start := time.Now()
	r.o.Sender.Do(ctx, req, &rec)
	r.stats.CalibrationRequests++
	r.stats.CalibrationTime += time.Since(start)
	switch {
	case rec.Outcome != record.OK:
		err := fmt.Errorf("calibration request: %s: %s", rec.Outcome, rec.Error)
		if r.methods[model] != MethodCalibration {
			return 0, fmt.Errorf("%w: %v", errUnavailable, err)
		}
		return 0, err
	case rec.InputSource != record.SourceUsage && rec.InputSource != record.SourceEngine:
		return 0, fmt.Errorf("%w: the engine reports no prompt token count", errUnavailable)
	}
	return rec.InputTokens, nil
}

func (r *Resolver) logf(level, format string, a ...any) {
	if r.o.Logf != nil {
		r.o.Logf(level, fmt.Sprintf(format, a...))
	}
}
