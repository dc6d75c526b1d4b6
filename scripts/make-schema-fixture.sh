#!/usr/bin/env bash
# Makes fixtures/db/schema-<N>.db.xz from a released commit: the demo centre that
# release's own CLI generates (never today's code, which would test today against
# itself). Builds the commit in a throwaway worktree; shares this checkout's target
# folder so only the crates that differ are rebuilt (it overwrites target/debug/centredesk:
# build again before running the e2e suite).
#   scripts/make-schema-fixture.sh 5bbc2d7
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
commit="$1"
work="$(mktemp -d)"
trap 'git -C "$ROOT" worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$ROOT" worktree add --detach "$work/tree" "$commit" >/dev/null
(cd "$work/tree" && CARGO_TARGET_DIR="$ROOT/target" cargo build -q -p centredesk-cli)
TZ=Asia/Shanghai "$ROOT/target/debug/centredesk" --db "$work/demo.db" demo --members 40 --seed 7 --today 2026-11-20
schema="$(sqlite3 "$work/demo.db" 'PRAGMA user_version')"
sqlite3 "$work/demo.db" 'PRAGMA journal_mode=DELETE; VACUUM;' >/dev/null
xz -9e -c "$work/demo.db" >"$ROOT/fixtures/db/schema-$schema.db.xz"
echo "fixtures/db/schema-$schema.db.xz from $commit"
