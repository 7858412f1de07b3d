package load_test

import (
	"context"
	"fmt"
	"time"

	"flperf/internal/load"
	"flperf/internal/record"
)

func ExampleRun() {
	plan := load.Plan{Mode: load.Sequential, Requests: 3, Warmup: 1}
	do := func(ctx context.Context, job load.Job) record.Record {
		// A real DoFunc sends the request; Run fills Seq, Warmup, Worker
		// and Scheduled when the DoFunc leaves them zero.
		return record.Record{Sent: time.Now(), Outcome: record.OK}
	}
	for rec := range load.Run(context.Background(), plan, do) {
		fmt.Println(rec.Seq, rec.Warmup, rec.Outcome)
	}
	// Output:
	// 0 true ok
	// 1 false ok
	// 2 false ok
	// 3 false ok
}

func ExamplePlan_Validate() {
	plan := load.Plan{Mode: load.Concurrency, Rate: 5, Warmup: -1}
	for _, err := range plan.Validate() {
		fmt.Println(err)
	}
	// Output:
	// concurrency: must be >= 1, got 0
	// rate: only used in rate mode, got 5 in concurrency mode
	// requests: set requests or duration (or both): an unbounded stage never ends
	// warmup: must be >= 0, got -1
}

func ExamplePlan_String() {
	fmt.Println(load.Plan{Mode: load.Concurrency, Concurrency: 8})
	fmt.Println(load.Plan{Mode: load.Rate, Rate: 5, Arrival: load.Poisson, MaxInFlight: 16})
	// Output:
	// concurrency=8
	// rate=5/s poisson cap=16
}

func ExamplePoissonPacer() {
	s := load.PoissonPacer(10, 42).(load.Schedule)
	a, _ := s.At(3)
	b, _ := load.PoissonPacer(10, 42).(load.Schedule).At(3)
	fmt.Println(a == b)
	// Output: true
}
