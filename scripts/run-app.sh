#!/usr/bin/env bash
# Builds and opens CentreDesk. With no database yet, a demo centre is created first
# (log in as admin / demo1234, or qiantai / demo1234 for the front desk).
#   scripts/run-app.sh            demo centre in the OS data dir (CentreDesk/demo.db)
#   scripts/run-app.sh --empty    a new empty centre: the first-run screen
#   CENTREDESK_DB=path scripts/run-app.sh   any database file
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"

(cd ui && npm run build --silent)
cargo build -p centredesk-cli -p centredesk-app

DATA_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/CentreDesk"
if [ "${1:-}" = "--empty" ]; then
  DB="$(mktemp -d)/centredesk.db"
  echo "Empty centre at $DB"
else
  DB="${CENTREDESK_DB:-$DATA_DIR/demo.db}"
  if [ ! -f "$DB" ]; then
    mkdir -p "$(dirname "$DB")"
    ./target/debug/centredesk --db "$DB" demo --members 300
  fi
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: running under Xvfb (screenshots only)."
  exec xvfb-run -a -s "-screen 0 1366x768x24" ./target/debug/centredesk-app --db "$DB"
fi
exec ./target/debug/centredesk-app --db "$DB"
