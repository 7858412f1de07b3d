package bench

import (
	"errors"
	"strings"
	"testing"
	"time"

	"flperf/internal/load"
)

// The run request's open-loop options reach the configuration, and the
// command line that repeats the run gives them back.
func TestSpecOpenLoopOptions(t *testing.T) {
	s := Spec{Models: []string{"m"}, Rate: floatp(4), MaxInFlight: intp(8), OnFull: "drop",
		Oversaturation: "window=30s,sustain=10s", Seed: new(int64)}
	r, err := s.Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	want := load.Oversaturation{Window: 30 * time.Second, Sustain: 10 * time.Second}
	if r.Config.OnFull != load.Drop || r.Config.Oversaturation != want {
		t.Fatalf("config: on_full %q, oversaturation %+v", r.Config.OnFull, r.Config.Oversaturation)
	}
	if p := r.Config.Plan(); p.OnFull != load.Drop || p.Oversaturation != want || p.String() != "rate=4/s cap=8 drop" {
		t.Fatalf("plan %+v", p)
	}
	r.Config.Endpoint = "http://127.0.0.1:9/v1"
	cmd := strings.Join(repeatCommand(&r.Config, &r.Spec, false), " ")
	if !strings.Contains(cmd, "--max-in-flight 8 --on-full drop --oversaturation window=30s,sustain=10s ") {
		t.Fatalf("repeat command %s", cmd)
	}
	s.OnFull, s.Oversaturation = "", "off"
	if r, err = s.Validate(Check{}); err != nil || r.Config.OnFull != "" || !r.Config.Oversaturation.Off {
		t.Fatalf("off: %+v, %v", r, err)
	}
	if cmd := strings.Join(repeatCommand(&r.Config, &r.Spec, false), " "); !strings.Contains(cmd, "--oversaturation off") || strings.Contains(cmd, "--on-full") {
		t.Fatalf("repeat command %s", cmd)
	}
}

// Bad open-loop options are refused, each naming its field the caller's
// way, and only once.
func TestSpecOpenLoopProblems(t *testing.T) {
	cases := []struct {
		s     Spec
		field string
		says  string
	}{
		{Spec{Rate: floatp(4), MaxInFlight: intp(2), OnFull: "spill"}, "on_full", `must be queue or drop, got "spill"`},
		{Spec{Rate: floatp(4), OnFull: "drop"}, "on_full", "drop needs --max-in-flight"},
		{Spec{Concurrency: intp(4), OnFull: "queue"}, "on_full", "only used with --rate"},
		{Spec{Rate: floatp(4), Oversaturation: "growth=2"}, "oversaturation", "growth must be"},
		{Spec{Rate: floatp(4), Oversaturation: "sometimes"}, "oversaturation", "want off, on, or key=value"},
		{Spec{Concurrency: intp(4), Oversaturation: "off"}, "oversaturation", "only used with --rate"},
	}
	flags := func(f string) string { return "--" + strings.ReplaceAll(f, "_", "-") }
	for _, c := range cases {
		s := c.s
		s.Models = []string{"m"}
		_, err := s.Validate(Check{Name: flags})
		var p Problems
		if !errors.As(err, &p) || len(p) != 1 || p[0].Field != c.field || !strings.HasPrefix(p[0].Error(), flags(c.field)+": ") || !strings.Contains(p[0].Error(), c.says) {
			t.Errorf("%+v: %v; want one problem with %s saying %q", c.s, err, c.field, c.says)
		}
	}
}
