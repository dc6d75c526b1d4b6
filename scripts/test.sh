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
# The e2e tests' Python packages, in a venv of their own.
VENV="$ROOT/target/e2e-venv"
if [ ! -x "$VENV/bin/pytest" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r tests/e2e/requirements.txt
fi

echo "== Rust: core, PDF sheets and CLI"
cargo test -p centredesk-core -p centredesk-pdf -p centredesk-cli --no-fail-fast

if [ "${CI:-}" = "true" ]; then
  # The TypeScript types are generated from Rust by the tests above; a difference
  # means a change to the Rust types was committed without its bindings.
  git diff --exit-code -- ui/src/bindings || { echo "ui/src/bindings is stale: run cargo test and commit"; exit 1; }
fi

echo "== UI: type check and message catalogues"
(cd ui && npm run check && npm run i18n:check && npm run build)

echo "== End to end: the real app"
cargo build -p centredesk-cli -p centredesk-app
xvfb-run -a -s "-screen 0 1366x768x24" "$VENV/bin/pytest" -v tests/e2e
