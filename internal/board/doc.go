// Package board builds flperf's cross-hardware leaderboard and trend view
// from stored summaries: one Row per completed run × model × load level
// (what the store indexes as each run is saved), the machine that ran it
// described and classed from its fingerprint, and the model × machine
// matrix of one like-for-like configuration (Build). A configuration is a
// suite, a set of scenarios, a load (mode, level, max_tokens, streaming,
// fixed output) and a profile version: rows of different configurations
// never share a matrix, so a cell never mixes them. Profiled runs
// (`flperf run --profile`) carry their composite score; custom runs never
// do and are never ranked against them. The package reads no records.
package board
