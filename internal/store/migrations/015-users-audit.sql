-- Schema 15: named users of a shared server and the audit log of their
-- state-changing requests (docs/api.md "Users, roles and the audit log").
-- A user's token is stored as its SHA-256 only; a revoked user keeps its
-- row (revoked > 0, Unix nanoseconds) so that the audit log still names it.
-- audit_log.id is a random hex id (no auto-increment: portable SQL).

CREATE TABLE users (
	name TEXT NOT NULL PRIMARY KEY,
	role TEXT NOT NULL,
	token_hash BLOB NOT NULL,
	created BIGINT NOT NULL,
	revoked BIGINT NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX users_token_hash ON users (token_hash);

CREATE TABLE audit_log (
	id TEXT NOT NULL PRIMARY KEY,
	at BIGINT NOT NULL,
	user_name TEXT NOT NULL,
	role TEXT NOT NULL,
	method TEXT NOT NULL,
	route TEXT NOT NULL,
	target TEXT NOT NULL,
	status INTEGER NOT NULL,
	remote TEXT NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at);
