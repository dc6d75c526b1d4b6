#!/usr/bin/env bash
# The roster-printing benchmark: CentreDesk (release build) against WeasyPrint on the
# same rosters, in one run. Installs WeasyPrint from PyPI into target/bench-venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/target/bench-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import weasyprint" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q weasyprint
fi
cargo build --release -p centredesk-cli
exec target/release/centredesk bench roster --weasyprint "$VENV/bin/python" "$@"
