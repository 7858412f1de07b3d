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
//
// # PostgreSQL
//
// Open also takes a postgres:// URL: the same DB, the same API, on a
// PostgreSQL server (pgx's database/sql driver, pure Go), in the
// connection's current schema. One implementation serves both: the
// queries are written in SQL both accept, with SQLite's placeholders
// (? and ?NNN; pgConn rebinds them to $N), and the few spots that differ
// go through small dialect methods (beginWrite, jsonField, jsonArray,
// jsonAppend) or a db.pg branch: the schema version (a flperf_schema row
// instead of PRAGMA user_version and application_id), savepoints around
// a row that may be refused (PostgreSQL aborts the whole transaction at an
// error), REPEATABLE READ for read snapshots, and the writer's bulk path,
// COPY (pgcopy.go). A run's writer is known alive by a session advisory
// lock it holds from BeginRun to FinishRun (takeLease): a killed process's
// session ends, the lock is free, and MarkStale marks the run interrupted
// from any host. A new query is written in that same portable SQL, or
// through those methods: the PostgreSQL pass of the tests (README, "For
// teams") runs every store test on both.
//
// # Migrations
//
// migrations/NNN-name.sql are numbered from 001 without gaps and never
// edited once released. Both databases run the same files: write them in
// the portable subset (ALTER TABLE t ADD COLUMN c INTEGER NOT NULL DEFAULT
// 0; CREATE TABLE with INTEGER, BIGINT, REAL, TEXT and BLOB columns,
// optionally STRICT; CREATE INDEX; plain INSERT, UPDATE and DELETE) and
// they work on PostgreSQL with no extra work: pgMigration translates the
// types (INTEGER to BIGINT, INTEGER PRIMARY KEY to an identity column,
// REAL to DOUBLE PRECISION, BLOB to BYTEA) and drops SQLite's table options.
// SQLite-only SQL (PRAGMA, AUTOINCREMENT, INSERT OR …, json_*, rowid, date
// functions …) is refused, naming the file, by TestMigrationsTranslate,
// which needs no server. Such a migration needs a hand-written PostgreSQL
// version, migrations/postgres/NNN-name.sql (the same name), used as it
// is. migrations/README.md says the same.
package store
