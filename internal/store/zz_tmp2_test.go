package store

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
)

func BenchmarkTmpSQL(b *testing.B) {
	db := tmpDB(b)
	defer db.Close()
	ctx := context.Background()
	for _, q := range []struct{ name, sql string }{
		{"count", "SELECT count(*) FROM records WHERE run_id = ?"},
		{"seq", "SELECT seq FROM records WHERE run_id = ? ORDER BY seq"},
		{"chunks", "SELECT chunks FROM records WHERE run_id = ? ORDER BY seq"},
		{"stats", statsSQL},
		{"printf", "SELECT model, scenario, stage, input_source, output_source, finish_reason, outcome, phase, chunks, printf('%d %d %d %d %d %d %d %d %d %d %d %d %d %d', warmup, max_tokens, scheduled, sent, first_byte_ns, first_token_ns, first_answer_ns, last_token_ns, end_ns, input_tokens, output_tokens, engine_output_tokens, status, 0) FROM records WHERE run_id = ? ORDER BY seq"},
		{"concat", "SELECT model, scenario, stage, input_source, output_source, finish_reason, outcome, phase, chunks, concat_ws(' ', warmup, max_tokens, scheduled, sent, first_byte_ns, first_token_ns, first_answer_ns, last_token_ns, end_ns, input_tokens, output_tokens, engine_output_tokens, status) FROM records WHERE run_id = ? ORDER BY seq"},
		{"chunksNoIdx", "SELECT chunks FROM records"},
		{"statsNoIdx", strings.Replace(statsSQL, "WHERE run_id = ? ORDER BY seq", "", 1)},
	} {
		if os.Getenv("Q") != "" && os.Getenv("Q") != q.name {
			continue
		}
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				var args []any
				if strings.Contains(q.sql, "?") {
					args = []any{"big"}
				}
				rows, err := db.sql.QueryContext(ctx, q.sql, args...)
				if err != nil {
					b.Fatal(err)
				}
				cols, _ := rows.Columns()
				dest := make([]any, len(cols))
				raw := make([]sql.RawBytes, len(cols))
				for i := range dest {
					dest[i] = &raw[i]
				}
				for rows.Next() {
					if len(cols) > 1 || q.name != "count" {
						if err := rows.Scan(dest...); err != nil {
							b.Fatal(err)
						}
					}
				}
				rows.Close()
			}
		})
	}
}
