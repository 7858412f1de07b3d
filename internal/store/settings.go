package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// maxSettingLen bounds one setting's stored JSON.
const maxSettingLen = 1 << 20

// Setting reads setting key into v (a pointer to a JSON-decodable value).
// It reports false, leaving v untouched, when the key was never set.
func (db *DB) Setting(ctx context.Context, key string, v any) (bool, error) {
	var s string
	err := db.sql.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, explain(db.path, "reading setting "+key, err)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return false, fmt.Errorf("store: setting %s in %s: %w", key, db.path, err)
	}
	return true, nil
}

// SetSetting stores v as JSON under key, replacing any earlier value.
func (db *DB) SetSetting(ctx context.Context, key string, v any) error {
	if key == "" || len(key) > 128 {
		return fmt.Errorf("store: setting key must be 1 to 128 bytes, got %d", len(key))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: setting %s: %w", key, err)
	}
	if len(b) > maxSettingLen {
		return fmt.Errorf("store: setting %s: %d bytes is over the %d-byte limit", key, len(b), maxSettingLen)
	}
	_, err = db.sql.ExecContext(ctx, `INSERT INTO settings (key, value, updated) VALUES (?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated = excluded.updated`, key, string(b), time.Now().UnixNano())
	if err != nil {
		return explain(db.path, "saving setting "+key, err)
	}
	return nil
}

// DeleteSetting removes key; removing a key that is not set is not an error.
func (db *DB) DeleteSetting(ctx context.Context, key string) error {
	if _, err := db.sql.ExecContext(ctx, "DELETE FROM settings WHERE key = ?", key); err != nil {
		return explain(db.path, "deleting setting "+key, err)
	}
	return nil
}
