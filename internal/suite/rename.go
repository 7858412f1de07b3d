package suite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// WithName returns the suite document data with its top-level "name" set
// to name (added first when it has none), every other member kept as it
// is and in its order, indented two spaces. It is how a suite is
// duplicated: fields this version does not model survive the copy. data
// must be a JSON object (at most MaxFileSize bytes).
func WithName(data []byte, name string) ([]byte, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("document is %d bytes, larger than the %d-byte limit", len(data), MaxFileSize)
	}
	top, err := decodeTop(bytes.TrimPrefix(data, utf8BOM))
	if err != nil {
		return nil, err
	}
	if k := jsonKind(top); k != "object" {
		return nil, fmt.Errorf("the document must be a JSON object, got %s", k)
	}
	ms, err := readObject(top)
	if err != nil {
		return nil, err
	}
	nv, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte('{')
	write := func(key string, val []byte) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
	}
	if !slices.ContainsFunc(ms, func(m member) bool { return m.key == "name" }) {
		write("name", nv)
	}
	named := false
	for _, m := range ms {
		switch {
		case m.key != "name":
			write(m.key, m.val)
		case !named: // a repeated key keeps its first place only
			write("name", nv)
			named = true
		}
	}
	b.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
