package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"

	"flperf/internal/result"
	"flperf/internal/stats"
)

// summarySchema is the schema version that added the mark of a run's
// stored summaries (runs.summary_records, summary_beat, summary_build).
const summarySchema = 7

// buildID names the flperf build that computes summaries. Summaries
// stored by another build are recomputed, since its statistics may differ.
// A development build ("devel": go run, go build without a module version)
// is named by its executable's hash as well, so that a changed binary never
// trusts what an older one stored; when the executable cannot be read, by a
// value of this process alone (stored summaries are then recomputed by every
// later process).
var buildID = sync.OnceValue(func() string {
	t := result.CurrentTool()
	id := t.Name + " " + t.Version + " " + t.Go
	if strings.HasPrefix(t.Version, "devel") {
		id += " " + executableHash()
	}
	return id
})

// executableHash is a short hash of this process's executable file.
func executableHash() string {
	h := sha256.New()
	if path, err := os.Executable(); err == nil {
		if f, err := os.Open(path); err == nil {
			_, err = io.Copy(h, f)
			f.Close()
			if err == nil {
				return hex.EncodeToString(h.Sum(nil)[:8])
			}
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "unread-" + hex.EncodeToString(b[:])
}

// Summary kinds of the summaries table.
const (
	kindGroup = "group"
	kindModel = "model"
	kindTotal = "total"
)

// computed is a summary recomputed from a run's stored records, with the
// run's mark in the snapshot the records were read from.
type computed struct {
	sum  stats.Summary
	n    int     // records read
	mark runMark // found is false when the run does not exist
}

// summarizeOn recomputes run id's summary in q's snapshot.
func (db *DB) summarizeOn(ctx context.Context, q querier, id string, slo stats.SLO) (computed, error) {
	m, err := readMark(ctx, q, id)
	if err != nil {
		return computed{}, explain(db.path, "reading run "+id, err)
	}
	if !m.found {
		return computed{mark: m}, nil
	}
	sum, n, err := db.summarize(ctx, q, id, slo, nil)
	if err != nil {
		return computed{}, err
	}
	return computed{sum: sum, n: n, mark: m}, nil
}

// summarizeSnapshot recomputes run id's summary in a read snapshot of its
// own, so that a writer can do it before taking the write lock.
func (db *DB) summarizeSnapshot(ctx context.Context, id string, slo stats.SLO) (computed, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return computed{}, err
	}
	defer tx.Rollback()
	return db.summarizeOn(ctx, tx, id, slo)
}

// summarizeUnder returns pre, computed in an earlier snapshot, when run
// id's mark in q's snapshot is still pre's (no record was stored since),
// and recomputes the summary in q's snapshot otherwise.
func (db *DB) summarizeUnder(ctx context.Context, q querier, id string, slo stats.SLO, pre computed) (computed, error) {
	m, err := readMark(ctx, q, id)
	if err != nil {
		return computed{}, explain(db.path, "reading run "+id, err)
	}
	if m == pre.mark {
		return pre, nil
	}
	return db.summarizeOn(ctx, q, id, slo)
}

// saveSummaries stores c as run id's summaries, marked (from schema 7 on)
// with the records they cover, the heartbeat the run is given in the same
// transaction, and this build.
func (db *DB) saveSummaries(ctx context.Context, tx *sql.Tx, id string, c computed, beat int64) error {
	if err := insertSummaries(ctx, tx, id, &c.sum); err != nil {
		return err
	}
	if db.version < summarySchema {
		return nil
	}
	_, err := tx.ExecContext(ctx, "UPDATE runs SET summary_records = ?, summary_beat = ?, summary_build = ? WHERE id = ?", c.n, beat, buildID(), id)
	return err
}

// storedSummary returns run r's stored summaries when they are exactly what
// recomputing them from its records would give: the run is over, its
// summaries were computed by the store (FinishRun, Import) from the
// records it has now (same record count, and no heartbeat since: no
// record written after) by this build, and every row is there and
// readable. ok is false otherwise: recompute.
func (db *DB) storedSummary(ctx context.Context, q querier, r *result.Result) (sum stats.Summary, ok bool, err error) {
	if db.version < summarySchema || r.Status == Running {
		return sum, false, nil
	}
	var records, beat int64
	var sumRecords, sumBeat sql.NullInt64
	var build sql.NullString
	err = q.QueryRowContext(ctx, "SELECT records, heartbeat, summary_records, summary_beat, summary_build FROM runs WHERE id = ?", r.ID).
		Scan(&records, &beat, &sumRecords, &sumBeat, &build)
	if err == sql.ErrNoRows {
		return sum, false, fmt.Errorf("%w: %q", ErrNotFound, r.ID)
	}
	if err != nil {
		return sum, false, explain(db.path, "reading run "+r.ID, err)
	}
	if !sumRecords.Valid || sumRecords.Int64 != records || !sumBeat.Valid || sumBeat.Int64 != beat || !build.Valid || build.String != buildID() {
		return sum, false, nil
	}
	rows, err := q.QueryContext(ctx, "SELECT kind, ord, json FROM summaries WHERE run_id = ? ORDER BY kind, ord", r.ID)
	if err != nil {
		return sum, false, explain(db.path, "reading the summaries of run "+r.ID, err)
	}
	defer rows.Close()
	sum = stats.Summary{Groups: []stats.Group{}, Models: []stats.Group{}}
	totals := 0
	for rows.Next() {
		var kind string
		var ord int64
		var doc []byte
		if err := rows.Scan(&kind, &ord, &doc); err != nil {
			return sum, false, explain(db.path, "reading the summaries of run "+r.ID, err)
		}
		var g stats.Group
		if json.Unmarshal(doc, &g) != nil {
			return sum, false, nil // damaged: recompute
		}
		var list *[]stats.Group
		switch kind {
		case kindGroup:
			list = &sum.Groups
		case kindModel:
			list = &sum.Models
		case kindTotal:
			if ord != 0 || totals > 0 {
				return sum, false, nil
			}
			sum.Total, totals = g, 1
			continue
		default:
			return sum, false, nil
		}
		if ord != int64(len(*list)) { // a row is missing
			return sum, false, nil
		}
		*list = append(*list, g)
	}
	if err := rows.Err(); err != nil {
		return sum, false, explain(db.path, "reading the summaries of run "+r.ID, err)
	}
	return sum, totals == 1, nil
}

// insertSummaries replaces run id's summary rows with s's.
func insertSummaries(ctx context.Context, tx *sql.Tx, id string, s *stats.Summary) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM summaries WHERE run_id = ?", id); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO summaries (run_id, kind, model, scenario, stage, ord, requests, ok, error_rate, ttft_p50_ms, decode_p50_tps, output_tokens_per_s, json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	put := func(kind string, ord int, g *stats.Group) error {
		b, err := json.Marshal(g)
		if err != nil {
			return err
		}
		_, err = st.ExecContext(ctx, id, kind, g.Model, g.Scenario, g.Stage, ord, g.Requests, g.OK, finiteOr0(g.ErrorRate),
			p50(g.TTFT), p50(g.DecodeTPS), finiteOr0(g.OutputTokensPerS), string(b))
		if err != nil && isConstraint(err) {
			return fmt.Errorf("two %s summaries for model %q scenario %q stage %q: %w", kind, g.Model, g.Scenario, g.Stage, err)
		}
		return err
	}
	for i := range s.Groups {
		if err := put(kindGroup, i, &s.Groups[i]); err != nil {
			return err
		}
	}
	for i := range s.Models {
		if err := put(kindModel, i, &s.Models[i]); err != nil {
			return err
		}
	}
	total := s.Total
	total.Model, total.Scenario, total.Stage = "", "", ""
	return put(kindTotal, 0, &total)
}

// p50 returns a distribution's median, or nil (NULL) when it has none.
func p50(d stats.Dist) any {
	if d.N == 0 || math.IsNaN(d.P50) || math.IsInf(d.P50, 0) {
		return nil
	}
	return d.P50
}

// finiteOr0 maps NaN and infinities (never expected) to 0 for NOT NULL columns.
func finiteOr0(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
