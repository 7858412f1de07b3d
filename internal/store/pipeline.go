package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"flperf/internal/record"
	"flperf/internal/stats"
)

// summarize recomputes run id's summary from its stored records and
// returns it with the number of records read; fn, unless nil, is also
// called with each record. Reading and decoding run on other goroutines,
// overlapping the aggregation.
func (db *DB) summarize(ctx context.Context, q querier, id string, slo stats.SLO, fn func(*record.Record)) (stats.Summary, int, error) {
	var agg stats.Aggregator
	add := agg.Add
	if fn != nil {
		add = func(r *record.Record) {
			agg.Add(r)
			fn(r)
		}
	}
	n, err := db.eachStatsRecord(ctx, q, id, allStats, add)
	if err != nil {
		return stats.Summary{}, 0, err
	}
	return agg.Summary(stats.Options{SLO: slo}), n, nil
}

// Stats scans hand records over in batches of at most batchLen records
// and, unless one record has more, batchChunks chunks, through a few
// reused batches per reader.
const (
	batchLen    = 512
	batchChunks = 1 << 16
	batches     = 3
)

// A large run is read by up to maxReaders readers at once, each on its own
// connection, in blocks of at least blockSeqs consecutive seq values (at
// most maxBlocks of them) dealt out in turn; a run of one block is read by
// one reader.
const (
	maxReaders = 4
	blockSeqs  = 2048
	maxBlocks  = 4096
)

// recBatch is a run of records whose chunks share one backing array.
type recBatch struct {
	recs   []record.Record
	chunks []record.Chunk
	last   bool // the last batch of its block
}

func (b *recBatch) reset() {
	b.recs = b.recs[:0]
	b.chunks = b.chunks[:0]
	b.last = false
}

// reader is one goroutine reading blocks of records: it fills batches
// from free and sends them on full, which it closes when it is done.
type reader struct {
	full, free chan *recBatch
	n          int   // records read
	err        error // set before full is closed
}

func newReader() *reader {
	r := &reader{full: make(chan *recBatch, batches), free: make(chan *recBatch, batches)}
	for range batches {
		r.free <- &recBatch{recs: make([]record.Record, 0, batchLen), chunks: make([]record.Chunk, 0, batchChunks)}
	}
	return r
}

// eachStatsRecord calls fn, on the calling goroutine and in seq order, with
// each record of run id (the fields cols asks for) as readers on other
// goroutines read them. fn must not keep the record.
//
// A large run is read in blocks of seq values by several readers at once:
// the first on q, the others each in a read transaction of its own. Every
// transaction that adds records to a run also changes the run's record
// count and heartbeat (RecordWriter, Import), so readers whose snapshots
// show the same count and heartbeat as q's see the same records; if one
// does not (the run is being written, or was deleted), q's snapshot is read
// alone.
func (db *DB) eachStatsRecord(ctx context.Context, q querier, id string, cols StatsScan, fn func(*record.Record)) (int, error) {
	var lo, hi sql.NullInt64
	// Two subqueries: SQLite finds a lone min or max in the index without a
	// scan.
	if err := q.QueryRowContext(ctx, "SELECT (SELECT min(seq) FROM records WHERE run_id = ?1), (SELECT max(seq) FROM records WHERE run_id = ?1)", id).Scan(&lo, &hi); err != nil {
		return 0, explain(db.path, "reading records of run "+id, err)
	}
	if !lo.Valid {
		return 0, nil
	}
	span := uint64(hi.Int64 - lo.Int64) // hi ≥ lo: exact in uint64
	nb := min(span/blockSeqs+1, maxBlocks)
	blocks := seqBlocks{lo: lo.Int64, span: span, width: span/nb + 1, n: nb} // n × width > span
	if workers := min(runtime.GOMAXPROCS(0), maxReaders, int(min(nb, maxReaders))); workers > 1 {
		mark, err := readMark(ctx, q, id)
		if err != nil {
			return 0, explain(db.path, "reading run "+id, err)
		}
		if n, same, err := db.feed(ctx, q, id, cols, blocks, workers, mark, fn); same {
			return n, err
		}
	}
	n, _, err := db.feed(ctx, q, id, cols, blocks, 1, runMark{}, fn)
	return n, err
}

// runMark is what a snapshot shows of a run's record count and heartbeat.
type runMark struct {
	records, heartbeat int64
	found              bool
}

// readMark reads run id's mark in q's snapshot.
func readMark(ctx context.Context, q querier, id string) (runMark, error) {
	m := runMark{found: true}
	err := q.QueryRowContext(ctx, "SELECT records, heartbeat FROM runs WHERE id = ?", id).Scan(&m.records, &m.heartbeat)
	if err == sql.ErrNoRows {
		return runMark{}, nil
	}
	return m, err
}

// feed reads blocks (the fields cols asks for) with workers readers, the
// first on q, and calls fn with each record in seq order. same is false,
// and nothing was passed to fn, when another reader's snapshot shows a
// mark other than mark.
func (db *DB) feed(ctx context.Context, q querier, id string, cols StatsScan, blocks seqBlocks, workers int, mark runMark, fn func(*record.Record)) (n int, same bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readers := make([]*reader, workers)
	verdicts := make(chan bool, workers) // from the readers not on q: same snapshot?
	// The reader on q starts once every other reader's snapshot is known
	// to be q's: a query canceled on q (a verdict against) could cost the
	// caller its transaction (PostgreSQL drops a connection whose query
	// was canceled).
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range readers {
		r := newReader()
		readers[w] = r
		wg.Go(func() {
			defer close(r.full)
			rq := q
			if w == 0 {
				select {
				case <-start:
				case <-ctx.Done():
					r.err = ctx.Err()
					return
				}
			}
			if w > 0 {
				tx, err := db.readTx(ctx)
				if err != nil {
					r.err = err
					verdicts <- false
					return
				}
				defer tx.Rollback()
				m, err := readMark(ctx, tx, id)
				if err != nil || m != mark {
					r.err = explain(db.path, "reading run "+id, err)
					verdicts <- false
					return
				}
				verdicts <- true
				rq = tx
			}
			r.err = db.readBlocks(ctx, rq, id, cols, blocks, uint64(w), uint64(workers), r)
		})
	}
	for range workers - 1 {
		if !<-verdicts { // (a canceled ctx fails the caller's next try too)
			cancel()
			wg.Wait()
			return 0, false, nil
		}
	}
	close(start)

	// The blocks arrive in turn from each reader; a reader that stops
	// early has failed (or its context was canceled).
	complete := true
feed:
	for k := range blocks.n {
		r := readers[k%uint64(workers)]
		for {
			b, ok := <-r.full
			if !ok {
				complete = false
				break feed
			}
			for i := range b.recs {
				fn(&b.recs[i])
			}
			last := b.last
			b.reset()
			r.free <- b // never blocks: free has room for every batch of r
			if last {
				break
			}
		}
	}
	cancel() // stops the readers when one failed
	wg.Wait()
	for _, r := range readers {
		n += r.n
	}
	if complete {
		return n, true, nil // every block was read whole
	}
	// The first reader's error that our own cancel did not cause.
	for _, r := range readers {
		if r.err != nil && (err == nil || errors.Is(err, context.Canceled) && !errors.Is(r.err, context.Canceled)) {
			err = r.err
		}
	}
	if err == nil { // cannot happen: a reader ends early only with an error
		err = fmt.Errorf("database %s: run %s: a reader stopped early", db.path, id)
	}
	return n, true, err
}

// readBlocks reads, on q, the fields cols asks for of blocks first,
// first+step, … of run id into r's batches. The last batch of each block,
// perhaps empty, is marked last.
func (db *DB) readBlocks(ctx context.Context, q querier, id string, cols StatsScan, blocks seqBlocks, first, step uint64, r *reader) error {
	stmt, err := q.PrepareContext(ctx, statsRangeSQL(db.version, cols))
	if err != nil {
		return explain(db.path, "reading records of run "+id, err)
	}
	defer stmt.Close()
	s := newStatsScanner()
	next := func() (*recBatch, bool) {
		select {
		case b := <-r.free:
			return b, true
		case <-ctx.Done():
			return nil, false
		}
	}
	b, ok := next()
	if !ok {
		return ctx.Err()
	}
	emit := func(full *recBatch) *recBatch {
		r.full <- full // never blocks: full has room for every batch of r
		b, ok := next()
		if !ok {
			return &recBatch{} // canceled: the scan stops at its next row
		}
		return b
	}
	for k := first; k < blocks.n; k += step {
		if start, end, ok := blocks.bounds(k); ok {
			rows, err := stmt.QueryContext(ctx, id, start, end)
			if err != nil {
				return explain(db.path, "reading records of run "+id, err)
			}
			var n int
			b, n, err = s.scan(rows, b, emit)
			rows.Close()
			r.n += n
			if err != nil {
				return db.scanError(id, err)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		b.last = true
		if b = emit(b); ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}
