package cli

import (
	"context"
	"fmt"

	"flperf/internal/legacy"
	"flperf/internal/legacy/original"
)

// importLegacy stores the runs of one of the original FLPerformance's
// files as legacy runs, all or none, and says which were new.
func importLegacy(ctx context.Context, c *simpleCmd, path string, lf *original.File) int {
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	res, err := db.ImportLegacy(ctx, lf.Runs)
	if err != nil {
		return c.fail(err)
	}
	out := c.env.Stdout
	runs := fmt.Sprintf("%d runs", len(lf.Runs))
	if len(lf.Runs) == 1 {
		runs = "1 run"
	}
	fmt.Fprintf(out, "%s: the original FLPerformance's %s, %s\n", path, describeFormat(lf.Format), runs)
	for _, id := range res.Added {
		fmt.Fprintf(out, "imported legacy run %s\n", id)
	}
	for _, id := range res.Present {
		fmt.Fprintf(out, "already imported: %s (left as it is)\n", id)
	}
	if lf.Orphans > 0 {
		fmt.Fprintf(out, "skipped %d result rows whose run is not in the file\n", lf.Orphans)
	}
	if len(lf.Runs) > 0 {
		fmt.Fprintf(out, "%s: these runs keep the original's own figures, shown apart from flperf's and never compared with them: chunks counted as tokens, nearest-rank percentiles, sequential only, retried errors hidden (docs/legacy.md).\n", legacy.Label)
	}
	return ExitOK
}

func describeFormat(f original.Format) string {
	switch f {
	case original.Storage:
		return "JSON store (storage.json)"
	case original.SQLite:
		return "SQLite store (benchmarks.db)"
	}
	return "run export"
}
