package store

// The SQLite driver: modernc.org/sqlite is a pure-Go translation of SQLite,
// so flperf stays one static binary built with CGO_ENABLED=0.
import _ "modernc.org/sqlite"
