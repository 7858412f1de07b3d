// Package stats turns per-request records into the summaries of
// docs/metrics.md §5: per model × scenario (× stage), per model pooled over its
// scenarios, and for the whole run.
//
// An Aggregator keeps the raw samples (Add is an append); Summary sorts each
// sample set once and computes exact type-7 percentiles, a distribution-free
// 95 % confidence interval for the median (order statistics, as benchstat
// does) and a Student-t interval for the mean. Pooled rows merge the sorted
// samples of their members; percentiles are never averaged.
//
// Latency-like figures come from ok requests only, so every Group also
// carries its error rate, failure breakdown and plain-language warnings:
// a group whose requests all failed has empty distributions (null in JSON),
// an error rate of 1 and a warning, and never looks fast.
//
// Compare sets two sides' records against each other (docs/metrics.md §6): per
// scenario and pooled, medians with their CIs, the relative change, a
// Mann-Whitney U test, and benchstat's geometric-mean row.
package stats
