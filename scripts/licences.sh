#!/usr/bin/env bash
# Regenerates the About panel's list of Rust crate licences (ui/public/licences/rust.json)
# with cargo about, for every crate the desk app ships on Linux, Windows and macOS
# (about.toml). Run it after Cargo.lock changes; the suite checks it is current.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v cargo-about >/dev/null 2>&1 || cargo install --locked cargo-about --version 0.9.3 --features cli
mkdir -p ui/public/licences
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
cargo about generate --format json --manifest-path src-tauri/Cargo.toml --fail > "$tmp"
node ui/scripts/rust-licences.mjs "$tmp" "$(cargo about --version)"
