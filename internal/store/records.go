package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"flperf/internal/engine"
	"flperf/internal/record"
)

// recordColumns are the records table's columns, in insert order. The
// statistics need only a subset (statsColumns). A record's error and text
// are in record_text (textColumns); before schema 4 (textSchema) they were
// the records table's last two columns.
var (
	recordColumns = []string{
		"run_id", "seq", "model", "scenario", "stage", "worker", "warmup", "stream", "max_tokens", "attempt", "endpoint",
		"scheduled", "sent", "first_byte_ns", "first_token_ns", "first_answer_ns", "last_token_ns", "end_ns",
		"chunk_count", "reason_chunks", "input_tokens", "input_source", "output_tokens", "output_source",
		"engine_output_tokens", "estimated_output_tokens", "cached_tokens", "status", "finish_reason", "outcome", "phase",
		"text_bytes", "chunks", "server", "connection_retries", "retry_of", "retried", "retry_wait_ns",
		"text_chars", "prompt_chars", "requested_input_tokens", "input_length_method", "turn",
	}
	textColumns = []string{"run_id", "seq", "error", "text"}
)

// textSchema is the schema version that moved error and text to
// record_text; retrySchema the one that added connection_retries;
// userRetrySchema the one that added retry_of, retried and retry_wait_ns;
// charsSchema the one that added text_chars and prompt_chars;
// inputLenSchema the one that added requested_input_tokens and
// input_length_method.
const (
	textSchema      = 4
	retrySchema     = 8
	userRetrySchema = 10
	charsSchema     = 12
	inputLenSchema  = 13
	// turnSchema is the one that added turn (a conversation's turn).
	turnSchema = 14
)

// columnsAt returns the records table's columns at schema version: without
// the input length's before inputLenSchema, the character counts before charsSchema, the user retries' columns before userRetrySchema, connection_retries
// before retrySchema and server before serverSchema, with error and text
// last before textSchema.
func columnsAt(version int) []string {
	cols := recordColumns
	if version < turnSchema {
		cols = cols[:len(cols)-1]
	}
	if version < inputLenSchema {
		cols = cols[:len(cols)-2]
	}
	if version < charsSchema {
		cols = cols[:len(cols)-2]
	}
	if version < userRetrySchema {
		cols = cols[:len(cols)-3]
	}
	if version < retrySchema {
		cols = cols[:len(cols)-1]
	}
	if version < serverSchema {
		cols = cols[:len(cols)-1]
	}
	if version < textSchema {
		cols = append(slices.Clip(cols), "error", "text")
	}
	return cols
}

// Limits of what an int64 of unix nanoseconds can hold.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeArg returns t as unix ns, or nil (NULL) for the zero time.
func timeArg(t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("time %s is outside what the database stores (years 1678–2262)", t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// timeOf reads a unix ns column; NULL is the zero time. Times read back are
// UTC, so that a stored run prints the same everywhere.
func timeOf(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(0, v.Int64).UTC()
}

// offArg returns an offset, or nil (NULL) for 0, "did not happen".
func offArg(d time.Duration) any {
	if d == 0 {
		return nil
	}
	return int64(d)
}

// boolArg stores a bool as 0 or 1.
func boolArg(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// pending is one record waiting to be written: a shallow copy whose chunks
// are already encoded (Chunks is nil) and whose times are checked.
type pending struct {
	rec    record.Record
	blob   []byte
	server []byte // encodeServer(rec.Server)
}

// newPending checks and encodes r for writing.
func newPending(r *record.Record) (*pending, error) {
	if r == nil {
		return nil, fmt.Errorf("nil record")
	}
	p := &pending{rec: *r}
	p.rec.Chunks = nil
	p.rec.Endpoint = engine.RedactUserinfo(r.Endpoint)
	p.rec.Error = engine.RedactUserinfo(r.Error)
	for _, t := range []time.Time{r.Scheduled, r.Sent} {
		if _, err := timeArg(t); err != nil {
			return nil, fmt.Errorf("record %d: %w", r.Seq, err)
		}
	}
	p.blob = appendChunkBlob(nil, r.Chunks)
	p.server = encodeServer(r.Server)
	return p, nil
}

// hasText reports whether p has an error or a text to store.
func (p *pending) hasText() bool { return p.rec.Error != "" || p.rec.Text != "" }

// appendTextArgs appends p's record_text arguments, in textColumns order.
func (p *pending) appendTextArgs(dst []any, runID string) []any {
	return append(dst, runID, p.rec.Seq, p.rec.Error, p.rec.Text)
}

// appendArgs appends the insert arguments of p, in columnsAt(version) order.
func (p *pending) appendArgs(dst []any, runID string, version int) []any {
	r := &p.rec
	sched, _ := timeArg(r.Scheduled) // checked by newPending
	sent, _ := timeArg(r.Sent)
	var blob any
	if len(p.blob) > 0 {
		blob = p.blob
	}
	dst = append(dst, runID, r.Seq, r.Model, r.Scenario, r.Stage, int64(r.Worker), boolArg(r.Warmup), boolArg(r.Stream),
		int64(r.MaxTok), int64(r.Attempt), r.Endpoint,
		sched, sent, offArg(r.FirstByte), offArg(r.FirstToken), offArg(r.FirstAnswer), offArg(r.LastToken), offArg(r.End),
		int64(r.ChunkCount), int64(r.ReasonChunk), int64(r.InputTokens), string(r.InputSource), int64(r.OutputTokens), string(r.OutputSource),
		int64(r.EngineOutTokens), int64(r.EstOutTokens), int64(r.CachedTokens), int64(r.Status), r.FinishReason, string(r.Outcome), string(r.Phase),
		int64(r.TextBytes), blob)
	if version >= serverSchema {
		var server any
		if p.server != nil {
			server = p.server
		}
		dst = append(dst, server)
	}
	if version >= retrySchema {
		dst = append(dst, int64(r.ConnRetries))
	}
	if version >= userRetrySchema {
		var retryOf any
		if r.Attempt > 0 {
			retryOf = r.RetryOf
		}
		dst = append(dst, retryOf, boolArg(r.Retried), int64(r.RetryWait))
	}
	if version >= charsSchema {
		dst = append(dst, int64(r.TextChars), int64(r.PromptChars))
	}
	if version >= inputLenSchema {
		dst = append(dst, int64(r.RequestedInputTokens), r.InputLengthMethod)
	}
	if version >= turnSchema {
		dst = append(dst, int64(r.Turn))
	}
	if version < textSchema {
		dst = append(dst, r.Error, r.Text)
	}
	return dst
}

// insertSQL returns an INSERT of n rows into table (with its verb, e.g.
// "INSERT INTO records") of the given columns.
func insertSQL(table string, columns []string, n int) string {
	var b strings.Builder
	b.WriteString(table + " (")
	b.WriteString(strings.Join(columns, ", "))
	b.WriteString(") VALUES ")
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

// selectRecordsSQL reads every column but run_id, with error and text, of
// a run's records in seq order, at schema version (NULL for a column the
// schema lacks); with one, of the record with seq ? only.
func selectRecordsSQL(version int, one bool) string {
	cols := recordColumns[1 : len(recordColumns)-10]
	server, retries, user := "r.server", "r.connection_retries", ", coalesce(r.retry_of, 0), r.retried, r.retry_wait_ns"
	from, p := " FROM records r LEFT JOIN record_text t ON t.run_id = r.run_id AND t.seq = r.seq", "r."
	text := ", coalesce(t.error, ''), coalesce(t.text, '')"
	chars := ", r.text_chars, r.prompt_chars, r.turn"
	switch {
	case version < charsSchema:
		chars = ", 0, 0, 0"
	case version < turnSchema:
		chars = ", r.text_chars, r.prompt_chars, 0"
	}
	inlen := ", r.requested_input_tokens, r.input_length_method"
	if version < inputLenSchema {
		inlen = ", 0, ''"
	}
	if version < serverSchema {
		server = "NULL"
	}
	if version < retrySchema {
		retries = "0"
	}
	if version < userRetrySchema {
		user = ", 0, 0, 0"
	}
	if version < textSchema {
		from, p, text, chars, inlen = " FROM records", "", ", error, text", ", 0, 0, 0", ", 0, ''"
	}
	tail := " ORDER BY " + p + "seq"
	if one {
		tail = " AND " + p + "seq = ?"
	}
	return "SELECT " + p + strings.Join(cols, ", "+p) + ", " + server + ", " + retries + user + chars + inlen + text + from + " WHERE " + p + "run_id = ?" + tail
}

// recordScanner scans full records; each record is fresh (callers may keep it).
type recordScanner struct {
	seq, worker, warmup, stream, maxTok, attempt          int64Col
	sched, sent                                           nullInt64Col
	fb, ft, fa, lt, end                                   int64Col // NULL: 0, "did not happen"
	chunkCount, reason, in, out, eng, est, cached, status int64Col
	textBytes, retries, retryOf, retried, retryWait       int64Col
	textChars, promptChars, turn, requestedIn             int64Col
	inLenMethod                                           string
	model, scenario, stage, endpoint, inSrc, outSrc       string
	finish, outcome, phase, errText, text                 string
	blob, server                                          sql.RawBytes
	dest                                                  []any
}

func newRecordScanner() *recordScanner {
	s := &recordScanner{}
	s.dest = []any{&s.seq, &s.model, &s.scenario, &s.stage, &s.worker, &s.warmup, &s.stream, &s.maxTok, &s.attempt, &s.endpoint,
		&s.sched, &s.sent, &s.fb, &s.ft, &s.fa, &s.lt, &s.end,
		&s.chunkCount, &s.reason, &s.in, &s.inSrc, &s.out, &s.outSrc,
		&s.eng, &s.est, &s.cached, &s.status, &s.finish, &s.outcome, &s.phase,
		&s.textBytes, &s.blob, &s.server, &s.retries, &s.retryOf, &s.retried, &s.retryWait, &s.textChars, &s.promptChars, &s.turn, &s.requestedIn, &s.inLenMethod, &s.errText, &s.text}
	return s
}

// scan reads the current row into a new record.
func (s *recordScanner) scan(rows *sql.Rows) (*record.Record, error) {
	if err := rows.Scan(s.dest...); err != nil {
		return nil, err
	}
	cs, err := appendDecodeChunks(nil, s.blob)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", s.seq, err)
	}
	server, err := decodeServer(s.server)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", s.seq, err)
	}
	return &record.Record{
		Seq: int64(s.seq), Model: s.model, Scenario: s.scenario, Stage: s.stage, Worker: int(s.worker),
		Warmup: s.warmup != 0, Stream: s.stream != 0, MaxTok: int(s.maxTok), Attempt: int(s.attempt), Endpoint: s.endpoint,
		Scheduled: s.sched.time(), Sent: s.sent.time(),
		FirstByte: time.Duration(s.fb), FirstToken: time.Duration(s.ft), FirstAnswer: time.Duration(s.fa),
		LastToken: time.Duration(s.lt), End: time.Duration(s.end), Chunks: cs,
		ChunkCount: int(s.chunkCount), ReasonChunk: int(s.reason),
		InputTokens: int(s.in), InputSource: record.TokenSource(s.inSrc),
		OutputTokens: int(s.out), OutputSource: record.TokenSource(s.outSrc),
		EngineOutTokens: int(s.eng), EstOutTokens: int(s.est), CachedTokens: int(s.cached),
		Status: int(s.status), FinishReason: s.finish, Outcome: record.Outcome(s.outcome), Phase: record.Phase(s.phase),
		Error: s.errText, Text: s.text, TextBytes: int(s.textBytes), Server: server, ConnRetries: int(s.retries),
		RetryOf: int64(s.retryOf), Retried: s.retried != 0, RetryWait: time.Duration(s.retryWait),
		TextChars: int(s.textChars), PromptChars: int(s.promptChars), Turn: int(s.turn),
		RequestedInputTokens: int(s.requestedIn), InputLengthMethod: s.inLenMethod,
	}, nil
}

// Records calls fn with every record of run id, in seq order, streaming them
// from one consistent snapshot. Each record is a fresh value that fn may
// keep. An error from fn stops the scan and is returned.
func (db *DB) Records(ctx context.Context, id string, fn func(*record.Record) error) error {
	tx, err := db.readTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := runExists(ctx, tx, id); err != nil {
		return err
	}
	return db.scanRecords(ctx, tx, id, 0, func(_ int64, r *record.Record) error { return fn(r) })
}

// scanRecords calls fn with run id's records from tx in seq order, with
// each one's index, from the from-th on (the ones before are read and
// skipped). Each record is a fresh value. Records, Export, ReadPushSource
// and PushLines read through it.
func (db *DB) scanRecords(ctx context.Context, tx *sql.Tx, id string, from int64, fn func(i int64, rec *record.Record) error) error {
	rows, err := tx.QueryContext(ctx, selectRecordsSQL(db.version, false), id)
	if err != nil {
		return explain(db.path, "reading records of run "+id, err)
	}
	defer rows.Close()
	s := newRecordScanner()
	for i := int64(0); rows.Next(); i++ {
		if i < from {
			continue
		}
		rec, err := s.scan(rows)
		if err != nil {
			return explain(db.path, "reading records of run "+id, err)
		}
		if err := fn(i, rec); err != nil {
			return err
		}
	}
	return explain(db.path, "reading records of run "+id, rows.Err())
}

// readTx starts a read transaction: one consistent snapshot that never
// blocks a writer (SQLite's WAL; PostgreSQL's REPEATABLE READ, whose
// snapshot is taken at the first statement).
func (db *DB) readTx(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.pg != nil {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return nil, explain(db.path, "starting to read", err)
	}
	return tx, nil
}

// runExists returns a wrapped ErrNotFound when run id does not exist.
func runExists(ctx context.Context, q querier, id string) error {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM runs WHERE id = ?", id).Scan(&one)
	if err == sql.ErrNoRows {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return err
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx share.
type querier interface {
	PrepareContext(context.Context, string) (*sql.Stmt, error)
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// int64Col scans an INTEGER column without database/sql's reflection; NULL
// reads as 0.
type int64Col int64

// Scan implements sql.Scanner.
func (v *int64Col) Scan(src any) error {
	switch x := src.(type) {
	case int64:
		*v = int64Col(x)
	case nil:
		*v = 0
	default:
		return fmt.Errorf("want an integer, got %T", src)
	}
	return nil
}

// nullInt64Col scans a unix ns column that may be NULL (the zero time).
type nullInt64Col struct {
	v     int64
	valid bool
}

// Scan implements sql.Scanner.
func (v *nullInt64Col) Scan(src any) error {
	switch x := src.(type) {
	case int64:
		*v = nullInt64Col{x, true}
	case nil:
		*v = nullInt64Col{}
	default:
		return fmt.Errorf("want an integer, got %T", src)
	}
	return nil
}

// time returns the stored time, or the zero time for NULL.
func (v nullInt64Col) time() time.Time {
	if !v.valid {
		return time.Time{}
	}
	return time.Unix(0, v.v).UTC()
}
