# shellcheck shell=bash
# A throwaway PostgreSQL 15 cluster for dev and tests. Source this file, then:
#   pg_start DIR   → initdb + start on a free loopback port; sets PG_PORT and PG_URL
#   pg_stop DIR    → fast shutdown (safe to call twice)
# As root, initdb refuses to run, so the cluster runs as the `postgres` OS user.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_ensure_installed() {
    if [ ! -x "$PG_BIN/initdb" ]; then
        echo "PostgreSQL 15 server binaries missing; installing postgresql-15" >&2
        if [ "$(id -u)" = 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15 >&2
        else
            DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -q postgresql-15 >&2
        fi
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
    local dir=$1
    pg_ensure_installed
    mkdir -p "$dir"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    as_pg "$PG_BIN/initdb" -D "$dir/data" -U tollgate --auth=trust -E UTF8 --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
    PG_PORT=$(free_port)
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o \
        "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null || { cat "$dir/postgres.log" >&2; return 1; }
    PG_URL="postgres://tollgate@127.0.0.1:$PG_PORT"
    export PG_PORT PG_URL
}

pg_stop() {
    local dir=$1
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

# Is DIR somewhere the postgres user can reach (every parent searchable)?
pg_can_use_dir() {
    local dir=$1
    mkdir -p "$dir"
    [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$dir"
}
