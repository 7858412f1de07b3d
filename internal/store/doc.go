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
// background goroutine, and FinishRun stores the final status and
// summaries. A run whose process died is marked "interrupted" by the next
// Open; its records stay readable and exportable, and Run recomputes its
// summary from them.
package store
