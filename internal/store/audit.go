package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"
)

// AuditEntry is one state-changing request to a shared server: who made
// it, what route, on what, when, and the answer's status.
type AuditEntry struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	User   string    `json:"user"`
	Role   Role      `json:"role"`
	Method string    `json:"method"`
	Route  string    `json:"route"`  // the route's pattern, e.g. DELETE /api/v1/runs/{id}
	Target string    `json:"target"` // what it acted on: a run id, a user name ("" for none)
	Status int       `json:"status"`
	Remote string    `json:"remote"` // the client's address
}

// Bounds on one audit entry's text fields: longer values are cut (at a
// character boundary) so that a hostile request cannot grow the log.
const maxAuditField = 256

// The audit log keeps the newest auditKeep entries: every auditPruneEvery
// entries added, older ones are deleted, so that a user's requests (at
// most the rate limit's, 20 a second by default) cannot grow the database
// without bound. A million entries of at most ~1.3 KB each (text fields
// clipped to maxAuditField) are some months of a busy team's changes.
// Variables for tests.
var (
	auditKeep       = 1_000_000
	auditPruneEvery = int64(256)
)

// MaxAuditPage is the most entries one Audit call returns.
const MaxAuditPage = 1000

// clip cuts s to at most maxAuditField bytes of whole characters.
func clip(s string) string {
	if len(s) <= maxAuditField {
		return s
	}
	s = s[:maxAuditField]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// AddAudit stores e; a zero At is now, an empty ID a random one.
func (db *DB) AddAudit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.ID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		e.ID = hex.EncodeToString(b[:])
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO audit_log (id, at, user_name, role, method, route, target, status, remote)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, clip(e.ID), e.At.UnixNano(), clip(e.User), clip(string(e.Role)), clip(e.Method),
		clip(e.Route), clip(e.Target), e.Status, clip(e.Remote))
	if err != nil {
		return explain(db.path, "writing the audit log", err)
	}
	if db.audits.Add(1)%auditPruneEvery == 0 {
		return db.pruneAudit(ctx)
	}
	return nil
}

// pruneAudit deletes the entries older than the newest auditKeep (through
// the audit_log_at index).
func (db *DB) pruneAudit(ctx context.Context) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM audit_log WHERE at < (SELECT at FROM (SELECT at FROM audit_log ORDER BY at DESC LIMIT 1 OFFSET ?) AS kept)`, auditKeep-1)
	return explain(db.path, "pruning the audit log", err)
}

// Audit returns up to limit entries (1 to MaxAuditPage) older than before
// (the zero time: the newest), newest first.
func (db *DB) Audit(ctx context.Context, limit int, before time.Time) ([]AuditEntry, error) {
	if limit < 1 || limit > MaxAuditPage {
		return nil, fmt.Errorf("audit page size must be 1 to %d, got %d", MaxAuditPage, limit)
	}
	cut := int64(1<<63 - 1)
	if !before.IsZero() {
		cut = before.UnixNano()
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT id, at, user_name, role, method, route, target, status, remote
		FROM audit_log WHERE at < ? ORDER BY at DESC, id LIMIT ?`, cut, limit)
	if err != nil {
		return nil, explain(db.path, "reading the audit log", err)
	}
	defer rows.Close()
	es := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		var role string
		if err := rows.Scan(&e.ID, &at, &e.User, &role, &e.Method, &e.Route, &e.Target, &e.Status, &e.Remote); err != nil {
			return nil, explain(db.path, "reading the audit log", err)
		}
		e.At, e.Role = time.Unix(0, at).UTC(), Role(role)
		es = append(es, e)
	}
	return es, explain(db.path, "reading the audit log", rows.Err())
}
