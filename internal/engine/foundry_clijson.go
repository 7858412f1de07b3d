package engine

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// The foundry CLI 0.10+ prints JSON with `--output json` for `server
// status`, `model list` (CLI 0.11's `model list --variants` has a top-level
// "variants" key) and `cache list`. Its documented model rows are
// {"alias","id","displayName","type","device","fileSizeMb","cached",
// "license","supportsToolCalling"} (device "Cpu", "Gpu", "Npu"). The
// readers below are tolerant: keys match case-insensitively, the rows may
// be a bare array or under "variants", "models", "data" or "cached", a row
// may nest its alias's "variants", and other keys are ignored. Lines the
// CLI prints before the JSON (server start-up, execution-provider
// downloads) are skipped.

// foundryJSONStart returns the JSON value that starts at the beginning of a
// line of out (the first one that decodes), and whether there is one.
func foundryJSONStart(out []byte) (json.RawMessage, bool) {
	for off := 0; off < len(out); {
		line := out[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		t := bytes.TrimLeft(line, " \t\r")
		if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			var raw json.RawMessage
			if json.NewDecoder(bytes.NewReader(out[off+len(line)-len(t):])).Decode(&raw) == nil {
				return raw, true
			}
		}
		off += len(line) + 1
	}
	return nil, false
}

// foundryJSONRow is one row of a CLI model listing in JSON.
type foundryJSONRow struct {
	ID                foundryText
	ModelID           foundryText
	Variant           foundryText
	Name              foundryText
	Alias             foundryText
	ModelName         foundryText
	Device            foundryText
	DeviceType        foundryText
	ExecutionProvider foundryText
	EP                foundryText
	FileSizeMb        foundrySize
	Cached            *foundryText
	Downloaded        *foundryText
	IsCached          *foundryText
	Variants          []json.RawMessage
}

// foundryJSONRows finds the rows of a listing: a bare array, or the array
// under the first of "variants", "models", "data", "cached" present.
func foundryJSONRows(raw json.RawMessage) ([]json.RawMessage, bool) {
	var rows []json.RawMessage
	if json.Unmarshal(raw, &rows) == nil {
		return rows, true
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, false
	}
	for _, key := range []string{"variants", "models", "data", "cached", "cachedModels"} {
		for k, v := range obj {
			if strings.EqualFold(k, key) && json.Unmarshal(v, &rows) == nil {
				return rows, true
			}
		}
	}
	return nil, false
}

// parseFoundryCLIJSON reads a CLI model listing printed with `--output
// json` (see above). isJSON is false when out holds no JSON listing at all
// (a CLI that ignored the flag). ok says the listing gave ids with their
// download state: every row of the cache listing (fromCache) is
// downloaded; a model listing must have a "cached" (or "downloaded") value
// on its rows. An empty listing is ok.
func parseFoundryCLIJSON(out []byte, fromCache bool) (rows []foundryCLIModel, ok, isJSON bool) {
	raw, found := foundryJSONStart(out)
	if !found {
		return nil, false, false
	}
	list, isList := foundryJSONRows(raw)
	if !isList {
		return nil, false, false
	}
	said := true
	var add func(list []json.RawMessage, alias string, depth int)
	add = func(list []json.RawMessage, alias string, depth int) {
		for _, r := range list {
			var w foundryJSONRow
			if json.Unmarshal(r, &w) != nil {
				continue
			}
			rowAlias := foundryOr(string(w.Alias), foundryOr(string(w.ModelName), alias))
			if len(w.Variants) > 0 && depth == 0 {
				add(w.Variants, foundryOr(rowAlias, string(w.Name)), depth+1)
				continue
			}
			id := foundryOr(string(w.ID), foundryOr(string(w.ModelID), foundryOr(string(w.Variant), string(w.Name))))
			if id == "" || len(strings.Fields(id)) != 1 {
				continue
			}
			m := foundryCLIModel{ID: id, Alias: rowAlias,
				Device: strings.ToUpper(foundryOr(string(w.Device), string(w.DeviceType))),
				EP:     foundryOr(string(w.ExecutionProvider), string(w.EP)), SizeMB: int64(w.FileSizeMb)}
			for _, c := range []*foundryText{w.Cached, w.Downloaded, w.IsCached} {
				if c != nil {
					m.Cached = foundryMark(string(*c))
					break
				}
			}
			if m.Cached == nil && fromCache {
				m.Cached = foundryBool(true)
			}
			if m.Cached == nil {
				said = false
			}
			rows = append(rows, m)
		}
	}
	add(list, "", 0)
	return rows, said, true
}

// ParseFoundryStatusJSON reads the service origin (scheme://host:port) from
// `foundry server status --output json`: the first loopback http(s) URL
// among the values of keys naming web URLs ("webUrls", "urls",
// "endpoints", "url", …), else among all string values. isJSON is false
// when out holds no JSON object; ok is false when it names no loopback URL.
func ParseFoundryStatusJSON(out string) (origin string, ok, isJSON bool) {
	raw, found := foundryJSONStart([]byte(out))
	if !found {
		return "", false, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return "", false, false
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var preferred, other []string
	for _, k := range keys {
		v := obj[k]
		key := strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(k))
		urls := foundryJSONStrings(v, 0)
		if strings.Contains(key, "url") || strings.Contains(key, "endpoint") {
			preferred = append(preferred, urls...)
		} else {
			other = append(other, urls...)
		}
	}
	for _, s := range append(preferred, other...) {
		if o, ok := foundryLoopbackOrigin(s); ok {
			return o, true, true
		}
	}
	return "", false, true
}

// foundryJSONStrings collects the strings of a JSON value (nested at most
// a few levels).
func foundryJSONStrings(raw json.RawMessage, depth int) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
	}
	if depth > 3 {
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var out []string
		for _, v := range list {
			out = append(out, foundryJSONStrings(v, depth+1)...)
		}
		return out
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		var out []string
		for _, v := range obj {
			out = append(out, foundryJSONStrings(v, depth+1)...)
		}
		return out
	}
	return nil
}

// foundryLoopbackOrigin returns scheme://host:port of an http(s) URL on
// loopback (127.0.0.1, localhost, ::1).
func foundryLoopbackOrigin(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), ".,!;"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return u.Scheme + "://" + u.Host, true
	}
	return "", false
}
