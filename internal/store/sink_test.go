package store

import "flperf/internal/runner"

// The store does not import the runner (it keeps internal/result's data);
// a RecordWriter is still the runner's Sink and Failer, checked here.
var (
	_ runner.Sink   = (*RecordWriter)(nil)
	_ runner.Failer = (*RecordWriter)(nil)
)
