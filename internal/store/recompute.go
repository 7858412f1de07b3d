package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// Run returns stored run id: its metadata, status and warnings, with the
// summary recomputed from its stored records (so a run that was interrupted
// shows what it measured). The SLO is the run's own (Config.SLOSpec).
func (db *DB) Run(ctx context.Context, id string) (*runner.Result, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	r, err := db.readRun(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if _, err := stats.ParseSLO(r.Config.SLOSpec); err != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the stored SLO %q cannot be read (%v): no goodput is shown.", r.Config.SLOSpec, err))
	}
	sum, n, err := db.summarize(ctx, tx, id, r.Config.SLO)
	if err != nil {
		return nil, err
	}
	r.Summary, r.Records = sum, n
	return r, nil
}

// readRun reads a run's row (no summary); an unreadable stored SLO is
// the zero SLO.
func (db *DB) readRun(ctx context.Context, q querier, id string) (*runner.Result, error) {
	var started int64
	var ended sql.NullInt64
	var status, tool, eng, cfg, suite, warnings, server string
	r := &runner.Result{}
	err := q.QueryRowContext(ctx, "SELECT id, started, ended, status, tool, engine, config, suite, warnings, server, records FROM runs WHERE id = ?", id).
		Scan(&r.ID, &started, &ended, &status, &tool, &eng, &cfg, &suite, &warnings, &server, &r.Records)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, explain(db.path, "reading run "+id, err)
	}
	r.Started, r.Ended, r.Status = time.Unix(0, started).UTC(), timeOf(ended), runner.Status(status)
	if err := firstErr(json.Unmarshal([]byte(tool), &r.Tool), json.Unmarshal([]byte(eng), &r.Engine),
		json.Unmarshal([]byte(cfg), &r.Config), json.Unmarshal([]byte(suite), &r.Suite), json.Unmarshal([]byte(warnings), &r.Warnings), json.Unmarshal([]byte(server), &r.Server)); err != nil {
		return nil, fmt.Errorf("database %s: run %s: stored metadata: %w", db.path, id, err)
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	r.Config.SLO, _ = stats.ParseSLO(r.Config.SLOSpec)
	return r, nil
}

// summarize recomputes run id's summary from its stored records and
// returns it with the number of records read. Reading and decoding run on
// another goroutine, overlapping the aggregation.
func (db *DB) summarize(ctx context.Context, q querier, id string, slo stats.SLO) (stats.Summary, int, error) {
	var agg stats.Aggregator
	n, err := db.eachStatsRecord(ctx, q, id, agg.Add)
	if err != nil {
		return stats.Summary{}, 0, err
	}
	return agg.Summary(stats.Options{SLO: slo}), n, nil
}

// Stats scans hand records over in batches of batchLen, through a few
// reused batches.
const (
	batchLen = 512
	batches  = 3
)

// recBatch is a run of records whose chunks share one backing array.
type recBatch struct {
	recs   []record.Record
	chunks []record.Chunk
}

func (b *recBatch) reset() {
	b.recs = b.recs[:0]
	b.chunks = b.chunks[:0]
}

// eachStatsRecord calls fn, on the calling goroutine, with each record of
// run id as scanStats reads it on another. fn must not keep the record.
func (db *DB) eachStatsRecord(ctx context.Context, q querier, id string, fn func(*record.Record)) (int, error) {
	free, full := make(chan *recBatch, batches), make(chan *recBatch, batches)
	for range batches {
		free <- &recBatch{recs: make([]record.Record, 0, batchLen)}
	}
	var n int
	var err error
	go func() {
		defer close(full)
		n, err = db.scanStats(ctx, q, id, <-free, func(b *recBatch) *recBatch {
			full <- b
			return <-free
		})
	}()
	for b := range full {
		for i := range b.recs {
			fn(&b.recs[i])
		}
		b.reset()
		free <- b
	}
	return n, err
}

// statsSQL reads only what stats.Aggregator uses, in seq order.
const statsSQL = `SELECT model, scenario, stage, warmup, max_tokens, scheduled, sent, first_byte_ns, first_token_ns, first_answer_ns,
	last_token_ns, end_ns, input_tokens, input_source, output_tokens, output_source, engine_output_tokens, status, finish_reason,
	outcome, phase, chunks FROM records WHERE run_id = ? ORDER BY seq`

// scanStats reads every record of run id into b, holding only the fields
// the statistics use; when b is full it hands it to emit, which returns the
// batch to fill next. The last, partly filled batch is emitted too.
func (db *DB) scanStats(ctx context.Context, q querier, id string, b *recBatch, emit func(*recBatch) *recBatch) (int, error) {
	rows, err := q.QueryContext(ctx, statsSQL, id)
	if err != nil {
		return 0, explain(db.path, "reading records of run "+id, err)
	}
	defer rows.Close()
	var (
		model, scenario, stage, inSrc, outSrc sql.RawBytes
		finish, outcome, phase, blob          sql.RawBytes
		warmup, maxTok, inTok, outTok, engTok int64Col
		status                                int64Col
		sched, sent                           nullInt64Col
		fb, ft, fa, lt, end                   int64Col // NULL: 0, "did not happen"
		in                                    = interner{}
		n                                     int
	)
	dest := []any{&model, &scenario, &stage, &warmup, &maxTok, &sched, &sent, &fb, &ft, &fa, &lt, &end,
		&inTok, &inSrc, &outTok, &outSrc, &engTok, &status, &finish, &outcome, &phase, &blob}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, explain(db.path, "reading records of run "+id, err)
		}
		start := len(b.chunks)
		if b.chunks, err = appendDecodeChunks(b.chunks, blob); err != nil {
			return n, fmt.Errorf("database %s: run %s: %w", db.path, id, err)
		}
		var cs []record.Chunk
		if len(b.chunks) > start {
			cs = b.chunks[start:len(b.chunks):len(b.chunks)]
		}
		b.recs = append(b.recs, record.Record{
			Model: in.get(model), Scenario: in.get(scenario), Stage: in.get(stage), Warmup: warmup != 0, MaxTok: int(maxTok),
			Scheduled: sched.time(), Sent: sent.time(),
			FirstByte: time.Duration(fb), FirstToken: time.Duration(ft), FirstAnswer: time.Duration(fa),
			LastToken: time.Duration(lt), End: time.Duration(end), Chunks: cs,
			InputTokens: int(inTok), InputSource: record.TokenSource(in.get(inSrc)),
			OutputTokens: int(outTok), OutputSource: record.TokenSource(in.get(outSrc)), EngineOutTokens: int(engTok),
			Status: int(status), FinishReason: in.get(finish), Outcome: record.Outcome(in.get(outcome)), Phase: record.Phase(in.get(phase)),
		})
		n++
		if len(b.recs) == batchLen {
			b = emit(b)
		}
	}
	if err := rows.Err(); err != nil {
		return n, explain(db.path, "reading records of run "+id, err)
	}
	if len(b.recs) > 0 {
		emit(b)
	}
	return n, nil
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

// interner shares one string per distinct value (models, outcomes, …), so a
// large scan allocates them once.
type interner map[string]string

func (in interner) get(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	if len(in) > 4096 { // hostile variety: stop growing
		return string(b)
	}
	s := strings.Clone(string(b))
	in[s] = s
	return s
}
