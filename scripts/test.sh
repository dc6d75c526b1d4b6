#!/usr/bin/env bash
# Runs every test: core and CLI (unit, property, integration on real SQLite files),
# the UI's type and catalogue checks, and the end-to-end tests of the real app
# (tauri-driver + WebKitWebDriver under Xvfb). Installs what it needs first.
#
# Time: no test reads the machine's clock. The Rust suites run the core on fixed clocks;
# the end-to-end suite runs every binary with `--clock $E2E_NOW` (default in
# tests/e2e/conftest.py). The machine's time zone is set to one far from the centre's
# (TZ below) so that a test mixing the two fails here rather than in someone's evening.
#
# Build once: one `cargo test` invocation builds every crate, the app's, the CLI's and the
# server's binaries included, with one feature resolution; the end-to-end suite runs those
# same binaries (target/debug/centredesk{,-app,-server}) instead of building again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export TZ="${TZ:-America/Los_Angeles}"

# Each phase's duration, printed at the end (also when a phase fails).
PHASES=()
phase_start=$SECONDS
phase_name=""
phase() {
  local now=$SECONDS
  [ -n "$phase_name" ] && PHASES+=("$(printf '%-44s %4dm%02ds' "$phase_name" $(((now - phase_start) / 60)) $(((now - phase_start) % 60)))")
  phase_name="$1"
  phase_start=$now
  [ -n "$1" ] && echo "== $1"
  return 0
}
report() {
  local rc=$?
  phase ""
  echo
  echo "== Phase durations"
  printf '%s\n' "${PHASES[@]}"
  printf '%-44s %4dm%02ds\n' "total" $((SECONDS / 60)) $((SECONDS % 60))
  exit $rc
}
trap report EXIT

phase "setup: apt and npm packages"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"

phase "setup: tauri-driver and the tests' Python venv"
source "$ROOT/scripts/setup-e2e.sh"

# The app embeds ui/dist when it is compiled, so the UI is built before the Rust tests
# compile the app (from the committed bindings; a stale binding fails below).
phase "UI: build (embedded in the app)"
(cd ui && npm run build --silent)

phase "Rust: build and run every suite (+ PostgreSQL)"
scripts/with-postgres.sh cargo test -p centredesk-protocol -p centredesk-core -p centredesk-pdf -p centredesk-lan -p centredesk-cli -p centredesk-server -p centredesk-app --no-fail-fast

if [ "${CI:-}" = "true" ]; then
  # The TypeScript types are generated from Rust by the tests above; a difference
  # means a change to the Rust types was committed without its bindings.
  git diff --exit-code -- ui/src/bindings || { echo "ui/src/bindings is stale: run cargo test and commit"; exit 1; }
fi

phase "UI: type check and message catalogues"
(cd ui && npm run check && npm run i18n:check)

# What may be in the dependency graph (deny.toml: licences, duplicate versions, banned
# crates, registries), offline once every platform's crates are fetched; and the About
# panel's licence list made from this Cargo.lock (scripts/licences.sh remakes it).
phase "Dependencies: cargo deny and the licence list"
command -v cargo-deny >/dev/null 2>&1 || cargo install --locked cargo-deny --version 0.20.2
cargo fetch --locked -q
cargo deny --offline check bans licenses sources
node ui/scripts/rust-licences.mjs --check

phase "End to end: the real app (E2E_NOW=${E2E_NOW:-default})"
for bin in centredesk centredesk-app centredesk-server; do
  [ -x "target/debug/$bin" ] || { echo "target/debug/$bin was not built by cargo test"; exit 1; }
done
xvfb-run -a -s "-screen 0 1366x768x24" "$VENV/bin/pytest" -v tests/e2e
