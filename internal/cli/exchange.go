package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"flperf/internal/bench"
	"flperf/internal/legacy/original"
	"flperf/internal/store"
)

// maxImportBytes bounds an import file (records of a long run included).
const maxImportBytes = 2 << 30

// exportCmd writes a stored run in one of the exchange formats.
func exportCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "export", "RUN [flags]", "Writes a stored run: json (the run document with every request record: `flperf import` takes it back losslessly), csv (one row per model × scenario and per model), jsonl (one request record per line) or benchstat (Go benchmark format, for the benchstat tool).")
	format := c.fs.String("format", "json", "`format`: json, csv, jsonl or benchstat")
	outPath := c.fs.String("out", "", "write to `FILE` instead of standard output")
	pos, code, ok := c.parse(args, 1, 1)
	if !ok {
		return code
	}
	if !c.flagOneOf("format", *format, bench.ExportFormats...) {
		return ExitUsage
	}
	db, id, err := c.openRun(ctx, pos[0])
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	out, err := openOutput(env, *outPath)
	if err != nil {
		return c.fail(err)
	}
	err = bench.Export(ctx, db, id, *format, out)
	if err != nil {
		out.abort()
		return c.fail(err)
	}
	if err := out.commit(); err != nil {
		return c.fail(err)
	}
	return ExitOK
}

// importCmd loads an exported run into the database.
func importCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "import", "FILE [flags]", "Adds a run exported with `flperf export --format json` (from this or another machine) to the database, records and all; or the history of the original FLPerformance (its results/storage.json, results/benchmarks.db or a run's JSON export), as runs marked LEGACY (docs/legacy.md). The format is told by the content.")
	pos, code, ok := c.parse(args, 1, 1)
	if !ok {
		return code
	}
	a, legacyFile, err := readImport(pos[0])
	if legacyFile != nil {
		return importLegacy(ctx, c, pos[0], legacyFile)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf import: %v\n", err)
		return ExitUsage
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	if err := db.Import(ctx, a); err != nil {
		if errors.Is(err, store.ErrInvalidArchive) {
			fmt.Fprintf(env.Stderr, "flperf import: %s: %v\n", pos[0], err)
			return ExitUsage
		}
		return c.fail(err)
	}
	fmt.Fprintf(env.Stdout, "imported run %s (%d records)\n", a.ID, len(a.Records))
	return ExitOK
}

// readImport reads an import file: an flperf export document, or one of
// the original FLPerformance's files (told by content: legacy_import.go).
func readImport(path string) (*store.Archive, *original.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	if original.Detect(head[:n]) == original.SQLite {
		lf, err := original.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		return nil, lf, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(data) > maxImportBytes {
		return nil, nil, fmt.Errorf("%s: larger than %d bytes", path, maxImportBytes)
	}
	if original.Detect(data) != original.None {
		if len(data) > original.MaxJSONBytes {
			return nil, nil, fmt.Errorf("%s: larger than the %d bytes an import of the original's JSON reads", path, original.MaxJSONBytes)
		}
		lf, err := original.ParseJSON(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, lf, nil
	}
	a, err := decodeArchive(path, data)
	return a, nil, err
}

// decodeArchive decodes and checks an export document.
func decodeArchive(path string, data []byte) (*store.Archive, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var a store.Archive
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%s: not an flperf export document: %v", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: trailing data after the export document", path)
	}
	if a.ID == "" {
		return nil, fmt.Errorf("%s: no run id: is this a `flperf export --format json` document?", path)
	}
	return &a, nil
}
