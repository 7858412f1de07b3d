package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// kind names the JSON type of a raw value, for "wrong type" messages.
func kind(raw json.RawMessage) string {
	t := bytes.TrimLeft(raw, " \t\r\n")
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// object decodes raw as a JSON object, or says what it is instead.
func object(raw json.RawMessage) (map[string]json.RawMessage, error) {
	if k := kind(raw); k != "object" {
		return nil, fmt.Errorf("must be an object, got %s", k)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// str decodes raw as a JSON string.
func str(raw json.RawMessage) (string, error) {
	if k := kind(raw); k != "string" {
		return "", fmt.Errorf("must be a string, got %s", k)
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// array decodes raw as a JSON array.
func array(raw json.RawMessage) ([]json.RawMessage, error) {
	if k := kind(raw); k != "array" {
		return nil, fmt.Errorf("must be an array, got %s", k)
	}
	var a []json.RawMessage
	err := json.Unmarshal(raw, &a)
	return a, err
}

// entryID decodes an optional "id": a string or an integer.
func entryID(m map[string]json.RawMessage, line int, p *problems) string {
	raw, ok := m["id"]
	if !ok {
		return ""
	}
	var id string
	switch kind(raw) {
	case "string":
		id, _ = str(raw)
	case "number":
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			p.add(line, "id", "%v", err)
			return ""
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			p.add(line, "id", "must be a string or an integer, got %s", n)
			return ""
		}
		id = n.String()
	default:
		p.add(line, "id", "must be a string or an integer, got %s", kind(raw))
		return ""
	}
	if len(id) > MaxIDLen {
		p.add(line, "id", "is %d bytes, longer than %d", len(id), MaxIDLen)
		return ""
	}
	return id
}

// parseJSONL reads one entry per non-blank line.
func parseJSONL(body []byte, p *problems) []Entry {
	var out []Entry
	for i, line := range bytes.Split(body, []byte("\n")) {
		n := i + 1
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > MaxLineLen {
			p.add(n, "", "line is %d bytes, longer than the %d-byte limit", len(line), MaxLineLen)
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(out) >= MaxEntries {
			p.add(n, "", "more than %d entries", MaxEntries)
			break
		}
		if !json.Valid(line) {
			var v any
			err := json.Unmarshal(line, &v)
			p.add(n, "", "invalid JSON: %v", err)
			continue
		}
		m, err := object(line)
		if err != nil {
			p.add(n, "", "an entry %v", err)
			continue
		}
		if e, ok := jsonlEntry(m, n, p); ok {
			out = append(out, e)
		}
	}
	return out
}

// jsonlEntry checks one JSONL object: "prompt" or "messages", optional
// "max_tokens" and "id"; other keys are ignored.
func jsonlEntry(m map[string]json.RawMessage, line int, p *problems) (Entry, bool) {
	before := len(p.list) + p.omitted
	e := Entry{Line: line, Reference: -1, ID: entryID(m, line, p)}
	prompt, hasPrompt := m["prompt"]
	msgs, hasMsgs := m["messages"]
	switch {
	case hasPrompt && hasMsgs:
		p.add(line, "", "give either prompt or messages, not both")
	case hasPrompt:
		s, err := str(prompt)
		switch {
		case err != nil:
			p.add(line, "prompt", "%v", err)
		case strings.TrimSpace(s) == "":
			p.add(line, "prompt", "is empty")
		default:
			e.Messages = []suite.Message{{Role: suite.RoleUser, Content: s}}
		}
	case hasMsgs:
		e.Messages = jsonlMessages(msgs, line, p)
	default:
		p.add(line, "", "missing prompt or messages")
	}
	if raw, ok := m["max_tokens"]; ok {
		var n int
		if k := kind(raw); k != "number" {
			p.add(line, "max_tokens", "must be an integer, got %s", k)
		} else if err := json.Unmarshal(raw, &n); err != nil {
			p.add(line, "max_tokens", "must be an integer, got %s", bytes.TrimSpace(raw))
		} else if n < 1 || n > suite.MaxMaxTokens {
			p.add(line, "max_tokens", "must be between 1 and %d, got %d", suite.MaxMaxTokens, n)
		} else {
			e.MaxTokens = &n
		}
	}
	return e, len(p.list)+p.omitted == before
}

// jsonlMessages checks a "messages" list of {"role", "content"} objects
// whose last is a non-empty user message.
func jsonlMessages(raw json.RawMessage, line int, p *problems) []suite.Message {
	list, err := array(raw)
	if err != nil {
		p.add(line, "messages", "%v", err)
		return nil
	}
	if len(list) == 0 {
		p.add(line, "messages", "is empty")
		return nil
	}
	if len(list) > MaxMessages {
		p.add(line, "messages", "has %d messages, more than %d", len(list), MaxMessages)
		return nil
	}
	out := make([]suite.Message, 0, len(list))
	ok := true
	for i, r := range list {
		field := fmt.Sprintf("messages[%d]", i)
		m, err := object(r)
		if err != nil {
			p.add(line, field, "%v", err)
			ok = false
			continue
		}
		var msg suite.Message
		if rr, has := m["role"]; !has {
			p.add(line, field+".role", "missing")
			ok = false
		} else if role, err := str(rr); err != nil {
			p.add(line, field+".role", "%v", err)
			ok = false
		} else if role != suite.RoleSystem && role != suite.RoleUser && role != suite.RoleAssistant {
			p.add(line, field+".role", "must be system, user or assistant, got %q", role)
			ok = false
		} else {
			msg.Role = role
		}
		if rc, has := m["content"]; !has {
			p.add(line, field+".content", "missing")
			ok = false
		} else if c, err := str(rc); err != nil {
			p.add(line, field+".content", "%v", err)
			ok = false
		} else {
			msg.Content = c
		}
		out = append(out, msg)
	}
	if !ok {
		return nil
	}
	last := out[len(out)-1]
	if last.Role != suite.RoleUser {
		p.add(line, fmt.Sprintf("messages[%d].role", len(out)-1), "the last message must be the user's, got %s", last.Role)
		return nil
	}
	if strings.TrimSpace(last.Content) == "" {
		p.add(line, fmt.Sprintf("messages[%d].content", len(out)-1), "is empty")
		return nil
	}
	return out
}

// lineCounter turns byte offsets, visited in increasing order, into
// 1-based line numbers.
type lineCounter struct {
	body []byte
	off  int
	line int
}

func (c *lineCounter) at(off int) int {
	off = min(off, len(c.body))
	if off < c.off {
		c.off, c.line = 0, 1
	}
	c.line += bytes.Count(c.body[c.off:off], []byte("\n"))
	c.off = off
	return c.line
}

// parseShareGPT reads a JSON array of {"id", "conversations"} entries.
func parseShareGPT(body []byte, p *problems) []Entry {
	lines := &lineCounter{body: body, line: 1}
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			p.add(lines.at(int(se.Offset)), "", "invalid JSON: %v", err)
		} else {
			p.add(0, "", "invalid JSON: %v", err)
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the '[' Parse saw
		p.add(0, "", "invalid JSON: %v", err)
		return nil
	}
	var out []Entry
	for i := 0; dec.More(); i++ {
		start := int(dec.InputOffset())
		for start < len(body) && strings.IndexByte(" \t\r\n,", body[start]) >= 0 {
			start++
		}
		line := lines.at(start)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.add(line, "", "invalid JSON: %v", err)
			return nil
		}
		if i >= MaxEntries {
			p.add(line, "", "more than %d entries", MaxEntries)
			break
		}
		if len(raw) > MaxLineLen {
			p.add(line, "", "entry is %d bytes, longer than the %d-byte limit", len(raw), MaxLineLen)
			continue
		}
		m, err := object(raw)
		if err != nil {
			p.add(line, "", "an entry %v", err)
			continue
		}
		if e, ok := shareGPTEntry(m, line, p); ok {
			out = append(out, e)
		}
	}
	return out
}

// shareGPTRoles maps ShareGPT's "from" values to chat roles.
var shareGPTRoles = map[string]string{"human": suite.RoleUser, "gpt": suite.RoleAssistant, "system": suite.RoleSystem}

// shareGPTEntry checks one ShareGPT entry and keeps its turns up to the
// last human turn; the gpt turn after it is the reference answer.
func shareGPTEntry(m map[string]json.RawMessage, line int, p *problems) (Entry, bool) {
	before := len(p.list) + p.omitted
	e := Entry{Line: line, Reference: -1, ID: entryID(m, line, p)}
	raw, has := m["conversations"]
	if !has {
		p.add(line, "conversations", "missing")
		return e, false
	}
	list, err := array(raw)
	switch {
	case err != nil:
		p.add(line, "conversations", "%v", err)
		return e, false
	case len(list) == 0:
		p.add(line, "conversations", "is empty")
		return e, false
	case len(list) > MaxMessages:
		p.add(line, "conversations", "has %d turns, more than %d", len(list), MaxMessages)
		return e, false
	}
	msgs := make([]suite.Message, 0, len(list))
	lastHuman := -1
	for i, r := range list {
		field := fmt.Sprintf("conversations[%d]", i)
		t, err := object(r)
		if err != nil {
			p.add(line, field, "%v", err)
			continue
		}
		var msg suite.Message
		if rf, ok := t["from"]; !ok {
			p.add(line, field+".from", "missing")
		} else if from, err := str(rf); err != nil {
			p.add(line, field+".from", "%v", err)
		} else if role, ok := shareGPTRoles[from]; !ok {
			p.add(line, field+".from", "must be human, gpt or system, got %q", from)
		} else {
			msg.Role = role
		}
		if rv, ok := t["value"]; !ok {
			p.add(line, field+".value", "missing")
		} else if v, err := str(rv); err != nil {
			p.add(line, field+".value", "%v", err)
		} else {
			msg.Content = v
		}
		if msg.Role == suite.RoleUser {
			lastHuman = i
		}
		msgs = append(msgs, msg)
	}
	if len(p.list)+p.omitted != before {
		return e, false
	}
	if lastHuman < 0 {
		p.add(line, "conversations", "has no human turn")
		return e, false
	}
	if strings.TrimSpace(msgs[lastHuman].Content) == "" {
		p.add(line, fmt.Sprintf("conversations[%d].value", lastHuman), "is empty")
		return e, false
	}
	e.Messages = msgs[:lastHuman+1]
	if lastHuman+1 < len(msgs) && msgs[lastHuman+1].Role == suite.RoleAssistant {
		e.Reference = tokens.Estimate(msgs[lastHuman+1].Content)
	}
	return e, true
}
