package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"flperf/internal/load"
	"flperf/internal/runner"
)

// An open-loop stage's drops and its over-saturation stop, found while the
// run went (after BeginRun), are stored with the run and read back as they
// were, with the run's on-full choice and detector options.
func TestOpenLoopStagesStored(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	recs := makeRecords(20, 4)
	res := testResult("open-loop")
	res.Config.Mode, res.Config.Concurrency, res.Config.Rate, res.Config.MaxInFlight = load.Rate, 0, 8, 4
	res.Config.OnFull = load.Drop
	res.Config.Oversaturation = load.Oversaturation{Window: 30 * time.Second, Growth: 0.2}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter(res.ID, WriterOptions{})
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []runner.OpenLoop{
		{Model: "m1", Scenario: "chat", Rate: 8, OnFull: load.Drop, Arrivals: 30, Dropped: 10, Requests: 20},
		{Model: "m2", Scenario: "code", Stage: "rate=8/s", Rate: 8, OnFull: load.Queue, Arrivals: 90, Requests: 90,
			Oversaturated: &load.Oversaturated{ElapsedS: 41.5, WindowS: 30, Rate: 8, InFlight: 57, InFlightSlope: 3.25, TTFTSlope: 0.41}},
	}
	res.Suite.OpenLoop = want
	finish(t, db, res, recs)
	got, err := db.Run(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Suite.OpenLoop, want) {
		t.Errorf("open loop read back as %+v, want %+v", got.Suite.OpenLoop, want)
	}
	if got.Config.OnFull != load.Drop || got.Config.Oversaturation != res.Config.Oversaturation {
		t.Errorf("config read back: on_full %q, oversaturation %+v", got.Config.OnFull, got.Config.Oversaturation)
	}
}
