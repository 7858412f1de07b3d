// Package store is FLPerformance's durable history: every run, every
// per-request record, the run's summaries and its event log, in one embedded
// SQLite database (modernc.org/sqlite, pure Go, no cgo) in the user's data
// directory.
//
// The database is opened in WAL mode with a busy timeout, foreign keys on and
// synchronous=NORMAL: a commit survives the process being killed (kill -9),
// readers never block the writer, and two writers (two flperf processes, or
// the web app and the CLI) serialise on the busy timeout instead of failing.
// The schema is a list of numbered embedded migrations (migrations/*.sql)
// applied in one transaction; PRAGMA user_version is the schema version and
// a database written by a newer flperf is refused without being touched, as
// is a file that is not an flperf SQLite database.
//
// A run is written while it goes: BeginRun inserts it as "running",
// a RecordWriter (a runner.Sink) commits the records in small batches from a
// background goroutine, and FinishRun stores the final status and the
// summaries recomputed from the stored records. A run whose process died
// is marked "interrupted" by the next Open; its records stay readable and
// exportable, and Run recomputes its summary from them.
//
// Every figure Run returns is the recomputation from the stored records:
// for a finished run it returns the summaries FinishRun (or Import)
// stored, which are that recomputation, as long as they are marked as
// computed from the records the run still has, by this build; otherwise
// (and always with RecomputeRun) it recomputes, reading only the columns
// the statistics use, with several readers at once. StatsRecords and
// SpreadRecords read a large run's records narrowly for the app's
// distributions and text samples.
package store
