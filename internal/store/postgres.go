package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsPostgres reports whether a --db value names a PostgreSQL database
// (postgres:// or postgresql:// URL) rather than an SQLite file.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// pgConnectTimeout bounds connecting when the URL gives no connect_timeout.
const pgConnectTimeout = 10 * time.Second

// pgState is what a DB on PostgreSQL keeps beside the pool.
type pgState struct {
	schema string   // current_schema() of its connections: flperf's tables live there
	leases sync.Map // run id → *sql.Conn holding the run's advisory lock (BeginRun to FinishRun)
}

// RedactURL returns a PostgreSQL URL fit for messages: its password, in
// the user information or the query, is replaced by "xxxxx". Anything that
// is not such a URL is returned as it is.
func RedactURL(s string) string {
	if !IsPostgres(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://(an unreadable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// openPostgres opens the flperf database in the PostgreSQL database (and
// schema: the connection's current_schema, from search_path) that dbURL
// names: it refuses one of another program or of a newer flperf, applies
// the migrations in one transaction, and marks runs whose writer died as
// interrupted.
func openPostgres(ctx context.Context, dbURL string, o openOptions) (*DB, error) {
	name := RedactURL(dbURL)
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database %s: not a usable PostgreSQL URL: %s", name, redactErr(err, dbURL))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	// The store's queries take optional filters as "(? = '' OR col = ?)"
	// and bounds as "LIMIT ?": a plan made for the values at hand uses the
	// index and stops at the limit, where PostgreSQL's generic plan of a
	// prepared statement (chosen after five runs) would scan and sort
	// every run (100 ms instead of 6 for the newest 100 of 10,000 runs,
	// BenchmarkRuns10k).
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	sdb := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	sdb.SetMaxOpenConns(maxConns)
	sdb.SetMaxIdleConns(4)
	host, _ := os.Hostname()
	db := &DB{path: name, sql: sdb, host: host, pid: os.Getpid(), pg: &pgState{}}
	if err := db.initPostgres(ctx, o.target); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// redactErr is err's text without the URL's password.
func redactErr(err error, dbURL string) string {
	s := err.Error()
	if u, perr := url.Parse(dbURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			s = strings.ReplaceAll(s, pw, "xxxxx")
		}
	}
	if u, perr := url.Parse(dbURL); perr == nil {
		if pw := u.Query().Get("password"); pw != "" {
			s = strings.ReplaceAll(s, pw, "xxxxx")
		}
	}
	return s
}

// initPostgres finds the schema, migrates, and marks dead runs interrupted.
func (db *DB) initPostgres(ctx context.Context, target int) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return explain(db.path, "connecting", err)
	}
	defer conn.Close()
	var schema sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return explain(db.path, "connecting", err)
	}
	if !schema.Valid {
		return fmt.Errorf("database %s: no schema to use: the connection's search_path names none that exists (create one, or set search_path in the URL)", db.path)
	}
	db.pg.schema = schema.String
	if db.version, err = migratePostgres(ctx, conn, db.path, target); err != nil {
		return err
	}
	if db.version == LatestSchema() {
		return db.markStale(ctx, conn)
	}
	return nil
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// isConstraint reports whether err is a constraint violation (a duplicate
// key, a foreign key), in SQLite's or PostgreSQL's words.
func isConstraint(err error) bool {
	return sqliteCode(err) == codeConstraint || strings.HasPrefix(pgCode(err), "23")
}

// beginWrite is the statement that starts a write transaction on a
// connection: SQLite's BEGIN IMMEDIATE takes the write lock at once;
// PostgreSQL locks rows as they are written.
func (db *DB) beginWrite() string {
	if db.pg != nil {
		return "BEGIN"
	}
	return "BEGIN IMMEDIATE"
}

// forUpdate ends a SELECT of rows the transaction then changes: on
// PostgreSQL, FOR UPDATE locks them until it ends, so that a concurrent
// writer waits and then reads what this one wrote; SQLite serialises
// write transactions itself and has no such clause.
func (db *DB) forUpdate() string {
	if db.pg != nil {
		return " FOR UPDATE"
	}
	return ""
}

// lockPushBegins makes tx wait for the other push begins of this
// database to end, on PostgreSQL (a transaction-scoped advisory lock, per
// schema): sessions are counted against MaxPushSessions, and an idle one
// replaced, one begin at a time. SQLite serialises writers itself.
func (db *DB) lockPushBegins(ctx context.Context, tx *sql.Tx) error {
	if db.pg == nil {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte("flperf push begin\x00" + db.pg.schema))
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", int64(h.Sum64()))
	return err
}

// runLockKey is the advisory lock key of run id: a 64-bit hash of the
// schema and the id, so that flperf databases in several schemas of one
// PostgreSQL database do not share locks.
func (db *DB) runLockKey(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte("flperf run\x00" + db.pg.schema + "\x00" + id))
	return int64(h.Sum64())
}

// takeLease holds run id's advisory lock on a connection of its own until
// dropLease: while the process lives and its connection is open, every
// other session sees the run's writer alive; when the process dies (kill
// -9, a crash, its machine down), PostgreSQL closes the session and frees
// the lock, and the next MarkStale marks the run interrupted.
func (db *DB) takeLease(ctx context.Context, id string) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return explain(db.path, "locking run "+id, err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?)", db.runLockKey(id)).Scan(&ok); err != nil {
		conn.Close()
		return explain(db.path, "locking run "+id, err)
	}
	if !ok {
		conn.Close()
		return fmt.Errorf("store: run %s already exists in %s (another session is writing it)", id, db.path)
	}
	if old, loaded := db.pg.leases.Swap(id, conn); loaded {
		db.releaseLease(old.(*sql.Conn), id)
	}
	return nil
}

// dropLease frees run id's advisory lock, if this DB holds it.
func (db *DB) dropLease(id string) {
	if db.pg == nil {
		return
	}
	if c, ok := db.pg.leases.LoadAndDelete(id); ok {
		db.releaseLease(c.(*sql.Conn), id)
	}
}

// releaseLease unlocks and returns a lease's connection to the pool; a
// connection that cannot unlock is discarded, which frees the lock too.
func (db *DB) releaseLease(conn *sql.Conn, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock(?)", db.runLockKey(id)).Scan(&ok); err != nil || !ok {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // closes the session
	}
	conn.Close()
}

// lockFree reports whether no session holds run id's advisory lock: its
// writer's session is gone. An error reading it says nothing: false.
func (db *DB) lockFree(ctx context.Context, id string) bool {
	var free bool
	err := db.sql.QueryRowContext(ctx, "SELECT CASE WHEN pg_try_advisory_lock(?1) THEN pg_advisory_unlock(?1) ELSE false END", db.runLockKey(id)).Scan(&free)
	return err == nil && free
}

// pgConnector makes pgConns.
type pgConnector struct{ driver.Connector }

// Connect wraps the pgx connection.
func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{dc.(*stdlib.Conn)}, nil
}

// pgConn is a pgx connection that speaks the store's SQL: its SQLite-style
// placeholders (?, ?NNN) become PostgreSQL's ($N), and text arguments are
// made storable (PostgreSQL text holds neither NUL bytes nor invalid
// UTF-8: such bytes are stored as U+FFFD). Every other method is pgx's.
type pgConn struct{ *stdlib.Conn }

// Prepare prepares query.
func (c *pgConn) Prepare(query string) (driver.Stmt, error) { return c.Conn.Prepare(rebind(query)) }

// PrepareContext prepares query.
func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

// ExecContext runs query.
func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

// QueryContext runs query.
func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

// CheckNamedValue makes a text argument storable, then lets pgx check it.
func (c *pgConn) CheckNamedValue(v *driver.NamedValue) error {
	if s, ok := v.Value.(string); ok {
		v.Value = pgText(s)
	}
	return c.Conn.CheckNamedValue(v)
}

// pgText returns s as PostgreSQL text can hold it: invalid UTF-8 and NUL
// bytes become U+FFFD.
func pgText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// rebinds caches rebind's answers: the store's queries are a fixed set.
var rebinds sync.Map

// maxRebinds bounds the cache, in case queries are ever built per call.
const maxRebinds = 4096

var rebindCount struct {
	sync.Mutex
	n int
}

// rebind turns SQLite placeholders into PostgreSQL's: ?NNN is $NNN, and a
// bare ? is one more than the largest number so far (SQLite's rule).
// Quoted strings, quoted identifiers and comments are left alone.
func rebind(q string) string {
	if v, ok := rebinds.Load(q); ok {
		return v.(string)
	}
	out := rebindText(q)
	rebindCount.Lock()
	if rebindCount.n < maxRebinds {
		rebindCount.n++
		rebinds.Store(q, out)
	}
	rebindCount.Unlock()
	return out
}

func rebindText(q string) string {
	if strings.IndexByte(q, '?') < 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	maxN := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(q))
			b.WriteString(q[i:end])
			i = end - 1
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := 0
			if j > i+1 {
				for _, d := range q[i+1 : j] {
					n = n*10 + int(d-'0')
				}
			} else {
				n = maxN + 1
			}
			maxN = max(maxN, n)
			fmt.Fprintf(&b, "$%d", n)
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// jsonAppend is the SQL of JSON array column col with the text of
// placeholder arg appended.
func (db *DB) jsonAppend(col, arg string) string {
	if db.pg != nil {
		return "(" + col + "::jsonb || jsonb_build_array(" + arg + "::text))::text"
	}
	return "json_insert(" + col + ", '$[#]', " + arg + ")"
}

// jsonField is the SQL of the text of top-level key of JSON object column
// col.
func (db *DB) jsonField(col, key string) string {
	if db.pg != nil {
		return "(" + col + "::jsonb ->> '" + key + "')"
	}
	return "json_extract(" + col + ", '$." + key + "')"
}

// jsonArray is the SQL of a table of one column, value, holding the text
// elements of the array at top-level key of JSON object column col.
func (db *DB) jsonArray(col, key string) string {
	if db.pg != nil {
		return "jsonb_array_elements_text(" + col + "::jsonb -> '" + key + "') AS m(value)"
	}
	return "json_each(" + col + ", '$." + key + "')"
}

// checkPostgres is Check for a PostgreSQL URL: it reads the flperf schema's
// identity, version and number of runs without writing ("schema" check;
// PostgreSQL checks its own pages).
func checkPostgres(ctx context.Context, dbURL string) Integrity {
	in := Integrity{Path: RedactURL(dbURL), Problems: []string{}, LatestSchema: LatestSchema(), Check: "schema"}
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		in.Problems = append(in.Problems, "not a usable PostgreSQL URL: "+redactErr(err, dbURL))
		return in
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	sdb := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	defer sdb.Close()
	var has bool
	err = sdb.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?)", pgSchemaTable).Scan(&has)
	if err != nil {
		in.Problems = append(in.Problems, redactErr(err, dbURL))
		return in
	}
	if !has {
		in.OK = true // flperf creates its tables on first use
		return in
	}
	in.Exists = true
	var appID int64
	var version int
	if err := sdb.QueryRowContext(ctx, "SELECT application, version FROM "+pgSchemaTable).Scan(&appID, &version); err != nil {
		in.Problems = append(in.Problems, "its "+pgSchemaTable+" table cannot be read: "+err.Error())
		return in
	}
	in.SchemaVersion = &version
	if err := checkIdentity(in.Path, appID, version, in.LatestSchema); err != nil {
		in.Problems = append(in.Problems, err.Error())
		return in
	}
	var n int
	if err := sdb.QueryRowContext(ctx, "SELECT count(*) FROM runs").Scan(&n); err != nil {
		in.Problems = append(in.Problems, "its runs cannot be counted: "+err.Error())
		return in
	}
	in.Runs = &n
	in.OK = true
	return in
}
