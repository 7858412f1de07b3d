package report

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// TestCSVInputLengthsCachesAndTurns checks the columns appended to the CSV
// for input lengths, prefix caches and conversation turns, with exact
// values: a "long" scenario asked for 100 input tokens twice and the
// engine counted 100 and 103 (one more than 1 % off); a "chat"
// conversation of two turns whose turn 2 had 100 of its 150 input tokens
// cached. The old columns keep their places.
func TestCSVInputLengthsCachesAndTurns(t *testing.T) {
	r := result(t)
	before := CSVHeader()[:len(CSVHeader())-len(inputCSVHeader)-len(cacheCSVHeader)-len(turnCSVHeader)]
	var agg stats.Aggregator
	t0 := r.Started
	add := func(seq int, sc string, turn, in, cached, requested int, ttft time.Duration) {
		sent := t0.Add(time.Duration(seq) * time.Second)
		rec := &record.Record{Seq: int64(seq), Model: "fast", Scenario: sc, Stream: true, MaxTok: 10, Turn: turn,
			Scheduled: sent, Sent: sent, FirstToken: ttft, LastToken: ttft + 90*time.Millisecond, End: ttft + 91*time.Millisecond,
			ChunkCount: 10, InputTokens: in, InputSource: record.SourceUsage, CachedTokens: cached, RequestedInputTokens: requested,
			OutputTokens: 10, OutputSource: record.SourceUsage, Status: 200, Outcome: record.OK}
		if requested > 0 {
			rec.InputLengthMethod = "tokenizer"
		}
		agg.Add(rec)
	}
	add(0, "chat", 1, 100, 0, 0, 80*time.Millisecond)
	add(1, "chat", 2, 150, 100, 0, 30*time.Millisecond)
	add(2, "chat", 1, 100, 0, 0, 80*time.Millisecond)
	add(3, "chat", 2, 150, 100, 0, 40*time.Millisecond)
	add(4, "long", 0, 100, 0, 100, 50*time.Millisecond)
	add(5, "long", 0, 103, 0, 100, 50*time.Millisecond)
	r.Summary = agg.Summary(stats.Options{})
	r.Suite.InputLengths = &runner.InputLengths{Prompts: []runner.InputLength{{Model: "fast", Scenario: "long", Spec: "100", Method: "tokenizer", Lengths: 1}}}

	var b bytes.Buffer
	if err := CSV(&b, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := rows[0]
	if !slices.Equal(head[:len(before)], before) {
		t.Fatalf("the columns before the new ones moved: %q", head)
	}
	if got := strings.Join(head[len(before):], ","); got != "input_length_n,input_requested_mean,input_measured_mean,input_length_difference,input_length_off,input_length_method,cached_tokens,cached_share,turn,turn_input_tokens_mean,turn_cached_tokens_mean" {
		t.Fatalf("new columns %s", got)
	}
	cell := func(row []string, k string) string { return row[slices.Index(head, k)] }
	pick := func(row []string, ks ...string) string {
		var out []string
		for _, k := range ks {
			out = append(out, cell(row, k))
		}
		return strings.Join(out, ",")
	}
	var got []string
	for _, row := range rows[1:] {
		if len(row) != len(head) {
			t.Fatalf("row of %d cells, header of %d", len(row), len(head))
		}
		got = append(got, pick(row, "model", "scenario", "requests", "ok", "ttft_ms_n", "ttft_ms_p50", "ttft_ms_max", "input_length_n", "input_requested_mean",
			"input_measured_mean", "input_length_difference", "input_length_off", "input_length_method", "cached_tokens", "cached_share", "turn",
			"turn_input_tokens_mean", "turn_cached_tokens_mean", "window_s"))
	}
	want := []string{
		// model × scenario rows: chat's TTFT 30, 40, 80, 80 (p50 60), 200 of
		// 500 input tokens cached, its window 0 s to 3 s + 131 ms
		"fast,chat,4,4,4,60,80,,,,,,,200,0.4,,,,3.1310000000000002",
		// long: (203 − 200) ÷ 200 = 1.5 % longer than asked; 103 is 3 % off
		"fast,long,2,2,2,50,50,2,100,101.5,0.015,1,tokenizer,,,,,,1.141",
		// the pooled row: 200 of 703 input tokens cached; no method
		"fast,,6,6,6,50,80,2,100,101.5,0.015,1,,200,0.2844950213371266,,,,5.141",
		// the chat's turns: requests, ok, TTFT; every whole-group figure empty
		"fast,chat,2,2,2,80,80,,,,,,,,0,1,100,0,",
		"fast,chat,2,2,2,35,40,,,,,,,,0.6666666666666666,2,150,100,",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMarkdownInputLengths checks the Markdown report's input-length
// block: long asked for 100 tokens twice and got 100 and 103.
func TestMarkdownInputLengths(t *testing.T) {
	r := result(t)
	var agg stats.Aggregator
	for i, in := range []int{100, 103} {
		sent := r.Started.Add(time.Duration(i) * time.Second)
		agg.Add(&record.Record{Seq: int64(i), Model: "fast", Scenario: "long", Stream: true, MaxTok: 10, Scheduled: sent, Sent: sent,
			FirstToken: 50 * time.Millisecond, LastToken: 140 * time.Millisecond, End: 141 * time.Millisecond, ChunkCount: 10,
			InputTokens: in, InputSource: record.SourceUsage, RequestedInputTokens: 100, InputLengthMethod: "calibration",
			OutputTokens: 10, OutputSource: record.SourceUsage, Status: 200, Outcome: record.OK})
	}
	r.Summary = agg.Summary(stats.Options{})
	r.Suite.InputLengths = &runner.InputLengths{Prompts: []runner.InputLength{{Model: "fast", Scenario: "long", Spec: "100", Method: "calibration", Lengths: 1}},
		CalibrationRequests: 7, CalibrationSeconds: 0.25}
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"#### Input lengths", "| fast | long |  | calibration | 2 | 100.0 | 101.5 | 1.50% | 1 |",
		"Resolved before the run: 0 tokenizer counts, 7 calibration requests taking 0.25 s"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}
