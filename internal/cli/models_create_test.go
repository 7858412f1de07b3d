package cli

import (
	"fmt"
	"strings"
	"testing"
)

func TestModelsCreateUsage(t *testing.T) {
	ep := ollamaEndpoint(t)
	gguf := writeFile(t, "m.gguf", "GGUF")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"models", "create", "m", "--endpoint", ep}, ExitUsage, "--file"},
		{[]string{"models", "pull", "m", "--file", gguf, "--endpoint", ep}, ExitUsage, "only with create"},
		{[]string{"models", "create", "m", "--file", gguf, "--parameter", "num_thread", "--endpoint", ep}, ExitUsage, "name=value"},
		{[]string{"models", "create", "m", "--file", gguf, "--parameter", "a=1", "--parameter", "a=2", "--endpoint", ep}, ExitUsage, "given twice"},
		// The simulated engine (an OpenAI server) cannot make a model from a file.
		{[]string{"models", "create", "m", "--file", gguf, "--engine", "sim"}, ExitFailure, "cannot make a model from a file"},
	} {
		o := run(t, c.args...)
		if o.code != c.code || !strings.Contains(o.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, o.code, o.stderr, c.code, c.want)
		}
	}
}

func TestModelParams(t *testing.T) {
	p := modelParams{}
	for _, v := range []string{"num_thread=1", "temperature=0.5", "stop=END", "stop=<|x|>", "use_mmap=false", "penalize_newline=TRUE", "name=a=b"} {
		if err := p.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	want := map[string]any{"num_thread": int64(1), "temperature": 0.5, "stop": []string{"END", "<|x|>"}, "use_mmap": false,
		"penalize_newline": true, "name": "a=b"}
	if fmt.Sprintf("%#v", map[string]any(p)) != fmt.Sprintf("%#v", want) {
		t.Errorf("parameters %#v, want %#v", map[string]any(p), want)
	}
	for _, bad := range []string{"", "=1", "x", "num_thread=2"} {
		if err := p.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}
