package doctor

import (
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
)

// Scrubber takes the home directory, the user name and the host name out
// of text: the home directory becomes "~" (in either slash form, any
// case), the user "<user>" and the host "<host>". A name of three
// characters or more is replaced wherever it appears; a shorter one
// (replacing every "vm" would garble words) only as a whole word.
type Scrubber struct {
	homes []string
	names []*regexp.Regexp
	repl  []string
}

// NewScrubber builds a Scrubber for a home directory, a user and a host
// name (each may be ""). The host's first label is taken out too
// ("box.example.com" and "box").
func NewScrubber(home, user, host string) *Scrubber {
	s := &Scrubber{}
	home = strings.TrimRight(home, `/\`)
	if len(home) > 1 {
		for _, h := range []string{home, filepath.ToSlash(home), strings.ReplaceAll(home, "/", `\`)} {
			if !containsFold(s.homes, h) {
				s.homes = append(s.homes, h)
			}
		}
	}
	add := func(name, repl string) {
		if name == "" || strings.EqualFold(name, "localhost") {
			return
		}
		q := regexp.QuoteMeta(name)
		if len(name) < 3 {
			q = `\b` + q + `\b`
		}
		s.names = append(s.names, regexp.MustCompile(`(?i)`+q))
		s.repl = append(s.repl, repl)
	}
	add(host, "<host>")
	if i := strings.IndexByte(host, '.'); i > 0 {
		add(host[:i], "<host>")
	}
	add(user, "<user>")
	return s
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// String returns t with the home, user and host taken out.
func (s *Scrubber) String(t string) string {
	for _, h := range s.homes {
		t = replaceFold(t, h, "~")
	}
	for i, re := range s.names {
		t = re.ReplaceAllLiteralString(t, s.repl[i])
	}
	return t
}

// replaceFold replaces every case-insensitive occurrence of old in s.
func replaceFold(s, old, repl string) string {
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(old))
	return re.ReplaceAllLiteralString(s, repl)
}

// Scrub applies s to every string reachable from v (a pointer): fields,
// pointers, slices, maps' values.
func Scrub(v any, s *Scrubber) {
	scrubValue(reflect.ValueOf(v), s)
}

func scrubValue(v reflect.Value, s *Scrubber) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			scrubValue(v.Elem(), s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				scrubValue(v.Field(i), s)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			scrubValue(v.Index(i), s)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			scrubValue(e, s)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(s.String(v.String()))
		}
	}
}
