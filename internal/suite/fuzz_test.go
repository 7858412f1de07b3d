package suite

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	def, err := builtinFS.ReadFile("builtin/default.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	if orig, err := os.ReadFile("testdata/original-format.json"); err == nil {
		f.Add(orig)
	}
	for _, s := range []string{
		"", "null", "[]", "{", "}", `"x"`, "0", "{}", "\uFEFF{}", "{} {}",
		doc(), doc(`{}`), doc(`null`), doc(`{"name":"a","prompt":"p"}`),
		doc(`{"name":"a","prompt":"p","temperature":0,"max_tokens":1e2,"stop":["\n"],"min_tokens":5,"ignore_eos":true}`),
		doc(`{"name":"a","system":"s","messages":[{"role":"user","content":"q"}],"category":"c"}`),
		doc(`{"name":"a","prompt":"p","max_tokens":1e400,"temperature":-0}`),
		doc(`{"name":"a","turns":["q1","q2"],"system":"s"}`),
		doc(`{"name":"a","conversation":{"turns":3,"user_tokens":20},"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`),
		doc(`{"name":"a","turns":[],"conversation":null,"prompt":"p"}`),
		doc(`{"name":"a","turns":["x",1],"conversation":{"turns":"3","user_tokens":1e9}}`),
		doc(`{"name":"a","prompt":"p","max_tokens":9223372036854775808}`),
		doc(`{"name":"\ud800","prompt":"\xff\xfe"}`),
		doc(`{"name":"a","prompt":"p","a":{"b":[[[[[[]]]]]]}}`),
		doc(`{"name":"a","prompt":"p"}`, `{"name":"A","prompt":"p"}`),
		`{"name":"t","scenarios":[{"name":"a","prompt":"p"}],"default_config":{"iterations":5,"temperature":0}}`,
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		`{"name":"t","scenarios":[` + strings.Repeat(`{},`, 200) + `{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.json", data)
		if err != nil {
			if s != nil {
				t.Fatal("both a suite and an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed suite fails Validate: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Parse("fuzz.json", out)
		if err != nil {
			t.Fatalf("round trip fails: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(s, back) {
			t.Fatalf("round trip changed the suite:\n%+v\n%+v", s, back)
		}
		for i := range s.Scenarios {
			if len(s.Scenarios[i].FirstMessages("n")) == 0 {
				t.Fatalf("scenario %d builds no messages", i+1)
			}
		}
	})
}
