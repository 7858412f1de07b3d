#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for flperf's PostgreSQL tests.
#
#   eval "$(.ci/postgres.sh start DIR)"   # prints export FLPERF_TEST_POSTGRES=...
#   .ci/postgres.sh stop DIR
#
# start: initdb into DIR/data (DIR must be empty or absent), listening on
# 127.0.0.1 at a free port, its unix socket in DIR, trust authentication for
# local connections only, superuser "flperf", database "flperf". It runs as
# the invoking user, or, when that is root (CI), as the user "nobody", which
# owns DIR (PostgreSQL refuses to run as root). It prints the export line of
# the connection URL on stdout; everything else goes to stderr and
# DIR/postgres.log. stop: a fast shutdown of that cluster (no error when it is
# not running). The binaries are Debian's postgresql package
# (/usr/lib/postgresql/N/bin, the newest N) or whatever pg_ctl is on PATH.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	echo "usage: $0 start|stop DIR" >&2
	exit 2
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
	pgctl=$(command -v pg_ctl || true)
	[ -n "$pgctl" ] || { echo "$0: PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }
	bindir=$(dirname "$pgctl")
fi

# as runs a command as the cluster's owner.
as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" = 0 ]; then
		chown nobody "$dir"
		# nobody must reach DIR through its parents (mktemp -d makes 0700 dirs
		# only in DIR itself; /tmp is world-traversable).
	fi
	as "$bindir/initdb" -D "$dir/data" -U flperf --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	port=""
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			port=$p
			break
		fi
	done
	[ -n "$port" ] || { echo "$0: no free port found" >&2; exit 1; }
	as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2 ||
		{ cat "$dir/postgres.log" >&2; exit 1; }
	as "$bindir/createdb" -h 127.0.0.1 -p "$port" -U flperf flperf >&2
	echo "export FLPERF_TEST_POSTGRES='postgres://flperf@127.0.0.1:$port/flperf?sslmode=disable'"
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
	fi
	;;
*)
	echo "usage: $0 start|stop DIR" >&2
	exit 2
	;;
esac
