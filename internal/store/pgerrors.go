package store

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// pgFailureClasses are the SQLSTATE classes (their first two characters)
// of PostgreSQL errors that come from the server's state, not from what
// was asked of it: the same request may succeed later.
var pgFailureClasses = map[string]bool{
	"08": true, // connection exception
	"25": true, // invalid transaction state: 25006, a read-only standby
	"40": true, // transaction rollback: serialization failure, deadlock
	"53": true, // insufficient resources: disk full, out of memory, too many connections
	"55": true, // object not in prerequisite state: 55P03, a lock not available
	"57": true, // operator intervention: a shutdown, a cancelled or timed-out statement
	"58": true, // system error: I/O
	"F0": true, // configuration file error
	"XX": true, // internal error: data corrupted, index corrupted
}

// isPostgresFailure reports whether err is a failure of the PostgreSQL
// server or of the connection to it (see pgFailureClasses; 42501, a
// privilege refused, too) rather than an error in the data: a lost
// connection, a server shutting down, a deadlock or serialization
// failure, a full disk. Errors of PostgreSQL's data classes (22, a value
// out of range; 23, a constraint) are not.
func isPostgresFailure(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "42501" || len(pe.Code) == 5 && pgFailureClasses[pe.Code[:2]]
	}
	// pgconn's own errors (a dial or read failing, a timeout, a busy
	// connection) all say whether a retry is safe: they are of the
	// connection, never of the data.
	var conn interface{ SafeToRetry() bool }
	var connect *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &conn) || errors.As(err, &connect) || errors.As(err, &ne) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone)
}
