package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"flperf/internal/record"
)

// statsColumns are what stats.Aggregator uses of a record, in the order
// statsScanner reads them, but for those that follow them (statsTail): the
// two costlier ones, the chunks and the server timings, and the connection
// retries (a column of later schemas).
const statsColumns = `model, scenario, stage, warmup, max_tokens, scheduled, sent, first_byte_ns, first_token_ns, first_answer_ns,
	last_token_ns, end_ns, input_tokens, input_source, output_tokens, output_source, engine_output_tokens, status, finish_reason,
	outcome, phase`

// StatsScan chooses which of the costlier fields a scan of a run's
// statistics fields (StatsRecords) reads; without them it reads only the
// per-request figures, times and counts.
type StatsScan struct {
	Chunks bool // each record's stream events (Record.Chunks: ITL needs them)
	Server bool // the engine's own account of each request (Record.Server)
}

// allStats reads everything the statistics use.
var allStats = StatsScan{Chunks: true, Server: true}

// statsTail is the chunks, server, connection_retries, attempt, retried,
// retry_wait_ns, text_chars, prompt_chars, cached_tokens, turn and
// requested_input_tokens columns as cols reads them at
// schema version: NULL when not read, and the server column before
// serverSchema; 0 retries before retrySchema, 0 for the user retries'
// columns before userRetrySchema and for the character counts before
// charsSchema, 0 for the requested input length before inputLenSchema
// and 0 turns before turnSchema.
func statsTail(version int, cols StatsScan) string {
	chunks, server, retries, user, chars, turn, inlen := "NULL", "NULL", "0", "attempt, 0, 0", "0, 0", "0", "0"
	if cols.Chunks {
		chunks = "chunks"
	}
	if cols.Server && version >= serverSchema {
		server = "server"
	}
	if version >= retrySchema {
		retries = "connection_retries"
	}
	if version >= userRetrySchema {
		user = "attempt, retried, retry_wait_ns"
	}
	if version >= charsSchema {
		chars = "text_chars, prompt_chars"
	}
	if version >= turnSchema {
		turn = "turn"
	}
	if version >= inputLenSchema {
		inlen = "requested_input_tokens"
	}
	return chunks + ", " + server + ", " + retries + ", " + user + ", " + chars + ", cached_tokens, " + turn + ", " + inlen
}

// statsSQL reads the statistics' columns of a run's records, in seq order,
// at schema version; statsRangeSQL those cols asks for of the records with
// seq in [?, ?].
func statsSQL(version int) string {
	return "SELECT " + statsColumns + ", " + statsTail(version, allStats) + " FROM records WHERE run_id = ? ORDER BY seq"
}

func statsRangeSQL(version int, cols StatsScan) string {
	return "SELECT " + statsColumns + ", " + statsTail(version, cols) + " FROM records WHERE run_id = ? AND seq BETWEEN ? AND ? ORDER BY seq"
}

// StatsRecords calls fn, on the calling goroutine and in seq order, with
// every record of run id holding only what the statistics use (no text,
// error, endpoint or worker; Chunks and Server only when cols asks for
// them), read from one consistent snapshot by several readers at once, as
// Run reads them to recompute a summary. fn must not keep the record or
// its chunks: both are reused. It returns the number of records read.
func (db *DB) StatsRecords(ctx context.Context, id string, cols StatsScan, fn func(*record.Record)) (int, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := runExists(ctx, tx, id); err != nil {
		return 0, err
	}
	return db.eachStatsRecord(ctx, tx, id, cols, fn)
}

// statsScanner reads rows of statsColumns into records holding only what
// the statistics use. One is used by one goroutine. Its columns are
// scanned into *any (the blob into *sql.RawBytes), which database/sql fills
// without conversion or copy, and read from there.
type statsScanner struct {
	text [len(statsTextColumns)]any    // in statsTextColumns order
	last [len(statsTextColumns)]string // the previous row's text values, interned
	ints [len(statsIntColumns)]any     // in statsIntColumns order
	blob sql.RawBytes
	srv  sql.RawBytes // records.server
	in   interner
	dest []any
}

// The TEXT and INTEGER columns of statsColumns, in statsScanner.text and
// statsScanner.ints order.
var (
	statsTextColumns = [...]string{"model", "scenario", "stage", "input_source", "output_source", "finish_reason", "outcome", "phase"}
	statsIntColumns  = [...]string{"warmup", "max_tokens", "scheduled", "sent", "first_byte_ns", "first_token_ns", "first_answer_ns",
		"last_token_ns", "end_ns", "input_tokens", "output_tokens", "engine_output_tokens", "status", "connection_retries",
		"attempt", "retried", "retry_wait_ns", "text_chars", "prompt_chars", "cached_tokens", "turn", "requested_input_tokens"}
)

// The INTEGER columns' indices in statsScanner.ints.
const (
	iWarmup = iota
	iMaxTok
	iSched
	iSent
	iFirstByte
	iFirstToken
	iFirstAnswer
	iLastToken
	iEnd
	iInTok
	iOutTok
	iEngTok
	iStatus
	iRetries
	iAttempt
	iRetried
	iRetryWait
	iTextChars
	iPromptChars
	iCached
	iTurn
	iRequestedIn
)

func newStatsScanner() *statsScanner {
	s := &statsScanner{in: interner{}}
	t, i := &s.text, &s.ints
	s.dest = []any{&t[0], &t[1], &t[2], &i[iWarmup], &i[iMaxTok], &i[iSched], &i[iSent],
		&i[iFirstByte], &i[iFirstToken], &i[iFirstAnswer], &i[iLastToken], &i[iEnd],
		&i[iInTok], &t[3], &i[iOutTok], &t[4], &i[iEngTok], &i[iStatus], &t[5], &t[6], &t[7], &s.blob, &s.srv, &i[iRetries],
		&i[iAttempt], &i[iRetried], &i[iRetryWait], &i[iTextChars], &i[iPromptChars], &i[iCached], &i[iTurn], &i[iRequestedIn]}
	return s
}

// scan appends every row of rows to b as a record; when b is full (of
// records, or of the chunks its array has room for) it hands it to emit,
// which returns the batch to fill next. It returns the batch being filled
// and the number of records read.
func (s *statsScanner) scan(rows *sql.Rows, b *recBatch, emit func(*recBatch) *recBatch) (*recBatch, int, error) {
	n := 0
	var v [len(s.ints)]int64
	for rows.Next() {
		if err := rows.Scan(s.dest...); err != nil {
			return b, n, err
		}
		for i, x := range s.ints {
			switch x := x.(type) {
			case int64:
				v[i] = x
			case nil: // NULL: 0, "did not happen" (or the zero time)
				v[i] = 0
			default:
				return b, n, fmt.Errorf("column %s: want an integer, got %T", statsIntColumns[i], x)
			}
		}
		// Text values (NULL reads as ""): most rows repeat the previous
		// row's; others are interned.
		for i, x := range s.text {
			var t string
			switch x := x.(type) {
			case string:
				t = x
			case []byte:
				t = string(x)
			case nil:
			default:
				return b, n, fmt.Errorf("column %s: want text, got %T", statsTextColumns[i], x)
			}
			if t != s.last[i] {
				s.last[i] = s.in.get(t)
			}
		}
		if len(b.recs) > 0 && cap(b.chunks) >= batchChunks && len(b.chunks)+chunkCount(s.blob) > cap(b.chunks) {
			b = emit(b) // rather than grow the chunks' array
		}
		start := len(b.chunks)
		var err error
		if b.chunks, err = appendDecodeChunks(b.chunks, s.blob); err != nil {
			return b, n, err
		}
		server, err := decodeServer(s.srv)
		if err != nil {
			return b, n, err
		}
		var cs []record.Chunk
		if len(b.chunks) > start {
			cs = b.chunks[start:len(b.chunks):len(b.chunks)]
		}
		t := &s.last
		b.recs = append(b.recs, record.Record{
			Model: t[0], Scenario: t[1], Stage: t[2], Warmup: v[iWarmup] != 0, MaxTok: int(v[iMaxTok]),
			Scheduled: unixTime(s.ints[iSched], v[iSched]), Sent: unixTime(s.ints[iSent], v[iSent]),
			FirstByte: time.Duration(v[iFirstByte]), FirstToken: time.Duration(v[iFirstToken]), FirstAnswer: time.Duration(v[iFirstAnswer]),
			LastToken: time.Duration(v[iLastToken]), End: time.Duration(v[iEnd]), Chunks: cs,
			InputTokens: int(v[iInTok]), InputSource: record.TokenSource(t[3]),
			OutputTokens: int(v[iOutTok]), OutputSource: record.TokenSource(t[4]), EngineOutTokens: int(v[iEngTok]),
			Status: int(v[iStatus]), FinishReason: t[5], Outcome: record.Outcome(t[6]), Phase: record.Phase(t[7]),
			Server: server, ConnRetries: int(v[iRetries]),
			Attempt: int(v[iAttempt]), Retried: v[iRetried] != 0, RetryWait: time.Duration(v[iRetryWait]),
			TextChars: int(v[iTextChars]), PromptChars: int(v[iPromptChars]),
			CachedTokens: int(v[iCached]), Turn: int(v[iTurn]),
			RequestedInputTokens: int(v[iRequestedIn]),
		})
		n++
		if len(b.recs) == batchLen {
			b = emit(b)
		}
	}
	return b, n, rows.Err()
}

// unixTime is the time of a unix ns column: the zero time for NULL.
func unixTime(col any, ns int64) time.Time {
	if col == nil {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// scanStats reads every record of run id into b, holding only the fields
// the statistics use; when b is full it hands it to emit, which returns the
// batch to fill next. The last, partly filled batch is emitted too.
func (db *DB) scanStats(ctx context.Context, q querier, id string, b *recBatch, emit func(*recBatch) *recBatch) (int, error) {
	rows, err := q.QueryContext(ctx, statsSQL(db.version), id)
	if err != nil {
		return 0, explain(db.path, "reading records of run "+id, err)
	}
	defer rows.Close()
	b, n, err := newStatsScanner().scan(rows, b, emit)
	if err != nil {
		return n, db.scanError(id, err)
	}
	if len(b.recs) > 0 {
		emit(b)
	}
	return n, nil
}

// scanError explains an error met reading records of run id: a damaged
// chunk blob, or the database's.
func (db *DB) scanError(id string, err error) error {
	if errors.Is(err, errChunkBlob) {
		return fmt.Errorf("database %s: run %s: %w", db.path, id, err)
	}
	return explain(db.path, "reading records of run "+id, err)
}

// seqBlocks divides a run's seq values, lo … lo+span, into n blocks:
// block k holds the records with seq in [lo + k·width, lo + (k+1)·width).
type seqBlocks struct {
	lo             int64
	span, width, n uint64
}

// bounds returns block k's first and last seq values; ok is false when the
// block lies wholly past the run's largest seq.
func (s seqBlocks) bounds(k uint64) (first, last int64, ok bool) {
	over, from := bits.Mul64(k, s.width)
	if over != 0 || from > s.span {
		return 0, 0, false
	}
	to := from + s.width - 1
	if to < from || to > s.span {
		to = s.span
	}
	// lo + from and lo + to lie in [lo, lo+span]: int64 values.
	return int64(uint64(s.lo) + from), int64(uint64(s.lo) + to), true
}

// interner shares one string per distinct value, so that a large scan
// keeps each once.
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	if len(in) > 4096 { // hostile variety: stop growing
		return s
	}
	in[s] = s
	return s
}
