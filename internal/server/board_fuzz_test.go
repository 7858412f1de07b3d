package server

import (
	"errors"
	"net/url"
	"testing"

	"flperf/internal/board"
	"flperf/internal/store"
)

// FuzzBoardQuery: any query string is either a configuration and filters
// or a 400 naming one of the board's parameters; never a panic.
func FuzzBoardQuery(f *testing.F) {
	for _, s := range []string{"", "suite=default&scenarios=a,b&load=concurrency+c%3D1+max_tokens%3Dscenario", "since=2026-12-07&until=2026-12-01",
		"suite=x", "scenarios=x", "since=2026-13-45", "until=2026-12-07T10:00:00Z", "engine=%00&quantization=q4", "rank=score&suite=s&scenarios=a&load=l&profile=standard/1"} {
		f.Add(s)
	}
	configs := []store.BoardConfig{{Config: board.Config{Suite: "default", Scenarios: "a", Load: "l"}}}
	fields := map[string]bool{"suite": true, "scenarios": true, "load": true, "profile": true, "engine": true, "engine_version": true,
		"quantization": true, "since": true, "until": true, "rank": true, "model": true, "machine": true, "metric": true}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		bf, err := boardQuery(q, configs)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Kind != kindBadRequest || !fields[ae.Field] {
				t.Fatalf("%q: error %v does not name a parameter", raw, err)
			}
			return
		}
		if bf.Suite == "" && q.Get("suite") == "" && bf.Config != configs[0].Config {
			t.Fatalf("%q: no configuration given, got %+v", raw, bf.Config)
		}
		if !bf.Since.IsZero() && !bf.Until.IsZero() && !bf.Until.After(bf.Since) {
			t.Fatalf("%q: an empty date range was accepted", raw)
		}
	})
}
