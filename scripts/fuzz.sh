#!/usr/bin/env bash
# The long fuzz (issue 16): the same property tests the suite runs with a few dozen
# cases (crates/core/tests/hostile_files.rs — random spreadsheets through the CSV import
# in four encodings, and the date, phone and money parsers), run for a set time with a
# new seed each round. Prints how many cases each ran: "0 panics, every refusal named
# its field and rule", or the round and seed that failed.
#
#   scripts/fuzz.sh            # 600 s each, the two side by side on 2 cores
#   FUZZ_SECONDS=60 FUZZ_SEED=7 scripts/fuzz.sh
#
# Not in the default suite. Bounded in time (and rounds); touches only temp dirs.
set -euo pipefail
cd "$(dirname "$0")/.."
CENTREDESK_FUZZ_SECONDS="${FUZZ_SECONDS:-600}" CENTREDESK_FUZZ_SEED="${FUZZ_SEED:-24061}" \
    exec cargo test -q -p centredesk-core --test integration hostile_files::fuzz_ -- --nocapture --test-threads=2
