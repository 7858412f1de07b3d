// Package result holds the data of one benchmark run: what was asked
// (Config, its load levels), how it ended (Status), what answered and the
// summaries (Result and its parts: SuiteInfo, StageServer, ContextFit,
// OpenLoop, Resources). It is data only, beneath both the runner, which
// produces a Result, and the store, which keeps it: storage depends on data,
// never on orchestration.
package result
