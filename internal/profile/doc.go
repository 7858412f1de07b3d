// Package profile defines flperf's standard benchmark profiles: fixed,
// versioned workloads (`flperf run --profile standard`) whose figures are
// comparable across machines, and the composite score of a profiled run
// against the profile's named reference (docs/metrics.md §11).
//
// A profile is data: its scenarios, its stages (which scenario, at which
// load, for how many requests or how long) and its reference figures. It
// never takes the user's overrides; a change to any of them is a new
// version, and a different sustained duration a different variant, so
// that runs ranked together always ran the same workload. The package
// knows nothing of engines or runs: internal/bench runs each stage as a
// stage of one stored run and fills the Result from its summaries.
package profile
