//! CSV export benchmark: the attendance list (1,000,000 rows by default) exported the way
//! the app does it (`Core::export_csv`, list "attendance", bytes written to a file),
//! against the sqlite3 shell running the same query (`sqlite3 -csv -header DB "SELECT …"
//! > file`) on the same database, alternately in the same run.
//!
//! The comparison is of throughput in rows per second. The two do not write the same
//! bytes: CentreDesk writes the clerk's column names, codes as words (到课, 是/否), a
//! UTF-8 BOM and neutralises formula-like text cells; sqlite3 writes the raw values.

use crate::bench_centre::{self, Spec, BENCH_PASSWORD, BENCH_USER};
use centredesk_core::export::ExportRequest;
use centredesk_core::{Core, CoreError, Lang};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `ATTENDANCE_SQL` of crates/core/src/export.rs, what `export_csv` runs for the
/// attendance list, with its date parameters bound as the export binds them for "no
/// range" (`''`). Keep in step with export.rs (the run checks the row counts agree).
const ATTENDANCE_SQL: &str = "
SELECT s.date, s.start_time, s.end_time, g.name, r.name, c.display_name, m.member_no, m.name, a.mark, a.consumed, a.no_contract, a.comment, b.display_name
FROM attendance a JOIN class_sessions s ON s.id = a.session_id JOIN class_groups g ON g.id = s.group_id JOIN rooms r ON r.id = s.room_id
JOIN staff c ON c.id = s.coach_id JOIN members m ON m.id = a.member_id JOIN staff b ON b.id = a.marked_by
WHERE ('' = '' OR s.date >= '') AND ('' = '' OR s.date <= '')
ORDER BY s.date, s.start_time, g.name, m.member_no";

fn io(e: std::io::Error) -> CoreError {
    CoreError::Internal(e.to_string())
}

pub fn run(rows: usize, runs: usize, data: Option<PathBuf>, sqlite3: String, out: PathBuf) -> Result<(), CoreError> {
    let path = data.unwrap_or_else(|| PathBuf::from(format!("target/bench/export-{rows}.db")));
    if !path.exists() {
        eprintln!("generating {} (a centre's history until it holds {rows} attendance rows) …", path.display());
    }
    // About 30 attendance rows a member per year of history: two and a half years of a
    // 40,000-member centre reach a million.
    let spec = Spec { members: (rows / 25).max(1000), years: 3, rooms: 8, renew_percent: 60, attendance_cap: Some(rows), seed: 2026 };
    let summary = bench_centre::ensure(&path, &spec)?;
    eprintln!("dataset: {}", summary.line());
    let version = Command::new(&sqlite3).arg("-version").output().map_err(|e| CoreError::Internal(format!("{sqlite3}: {e} (apt-get install -y sqlite3)")))?;
    let version = String::from_utf8_lossy(&version.stdout).split_whitespace().next().unwrap_or("?").to_string();
    std::fs::create_dir_all(&out).map_err(io)?;
    let ours = out.join("attendance-centredesk.csv");
    let theirs = out.join("attendance-sqlite3.csv");

    let core = Core::open(&path)?;
    let session = core.login(BENCH_USER, BENCH_PASSWORD)?;
    let req = ExportRequest { list: "attendance".into(), from_date: String::new(), to_date: String::new(), bom: true, machine_headers: false };
    let export = |file: &Path| -> Result<(Duration, i64, u64), CoreError> {
        let t = Instant::now();
        let csv = core.export_csv(&session, &req, Lang::ZhCn)?;
        std::fs::write(file, &csv.bytes).map_err(io)?;
        Ok((t.elapsed(), csv.rows, csv.bytes.len() as u64))
    };
    let shell = |file: &Path| -> Result<(Duration, u64), CoreError> {
        let t = Instant::now();
        let status = Command::new(&sqlite3)
            .arg("-csv")
            .arg("-header")
            .arg(&path)
            .arg(ATTENDANCE_SQL)
            .stdout(Stdio::from(std::fs::File::create(file).map_err(io)?))
            .status()
            .map_err(io)?;
        let elapsed = t.elapsed();
        if !status.success() {
            return Err(CoreError::Internal(format!("sqlite3 failed: {status}")));
        }
        Ok((elapsed, std::fs::metadata(file).map_err(io)?.len()))
    };
    // One untimed run each brings the database into the page cache for both.
    let (_, n, _) = export(&ours)?;
    shell(&theirs)?;
    let lines = std::fs::read(&theirs).map_err(io)?.iter().filter(|b| **b == b'\n').count() as i64 - 1;
    if lines != n {
        return Err(CoreError::Internal(format!("sqlite3 wrote {lines} rows, export_csv {n}: the queries differ")));
    }
    let mut a = vec![];
    let mut b = vec![];
    let (mut a_bytes, mut b_bytes) = (0, 0);
    for _ in 0..runs {
        let (t, _, bytes) = export(&ours)?;
        a.push(t);
        a_bytes = bytes;
        let (t, bytes) = shell(&theirs)?;
        b.push(t);
        b_bytes = bytes;
    }
    a.sort();
    b.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    let (ta, tb) = (median(&a).as_secs_f64(), median(&b).as_secs_f64());
    let rate = |t: f64| n as f64 / t;
    println!("export benchmark: {} — {n} attendance rows, {runs} runs each (alternating), median; sqlite3 {version}", path.display());
    println!("{:<34} {:>10} {:>10} {:>12} {:>9} {:>10}", "", "median", "fastest", "rows/s", "MB/s", "file");
    for (label, v, t, bytes) in [("CentreDesk export_csv → file", &a, ta, a_bytes), ("sqlite3 -csv (same SQL) → file", &b, tb, b_bytes)] {
        println!(
            "{:<34} {:>7.0} ms {:>7.0} ms {:>12.0} {:>9.1} {:>7.1} MB",
            label,
            t * 1000.0,
            v[0].as_secs_f64() * 1000.0,
            rate(t),
            bytes as f64 / t / 1e6,
            bytes as f64 / 1e6
        );
    }
    let ratio = rate(ta) / rate(tb);
    println!("CentreDesk / sqlite3 throughput (rows/s): {:.0} % — target ≥ 70 %: {}", ratio * 100.0, if ratio >= 0.7 { "met" } else { "NOT met" });
    Ok(())
}
