package cli

import (
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// kindsSuite has a conversation of three turns and a scenario of an exact
// input length.
const kindsSuite = `{"name":"kinds","version":"1","scenarios":[
 {"name":"chat","turns":["Hello.","Tell me more.","Thanks."],"max_tokens":6},
 {"name":"long","input_tokens":64,"max_tokens":6}]}`

// TestExportCSVTurnsAndInputLengths checks, on the simulated engine, that
// the CSV export carries the figures the JSON does for the new scenario
// kinds: one row per turn of the conversation (requests, ok, TTFT p50,
// mean input and cached tokens, cached share) after the group rows, and
// the input-length figures and method on the input-length scenario's row.
func TestExportCSVTurnsAndInputLengths(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "kinds.json", kindsSuite)
	db := newDB(t)
	id := savedID(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "6")

	o := run(t, "export", id, "--format", "json", "--db", db)
	wantCode(t, o, ExitOK)
	var doc struct {
		Groups []struct {
			Scenario    string `json:"scenario"`
			InputLength *struct {
				N             int      `json:"n"`
				RequestedMean *float64 `json:"requested_mean"`
				MeasuredMean  *float64 `json:"measured_mean"`
				Off           int      `json:"off"`
			} `json:"input_length"`
			Turns []struct {
				Turn         int      `json:"turn"`
				Requests     int      `json:"requests"`
				OK           int      `json:"ok"`
				InputTokens  float64  `json:"input_tokens"`
				CachedTokens float64  `json:"cached_tokens"`
				CachedShare  *float64 `json:"cached_share"`
				TTFT         struct {
					P50 float64 `json:"p50"`
				} `json:"ttft_ms"`
			} `json:"turns"`
		} `json:"groups"`
		Suite struct {
			InputLengths *struct {
				Prompts []struct {
					Method string `json:"method"`
				} `json:"prompts"`
			} `json:"input_lengths"`
		} `json:"suite"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatal(err)
	}

	o = run(t, "export", id, "--format", "csv", "--db", db)
	wantCode(t, o, ExitOK)
	rows, err := csv.NewReader(strings.NewReader(o.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := rows[0]
	cell := func(row []string, k string) string { return row[slices.Index(head, k)] }
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	var turnRows, groupRows [][]string
	for _, r := range rows[1:] {
		if cell(r, "turn") != "" {
			turnRows = append(turnRows, r)
		} else {
			groupRows = append(groupRows, r)
		}
	}
	if len(groupRows) != 3 {
		t.Fatalf("%d group rows, want chat, long and the pooled row", len(groupRows))
	}
	for _, g := range doc.Groups {
		switch g.Scenario {
		case "chat":
			if len(g.Turns) != 3 || len(turnRows) != 3 {
				t.Fatalf("%d turns in the JSON, %d turn rows in the CSV; want 3", len(g.Turns), len(turnRows))
			}
			for i, tf := range g.Turns {
				r := turnRows[i]
				share := ""
				if tf.CachedShare != nil {
					share = f(*tf.CachedShare)
				}
				got := strings.Join([]string{cell(r, "scenario"), cell(r, "turn"), cell(r, "requests"), cell(r, "ok"), cell(r, "ttft_ms_p50"),
					cell(r, "turn_input_tokens_mean"), cell(r, "turn_cached_tokens_mean"), cell(r, "cached_share"), cell(r, "e2e_ms_p50")}, ",")
				want := strings.Join([]string{"chat", strconv.Itoa(tf.Turn), strconv.Itoa(tf.Requests), strconv.Itoa(tf.OK), f(tf.TTFT.P50),
					f(tf.InputTokens), f(tf.CachedTokens), share, ""}, ",")
				if got != want || tf.Requests != 2 {
					t.Errorf("turn %d: CSV %s, JSON %s", tf.Turn, got, want)
				}
			}
		case "long":
			il := g.InputLength
			if il == nil || il.N != 6 || *il.RequestedMean != 64 || doc.Suite.InputLengths == nil {
				t.Fatalf("the JSON's input length: %+v", il)
			}
			r := groupRows[1]
			got := strings.Join([]string{cell(r, "scenario"), cell(r, "input_length_n"), cell(r, "input_requested_mean"), cell(r, "input_measured_mean"),
				cell(r, "input_length_off"), cell(r, "input_length_method")}, ",")
			want := strings.Join([]string{"long", "6", "64", f(*il.MeasuredMean), strconv.Itoa(il.Off), doc.Suite.InputLengths.Prompts[0].Method}, ",")
			if got != want || doc.Suite.InputLengths.Prompts[0].Method == "" {
				t.Errorf("input-length cells %s, the JSON's %s", got, want)
			}
		}
	}
}
