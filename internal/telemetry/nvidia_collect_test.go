package telemetry

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// smiLine is one line of the sampling loop for GPU idx with utilisation util.
func smiLine(idx, util int) string {
	return fmt.Sprintf("%d, %d, 1234, 81559, 69.88, 31", idx, util)
}

// gpuUtils renders a snapshot as "index:util …" ("" when empty).
func gpuUtils(gs []GPUSample) string {
	var parts []string
	for _, g := range gs {
		u := "nil"
		if g.UtilPct != nil {
			u = fmt.Sprint(*g.UtilPct)
		}
		parts = append(parts, fmt.Sprintf("%d:%s", g.Index, u))
	}
	return strings.Join(parts, " ")
}

// TestNvidiaWholeRounds feeds the collector's line handler one line at a
// time and takes a snapshot after each: a snapshot holds only whole rounds
// (utilisation here numbers the round), never part of one.
func TestNvidiaWholeRounds(t *testing.T) {
	type step struct {
		line string
		want string // snapshot after the line
	}
	cases := map[string][]step{
		"two GPUs": {
			{smiLine(0, 1), ""}, // the first round is not known to be whole yet
			{smiLine(1, 1), ""},
			{smiLine(0, 2), "0:1 1:1"}, // the second began: the first was whole
			{smiLine(1, 2), "0:2 1:2"}, // every GPU of the last round came again
			{smiLine(0, 3), "0:2 1:2"}, // half a round is not handed on
			{"", "0:2 1:2"},
			{"No devices were found", "0:2 1:2"},
			{smiLine(1, 3), "0:3 1:3"},
		},
		"one GPU": {
			{smiLine(0, 1), ""},
			{smiLine(0, 2), "0:2"}, // ends round 1 and completes round 2
			{smiLine(0, 3), "0:3"},
		},
		"a GPU drops out": {
			{smiLine(0, 1), ""},
			{smiLine(1, 1), ""},
			{smiLine(0, 2), "0:1 1:1"},
			{smiLine(0, 3), "0:3 1:1"}, // round 2 held only GPU 0: GPU 0 alone is a whole round now
			{smiLine(0, 4), "0:4 1:1"},
		},
		"a GPU joins": {
			{smiLine(0, 1), ""},
			{smiLine(0, 2), "0:2"},
			{smiLine(0, 3), "0:3"},
			{smiLine(1, 3), "0:3 1:3"}, // handed on with its round
			{smiLine(0, 4), "0:3 1:3"}, // and now awaited
			{smiLine(1, 4), "0:4 1:4"},
		},
		"GPUs listed out of order": {
			{smiLine(1, 1), ""},
			{smiLine(0, 1), ""},
			{smiLine(1, 2), "0:1 1:1"},
			{smiLine(0, 2), "0:2 1:2"},
		},
		"four GPUs": {
			{smiLine(0, 1), ""},
			{smiLine(1, 1), ""},
			{smiLine(2, 1), ""},
			{smiLine(3, 1), ""},
			{smiLine(0, 2), "0:1 1:1 2:1 3:1"},
			{smiLine(1, 2), "0:1 1:1 2:1 3:1"},
			{smiLine(2, 2), "0:1 1:1 2:1 3:1"},
			{smiLine(3, 2), "0:2 1:2 2:2 3:2"},
		},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			c := &nvidiaCollector{latestGPU: latestGPU{staleAfter: time.Hour}, notes: &noteLog{}}
			for i, s := range steps {
				c.line(s.line)
				if got := gpuUtils(c.snapshot(time.Now(), nil)); got != s.want {
					t.Fatalf("after line %d %q: snapshot %q, want %q", i, s.line, got, s.want)
				}
			}
		})
	}
}

// signalWriter is a Raw writer that closes marked when it receives the
// empty line the fake tool prints once it has printed everything else.
type signalWriter struct {
	marked chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if string(p) == "\n" {
		close(w.marked)
	}
	return len(p), nil
}

// TestFakeNvidiaSMIPartialRound runs a fake nvidia-smi that prints some
// lines, then an empty line, then hangs. The empty line reaches the
// collector only after every line before it has been handled, so the
// sample Stop takes then sees exactly those lines: whatever round is half
// printed must not show.
func TestFakeNvidiaSMIPartialRound(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  string // GPUs of the last sample
	}{
		{"first round half printed", []string{smiLine(0, 1)}, ""},
		{"first round printed", []string{smiLine(0, 1), smiLine(1, 1)}, ""},
		{"second round half printed", []string{smiLine(0, 1), smiLine(1, 1), smiLine(0, 2)}, "0:1 1:1"},
		{"second round printed", []string{smiLine(0, 1), smiLine(1, 1), smiLine(0, 2), smiLine(1, 2)}, "0:2 1:2"},
		{"third round half printed", []string{smiLine(0, 1), smiLine(1, 1), smiLine(0, 2), smiLine(1, 2), smiLine(0, 3)}, "0:2 1:2"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			fakeTools(t, map[string]string{"nvidia-smi": "printf '%s\\n' '" + strings.Join(tt.lines, "' '") + "' ''\nexec {{SLEEP}} 3600\n"})
			raw := &signalWriter{marked: make(chan struct{})}
			// No tick within the test: the samples are the first and the
			// last (Stop's).
			s := startT(t, Options{Interval: time.Hour, Raw: raw, raplRoot: t.TempDir()})
			select {
			case <-raw.marked:
			case <-time.After(20 * time.Second):
				t.Fatal("the fake nvidia-smi's lines never arrived")
			}
			ser := s.Stop()
			if len(ser.Samples) != 2 {
				t.Fatalf("%d samples, want 2", len(ser.Samples))
			}
			if got := gpuUtils(ser.Samples[1].GPUs); got != tt.want {
				t.Errorf("last sample GPUs %q, want %q", got, tt.want)
			}
			// The first sample came before any line, or after some.
			if got := gpuUtils(ser.Samples[0].GPUs); got != "" && got != tt.want {
				t.Errorf("first sample GPUs %q, want none or %q", got, tt.want)
			}
			if len(ser.Notes) != 0 {
				t.Errorf("notes %v", ser.Notes)
			}
		})
	}
}
