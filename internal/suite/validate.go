package suite

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ranges of the default_config values.
const (
	maxIterations  = 1_000_000
	maxConcurrency = 10_000
	maxTimeoutMS   = 24 * 60 * 60 * 1000
)

// at locates a problem: the scenario's 1-based index (0 for the suite) and
// its name, if known.
type at struct {
	idx  int
	name string
}

// badKey names a value that already failed to decode, so that validation
// does not report it a second time.
type badKey struct {
	idx   int
	field string
}

// checker collects problems while a suite is decoded and validated.
type checker struct {
	problems []Problem
	omitted  int
	bad      map[badKey]bool
}

// add records a problem.
func (c *checker) add(a at, field, format string, args ...any) {
	if len(c.problems) >= maxProblems {
		c.omitted++
		return
	}
	c.problems = append(c.problems, Problem{
		Scenario:     a.idx,
		ScenarioName: a.name,
		Field:        field,
		Message:      fmt.Sprintf(format, args...),
	})
}

// check records a validation problem unless the value already failed to
// decode.
func (c *checker) check(a at, field, format string, args ...any) {
	if !c.isBad(a, field) {
		c.add(a, field, format, args...)
	}
}

func (c *checker) markBad(a at, field string) {
	if c.bad == nil {
		c.bad = make(map[badKey]bool)
	}
	c.bad[badKey{a.idx, field}] = true
}

func (c *checker) isBad(a at, field string) bool { return c.bad[badKey{a.idx, field}] }

// typeErr reports a value of the wrong JSON type.
func (c *checker) typeErr(a at, field, want string, raw json.RawMessage) {
	c.markBad(a, field)
	c.add(a, field, "must be %s, got %s", want, jsonKind(raw))
}

// unknown reports a key that is not in the object's field set, suggesting
// the field it was probably meant to be.
func (c *checker) unknown(a at, parent, key string, known []string) {
	f := join(parent, displayKey(key))
	if s := suggest(key, known); s != "" {
		c.add(a, f, "unknown field; did you mean %q?", s)
		return
	}
	c.add(a, f, "unknown field (known fields: %s)", strings.Join(known, ", "))
}

// err returns the collected problems as a *ValidationError, or nil.
func (c *checker) err(source string) error {
	if len(c.problems) == 0 && c.omitted == 0 {
		return nil
	}
	// Suite-level problems first, then each scenario's, each in the order found.
	slices.SortStableFunc(c.problems, func(x, y Problem) int { return x.Scenario - y.Scenario })
	return &ValidationError{Source: source, Problems: c.problems, Omitted: c.omitted}
}

// join builds a field path.
func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// displayKey returns a JSON key as it can be shown in a field path: as is
// when it is short and printable, quoted otherwise.
func displayKey(key string) string {
	plain := key != "" && utf8.RuneCountInString(key) <= 60
	for _, r := range key {
		if !unicode.IsPrint(r) || r == ' ' || r == '.' || r == '"' {
			plain = false
			break
		}
	}
	if plain {
		return key
	}
	return strconv.Quote(shorten(key, 60))
}

// suggest returns the known field closest to a misspelt key (same letters
// ignoring case, or at most two edits away), or "".
func suggest(key string, known []string) string {
	if len(key) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return k
		}
		if d := editDistance(strings.ToLower(key), k); d < bestD && d < len(k) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// hasControl reports whether s holds a control character, a line or
// paragraph separator, or a bidirectional override that could disguise the
// text on a terminal.
func hasControl(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsControl(r), r == '\u2028', r == '\u2029',
			r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
			return true
		}
	}
	return false
}

// blank reports whether s is empty or only white space.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// checkName validates a suite, scenario or category name.
func (c *checker) checkName(a at, field, v string, required bool) {
	switch {
	case v == "" && required:
		c.check(a, field, "required")
	case v != "" && blank(v):
		c.check(a, field, "must not be blank")
	case utf8.RuneCountInString(v) > MaxNameLen:
		c.check(a, field, "must be at most %d characters, got %d", MaxNameLen, utf8.RuneCountInString(v))
	case hasControl(v):
		c.check(a, field, "must not contain control characters")
	}
}

// checkRange validates an optional integer.
func (c *checker) checkRange(a at, field string, v *int, lo, hi int) {
	if v != nil && (*v < lo || *v > hi) {
		c.check(a, field, "must be between %d and %d, got %d", lo, hi, *v)
	}
}

// checkTemperature validates an optional temperature.
func (c *checker) checkTemperature(a at, field string, v *float64) {
	if v != nil && !(*v >= 0 && *v <= MaxTemperature) {
		c.check(a, field, "must be between 0 and %g, got %g", MaxTemperature, *v)
	}
}

// validateSuite checks the suite's own fields (not its scenarios).
func (c *checker) validateSuite(s *Suite) {
	top := at{}
	c.checkName(top, "name", s.Name, true)
	switch {
	case len(s.Scenarios) == 0:
		c.check(top, "scenarios", "at least one scenario is required")
	case len(s.Scenarios) > MaxScenarios:
		c.check(top, "scenarios", "at most %d scenarios are allowed, got %d", MaxScenarios, len(s.Scenarios))
	}
	if dc := s.DefaultConfig; dc != nil {
		c.checkRange(top, "default_config.iterations", dc.Iterations, 1, maxIterations)
		c.checkRange(top, "default_config.concurrency", dc.Concurrency, 1, maxConcurrency)
		c.checkRange(top, "default_config.timeout", dc.Timeout, 1, maxTimeoutMS)
		c.checkTemperature(top, "default_config.temperature", dc.Temperature)
	}
}

// validateScenario checks the scenario at 1-based position idx.
func (c *checker) validateScenario(idx int, sc *Scenario) {
	a := at{idx: idx, name: sc.Name}
	if c.isBad(a, "") {
		return // not an object: already reported
	}
	c.checkName(a, "name", sc.Name, true)
	if sc.Category != "" {
		c.checkName(a, "category", sc.Category, false)
	}
	if sc.Language != "" {
		if err := CheckLanguage(sc.Language); err != nil {
			c.check(a, "language", "%v", err)
		}
	}
	if sc.Prompt != "" && blank(sc.Prompt) {
		c.check(a, "prompt", "must not be blank")
	}
	if sc.System != "" && blank(sc.System) {
		c.check(a, "system", "must not be blank")
	}
	c.validateMessages(a, sc)
	c.validateConversation(a, sc)

	c.checkRange(a, "max_tokens", sc.MaxTokens, 1, MaxMaxTokens)
	switch sc.ExpectedOutputLength {
	case "", LengthShort, LengthMedium, LengthLong:
	default:
		c.check(a, "expected_output_length", "must be one of %q, %q, %q or empty, got %q",
			LengthShort, LengthMedium, LengthLong, shorten(sc.ExpectedOutputLength, 40))
	}
	c.checkTemperature(a, "temperature", sc.Temperature)

	switch mt := sc.MaxTokensOr(DefaultMaxTokens); {
	case sc.MinTokens < 0 || sc.MinTokens > MaxMaxTokens:
		c.check(a, "min_tokens", "must be between 0 and %d, got %d", MaxMaxTokens, sc.MinTokens)
	case sc.MinTokens > mt && !c.isBad(a, "max_tokens"):
		by := ""
		if sc.MaxTokens == nil {
			by = " by default"
		}
		c.check(a, "min_tokens", "must not exceed max_tokens (%d%s), got %d", mt, by, sc.MinTokens)
	}

	if sc.FixedOutput && (sc.MinTokens > 0 || sc.IgnoreEOS) {
		c.check(a, "fixed_output", "sets ignore_eos and min_tokens itself (to max_tokens); leave them out")
	}

	if len(sc.Stop) > MaxStop {
		c.check(a, "stop", "at most %d entries are allowed, got %d", MaxStop, len(sc.Stop))
	}
	for i, s := range sc.Stop {
		if s == "" {
			c.check(a, fmt.Sprintf("stop[%d]", i), "must not be empty")
		}
	}
}

// validateMessages checks the conversation: roles, contents, and that there
// is something to send ending with a user turn.
func (c *checker) validateMessages(a at, sc *Scenario) {
	if c.isBad(a, "messages") {
		return
	}
	seenTurn := false
	for i, m := range sc.Messages {
		f := fmt.Sprintf("messages[%d]", i)
		if c.isBad(a, f) {
			continue
		}
		switch m.Role {
		case "":
			c.check(a, f+".role", "required")
		case RoleSystem:
			if seenTurn {
				c.check(a, f+".role", "a system message must come before every user and assistant message")
			}
		case RoleUser, RoleAssistant:
			seenTurn = true
		default:
			c.check(a, f+".role", "must be one of %q, %q, %q, got %q",
				RoleSystem, RoleUser, RoleAssistant, shorten(m.Role, 40))
		}
		switch {
		case m.Content == "":
			c.check(a, f+".content", "required")
		case blank(m.Content):
			c.check(a, f+".content", "must not be blank")
		}
	}
	if sc.InputTokens != nil || c.isBad(a, "input_tokens") {
		if sc.Prompt != "" || len(sc.Messages) > 0 {
			c.check(a, "input_tokens", "replaces the prompt with a generated text of that length: leave prompt and messages out (system is kept, and counted)")
		}
		if sc.IsConversation() {
			c.check(a, "input_tokens", "cannot be combined with turns or conversation (a conversation's turns have their own lengths)")
		}
		return
	}
	if sc.Prompt != "" || c.isBad(a, "prompt") || sc.IsConversation() || c.isBad(a, "turns") || c.isBad(a, "conversation") {
		return
	}
	if len(sc.Messages) == 0 {
		c.check(a, "prompt", "a prompt or messages are required")
		return
	}
	last := len(sc.Messages) - 1
	f := fmt.Sprintf("messages[%d]", last)
	switch r := sc.Messages[last].Role; {
	case r == RoleUser, c.isBad(a, f), c.isBad(a, f+".role"):
	case r == RoleSystem || r == RoleAssistant: // else the role itself was reported
		c.check(a, "messages", "the last message must have role %q when there is no prompt, got %q",
			RoleUser, r)
	}
}

// validateDuplicates reports scenario names that repeat, ignoring case.
func (c *checker) validateDuplicates(s *Suite) {
	first := make(map[string]int, len(s.Scenarios))
	for i := range s.Scenarios {
		name := s.Scenarios[i].Name
		a := at{idx: i + 1, name: name}
		if blank(name) || c.isBad(a, "name") {
			continue
		}
		k := fold(name)
		if j, ok := first[k]; ok {
			c.add(a, "name", "duplicate of scenario %d (%q); names are compared ignoring case",
				j, shorten(s.Scenarios[j-1].Name, 60))
			continue
		}
		first[k] = i + 1
	}
}

// Validate checks a suite built in code against the same rules Parse
// applies, returning a *ValidationError naming s.Source, or nil.
func (s *Suite) Validate() error {
	c := &checker{}
	if s == nil {
		c.add(at{}, "", "no suite")
		return c.err("")
	}
	c.validateSuite(s)
	for i := range s.Scenarios {
		c.validateScenario(i+1, &s.Scenarios[i])
	}
	c.validateDuplicates(s)
	return c.err(s.Source)
}
