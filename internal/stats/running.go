package stats

import "flperf/internal/record"

// Running gathers a run's records as they arrive, for the figures so far of
// each model × scenario × stage: the live panel of the app and the live
// display of `flperf run` both read them. It keeps its records with the
// Aggregator's own code (the same per-request rows, failure counts and
// measurement window), so once a stage's last record is in, its figures
// equal that stage's Summary group. (It keeps the ITL samples too, as the
// Aggregator does; a caller that runs long keeps one stage's records at a
// time, as the app and the CLI do.)
//
// Like the Aggregator it is not safe for concurrent use; Snapshot is cheap
// and may be taken under the lock that guards Add, and the snapshot's
// Figures (which sort) computed outside it.
type Running struct{ a Aggregator }

// Add records r (warm-ups are only counted, as by the Aggregator).
func (s *Running) Add(r *record.Record) {
	s.a.Add(r)
}

// RunningSnapshot is one group's records so far, frozen: later Adds never
// change what it holds (rows are only ever appended after its length).
type RunningSnapshot struct{ g acc }

// Snapshot returns the records so far of model × scenario × stage (stage
// "" outside a sweep); empty when none arrived.
func (s *Running) Snapshot(model, scenario, stage string) RunningSnapshot {
	g, ok := s.a.groups[groupKey{model, scenario, stage}]
	if !ok {
		return RunningSnapshot{}
	}
	return RunningSnapshot{acc{key: g.key, t: g.t, rows: g.rows[:len(g.rows):len(g.rows)]}} // no ITL: Figures reads none
}

// RunningFigures are a group's figures so far, by the definitions of its
// Summary group (docs/metrics.md).
type RunningFigures struct {
	Requests  int     // non-warm-up records, canceled included
	OK        int     // ok records
	Errors    int     // failed records (canceled ones are not failures)
	Warmup    int     // warm-up records
	ErrorRate float64 // Errors / (Requests − canceled), 0..1

	TTFT      Dist // ms, over ok records
	TPOT      Dist // ms
	E2E       Dist // ms
	DecodeTPS Dist // 1000 / TPOT ms, per request

	Window           float64 // s: first non-warm-up send → last end (0: unknown)
	OutputTokensPerS float64 // Σ output tokens of ok records / Window (0: unknown)
}

// Figures computes the snapshot's figures (it sorts its samples).
func (s RunningSnapshot) Figures() RunningFigures {
	t := s.g.t
	f := RunningFigures{Requests: t.requests, OK: t.ok, Errors: t.failed(), Warmup: t.warmup}
	if measured := t.requests - t.canceled; measured > 0 {
		f.ErrorRate = float64(f.Errors) / float64(measured)
	}
	smp := s.g.samples(nil) // the snapshot holds no ITL samples: no scratch is needed
	f.TTFT, f.TPOT, f.E2E, f.DecodeTPS = distSorted(smp[mTTFT]), distSorted(smp[mTPOT]), distSorted(smp[mE2E]), distSorted(smp[mDecode])
	f.Window = t.window()
	if f.Window > 0 {
		if v := float64(t.sumOut) / f.Window; finite(v) {
			f.OutputTokensPerS = v
		}
	}
	return f
}
