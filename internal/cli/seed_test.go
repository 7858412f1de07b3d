package cli

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// recordKey is what must repeat exactly between two runs with one seed.
type recordKey struct {
	model, scenario string
	seq             float64
	warmup          bool
	in, out         float64
	outcome, text   string
}

func recordKeys(t *testing.T, stdout string) []recordKey {
	t.Helper()
	var keys []recordKey
	for _, r := range jsonlRecords(t, stdout) {
		w, _ := r["warmup"].(bool)
		text, _ := r["text"].(string)
		keys = append(keys, recordKey{str(t, r, "model"), str(t, r, "scenario"), num(t, r, "seq"), w,
			num(t, r, "input_tokens"), num(t, r, "output_tokens"), str(t, r, "outcome"), text})
	}
	slices.SortFunc(keys, func(a, b recordKey) int { return int(a.seq - b.seq) })
	return keys
}

// TestSeedRepeatsRun checks that two runs of the built-in simulated engine
// with the same --seed produce the same records in the same order, with the
// same token counts and the same generated text.
func TestSeedRepeatsRun(t *testing.T) {
	suitePath := writeFile(t, "tiny.json", tinySuite)
	args := []string{"run", "--engine", "sim", "--suite", suitePath, "--requests", "2", "--warmup", "1",
		"--seed", "42", "--format", "jsonl"}
	a, b := run(t, args...), run(t, args...)
	wantCode(t, a, ExitOK)
	wantCode(t, b, ExitOK)
	ka, kb := recordKeys(t, a.stdout), recordKeys(t, b.stdout)
	if len(ka) != 10 {
		t.Fatalf("%d records, want 10", len(ka))
	}
	if !slices.Equal(ka, kb) {
		t.Errorf("same seed, different records:\n%v\n%v", ka, kb)
	}
	for _, k := range ka {
		if k.text == "" || k.out == 0 || k.in == 0 {
			t.Errorf("record %v has no text or token counts", k)
		}
	}
}

// nonceRE is the per-request prefix that defeats prefix caches.
var nonceRE = regexp.MustCompile(`^\[([0-9a-f]{8})\] `)

// prompts runs flperf against a fresh recording engine and returns the first
// message of every chat request it sent, in order, with the run's records.
func prompts(t *testing.T, extra ...string) ([]string, []recordKey) {
	t.Helper()
	s := startTestSim(t, fastProfile("tiny"))
	args := append([]string{"run", "--endpoint", s.base, "--model", "tiny", "--suite", writeFile(t, "tiny.json", tinySuite),
		"--requests", "3", "--warmup", "1", "--format", "jsonl"}, extra...)
	o := run(t, args...)
	wantCode(t, o, ExitOK)
	var out []string
	for _, r := range s.chats() {
		b := r.chat(t)
		if len(b.Messages) == 0 {
			t.Fatalf("chat request without messages: %s", r.body)
		}
		out = append(out, b.Messages[0].Content)
	}
	keys := recordKeys(t, o.stdout)
	if len(out) != len(keys) || len(out) != 1+2*3 {
		t.Fatalf("%d requests sent and %d records, want 7 of each", len(out), len(keys))
	}
	return out, keys
}

// TestSeedSetsPromptNonces checks where the seed goes on the wire: the
// same seed sends byte-identical prompts (so a run can be repeated on a real
// engine), a different seed gives every request a different cache-busting
// nonce in front of the same prompt, no two requests of a run share a
// nonce, and --no-cache-bust sends the prompts exactly as written.
func TestSeedSetsPromptNonces(t *testing.T) {
	a, ka := prompts(t, "--seed", "42")
	b, kb := prompts(t, "--seed", "42")
	c, _ := prompts(t, "--seed", "43")
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different prompts:\n%q\n%q", a, b)
	}
	if !slices.Equal(ka, kb) {
		t.Errorf("same seed on two fresh engines, different records:\n%v\n%v", ka, kb)
	}
	seenNonce := map[string]bool{}
	for i := range a {
		na, nc := nonceRE.FindStringSubmatch(a[i]), nonceRE.FindStringSubmatch(c[i])
		if na == nil || nc == nil {
			t.Fatalf("request %d has no nonce prefix: %q / %q", i, a[i], c[i])
		}
		if na[1] == nc[1] {
			t.Errorf("request %d: seeds 42 and 43 gave the same nonce %s", i, na[1])
		}
		if seenNonce[na[1]] {
			t.Errorf("nonce %s used twice in one run: prefix caches could serve the repeat", na[1])
		}
		seenNonce[na[1]] = true
		if pa, pc := a[i][len(na[0]):], c[i][len(nc[0]):]; pa != pc {
			t.Errorf("request %d: prompts differ beyond the nonce: %q vs %q", i, pa, pc)
		}
	}

	plain, _ := prompts(t, "--seed", "42", "--no-cache-bust")
	for i, p := range plain {
		if p != "Say something short about the sea." && p != "Name two colours." {
			t.Errorf("request %d with --no-cache-bust sent %q, want the prompt exactly as written", i, p)
		}
	}
}

// TestRepeatCommandRepeatsRun checks that a run without --seed picks a
// seed, prints it, and stores a command line that, run again, produces the
// same records: the promise that every run can be repeated.
func TestRepeatCommandRepeatsRun(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	o := run(t, "run", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath, "--scenario", "beta",
		"--requests", "2", "--warmup", "0", "--max-tokens", "4", "--format", "json")
	wantCode(t, o, ExitOK)
	cfg := obj(t, decodeJSON(t, o.stdout), "config")
	seed := int64(num(t, cfg, "seed"))
	if !strings.Contains(o.stderr, fmt.Sprintf("seed %d)", seed)) {
		t.Errorf("stderr does not print the random seed %d:\n%s", seed, o.stderr)
	}
	var command []string
	for _, a := range list(t, cfg, "command") {
		command = append(command, a.(string))
	}
	for _, want := range [][]string{{"--endpoint", s.base}, {"--seed", strconv.FormatInt(seed, 10)},
		{"--scenario", "beta"}, {"--max-tokens", "4"}, {"--requests", "2"}, {"--model", "tiny"}} {
		if i := slices.Index(command, want[0]); i < 0 || i+1 >= len(command) || command[i+1] != want[1] {
			t.Errorf("command %q lacks %s %s", command, want[0], want[1])
		}
	}
	if slices.Contains(command, "--engine") {
		t.Errorf("command %q names --engine for a simulator reached through --endpoint: it would not repeat this run", command)
	}
	first := s.chats()
	if len(command) < 2 {
		t.Fatalf("command %q", command)
	}
	again := run(t, append(command[1:], "--format", "jsonl")...)
	wantCode(t, again, ExitOK)
	second := s.chats()[len(first):]
	if len(second) != len(first) {
		t.Fatalf("the repeated command sent %d requests, the run %d", len(second), len(first))
	}
	for i := range first {
		if string(first[i].body) != string(second[i].body) {
			t.Errorf("request %d differs when repeated:\n%s\n%s", i, first[i].body, second[i].body)
		}
	}
}
