package store

import (
	"context"

	"flperf/internal/record"
	"flperf/internal/stats"
)

// PushSource is a stored run as a push sends it, read without holding its
// records: its header (PushHeader's bytes), record count, content digest
// and status.
type PushSource struct {
	ID      string
	Header  []byte
	Records int64
	Digest  string
	Status  string
}

// ReadPushSource reads run id's header and digest from one snapshot, in
// one pass over its records (the summary and the lines' hash), holding one
// record at a time. The header is Export's, so the digest is
// ArchiveDigest(Export(id)).
func (db *DB) ReadPushSource(ctx context.Context, id string) (*PushSource, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	a, r, err := db.readArchiveHead(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	var agg stats.Aggregator
	d := newLinesDigest()
	n := 0
	if err := db.scanRecords(ctx, tx, id, 0, func(_ int64, rec *record.Record) error {
		line, err := EncodeJSON(rec)
		if err != nil {
			return err
		}
		d.Add(line)
		agg.Add(rec)
		n++
		return nil
	}); err != nil {
		return nil, err
	}
	setArchiveSummary(a, r, &agg, n)
	src := &PushSource{ID: id, Records: int64(n), Status: string(r.Status)}
	if src.Header, err = PushHeader(a); err != nil {
		return nil, err
	}
	d.setHeader(src.Header)
	src.Digest = d.Sum()
	return src, nil
}

// PushLines calls fn with each record line of run id (EncodeJSON's bytes)
// from record from on, in order, with its index, holding one at a time.
// An error of fn stops the scan and is returned.
func (db *DB) PushLines(ctx context.Context, id string, from int64, fn func(i int64, line []byte) error) error {
	tx, err := db.readTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := runExists(ctx, tx, id); err != nil {
		return err
	}
	return db.scanRecords(ctx, tx, id, from, func(i int64, rec *record.Record) error {
		line, err := EncodeJSON(rec)
		if err != nil {
			return err
		}
		return fn(i, line)
	})
}
