package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// pushSchema is the schema version that added run_origins (migration 016).
const pushSchema = 16

// Describe says where a run came from, in a few words for a list or a
// report header: "pushed from HOST by USER" (the pushing machine's host
// name, or its network address when it gave none) or "pulled from URL".
func (o *PushOrigin) Describe() string {
	if o == nil {
		return ""
	}
	if o.Via == "pull" {
		return "pulled from " + orDash(o.Remote)
	}
	from := o.Host
	if from == "" {
		from = o.Remote
	}
	s := "pushed from " + orDash(from)
	if o.User != "" {
		s += " by " + o.User
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// RunOrigin returns where stored run id came from when it was pushed here
// or pulled from a server; nil, with no error, for a run made here (or in
// a database older than push).
func (db *DB) RunOrigin(ctx context.Context, id string) (*PushOrigin, error) {
	if db.version < pushSchema {
		return nil, nil
	}
	var oj string
	err := db.sql.QueryRowContext(ctx, "SELECT origin FROM run_origins WHERE run_id = ?", id).Scan(&oj)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, explain(db.path, "reading the origin of run "+id, err)
	}
	return decodeOrigin(id, oj)
}

// decodeOrigin decodes a stored origin of run id.
func decodeOrigin(id, oj string) (*PushOrigin, error) {
	var o PushOrigin
	if err := json.Unmarshal([]byte(oj), &o); err != nil {
		return nil, fmt.Errorf("store: run %s: origin: %w", id, err)
	}
	return &o, nil
}
