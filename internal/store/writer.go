package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"flperf/internal/record"
)

// Writer defaults.
const (
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultMaxBatch      = 2000
)

// heartbeatEvery is how often an idle RecordWriter tells other processes
// its run is alive; well under StaleAfter.
const heartbeatEvery = 10 * time.Second

// WriterOptions tune a RecordWriter. The zero value gives the defaults.
type WriterOptions struct {
	// FlushInterval bounds how long an added record waits before it is
	// committed: its batch starts committing at most half of it after the
	// record arrived, leaving the other half for the commit. Default 200 ms.
	FlushInterval time.Duration
	// MaxBatch is the most records one transaction commits. Default 2000.
	MaxBatch int
	// Queue is how many records may wait between Add and the disk.
	// Default 2 × MaxBatch.
	Queue int

	heartbeat time.Duration // between heartbeats of an idle writer; tests shorten it
}

// normalized returns o with defaults applied.
func (o WriterOptions) normalized() WriterOptions {
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Queue <= 0 {
		o.Queue = 2 * o.MaxBatch
	}
	if o.heartbeat <= 0 {
		o.heartbeat = heartbeatEvery
	}
	return o
}

// errWriterClosed is returned by Add after Close.
var errWriterClosed = errors.New("store: record writer is closed")

// RecordWriter writes a run's records while the run goes. It is a
// runner.Sink: Add queues a record and returns; a background goroutine
// commits queued records in batches (one transaction each, at most MaxBatch
// records, within FlushInterval of their Add) on its own connection, and
// refreshes the run's heartbeat.
//
// Add never drops a record: when the disk is slower than the run and the
// queue is full, Add waits for room. After a write error the writer stops
// writing (what was committed stays committed): Add and Close return that
// error, and Close says how many records were not saved. It is a
// runner.Failer: Failed is closed at that error, so that the run stops at
// once rather than measure what can no longer be kept.
type RecordWriter struct {
	db    *DB
	runID string
	opts  WriterOptions

	queue  chan *pending
	stop   chan struct{} // closed by Close
	done   chan struct{} // closed when the background goroutine ends
	failed chan struct{} // closed at the error that stopped the writer

	mu     sync.RWMutex // Add holds it shared while queueing; Close exclusively
	closed bool

	errMu    sync.Mutex
	err      error // first error
	fatalErr error // first error that stopped the writer
	fatal    atomic.Bool
	notSaved atomic.Int64
	stored   atomic.Int64

	// Owned by the background goroutine.
	conn   *sql.Conn
	ins    inserter
	beat   *sql.Stmt
	closer []func() error
}

// NewRecordWriter starts a writer for run runID, which BeginRun must have
// inserted. Close it before FinishRun.
func (db *DB) NewRecordWriter(runID string, opts WriterOptions) *RecordWriter {
	o := opts.normalized()
	w := &RecordWriter{
		db: db, runID: runID, opts: o,
		queue:  make(chan *pending, o.Queue),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		failed: make(chan struct{}),
	}
	go w.loop()
	return w
}

// Add queues r to be written. The record is copied: r may be reused after
// Add returns. It returns an error for a record the database cannot hold, or
// once the writer has failed or been closed.
func (w *RecordWriter) Add(r *record.Record) error {
	p, err := newPending(r)
	if err != nil {
		err = fmt.Errorf("store: run %s: %w", w.runID, err)
		w.notSaved.Add(1)
		w.setErr(err)
		return err
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return errWriterClosed
	}
	if w.fatal.Load() {
		w.notSaved.Add(1)
		return w.firstErr()
	}
	select {
	case w.queue <- p:
		return nil
	case <-w.done: // the writer failed
		w.notSaved.Add(1)
		return w.firstErr()
	}
}

// Close writes every queued record, stops the writer and returns the first
// error it met, if any.
func (w *RecordWriter) Close() error {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		close(w.stop)
	}
	<-w.done
	for {
		select {
		case <-w.queue: // left behind by a failed writer
			w.notSaved.Add(1)
			continue
		default:
		}
		break
	}
	err := w.firstErr()
	if err == nil {
		return nil
	}
	if n := w.notSaved.Load(); n > 0 {
		return fmt.Errorf("%w (%d records of run %s were not saved; %d were)", err, n, w.runID, w.stored.Load())
	}
	return err
}

// Failed is closed when a write error stops the writer; Err says what it
// was.
func (w *RecordWriter) Failed() <-chan struct{} { return w.failed }

// Err returns the error that stopped the writer, else the first record
// refused, else nil.
func (w *RecordWriter) Err() error { return w.firstErr() }

// Stored returns how many records have been committed so far.
func (w *RecordWriter) Stored() int { return int(w.stored.Load()) }

func (w *RecordWriter) setErr(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// firstErr returns the error that stopped the writer, else the first
// record refused.
func (w *RecordWriter) firstErr() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if w.fatalErr != nil {
		return w.fatalErr
	}
	return w.err
}

// fail records a fatal error: nothing more is written.
func (w *RecordWriter) fail(err error, lost int) {
	w.errMu.Lock()
	if w.fatalErr == nil {
		w.fatalErr = err
	}
	w.errMu.Unlock()
	w.setErr(err)
	w.notSaved.Add(int64(lost))
	if !w.fatal.Swap(true) {
		close(w.failed)
	}
}

// loop is the background goroutine: it batches and commits.
func (w *RecordWriter) loop() {
	defer close(w.done)
	defer func() {
		for i := len(w.closer) - 1; i >= 0; i-- {
			_ = w.closer[i]()
		}
	}()
	ctx := context.Background()
	if err := w.start(ctx); err != nil {
		w.fail(err, 0)
		return
	}
	batch := make([]*pending, 0, w.opts.MaxBatch)
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	beat := time.NewTicker(w.opts.heartbeat)
	defer beat.Stop()
	flush := func() bool {
		batch = w.drain(batch)
		err := w.commit(ctx, batch)
		if err != nil {
			w.fail(err, len(batch))
		}
		clear(batch)
		batch = batch[:0]
		wait.Stop()
		return err == nil
	}
	for {
		select {
		case p := <-w.queue:
			batch = append(batch, p)
			if len(batch) == 1 {
				wait.Reset(w.opts.FlushInterval / 2)
			}
			if len(batch) >= w.opts.MaxBatch && !flush() {
				return
			}
		case <-wait.C:
			if len(batch) > 0 && !flush() {
				return
			}
		case <-beat.C:
			if len(batch) == 0 {
				// A missed heartbeat loses nothing; the next batch reports
				// a lasting problem.
				_ = w.commit(ctx, nil)
			}
		case <-w.stop:
			for {
				batch = w.drain(batch)
				if len(batch) == 0 {
					return
				}
				if !flush() {
					return
				}
			}
		}
	}
}

// drain moves queued records into batch without waiting, up to MaxBatch.
func (w *RecordWriter) drain(batch []*pending) []*pending {
	for len(batch) < w.opts.MaxBatch {
		select {
		case p := <-w.queue:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// start takes the writer's own connection and prepares its statements.
func (w *RecordWriter) start(ctx context.Context) error {
	conn, err := w.db.sql.Conn(ctx)
	if err != nil {
		return explain(w.db.path, "opening a connection for the record writer", err)
	}
	w.conn = conn
	w.closer = append(w.closer, conn.Close)
	if err := runExists(ctx, conn, w.runID); err != nil {
		return fmt.Errorf("store: writing records: %w (BeginRun first)", err)
	}
	ins, err := newInserter(ctx, conn, w.db.version, w.db.pg != nil)
	if err == nil {
		w.ins = ins
		w.closer = append(w.closer, ins.close)
		w.beat, err = conn.PrepareContext(ctx, "UPDATE runs SET heartbeat = ?, records = records + ? WHERE id = ?")
	}
	if err != nil {
		return explain(w.db.path, "preparing the record writer", err)
	}
	w.closer = append(w.closer, w.beat.Close)
	return nil
}

// commit writes batch (possibly empty: a heartbeat) in one transaction.
// The run's row is updated first, so a run deleted meanwhile fails the
// batch plainly instead of record by record (foreign key).
func (w *RecordWriter) commit(ctx context.Context, batch []*pending) error {
	if len(batch) == 0 {
		_, err := w.beat.ExecContext(ctx, time.Now().UnixNano(), 0, w.runID)
		return explain(w.db.path, "updating the heartbeat of run "+w.runID, err)
	}
	var err error
	for range 3 { // a lock held past the busy timeout: try again, twice
		if _, err = w.conn.ExecContext(ctx, w.db.beginWrite()); sqliteCode(err) != codeBusy {
			break
		}
	}
	if err != nil {
		return explain(w.db.path, "writing records of run "+w.runID, err)
	}
	var refused []error
	err = w.update(ctx, len(batch))
	if err == nil {
		var n int
		refuse := func(p *pending, err error) error {
			refused = append(refused, fmt.Errorf("store: run %s: record seq %d not saved: %v (duplicate seq?)", w.runID, p.rec.Seq, err))
			return nil
		}
		if w.db.pg != nil {
			n, err = w.copyRecords(ctx, batch, refuse)
		} else {
			n, err = w.ins.insert(ctx, w.runID, batch, refuse)
		}
		if err == nil && n < len(batch) {
			err = w.update(ctx, n-len(batch))
		}
	}
	if err == nil {
		_, err = w.conn.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		_, _ = w.conn.ExecContext(ctx, "ROLLBACK") // SQLite may have rolled back already
		return explain(w.db.path, "writing records of run "+w.runID, err)
	}
	for _, e := range refused {
		w.setErr(e)
	}
	w.notSaved.Add(int64(len(refused)))
	w.stored.Add(int64(len(batch) - len(refused)))
	return nil
}

// update beats the run's heart and adds n to its record count.
func (w *RecordWriter) update(ctx context.Context, n int) error {
	res, err := w.beat.ExecContext(ctx, time.Now().UnixNano(), n, w.runID)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return fmt.Errorf("%w: %q was deleted while it was being written", ErrNotFound, w.runID)
	}
	return nil
}
