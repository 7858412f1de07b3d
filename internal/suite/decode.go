package suite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// The field sets of each JSON object, exactly as the format defines them.
var (
	suiteFields    = []string{"name", "description", "version", "scenarios", "default_config"}
	scenarioFields = []string{"name", "description", "prompt", "system", "messages", "max_tokens",
		"expected_output_length", "temperature", "stop", "ignore_eos", "min_tokens", "fixed_output", "category", "language",
		"turns", "conversation", "input_tokens"}
	configFields  = []string{"iterations", "concurrency", "timeout", "temperature", "streaming"}
	messageFields = []string{"role", "content"}
)

// utf8BOM is skipped at the start of a document (Windows editors write it).
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// member is one key/value pair of a JSON object, in document order.
type member struct {
	key string
	val json.RawMessage
}

// decodeTop checks the document's syntax and returns its single top-level
// value. Errors give the line and column of the fault.
func decodeTop(data []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return nil, errors.New("empty document: expected a JSON object")
		case errors.As(err, &se):
			// Offset counts the bytes read, the offending one included.
			return nil, fmt.Errorf("invalid JSON at %s: %v", position(data, int(se.Offset)-1), se)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("invalid JSON at %s: unexpected end of input", position(data, len(data)))
		default:
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
	}
	end := int(dec.InputOffset())
	if end < len(data) {
		rest := data[end:]
		if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 {
			return nil, fmt.Errorf("trailing data after the top-level value at %s",
				position(data, end+len(rest)-len(trimmed)))
		}
	}
	return raw, nil
}

// position formats byte offset off of data as "line L, column C" (both
// 1-based, the column counted in characters).
func position(data []byte, off int) string {
	off = max(0, min(off, len(data)))
	before := data[:off]
	line := 1 + bytes.Count(before, []byte{'\n'})
	start := bytes.LastIndexByte(before, '\n') + 1
	col := 1 + utf8.RuneCount(before[start:])
	return fmt.Sprintf("line %d, column %d", line, col)
}

// jsonKind names the JSON type of a raw value for error messages.
func jsonKind(raw json.RawMessage) string {
	b := bytes.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// readObject returns the members of a JSON object in document order.
func readObject(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{key, v})
	}
	return ms, nil
}

// members reads the object at field, reporting a problem and returning
// ok=false if raw is not an object. A duplicate key is reported and only
// its first value kept.
func (c *checker) members(a at, field string, raw json.RawMessage) ([]member, bool) {
	if k := jsonKind(raw); k != "object" {
		c.typeErr(a, field, "an object", raw)
		return nil, false
	}
	ms, err := readObject(raw)
	if err != nil {
		c.markBad(a, field)
		c.add(a, field, "invalid object: %v", err)
		return nil, false
	}
	seen := make(map[string]bool, len(ms))
	out := ms[:0]
	for _, m := range ms {
		if seen[m.key] {
			f := join(field, displayKey(m.key))
			c.markBad(a, f)
			c.add(a, f, "duplicate key")
			continue
		}
		seen[m.key] = true
		out = append(out, m)
	}
	return out, true
}

// array reads the array at field, reporting a problem and returning ok=false
// if raw is not an array.
func (c *checker) array(a at, field string, raw json.RawMessage) ([]json.RawMessage, bool) {
	if k := jsonKind(raw); k != "array" {
		c.typeErr(a, field, "an array", raw)
		return nil, false
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		c.markBad(a, field)
		c.add(a, field, "invalid array: %v", err)
		return nil, false
	}
	return elems, true
}

// str decodes a string; null leaves dst unchanged.
func (c *checker) str(a at, field string, raw json.RawMessage, dst *string) {
	switch jsonKind(raw) {
	case "null":
	case "string":
		if err := json.Unmarshal(raw, dst); err != nil {
			c.markBad(a, field)
			c.add(a, field, "invalid string: %v", err)
		}
	default:
		c.typeErr(a, field, "a string", raw)
	}
}

// boolean decodes true or false; null leaves dst unchanged.
func (c *checker) boolean(a at, field string, raw json.RawMessage, dst **bool) {
	switch jsonKind(raw) {
	case "null":
	case "boolean":
		v := bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("true"))
		*dst = &v
	default:
		c.typeErr(a, field, "true or false", raw)
	}
}

// maxExactInt bounds the integers accepted in float notation (2^53).
const maxExactInt = 1 << 53

// integer decodes a whole number (1e2 and 100.0 are accepted); null leaves
// dst unchanged.
func (c *checker) integer(a at, field string, raw json.RawMessage, dst **int) {
	switch jsonKind(raw) {
	case "null":
		return
	case "number":
	default:
		c.typeErr(a, field, "an integer", raw)
		return
	}
	lit := string(bytes.TrimSpace(raw))
	if i, err := strconv.ParseInt(lit, 10, 64); err == nil && i >= math.MinInt && i <= math.MaxInt {
		v := int(i)
		*dst = &v
		return
	}
	f, err := strconv.ParseFloat(lit, 64)
	switch {
	case err != nil || math.Abs(f) > maxExactInt:
		c.markBad(a, field)
		c.add(a, field, "must be an integer, got %s (out of range)", shorten(lit, 40))
	case f != math.Trunc(f):
		c.markBad(a, field)
		c.add(a, field, "must be an integer, got %s", shorten(lit, 40))
	default:
		v := int(f)
		*dst = &v
	}
}

// number decodes a number; null leaves dst unchanged.
func (c *checker) number(a at, field string, raw json.RawMessage, dst **float64) {
	switch jsonKind(raw) {
	case "null":
		return
	case "number":
	default:
		c.typeErr(a, field, "a number", raw)
		return
	}
	lit := string(bytes.TrimSpace(raw))
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		c.markBad(a, field)
		c.add(a, field, "must be a number, got %s (out of range)", shorten(lit, 40))
		return
	}
	*dst = &f
}

// decodeSuite decodes and validates a suite document's top-level object,
// recording every problem in c.
func (c *checker) decodeSuite(raw json.RawMessage) *Suite {
	s := &Suite{}
	top := at{}
	ms, ok := c.members(top, "", raw)
	if !ok {
		return s
	}
	var scenarios json.RawMessage
	for _, m := range ms {
		switch m.key {
		case "name":
			c.str(top, "name", m.val, &s.Name)
		case "description":
			c.str(top, "description", m.val, &s.Description)
		case "version":
			c.str(top, "version", m.val, &s.Version)
		case "scenarios":
			scenarios = m.val
		case "default_config":
			s.DefaultConfig = c.decodeConfig(m.val)
		default:
			c.unknown(top, "", m.key, suiteFields)
		}
	}
	var elems []json.RawMessage
	if scenarios != nil && jsonKind(scenarios) != "null" {
		elems, _ = c.array(top, "scenarios", scenarios)
	}
	if len(elems) > MaxScenarios {
		c.markBad(top, "scenarios")
		c.add(top, "scenarios", "at most %d scenarios are allowed, got %d", MaxScenarios, len(elems))
		elems = elems[:MaxScenarios]
	}
	if len(elems) > 0 {
		s.Scenarios = make([]Scenario, len(elems))
	}
	c.validateSuite(s)
	for i, e := range elems {
		c.decodeScenario(i+1, e, &s.Scenarios[i])
		c.validateScenario(i+1, &s.Scenarios[i])
	}
	c.validateDuplicates(s)
	return s
}

// decodeConfig decodes default_config (nil for null).
func (c *checker) decodeConfig(raw json.RawMessage) *DefaultConfig {
	if jsonKind(raw) == "null" {
		return nil
	}
	top := at{}
	ms, ok := c.members(top, "default_config", raw)
	if !ok {
		return nil
	}
	dc := &DefaultConfig{}
	for _, m := range ms {
		f := "default_config." + m.key
		switch m.key {
		case "iterations":
			c.integer(top, f, m.val, &dc.Iterations)
		case "concurrency":
			c.integer(top, f, m.val, &dc.Concurrency)
		case "timeout":
			c.integer(top, f, m.val, &dc.Timeout)
		case "temperature":
			c.number(top, f, m.val, &dc.Temperature)
		case "streaming":
			c.boolean(top, f, m.val, &dc.Streaming)
		default:
			c.unknown(top, "default_config", m.key, configFields)
		}
	}
	return dc
}

// decodeScenario decodes the scenario at 1-based position idx into sc.
func (c *checker) decodeScenario(idx int, raw json.RawMessage, sc *Scenario) {
	a := at{idx: idx}
	ms, ok := c.members(a, "", raw)
	if !ok {
		return
	}
	// Label every problem with the scenario's name, wherever it appears.
	for _, m := range ms {
		if m.key == "name" && jsonKind(m.val) == "string" {
			_ = json.Unmarshal(m.val, &a.name)
			break
		}
	}
	for _, m := range ms {
		switch m.key {
		case "name":
			c.str(a, "name", m.val, &sc.Name)
		case "description":
			c.str(a, "description", m.val, &sc.Description)
		case "prompt":
			c.str(a, "prompt", m.val, &sc.Prompt)
		case "system":
			c.str(a, "system", m.val, &sc.System)
		case "messages":
			sc.Messages = c.decodeMessages(a, m.val)
		case "max_tokens":
			c.integer(a, "max_tokens", m.val, &sc.MaxTokens)
		case "expected_output_length":
			c.str(a, "expected_output_length", m.val, &sc.ExpectedOutputLength)
		case "temperature":
			c.number(a, "temperature", m.val, &sc.Temperature)
		case "stop":
			sc.Stop = c.decodeStop(a, m.val)
		case "ignore_eos":
			var b *bool
			c.boolean(a, "ignore_eos", m.val, &b)
			sc.IgnoreEOS = b != nil && *b
		case "fixed_output":
			var b *bool
			c.boolean(a, "fixed_output", m.val, &b)
			sc.FixedOutput = b != nil && *b
		case "min_tokens":
			var n *int
			c.integer(a, "min_tokens", m.val, &n)
			if n != nil {
				sc.MinTokens = *n
			}
		case "category":
			c.str(a, "category", m.val, &sc.Category)
		case "language":
			c.str(a, "language", m.val, &sc.Language)
		case "turns":
			sc.Turns = c.decodeTurns(a, m.val)
		case "conversation":
			sc.Conversation = c.decodeConversation(a, m.val)
		case "input_tokens":
			sc.InputTokens = c.inputLength(a, m.val)
		default:
			c.unknown(a, "", m.key, scenarioFields)
		}
	}
}

// decodeMessages decodes a scenario's messages (nil for null or []). An
// element that is not an object is reported and kept as a placeholder so
// that indexes stay aligned.
func (c *checker) decodeMessages(a at, raw json.RawMessage) []Message {
	if jsonKind(raw) == "null" {
		return nil
	}
	elems, ok := c.array(a, "messages", raw)
	if !ok || len(elems) == 0 {
		return nil
	}
	msgs := make([]Message, len(elems))
	for i, e := range elems {
		f := fmt.Sprintf("messages[%d]", i)
		ms, ok := c.members(a, f, e)
		if !ok {
			continue
		}
		for _, m := range ms {
			switch m.key {
			case "role":
				c.str(a, f+".role", m.val, &msgs[i].Role)
			case "content":
				c.str(a, f+".content", m.val, &msgs[i].Content)
			default:
				c.unknown(a, f, m.key, messageFields)
			}
		}
	}
	return msgs
}

// decodeStop decodes a scenario's stop sequences (nil for null or []).
func (c *checker) decodeStop(a at, raw json.RawMessage) []string {
	if jsonKind(raw) == "null" {
		return nil
	}
	elems, ok := c.array(a, "stop", raw)
	if !ok || len(elems) == 0 {
		return nil
	}
	stop := make([]string, len(elems))
	for i, e := range elems {
		f := fmt.Sprintf("stop[%d]", i)
		if jsonKind(e) == "null" {
			c.typeErr(a, f, "a string", e)
			continue
		}
		c.str(a, f, e, &stop[i])
	}
	return stop
}

// inputLength decodes input_tokens: a number of tokens, or a string spec
// (ParseInputLength); nil for null or a bad value (reported).
func (c *checker) inputLength(a at, raw json.RawMessage) *InputLength {
	var spec string
	switch jsonKind(raw) {
	case "null":
		return nil
	case "number":
		spec = string(bytes.TrimSpace(raw))
	case "string":
		_ = json.Unmarshal(raw, &spec)
	default:
		c.typeErr(a, "input_tokens", `a number or a string like "512:64" or "uniform:256-2048"`, raw)
		return nil
	}
	l, err := ParseInputLength(spec)
	if err != nil {
		c.markBad(a, "input_tokens")
		c.add(a, "input_tokens", "%v", err)
		return nil
	}
	return &l
}
