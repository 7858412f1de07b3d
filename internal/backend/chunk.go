package backend

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// chunkParser is the hand-written fast path for stream chunks. It walks one
// chunk's JSON once, validating every byte exactly as encoding/json does,
// extracts the few fields of a frame and skips the rest without allocating.
// Whatever it is not sure about (a syntax error, an escaped key, very deep
// nesting) makes it give up, and parse falls back to refParse, so the result
// is always the reference result (FuzzChunkParse checks this).
type chunkParser struct {
	b       []byte
	i       int
	scratch []byte // decoded strings that needed unescaping
}

// maxFastDepth is the nesting depth beyond which the fast path gives up
// (encoding/json itself allows 10000).
const maxFastDepth = 64

// parse fills f from one stream chunk. A non-nil error means the chunk is
// malformed.
func (p *chunkParser) parse(data []byte, f *frame) error {
	if p.fast(data, f) {
		return nil
	}
	return refParse(data, "delta", f)
}

// fast parses data into f and reports whether it could; false leaves f in an
// unspecified state.
func (p *chunkParser) fast(data []byte, f *frame) bool {
	f.reset()
	p.b, p.i, p.scratch = data, 0, p.scratch[:0]
	p.ws()
	if p.at() != '{' || !p.object(f, 1, (*chunkParser).topKey) {
		return false
	}
	p.ws()
	return p.i == len(p.b)
}

// at returns the current byte, or 0 at the end (0 is invalid everywhere).
func (p *chunkParser) at() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *chunkParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// object walks an object at p.i, calling member for each key with p.i at the
// start of its value; member must consume the value. A value that is not an
// object is skipped (validated) instead.
func (p *chunkParser) object(f *frame, depth int, member func(*chunkParser, *frame, []byte, int) bool) bool {
	if p.at() != '{' {
		return p.skip(depth)
	}
	if depth > maxFastDepth {
		return false
	}
	p.i++
	p.ws()
	if p.at() == '}' {
		p.i++
		return true
	}
	for {
		key, ok := p.rawKey()
		if !ok {
			return false
		}
		p.ws()
		if p.at() != ':' {
			return false
		}
		p.i++
		p.ws()
		if !member(p, f, key, depth+1) {
			return false
		}
		p.ws()
		switch p.at() {
		case ',':
			p.i++
			p.ws()
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// rawKey returns a key's bytes; it gives up on escaped keys (rare), whose
// decoded form would need comparing.
func (p *chunkParser) rawKey() ([]byte, bool) {
	if p.at() != '"' {
		return nil, false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return p.b[start:j], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

func (p *chunkParser) topKey(f *frame, key []byte, depth int) bool {
	switch string(key) {
	case "choices":
		f.content, f.reasoningContent, f.reasoning, f.finish = nil, nil, nil, nil
		return p.choices(f, depth)
	case "usage":
		f.promptTokens, f.completionTokens, f.cachedTokens = -1, -1, -1
		return p.object(f, depth, (*chunkParser).usageKey)
	case "timings":
		f.promptN, f.predictedN, f.cacheN, f.promptMS, f.predictedMS = -1, -1, -1, -1, -1
		return p.object(f, depth, (*chunkParser).timingsKey)
	case "stats":
		f.statsTPS, f.statsTTFT, f.statsGen = -1, -1, -1
		return p.object(f, depth, (*chunkParser).statsKey)
	case "error":
		start := p.i
		if !p.skip(depth) {
			return false
		}
		f.errVal = nil
		if v := p.b[start:p.i]; isErrValue(v) {
			f.errVal = v
		}
		return true
	}
	return p.skip(depth)
}

// choices reads the first element of the choices array.
func (p *chunkParser) choices(f *frame, depth int) bool {
	if p.at() != '[' {
		return p.skip(depth)
	}
	p.i++
	p.ws()
	if p.at() == ']' {
		p.i++
		return true
	}
	for first := true; ; first = false {
		var ok bool
		if first {
			ok = p.object(f, depth+1, (*chunkParser).choiceKey)
		} else {
			ok = p.skip(depth + 1)
		}
		if !ok {
			return false
		}
		p.ws()
		switch p.at() {
		case ',':
			p.i++
			p.ws()
		case ']':
			p.i++
			return true
		default:
			return false
		}
	}
}

func (p *chunkParser) choiceKey(f *frame, key []byte, depth int) bool {
	switch string(key) {
	case "finish_reason":
		var ok bool
		f.finish, ok = p.str(depth)
		return ok
	case "delta":
		f.content, f.reasoningContent, f.reasoning = nil, nil, nil
		return p.object(f, depth, (*chunkParser).deltaKey)
	}
	return p.skip(depth)
}

func (p *chunkParser) deltaKey(f *frame, key []byte, depth int) bool {
	var ok bool
	switch string(key) {
	case "content":
		f.content, ok = p.str(depth)
	case "reasoning_content":
		f.reasoningContent, ok = p.str(depth)
	case "reasoning":
		f.reasoning, ok = p.str(depth)
	default:
		ok = p.skip(depth)
	}
	return ok
}

func (p *chunkParser) usageKey(f *frame, key []byte, depth int) bool {
	switch string(key) {
	case "prompt_tokens":
		return p.int(&f.promptTokens, depth)
	case "completion_tokens":
		return p.int(&f.completionTokens, depth)
	case "prompt_tokens_details":
		f.cachedTokens = -1
		return p.object(f, depth, (*chunkParser).detailsKey)
	}
	return p.skip(depth)
}

func (p *chunkParser) detailsKey(f *frame, key []byte, depth int) bool {
	if string(key) == "cached_tokens" {
		return p.int(&f.cachedTokens, depth)
	}
	return p.skip(depth)
}

func (p *chunkParser) timingsKey(f *frame, key []byte, depth int) bool {
	switch string(key) {
	case "prompt_n":
		return p.int(&f.promptN, depth)
	case "predicted_n":
		return p.int(&f.predictedN, depth)
	case "cache_n":
		return p.int(&f.cacheN, depth)
	case "prompt_ms":
		return p.float(&f.promptMS, depth)
	case "predicted_ms":
		return p.float(&f.predictedMS, depth)
	}
	return p.skip(depth)
}

func (p *chunkParser) statsKey(f *frame, key []byte, depth int) bool {
	switch string(key) {
	case "tokens_per_second":
		return p.float(&f.statsTPS, depth)
	case "time_to_first_token":
		return p.float(&f.statsTTFT, depth)
	case "generation_time":
		return p.float(&f.statsGen, depth)
	}
	return p.skip(depth)
}

// float reads a non-negative number literal into *dst; any other value
// (null, a negative or overflowing number, another type) is skipped and
// leaves -1, as refFloat does.
func (p *chunkParser) float(dst *float64, depth int) bool {
	*dst = -1
	lit, ok := p.numberLiteral(depth)
	if lit == nil {
		return ok
	}
	if x, err := strconv.ParseFloat(string(lit), 64); err == nil && x >= 0 {
		*dst = x
	}
	return true
}

// int reads a non-negative integer literal into *dst; any other value
// (null, a fraction, an exponent, a negative or overflowing number, another
// type) is skipped and leaves -1, as refInt does.
func (p *chunkParser) int(dst *int64, depth int) bool {
	*dst = -1
	lit, ok := p.numberLiteral(depth)
	if lit == nil {
		return ok
	}
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	var n int64
	for _, d := range lit {
		if d < '0' || d > '9' {
			return true // fraction or exponent: not an integer
		}
		if n > (1<<63-1-int64(d-'0'))/10 {
			return true // overflows int64
		}
		n = n*10 + int64(d-'0')
	}
	if neg && n != 0 {
		return true
	}
	*dst = n
	return true
}

// numberLiteral consumes the value at p.i: a number gives its literal; any
// other value is skipped (validated) and gives nil. ok is false for
// malformed input.
func (p *chunkParser) numberLiteral(depth int) (lit []byte, ok bool) {
	start := p.i
	if c := p.at(); c != '-' && (c < '0' || c > '9') {
		return nil, p.skip(depth)
	}
	if !p.number() {
		return nil, false
	}
	return p.b[start:p.i], true
}

// str reads a string value (decoded exactly as encoding/json decodes it);
// null or a value of another type gives nil.
func (p *chunkParser) str(depth int) ([]byte, bool) {
	if p.at() != '"' {
		return nil, p.skip(depth)
	}
	start := p.i + 1
	j := start
	for j < len(p.b) {
		c := p.b[j]
		switch {
		case c == '"':
			p.i = j + 1
			return p.b[start:j], true
		case c == '\\' || c < 0x20:
			return p.unquote(start, j)
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(p.b[j:])
			if r == utf8.RuneError && size == 1 {
				return p.unquote(start, j)
			}
			j += size
		}
	}
	return nil, false
}

// unquote decodes the string starting at start whose bytes up to j need no
// decoding, mirroring encoding/json's unquoteBytes: valid UTF-8 is kept,
// invalid bytes and lone surrogates become U+FFFD, surrogate pairs combine.
func (p *chunkParser) unquote(start, j int) ([]byte, bool) {
	out := len(p.scratch)
	p.scratch = append(p.scratch, p.b[start:j]...)
	for j < len(p.b) {
		c := p.b[j]
		switch {
		case c == '"':
			p.i = j + 1
			return p.scratch[out:], true
		case c < 0x20:
			return nil, false
		case c == '\\':
			if j+1 >= len(p.b) {
				return nil, false
			}
			switch e := p.b[j+1]; e {
			case '"', '\\', '/':
				p.scratch = append(p.scratch, e)
			case 'b':
				p.scratch = append(p.scratch, '\b')
			case 'f':
				p.scratch = append(p.scratch, '\f')
			case 'n':
				p.scratch = append(p.scratch, '\n')
			case 'r':
				p.scratch = append(p.scratch, '\r')
			case 't':
				p.scratch = append(p.scratch, '\t')
			case 'u':
				r := hex4(p.b[j+2:])
				if r < 0 {
					return nil, false
				}
				j += 6
				if utf16.IsSurrogate(r) {
					var r2 rune = -1
					if j+1 < len(p.b) && p.b[j] == '\\' && p.b[j+1] == 'u' {
						r2 = hex4(p.b[j+2:])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						p.scratch = utf8.AppendRune(p.scratch, dec)
						j += 6
						continue
					}
					r = utf8.RuneError
				}
				p.scratch = utf8.AppendRune(p.scratch, r)
				continue
			default:
				return nil, false
			}
			j += 2
		case c < utf8.RuneSelf:
			p.scratch = append(p.scratch, c)
			j++
		default:
			r, size := utf8.DecodeRune(p.b[j:])
			p.scratch = utf8.AppendRune(p.scratch, r)
			j += size
		}
	}
	return nil, false
}

// hex4 decodes four hex digits; -1 if b does not start with them.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// skip validates and skips any JSON value at p.i.
func (p *chunkParser) skip(depth int) bool {
	switch c := p.at(); c {
	case '{', '[':
		if depth > maxFastDepth {
			return false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		p.i++
		p.ws()
		if p.at() == end {
			p.i++
			return true
		}
		for {
			if c == '{' {
				if p.at() != '"' || !p.skipString() {
					return false
				}
				p.ws()
				if p.at() != ':' {
					return false
				}
				p.i++
				p.ws()
			}
			if !p.skip(depth + 1) {
				return false
			}
			p.ws()
			switch p.at() {
			case ',':
				p.i++
				p.ws()
			case end:
				p.i++
				return true
			default:
				return false
			}
		}
	case '"':
		return p.skipString()
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	}
	return p.number()
}

func (p *chunkParser) literal(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// skipString validates and skips a string at p.i (which holds the quote).
// Like encoding/json it accepts any byte >= 0x20 (invalid UTF-8 included).
func (p *chunkParser) skipString() bool {
	b := p.b
	for j := p.i + 1; j < len(b); j++ {
		c := b[j]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		switch c {
		case '"':
			p.i = j + 1
			return true
		case '\\':
			if j+1 >= len(b) {
				return false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if hex4(b[j+2:]) < 0 {
					return false
				}
				j += 5
			default:
				return false
			}
		default:
			return false // control character
		}
	}
	return false
}

// number validates and skips a number: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
func (p *chunkParser) number() bool {
	b, j := p.b, p.i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j++; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		}
	default:
		return false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return false
		}
		for j++; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return false
		}
		for j++; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		}
	}
	p.i = j
	return true
}
