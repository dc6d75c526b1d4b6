#!/usr/bin/env bash
# Runs a command with a real PostgreSQL at hand (CENTREDESK_TEST_PG=postgres://…): installs
# Debian's postgresql if missing, starts a throwaway cluster on a free local port in a temp
# dir, removes it after. Without a command: the server's storage suite.
#   scripts/with-postgres.sh                      # storage suite on SQLite and PostgreSQL
#   scripts/with-postgres.sh cargo test -p centredesk-server
# The tests' cluster runs with fsync off; PG_DURABLE=1 keeps PostgreSQL's default
# durability (fsync and synchronous_commit on), for benchmarks.
# TLS is on (plain connections still work) with a certificate made here for 127.0.0.1,
# which CENTREDESK_TEST_PG_CA names (the server's sslmode tests use it); without openssl
# the cluster has no TLS and those tests check less.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- cargo test -p centredesk-server --test storage -- --nocapture

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# initdb refuses to run as root: the cluster belongs to the postgres user then.
as=()
if [ "$(id -u)" = 0 ]; then chown postgres "$tmp"; as=(runuser -u postgres --); fi
cleanup() { "${as[@]}" "$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT

"${as[@]}" "$bindir/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
durability="-c fsync=off"
[ "${PG_DURABLE:-}" = 1 ] && durability=""
tls=""
ca=""
if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1,DNS:localhost -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth \
        -keyout "$tmp/server.key" -out "$tmp/server.crt" 2>/dev/null
    chmod 600 "$tmp/server.key"
    [ "$(id -u)" = 0 ] && chown postgres "$tmp/server.key" "$tmp/server.crt"
    tls="-c ssl=on -c ssl_cert_file=$tmp/server.crt -c ssl_key_file=$tmp/server.key"
    ca="$tmp/server.crt"
fi
"${as[@]}" "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 $durability $tls" start >/dev/null
echo "throwaway PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($tmp)${ca:+, TLS on}"
CENTREDESK_TEST_PG="postgres://postgres@127.0.0.1:$port" CENTREDESK_TEST_PG_CA="$ca" "$@"
