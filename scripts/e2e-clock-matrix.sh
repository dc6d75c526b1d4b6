#!/usr/bin/env bash
# The end-to-end suite at several fixed instants and machine time zones: the proof that
# no test depends on the hour, the date or the zone it runs in. Run after
# scripts/test.sh (it uses the binaries and the venv that built). Each run is the whole
# suite; a summary line per run at the end.
#   scripts/e2e-clock-matrix.sh                 # the default matrix below
#   scripts/e2e-clock-matrix.sh -k cashdesk     # extra pytest arguments
#   MATRIX_ONLY=2028 scripts/e2e-clock-matrix.sh  # only the instants containing "2028"
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/target/e2e-venv"
# instant (UTC) and the machine's TZ: early morning in Shanghai; the evening in UTC when
# Shanghai is already on the next day; the last minute of a UTC day; a 29 February.
RUNS=(
  "2026-12-02T03:00:00Z Asia/Shanghai"
  "2026-12-02T19:30:00Z America/Los_Angeles"
  "2026-12-02T23:59:00Z UTC"
  "2028-02-29T10:00:00Z America/Los_Angeles"
  "2028-02-28T20:00:00Z Asia/Shanghai"
)
results=()
fail=0
for run in "${RUNS[@]}"; do
  read -r now tz <<<"$run"
  [[ "$now" == *"${MATRIX_ONLY:-}"* ]] || continue
  echo "== E2E_NOW=$now TZ=$tz"
  start=$SECONDS
  if E2E_NOW="$now" TZ="$tz" xvfb-run -a -s "-screen 0 1366x768x24" "$VENV/bin/pytest" -q tests/e2e "$@" >"target/e2e-matrix-$now.log" 2>&1; then
    verdict=passed
  else
    verdict=FAILED; fail=1
  fi
  results+=("$(printf '%-22s %-20s %-7s %s  (%ds)' "$now" "$tz" "$verdict" "$(tail -1 "target/e2e-matrix-$now.log")" $((SECONDS - start)))")
done
printf '%s\n' "${results[@]}"
exit $fail
