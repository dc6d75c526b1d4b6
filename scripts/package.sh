#!/usr/bin/env bash
# The installer, built and tried the way a centre gets it (issue 20):
#   scripts/package.sh          build this version's .deb (tauri's bundler, release build)
#                               and the previous release's; then, on this machine, as root:
#                               install the previous release and give it a centre's data;
#                               upgrade to this build over it (the data stays and migrates,
#                               a backup is taken first); remove it (the data stays); purge
#                               it (still stays: dpkg never touches a user's home); install
#                               afresh and start with the demo, log in, search.
#                               Screenshots: artifacts/e2e/test_*installed*.png
#   scripts/package.sh --build  only build this version's .deb (target/release/bundle/deb/)
#
# Not part of .ci/run: two release builds take longer than the suite's whole budget.
# The Windows (NSIS, MSI) and macOS (dmg) bundles share src-tauri/tauri.conf.json and are
# built by .github/workflows/bundles.yml on hosted runners; they cannot be built here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/setup-e2e.sh"
cd "$ROOT"

# The release an installed desk upgrades from: the desk of 2026-12-01 (schema 14; the
# project has no release tags yet). Packaged as 0.0.9 so dpkg sees this build as newer.
PREVIOUS_RELEASE=955a643
PREVIOUS_VERSION=0.0.9
TAURI="$ROOT/target/tauri-cli/node_modules/.bin/tauri"
OUT="$ROOT/target/package"
mkdir -p "$OUT"

phase() { echo "== $1 ($(date -u +%H:%M:%S))"; }

if [ ! -x "$TAURI" ]; then
  phase "the Tauri CLI (npm, into target/tauri-cli)"
  npm install --no-audit --no-fund --prefix "$ROOT/target/tauri-cli" @tauri-apps/cli@2 >/dev/null
fi

build_deb() { # $1: source tree, $2: extra tauri --config JSON (or {}); prints the .deb
  local tree="$1" config="$2"
  (cd "$tree/ui" && { [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null; } && npm run build --silent >/dev/null)
  # One target dir for both trees: the dependencies they share are built once.
  (cd "$tree/src-tauri" && CARGO_TARGET_DIR="$ROOT/target" "$TAURI" build --ci --bundles deb --config "$config" >&2)
}

if [ ! -f "$OUT/previous.deb" ]; then
  phase "build the previous release ($PREVIOUS_RELEASE as $PREVIOUS_VERSION)"
  tree="$OUT/previous-src"
  rm -rf "$tree"; git worktree prune
  git worktree add --detach "$tree" "$PREVIOUS_RELEASE" >/dev/null
  build_deb "$tree" "{\"version\":\"$PREVIOUS_VERSION\"}"
  cp "$ROOT/target/release/bundle/deb/CentreDesk_${PREVIOUS_VERSION}_amd64.deb" "$OUT/previous.deb"
  git worktree remove --force "$tree"
fi

phase "build this version's .deb"
build_deb "$ROOT" '{}'
VERSION="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' src-tauri/tauri.conf.json)"
cp "target/release/bundle/deb/CentreDesk_${VERSION}_amd64.deb" "$OUT/current.deb"
ls -l "$OUT"/*.deb
dpkg-deb --info "$OUT/current.deb" | sed -n '/Package:/,$p'
[ "${1:-}" = "--build" ] && exit 0

[ "$(id -u)" -eq 0 ] || { echo "installing needs root (dpkg)"; exit 1; }
phase "install, upgrade, remove, purge, first run (tests/e2e/package)"
cargo build -q -p centredesk-cli
E2E_PACKAGE=1 E2E_PREVIOUS_DEB="$OUT/previous.deb" E2E_CURRENT_DEB="$OUT/current.deb" \
  xvfb-run -a -s "-screen 0 1366x768x24" target/e2e-venv/bin/pytest -q -p no:cacheprovider tests/e2e/package
