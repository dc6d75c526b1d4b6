#!/usr/bin/env bash
# The desk in its real window on a 100,000-member centre, release build (issue 20): cold
# start, login, keystroke to results (200 queries of each kind), opening members, memory;
# three runs, each figure next to its target (tests/bench/window.py says how each is
# taken). A benchmark, not a test: not part of .ci/run.
#   scripts/bench-window.sh [MEMBERS]    default 100000; the dataset is made once
#                                         (target/bench/search-N.db, `centredesk bench search`)
#   scripts/bench-window.sh --history    members with five years of history and every report
#                                         screen, on `bench reports`' centre (made once, ~16 min)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/setup-e2e.sh"
cd "$ROOT"
MEMBERS="${1:-100000}"
"$VENV/bin/pip" install -q pypinyin==0.55.0
# The release build the installer ships (tauri build: the embedded UI, custom protocol).
if [ ! -x target/release/centredesk-app ] || [ -n "$(find src-tauri/src crates/core/src ui/src -newer target/release/centredesk-app -print -quit)" ]; then
  (cd ui && npm run build --silent)
  (cd src-tauri && "$ROOT/target/tauri-cli/node_modules/.bin/tauri" build --ci --no-bundle)
fi
if [ "${1:-}" = "--history" ]; then
  # Made once with its search documents (`bench reports` times the reports too).
  DB="target/bench/reports-100000.db"
  cargo run -q --release -p centredesk-cli -- bench reports --runs 1 --data "$DB"
  BENCH_DB="$DB" BENCH_HISTORY_DB="$DB" xvfb-run -a -s "-screen 0 1366x768x24" "$VENV/bin/python" tests/bench/window.py
  exit
fi
cargo build -q -p centredesk-cli
DB="target/bench/search-$MEMBERS.db"
if [ ! -f "$DB" ]; then
  mkdir -p target/bench
  target/debug/centredesk bench search --members "$MEMBERS" --queries 10 --naive-queries 1 --data "$DB"
fi
BENCH_DB="$DB" xvfb-run -a -s "-screen 0 1366x768x24" "$VENV/bin/python" tests/bench/window.py
