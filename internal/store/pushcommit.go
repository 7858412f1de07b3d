package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"flperf/internal/record"
)

// checkLines checks every record line of a chunk (DecodePushRecord), the
// first being record offset, on up to four goroutines; the error is the
// first line's that fails.
func checkLines(lines [][]byte, offset int64) error {
	parts := min(max(runtime.GOMAXPROCS(0), 1), 4, max(len(lines)/256, 1))
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(lines)/parts, (p+1)*len(lines)/parts
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if _, err := DecodePushRecord(lines[i], offset+int64(i)); err != nil {
					errs[p] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs { // the parts in order: the first failing line's
		if err != nil {
			return err
		}
	}
	return nil
}

// chunkPage is how many chunks CommitPush reads at a time.
const chunkPage = 4

// CommitPush stores the pushed run id whole, in one transaction, once
// every announced record has arrived and the content matches its digest;
// the session goes with it. Committing a run already stored answers its
// state (a commit retried after its answer was lost). Content that does
// not match its digest is a PushMismatch, and the session is dropped.
func (db *DB) CommitPush(ctx context.Context, id string) (*PushState, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, explain(db.path, "storing pushed run "+id, err)
	}
	defer tx.Rollback()
	st := &PushState{ID: id, State: PushReceiving}
	var header []byte
	var originJSON string
	// Locked until the run is stored: a commit racing this one waits, then
	// finds the session gone and answers the stored run.
	err = tx.QueryRowContext(ctx, "SELECT header, digest, total, received, origin FROM push_sessions WHERE run_id = ?"+db.forUpdate(), id).Scan(&header, &st.Digest, &st.Total, &st.Received, &originJSON)
	if errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		return db.PushStatus(ctx, id)
	}
	if err != nil {
		return nil, explain(db.path, "storing pushed run "+id, err)
	}
	if st.Received < st.Total {
		return nil, pushErrorf(PushIncomplete, st, "run %s: this server holds %d of its %d records: send the rest (from %d) before committing", id, st.Received, st.Total, st.Received)
	}
	a, err := DecodePushHeader(header)
	if err != nil {
		return nil, err
	}
	var origin PushOrigin
	if err := json.Unmarshal([]byte(originJSON), &origin); err != nil {
		return nil, fmt.Errorf("store: push of run %s: origin: %w", id, err)
	}
	origin.At = time.Now().UTC()
	d := NewDigest(header)
	err = db.importTx(ctx, tx, a, int(st.Total), func(ins *inserter, refused func(*pending, error) error) error {
		return db.insertChunks(ctx, tx, id, d, ins, refused)
	})
	if err == nil && d.Sum() != st.Digest {
		err = pushErrorf(PushMismatch, nil, "run %s: the records received have digest %s, not the %s announced: the push is dropped; push the run again", id, d.Sum(), st.Digest)
	}
	if err != nil {
		var perr *PushError
		if errors.As(err, &perr) || !isStoreFailure(err) { // the content is at fault: a retry would fail alike
			tx.Rollback()
			db.DropPush(context.WithoutCancel(ctx), id)
		}
		return nil, err
	}
	oj, err := json.Marshal(&origin)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO run_origins (run_id, digest, origin) VALUES (?, ?, ?)", id, st.Digest, string(oj)); err != nil {
		return nil, explain(db.path, "storing pushed run "+id, err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM push_sessions WHERE run_id = ?", id); err != nil {
		return nil, explain(db.path, "storing pushed run "+id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, explain(db.path, "storing pushed run "+id, err)
	}
	st.State, st.Origin = PushStored, &origin
	return st, nil
}

// insertChunks inserts the pushed records of run id in order, adding
// each line to d. Chunks are read a page at a time and decoded by up to
// four goroutines while the records of earlier chunks are written, so
// that at most a few chunks are in memory at once.
func (db *DB) insertChunks(ctx context.Context, tx *sql.Tx, id string, d *Digest, ins *inserter, refused func(*pending, error) error) error {
	type decoded struct {
		lines [][]byte
		batch []*pending
		err   error
	}
	workers := min(max(runtime.GOMAXPROCS(0), 1), 4)
	var queue []chan decoded
	defer func() { // let the decoders still running finish before the tx ends
		for _, q := range queue {
			<-q
		}
	}()
	next, read := int64(0), int64(0) // the next record to insert; to read
	done := false
	for {
		for !done && len(queue) <= workers { // at most workers+chunkPage chunks in memory

			page, err := readChunks(ctx, tx, id, read)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				done = true
				break
			}
			for _, c := range page {
				if c.first != read {
					return fmt.Errorf("store: push of run %s: chunk at record %d where %d was expected", id, c.first, read)
				}
				q := make(chan decoded, 1)
				queue = append(queue, q)
				go func(first int64, body []byte) {
					var out decoded
					out.lines, out.err = SplitLines(body)
					for i, l := range out.lines {
						if out.err != nil {
							break
						}
						// Each line was checked (DecodePushRecord) as it
						// arrived: plain decoding suffices here.
						var r record.Record
						if err := json.Unmarshal(l, &r); err != nil {
							out.err = pushErrorf(PushInvalid, nil, "record %d: %v", first+int64(i), err)
							break
						}
						p, err := newPending(&r)
						if err != nil {
							out.err = pushErrorf(PushInvalid, nil, "run %s: %v", id, err)
							break
						}
						out.batch = append(out.batch, p)
					}
					q <- out
				}(c.first, c.body)
				read = c.first + c.n
			}
		}
		if len(queue) == 0 {
			return nil
		}
		out := <-queue[0]
		queue = queue[1:]
		if out.err != nil {
			return out.err
		}
		for _, l := range out.lines {
			d.Add(l)
		}
		if _, err := ins.insert(ctx, id, out.batch, refused); err != nil {
			return err
		}
		next += int64(len(out.batch))
	}
}

// stagedChunk is one chunk of a push as stored.
type stagedChunk struct {
	first, n int64
	body     []byte
}

// readChunks reads the next page of run id's chunks, from record from.
func readChunks(ctx context.Context, tx *sql.Tx, id string, from int64) ([]stagedChunk, error) {
	rows, err := tx.QueryContext(ctx, "SELECT first_index, n, body FROM push_chunks WHERE run_id = ? AND first_index >= ? ORDER BY first_index LIMIT ?", id, from, chunkPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var page []stagedChunk
	for rows.Next() {
		var c stagedChunk
		if err := rows.Scan(&c.first, &c.n, &c.body); err != nil {
			return nil, err
		}
		page = append(page, c)
	}
	return page, rows.Err()
}
