package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSettingsPersist checks that a setting survives closing and reopening
// the database, that a later write replaces it, and that an unset key reads
// as absent without touching the destination.
func TestSettingsPersist(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db := openAt(t, path)
	type defaults struct {
		Requests int      `json:"requests"`
		Temp     *float64 `json:"temperature"`
	}
	v := defaults{Requests: 7}
	if ok, err := db.Setting(ctx, "defaults", &v); ok || err != nil || v.Requests != 7 {
		t.Fatalf("unset key: ok %v err %v value %+v", ok, err, v)
	}
	zero := 0.0
	if err := db.SetSetting(ctx, "defaults", defaults{Requests: 3, Temp: &zero}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting(ctx, "defaults", defaults{Requests: 9, Temp: &zero}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openAt(t, path)
	var got defaults
	if ok, err := db.Setting(ctx, "defaults", &got); !ok || err != nil {
		t.Fatalf("after reopen: ok %v err %v", ok, err)
	}
	if got.Requests != 9 || got.Temp == nil || *got.Temp != 0 {
		t.Errorf("got %+v, want requests 9 and a real zero temperature", got)
	}
	if n := count(t, db, "SELECT count(*) FROM settings"); n != 1 {
		t.Errorf("%d rows, want 1", n)
	}
	if err := db.DeleteSetting(ctx, "defaults"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.Setting(ctx, "defaults", &got); ok {
		t.Error("deleted setting still reads")
	}
	if err := db.SetSetting(ctx, "", 1); err == nil {
		t.Error("empty key accepted")
	}
	if err := db.SetSetting(ctx, "big", strings.Repeat("x", maxSettingLen)); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized setting: %v", err)
	}
}
