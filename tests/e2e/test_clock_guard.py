"""A cheap guard: no test reads the machine's clock, date or time zone.

Every test must pass at any hour, on any date, in any machine time zone. Rust tests run
the core on a `ManualClock` (or an `OffsetClock` at a fixed instant); the end-to-end
tests run the real binaries with `--clock` and compute dates from `conftest.NOW` in the
centre's zone. This scans the test sources (the Rust integration tests, the `#[cfg(test)]`
modules of the sources, and this folder) for the ways a test could read the machine's
clock instead. A line that must (a timeout, not a date) ends with a `clock-ok: why`
comment.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PYTHON = [
    r"\bdate\.today\(",
    r"\bdatetime\.(now|utcnow|today)\(",
    r"\btime\.(time|localtime|gmtime|strftime|ctime)\(",
    r"['\"]now['\"]",  # SQLite's date('now') / datetime('now')
    r"\blocaltime\b",
]
RUST = [
    r"\bUtc::now\(",
    r"\bLocal::now\(",
    r"\bchrono::Local\b",
    r"\bSystemTime::now\(",
    r"\bSystemClock\b",
    r"\bCore::open\(",  # the system clock; tests use Core::open_with_clock
    r"['\"]now['\"]",
    r"\blocaltime\b",
]


def rust_test_sources():
    for path in sorted(ROOT.glob("crates/*/tests/**/*.rs")):
        yield path, path.read_text(encoding="utf-8").splitlines()
    for path in sorted(list(ROOT.glob("crates/*/src/**/*.rs")) + list(ROOT.glob("src-tauri/src/**/*.rs"))):
        lines = path.read_text(encoding="utf-8").splitlines()
        # Only the unit-test module: from `#[cfg(test)]` to the end of the file.
        start = next((i for i, l in enumerate(lines) if l.strip() == "#[cfg(test)]"), None)
        if start is not None:
            yield path, [""] * start + lines[start:]


def python_test_sources():
    for path in sorted(ROOT.glob("tests/**/*.py")):
        if path.name != Path(__file__).name:
            yield path, path.read_text(encoding="utf-8").splitlines()


def offences(sources, patterns):
    found = []
    for path, lines in sources:
        for n, line in enumerate(lines, 1):
            if "clock-ok:" in line:
                continue
            for p in patterns:
                if re.search(p, line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}  [{p}]")
    return found


def test_no_test_reads_the_machine_clock():
    found = offences(rust_test_sources(), RUST) + offences(python_test_sources(), PYTHON)
    assert not found, "tests must not read the machine's clock or date:\n" + "\n".join(found)


def test_the_guard_catches_what_it_looks_for():
    """The guard can fail: each pattern matches the line it is meant to catch."""
    samples = {
        "python": ["x = datetime.date.today()", "t = time.time()", "db('SELECT date(\"now\")')", "datetime.now()"],
        "rust": ["let t = Utc::now();", "Core::open(&p)", "chrono::Local::now()", "SystemTime::now()"],
    }
    for kind, lines in samples.items():
        patterns = PYTHON if kind == "python" else RUST
        for line in lines:
            assert offences([(ROOT / "sample", [line])], patterns), line
