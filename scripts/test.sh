#!/usr/bin/env bash
# Runs every test: core and CLI (unit, property, integration on real SQLite files),
# the UI's type and catalogue checks, and the end-to-end tests of the real app
# (tauri-driver + WebKitWebDriver under Xvfb). Installs what it needs first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"

# tauri-driver bridges WebDriver to the app's WebKitWebDriver.
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --version 2.1.0
fi
# The tests' Python packages (selenium and pytest for e2e; aiosmtpd, the real SMTP server
# the notice-delivery tests send to), in a venv of their own; pip is a no-op when satisfied.
VENV="$ROOT/target/e2e-venv"
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r tests/e2e/requirements.txt

echo "== Rust: core, PDF sheets, CLI and the head-office server (its storage suite on SQLite and on a throwaway PostgreSQL)"
scripts/with-postgres.sh cargo test -p centredesk-core -p centredesk-pdf -p centredesk-cli -p centredesk-server --no-fail-fast

if [ "${CI:-}" = "true" ]; then
  # The TypeScript types are generated from Rust by the tests above; a difference
  # means a change to the Rust types was committed without its bindings.
  git diff --exit-code -- ui/src/bindings || { echo "ui/src/bindings is stale: run cargo test and commit"; exit 1; }
fi

echo "== UI: type check and message catalogues"
(cd ui && npm run check && npm run i18n:check && npm run build)

echo "== End to end: the real app"
cargo build -p centredesk-cli -p centredesk-app -p centredesk-server
xvfb-run -a -s "-screen 0 1366x768x24" "$VENV/bin/pytest" -v tests/e2e
