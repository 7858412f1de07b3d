package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Role is what a user of a shared server may do (docs/api.md "Users,
// roles and the audit log"). Each role includes the ones before it.
type Role string

// The roles, from least to most allowed.
const (
	// RoleViewer reads: runs, reports, settings, engines.
	RoleViewer Role = "viewer"
	// RoleRunner also starts and cancels runs, pushes runs and changes
	// engines, suites and settings.
	RoleRunner Role = "runner"
	// RoleAdmin also deletes and manages users and reads the audit log.
	RoleAdmin Role = "admin"
)

// Roles lists the roles from least to most allowed.
var Roles = []Role{RoleViewer, RoleRunner, RoleAdmin}

// rank orders the roles; 0 is no role.
func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Includes reports whether r may do what need may: an admin may do what a
// runner may, a runner what a viewer may.
func (r Role) Includes(need Role) bool { return r.Valid() && r.rank() >= need.rank() }

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", fmt.Errorf("role must be viewer, runner or admin, got %q", s)
}

// userNameRE is a user's name: a letter or digit, then letters, digits,
// dots, dashes or underscores, 64 characters at most.
var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckUserName reports why name cannot name a user, or nil.
func CheckUserName(name string) error {
	if !userNameRE.MatchString(name) {
		return fmt.Errorf("user name must be 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit, got %q", name)
	}
	return nil
}

// TokenHashLen is the length of a stored token hash (SHA-256).
const TokenHashLen = 32

// User is one named user of a shared server. Its token is never stored,
// only the token's hash.
type User struct {
	Name    string     `json:"name"`
	Role    Role       `json:"role"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"` // nil: active
}

// ErrUserExists is returned (wrapped) by AddUser when an active user has
// the name already.
var ErrUserExists = errors.New("user exists")

// ErrNoUser is returned (wrapped) when no active user has the given name.
var ErrNoUser = errors.New("no such user")

// AddUser stores a user with the SHA-256 hash of its token. A revoked
// user's name may be given again: the new user replaces the old row (the
// audit log keeps naming the old one by name).
func (db *DB) AddUser(ctx context.Context, name string, role Role, tokenHash []byte) (User, error) {
	if err := CheckUserName(name); err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, fmt.Errorf("role must be viewer, runner or admin, got %q", role)
	}
	if len(tokenHash) != TokenHashLen {
		return User{}, fmt.Errorf("store: token hash of %d bytes, want %d", len(tokenHash), TokenHashLen)
	}
	now := time.Now().UTC()
	u := User{Name: name, Role: role, Created: now}
	err := db.tx(ctx, "adding user "+name, func(tx *sql.Tx) error {
		var revoked int64
		// Locked (PostgreSQL): a revoked name given again twice at once is
		// replaced once; the second sees the first's user.
		err := tx.QueryRowContext(ctx, "SELECT revoked FROM users WHERE name = ?"+db.forUpdate(), name).Scan(&revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, "INSERT INTO users (name, role, token_hash, created, revoked) VALUES (?, ?, ?, ?, 0)",
				name, string(role), tokenHash, now.UnixNano())
			if isConstraint(err) { // added by another at the same time
				return fmt.Errorf("user %q: %w (revoke it first, or choose another name)", name, ErrUserExists)
			}
			return err
		case err != nil:
			return err
		case revoked == 0:
			return fmt.Errorf("user %q: %w (revoke it first, or choose another name)", name, ErrUserExists)
		}
		_, err = tx.ExecContext(ctx, "UPDATE users SET role = ?, token_hash = ?, created = ?, revoked = 0 WHERE name = ?",
			string(role), tokenHash, now.UnixNano(), name)
		return err
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// tx runs fn in a transaction, committing when it returns nil. Errors of
// the database are explained with doing; fn's own errors pass unchanged.
func (db *DB) tx(ctx context.Context, doing string, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return explain(db.path, doing, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		if errors.Is(err, ErrUserExists) || errors.Is(err, ErrNoUser) {
			return err
		}
		return explain(db.path, doing, err)
	}
	return explain(db.path, doing, tx.Commit())
}

// Users lists every user, revoked ones included, by name.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT name, role, created, revoked FROM users ORDER BY name")
	if err != nil {
		return nil, explain(db.path, "listing users", err)
	}
	defer rows.Close()
	us := []User{}
	for rows.Next() {
		var u User
		var role string
		var created, revoked int64
		if err := rows.Scan(&u.Name, &role, &created, &revoked); err != nil {
			return nil, explain(db.path, "listing users", err)
		}
		u.Role, u.Created = Role(role), time.Unix(0, created).UTC()
		if revoked != 0 {
			t := time.Unix(0, revoked).UTC()
			u.Revoked = &t
		}
		us = append(us, u)
	}
	return us, explain(db.path, "listing users", rows.Err())
}

// HasUsers reports whether any user was ever added (revoked ones count:
// revoking every user does not reopen a shared server to the single
// access token).
func (db *DB) HasUsers(ctx context.Context) (bool, error) {
	var n int
	if err := db.sql.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1) AS u").Scan(&n); err != nil {
		return false, explain(db.path, "looking for users", err)
	}
	return n > 0, nil
}

// RevokeUser revokes the active user name: its token stops working at
// once. It fails with ErrNoUser when no active user has that name.
func (db *DB) RevokeUser(ctx context.Context, name string) error {
	res, err := db.sql.ExecContext(ctx, "UPDATE users SET revoked = ? WHERE name = ? AND revoked = 0", time.Now().UnixNano(), name)
	if err != nil {
		return explain(db.path, "revoking user "+name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("user %q: %w (flperf users list shows them)", name, ErrNoUser)
	}
	return nil
}

// UserByTokenHash returns the active user whose token has hash sum; ok is
// false when none has. The stored hash is compared in constant time.
func (db *DB) UserByTokenHash(ctx context.Context, sum []byte) (u User, ok bool, err error) {
	if len(sum) != TokenHashLen {
		return User{}, false, nil
	}
	var role string
	var stored []byte
	var created int64
	err = db.sql.QueryRowContext(ctx, "SELECT name, role, token_hash, created FROM users WHERE token_hash = ? AND revoked = 0", sum).
		Scan(&u.Name, &role, &stored, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, explain(db.path, "looking up a user token", err)
	}
	if subtle.ConstantTimeCompare(stored, sum) != 1 {
		return User{}, false, nil
	}
	u.Role, u.Created = Role(role), time.Unix(0, created).UTC()
	return u, true, nil
}
