//! Benchmarks with their own dataset generators. Figures are printed next to the peer
//! they are compared with; the README's performance section records them. These are
//! never timed assertions in the test suite.

use centredesk_core::auth::FirstRun;
use centredesk_core::demo::People;
use centredesk_core::members::{GuardianInput, MemberApplication, MemberApproval};
use centredesk_core::{Core, CoreError, Session};
use clap::Subcommand;
use rand::Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Search latency (p50/p99) on a generated centre: the FTS5 index against a naive
    /// `LIKE '%q%'` scan of the same terms, for Han substrings, full pinyin, initials
    /// and phone tails.
    Search {
        #[arg(long, default_value_t = 100_000)]
        members: usize,
        /// Queries of each kind.
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        /// Naive-scan queries of each kind (it is slow).
        #[arg(long, default_value_t = 100)]
        naive_queries: usize,
        /// Dataset file; generated when missing (default target/bench/search-N.db).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Roll call of a class saved in one go (marks, lessons, notices, change log)
    /// against the same class saved one student at a time, and payments one by one;
    /// each under the shipped synchronous=FULL next to NORMAL.
    Rollcall {
        #[arg(long, default_value_t = 40)]
        students: usize,
        /// Sessions timed each way.
        #[arg(long, default_value_t = 50)]
        sessions: usize,
    },
    /// A class's roll call saved from a phone over loopback (the phone server) next to
    /// the same save at the desk; then ten phones at once while the desk takes payments.
    Phone {
        #[arg(long, default_value_t = 40)]
        students: usize,
        /// Roll calls timed per phone.
        #[arg(long, default_value_t = 30)]
        sessions: usize,
    },
    /// The parents' portal on a demo centre: a full publish's documents, and 1,000 inbox
    /// requests applied (next to the desk's own leave dialog).
    Portal {
        #[arg(long, default_value_t = 300)]
        members: usize,
        #[arg(long, default_value_t = 1000)]
        requests: usize,
    },
    /// Class rosters to PDF (printpdf with the shipped font) against WeasyPrint rendering
    /// the same rosters from HTML.
    Roster {
        #[arg(long, default_value_t = 100)]
        rosters: usize,
        #[arg(long, default_value_t = 30)]
        students: usize,
        #[arg(long, default_value = "target/bench/roster")]
        out: PathBuf,
        /// A Python with WeasyPrint installed (scripts/bench-roster.sh sets one up).
        #[arg(long)]
        weasyprint: Option<PathBuf>,
    },
    /// CSV export of the attendance list (`Core::export_csv`, written to a file) against
    /// the sqlite3 shell exporting the same query, on a generated centre.
    Export {
        /// Attendance rows in the dataset (all of them are exported).
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Timed runs of each, alternating.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Dataset file; generated when missing (default target/bench/export-ROWS.db).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The sqlite3 command-line shell.
        #[arg(long, default_value = "sqlite3")]
        sqlite3: String,
        #[arg(long, default_value = "target/bench/export")]
        out: PathBuf,
    },
    /// Every report screen's query (revenue, attendance, renewals, sales, customers, staff
    /// activity, the home dashboard) timed through `Core` on a generated centre.
    Reports {
        #[arg(long, default_value_t = 100_000)]
        members: usize,
        /// Years of history.
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// Timed runs of each report (after one warm-up).
        #[arg(long, default_value_t = 7)]
        runs: usize,
        /// Dataset file; generated when missing (default target/bench/reports-N.db).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Only the reports whose name or range contains this.
        #[arg(long)]
        only: Option<String>,
    },
}

const BENCH_PASSWORD: &str = "bench-password";

pub fn run(cmd: BenchCommand) -> Result<(), CoreError> {
    match cmd {
        BenchCommand::Search { members, queries, naive_queries, data } => {
            let path = data.unwrap_or_else(|| PathBuf::from(format!("target/bench/search-{members}.db")));
            search(members, queries, naive_queries, path)
        }
        BenchCommand::Rollcall { students, sessions } => crate::bench_rollcall::run(students, sessions),
        BenchCommand::Phone { students, sessions } => crate::bench_phone::run(students, sessions),
        BenchCommand::Portal { members, requests } => crate::bench_portal::run(members, requests),
        BenchCommand::Roster { rosters, students, out, weasyprint } => crate::bench_roster::run(rosters, students, out, weasyprint),
        BenchCommand::Export { rows, runs, data, sqlite3, out } => crate::bench_export::run(rows, runs, data, sqlite3, out),
        BenchCommand::Reports { members, years, runs, data, only } => crate::bench_reports::run(members, years, runs, data, only),
    }
}

/// Members with one guardian each, approved (so they have member numbers), and a lead
/// for every fifth member: what the search box looks through.
fn generate(path: &PathBuf, members: usize) -> Result<(), CoreError> {
    let started = Instant::now();
    let core = Core::open(path)?;
    // Only the dataset is written this way (no benchmark times these writes): 220,000
    // fsyncs would make generating it take a quarter of an hour.
    core.benchmark_relax_durability(true)?;
    let admin = core.first_run(FirstRun {
        centre_name: "基准测试馆".into(),
        username: "bench".into(),
        display_name: "基准".into(),
        password: BENCH_PASSWORD.into(),
    })?;
    let mut people = People::new(2024);
    for i in 0..members {
        let surname = people.surname();
        let name = people.child_name(&surname);
        let guardian = GuardianInput { name: people.adult_name(&surname), relation: "爸爸".into(), phone: people.phone(), wechat: String::new() };
        let gender = if people.rng().gen_range(0..2) == 0 { "M" } else { "F" };
        let m = core.member_apply(&admin, MemberApplication { name, gender: gender.into(), guardian: Some(guardian), referred_by: None, notes: String::new() })?;
        core.member_approve(&admin, &m.id, MemberApproval { birthday: "2016-05-01".into(), school: String::new(), course_interest: String::new() })?;
        if i % 5 == 0 {
            let surname = people.surname();
            core.lead_create(
                &admin,
                centredesk_core::leads::LeadInput {
                    name: people.child_name(&surname),
                    contact_name: people.adult_name(&surname),
                    phone: people.phone(),
                    wechat: String::new(),
                    gender: None,
                    birthday: None,
                    source: "电话".into(),
                    consultant_id: None,
                    man_money: false,
                    man_authority: false,
                    man_need: false,
                    needs: String::new(),
                    notes: String::new(),
                    next_follow_up: None,
                },
            )?;
        }
        if (i + 1) % 10_000 == 0 {
            eprintln!("  generated {} members ({:.0}s)", i + 1, started.elapsed().as_secs_f64());
        }
    }
    eprintln!("dataset: {members} members in {:.1}s → {}", started.elapsed().as_secs_f64(), path.display());
    Ok(())
}

struct Sample {
    kind: &'static str,
    queries: Vec<String>,
}

fn samples(core: &Core, admin: &Session, n: usize) -> Result<Vec<Sample>, CoreError> {
    let mut rng = rand::thread_rng();
    // A few random pages of the member list are the pool the queries come from.
    let total = core.member_list(admin, centredesk_core::members::MemberFilter { status: None, offset: 0, limit: 1, owing: None })?.total.max(1);
    let mut pool = vec![];
    for _ in 0..8 {
        let offset = rng.gen_range(0..total);
        pool.extend(core.member_list(admin, centredesk_core::members::MemberFilter { status: None, offset, limit: 500, owing: None })?.rows);
    }
    let mut han = vec![];
    let mut pinyin = vec![];
    let mut initials = vec![];
    let mut phones = vec![];
    while han.len() < n && !pool.is_empty() {
        let row = pool[rng.gen_range(0..pool.len())].clone();
        let chars: Vec<char> = row.name.chars().collect();
        // A substring of the name: a given-name character, or surname + first given.
        let start = rng.gen_range(0..chars.len());
        let len = rng.gen_range(1..=2.min(chars.len() - start));
        han.push(chars[start..start + len].iter().collect());
        let terms = centredesk_core::search::name_terms(&row.name);
        let ascii: Vec<&String> = terms.iter().filter(|t| t.is_ascii()).collect();
        if let Some(full) = ascii.iter().max_by_key(|t| t.len()) {
            pinyin.push(full.to_string());
        }
        if let Some(ini) = ascii.iter().find(|t| t.len() == chars.len()) {
            initials.push(ini.to_string());
        }
        if let Some(p) = row.guardian_phone {
            phones.push(p[p.len() - 4..].to_string());
        }
    }
    Ok(vec![
        Sample { kind: "Han substring", queries: han },
        Sample { kind: "full pinyin", queries: pinyin },
        Sample { kind: "initials", queries: initials },
        Sample { kind: "phone last 4", queries: phones },
    ])
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() * p) / 100).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn time_all(queries: &[String], f: impl Fn(&str) -> Result<usize, CoreError>) -> Result<(Vec<Duration>, usize), CoreError> {
    let mut times = Vec::with_capacity(queries.len());
    let mut found = 0;
    for q in queries {
        let t = Instant::now();
        found += f(q)?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times, found))
}

fn search(members: usize, queries: usize, naive_queries: usize, path: PathBuf) -> Result<(), CoreError> {
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CoreError::Internal(e.to_string()))?;
        }
        generate(&path, members)?;
    }
    let core = Core::open(&path)?;
    let admin = core.login("bench", BENCH_PASSWORD)?;
    let samples = samples(&core, &admin, queries)?;
    // Warm the page cache and statement caches once, as a desk PC that has been open.
    for s in &samples {
        for q in s.queries.iter().take(20) {
            core.search(&admin, q, 20)?;
        }
    }
    println!("search benchmark: {} ({} members), {queries} queries per kind, naive scan {naive_queries} per kind", path.display(), members);
    println!("{:<15} {:>12} {:>12} {:>14} {:>14} {:>10} {:>10}", "query", "index p50", "index p99", "LIKE p50", "LIKE p99", "p50 ×", "p99 ×");
    for s in &samples {
        let (fts, fts_found) = time_all(&s.queries, |q| Ok(core.search(&admin, q, 20)?.len()))?;
        let naive_set = &s.queries[..naive_queries.min(s.queries.len())];
        let (naive, _) = time_all(naive_set, |q| Ok(core.search_naive(&admin, q, 20)?.len()))?;
        let ratio = |a: Duration, b: Duration| if a.is_zero() { 0.0 } else { b.as_secs_f64() / a.as_secs_f64() };
        println!(
            "{:<15} {:>12} {:>12} {:>14} {:>14} {:>9.0}× {:>9.0}×   (avg hits {:.1})",
            s.kind,
            ms(percentile(&fts, 50)),
            ms(percentile(&fts, 99)),
            ms(percentile(&naive, 50)),
            ms(percentile(&naive, 99)),
            ratio(percentile(&fts, 50), percentile(&naive, 50)),
            ratio(percentile(&fts, 99), percentile(&naive, 99)),
            fts_found as f64 / s.queries.len().max(1) as f64,
        );
    }
    Ok(())
}
