#!/usr/bin/env bash
# Head-office sync benchmark (crates/server/benches/push.rs) on the SQLite store and on a
# real PostgreSQL: a throwaway cluster (scripts/with-postgres.sh) with PostgreSQL's default
# durability (fsync and synchronous_commit on, unlike the test clusters).
#   scripts/bench-sync.sh                  # median of 3 runs, 100,000 ops
#   scripts/bench-sync.sh --runs 5
set -euo pipefail
cd "$(dirname "$0")/.."
PG_DURABLE=1 exec scripts/with-postgres.sh cargo bench -p centredesk-server --bench push -- "$@"
