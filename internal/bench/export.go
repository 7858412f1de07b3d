package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"flperf/internal/record"
	"flperf/internal/report"
	"flperf/internal/store"
)

// ErrNoSuchModel is wrapped by the errors for a RUN@MODEL whose run has no
// such model.
var ErrNoSuchModel = errors.New("no such model in the run")

// ExportFormats are the formats Export writes.
var ExportFormats = []string{"json", "csv", "jsonl", "benchstat"}

// Export writes stored run id in one of the exchange formats: json (the
// run document with every request record and its event log, which
// `flperf import` takes back losslessly), csv (one row per model × scenario
// and per model, from the recomputed summary), jsonl (one request record per
// line, as stored) or benchstat (Go benchmark format). It is `flperf export`
// and the app's export alike, byte for byte.
func Export(ctx context.Context, db *store.DB, id, format string, w io.Writer) error {
	switch format {
	case "json":
		a, err := db.Export(ctx, id)
		if err != nil {
			return err
		}
		return WriteArchive(w, a)
	case "csv":
		r, err := db.Run(ctx, id)
		if err != nil {
			return err
		}
		return report.CSV(w, r)
	case "jsonl":
		j := report.NewJSONL(w)
		return errors.Join(db.Records(ctx, id, j.Add), j.Close())
	case "benchstat":
		var recs []record.Record
		if err := db.Records(ctx, id, func(r *record.Record) error { recs = append(recs, *r); return nil }); err != nil {
			return err
		}
		return report.Benchstat(w, "", recs) // no run: line, so `benchstat a.txt b.txt` compares two exports
	}
	return fmt.Errorf("unknown export format %q", format)
}

// WriteArchive writes the lossless JSON export document.
func WriteArchive(w io.Writer, a *store.Archive) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(a)
}
