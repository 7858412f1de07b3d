// Package capacity finds the highest load a model sustains within
// service-level objectives on latency percentiles (docs/metrics.md §10):
// `flperf capacity` and the app's capacity search.
//
// The search (Search) is a pure function over a callback that runs one
// load level and returns its per-request samples: it grows the level
// exponentially until a level fails, then bisects between the highest
// passing and the lowest failing level. A level passes only when every
// objective holds with confidence: the upper end of the percentile's 95 %
// confidence interval from order statistics (the method the statistics
// package uses for the median) is within the target. Each level therefore
// runs at least as many requests as that interval needs (MinSamples), and
// a failed request counts as a latency beyond every target.
//
// The package knows nothing of engines or runs; internal/bench runs each
// level as a stage of one stored run.
package capacity
