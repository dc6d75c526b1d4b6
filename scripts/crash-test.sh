#!/usr/bin/env bash
# The durability test (issue 16): a child process takes payments and roll calls on a
# demo database and reports each commit after it returned; it is killed with SIGKILL at
# a random moment; the desk then opens the file and it is checked against every
# acknowledgement of every trial (integrity_check, every acknowledged payment there
# with its receipt number, roll calls as acknowledged, no receipt number twice, the
# change log matching the tables, the desk's own invariant checker).
#
#   scripts/crash-test.sh            # 1000 trials
#   CRASH_TRIALS=50 scripts/crash-test.sh
#
# Not in the default suite (it takes minutes). Bounded: CRASH_TRIALS trials, each child
# killed within a second. Runs the debug CLI it builds; touches nothing outside a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS="${CRASH_TRIALS:-1000}"
cargo build -q -p centredesk-cli
BIN="${CARGO_TARGET_DIR:-target}/debug/centredesk"
WORK="$(mktemp -d)"
[ -n "${CRASH_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT; echo "work dir: $WORK" >&2
exec python3 - "$BIN" "$WORK" "$TRIALS" <<'PY'
import os, random, signal, subprocess, sys, time
binary, work, trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
db, journal = os.path.join(work, "crash.db"), os.path.join(work, "journal.txt")
# A fixed day, so the test does not depend on when it runs: the demo through
# 2026-11-20, the children at 10:00 Beijing time the next day.
subprocess.run([binary, "--db", db, "demo", "--members", "30", "--seed", "7", "--today", "2026-11-20"], check=True, stdout=subprocess.DEVNULL)
clock = ["--clock", "2026-11-21T02:00:00Z"]
rng = random.Random(20261203)
started = time.monotonic()
killed_writing = 0
journal_lines = 0
with open(journal, "a") as j:
    for trial in range(1, trials + 1):
        child = subprocess.Popen([binary, "--db", db, *clock, "crash-child", "--seed", str(trial)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.03, 0.6))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
        if child.returncode != -signal.SIGKILL:
            sys.exit(f"trial {trial}: the child ended by itself ({child.returncode}): {err.strip()[-2000:]}")
        lines = out.splitlines()
        # The last line may be cut in half by the kill: only whole lines count.
        if out and not out.endswith("\n"):
            lines = lines[:-1]
        if lines and lines[-1].split(" ")[0].endswith("-begin"):
            killed_writing += 1
        j.write("\n".join(lines) + ("\n" if lines else ""))
        j.flush()
        # This trial's acknowledged payments now (and the whole file's invariants); every
        # trial's together once more at the end.
        since = 0 if trial == trials else journal_lines
        journal_lines += len(lines)
        check = subprocess.run([binary, "--db", db, *clock, "crash-verify", "--journal", journal, "--since-line", str(since)], capture_output=True, text=True, timeout=300)
        if check.returncode != 0:
            sys.exit(f"trial {trial}: FAILED\n{check.stdout}{check.stderr}")
        if trial % 100 == 0 or trial == trials:
            print(f"  {trial} trials ({time.monotonic() - started:.0f} s): {check.stdout.strip()}", flush=True)
summary = check.stdout.strip().split(", ")  # the final check: every trial's lines
acked = summary[0].split(" ")[0]
print(f"{trials} trials ({killed_writing} killed between a write's start and its acknowledgement), {acked} acknowledged payments: 0 lost, 0 duplicate receipts, integrity ok, change log = tables")
PY
