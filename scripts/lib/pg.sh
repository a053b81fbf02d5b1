# shellcheck shell=bash
# A throwaway PostgreSQL 15 cluster for dev and tests. Source this file, then:
#   pg_start DIR   → initdb + start on a free loopback port, TLS on with a certificate
#                    made for this cluster; sets PG_PORT, PG_URL, PG_CA (its root) and
#                    PG_WRONG_CA (a root that did not sign it). Role `tls_only` must use TLS.
#   pg_restart DIR → fast restart with the same options (fault tests)
#   pg_stop DIR    → fast shutdown (safe to call twice)
# As root, initdb refuses to run, so the cluster runs as the `postgres` OS user.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_ensure_installed() {
    if ! command -v openssl >/dev/null; then
        echo "openssl missing; installing it" >&2
        if [ "$(id -u)" = 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >&2
        else
            DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -q openssl >&2
        fi
    fi
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
    pg_make_certs "$dir/tls"
    # Clients that ask for TLS get it; the role tls_only gets nothing else.
    cat >"$dir/data/pg_hba.conf" <<HBA
local     all all                     trust
hostnossl all tls_only 127.0.0.1/32   reject
host      all all      127.0.0.1/32   trust
host      all all      ::1/128        trust
HBA
    PG_PORT=$(free_port)
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o \
        "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c ssl=on -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key" \
        start >/dev/null || { cat "$dir/postgres.log" >&2; return 1; }
    PG_URL="postgres://tollgate@127.0.0.1:$PG_PORT"
    PG_CA=$dir/tls/ca.crt
    PG_WRONG_CA=$dir/tls/wrong-ca.crt
    export PG_PORT PG_URL PG_CA PG_WRONG_CA
}

# A throwaway CA, a server certificate it signs for 127.0.0.1 and localhost, and an
# unrelated CA, for the TLS tests. Made fresh for every cluster; never a real secret.
pg_make_certs() {
    local tls=$1
    mkdir -p "$tls"
    (
        cd "$tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tollgate test CA" \
            -keyout ca.key -out ca.crt
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated CA" \
            -keyout wrong-ca.key -out wrong-ca.crt
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
            -extfile server.ext -out server.crt
    ) >/dev/null 2>&1 || { echo "could not make test certificates with openssl" >&2; return 1; }
    chmod 600 "$tls/server.key"
    chmod 755 "$tls"
    chmod 644 "$tls"/*.crt
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$tls"; fi
}

# Restarts the cluster in DIR with the options it was started with (fault tests).
pg_restart() {
    local dir=$1
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -m fast -w -t 60 restart >/dev/null
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
