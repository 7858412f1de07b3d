package store

import (
	"context"
	"database/sql"
	"os"
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
	} {
		if os.Getenv("Q") != "" && os.Getenv("Q") != q.name {
			continue
		}
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := db.sql.QueryContext(ctx, q.sql, "big")
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
