//! Report benchmark: every report screen's query on a generated centre (100,000 members
//! over five years by default), timed through the `Core` method the app calls, as the
//! manager, with the ranges the screens open with (and the wider presets).

use crate::bench_centre::{self, Spec, BENCH_PASSWORD, BENCH_USER};
use centredesk_core::analysis::AnalysisFilter;
use centredesk_core::audit::ActivityFilter;
use centredesk_core::reports::{AttendanceFilter, RevenueFilter};
use centredesk_core::{Core, CoreError, Lang, Role};
use chrono::NaiveDate;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TARGET_MS: f64 = 200.0;

pub fn run(members: usize, years: u32, runs: usize, data: Option<PathBuf>, only: Option<String>) -> Result<(), CoreError> {
    let path = data.unwrap_or_else(|| PathBuf::from(format!("target/bench/reports-{members}.db")));
    if !path.exists() {
        eprintln!("generating {} ({members} members, {years} years) …", path.display());
    }
    let spec = Spec { members, years, rooms: 12, renew_percent: 60, attendance_cap: None, seed: 2025 };
    let summary = bench_centre::ensure(&path, &spec)?;
    eprintln!("dataset: {} (generated in {:.0}s)", summary.line(), summary.seconds);
    // Opened as the desk window opens it: the whole-file check (minutes on a 30 GB file)
    // runs only after an unclean close, so the figures are the desk's own.
    let core = Core::open_desk(&path, bench_centre::clock_at(&summary.today))?;
    // The window benchmark (scripts/bench-window.sh --history) opens members through the
    // search box: the documents are built once, the first time.
    if core.benchmark_search_docs()? == 0 {
        let started = std::time::Instant::now();
        let members = core.benchmark_rebuild_search()?;
        eprintln!("search documents for {members} members built in {:.0}s", started.elapsed().as_secs_f64());
    }
    let s = core.login(BENCH_USER, BENCH_PASSWORD)?;
    let today = NaiveDate::parse_from_str(&summary.today, "%Y-%m-%d").map_err(|e| CoreError::Internal(e.to_string()))?;
    let ago = |days: i64| (today - chrono::Duration::days(days - 1)).to_string();
    let to = today.to_string();
    let all = summary.from.clone();
    let consultant = core.staff_list(&s)?.into_iter().find(|x| x.role == Role::Consultant).map(|x| x.id).unwrap_or_default();
    let lang = Lang::ZhCn;
    let revenue = |from: String, period: &str| {
        let f = RevenueFilter { from_date: from, to_date: to.clone(), period: period.into(), consultant_id: None };
        let core = &core;
        let s = &s;
        move || -> Result<usize, CoreError> { Ok(core.revenue(s, &f, lang)?.by_period.len()) }
    };
    let attendance = |from: String, by: &str| {
        let f = AttendanceFilter { from_date: from, to_date: to.clone(), by: by.into(), inactive_days: None };
        let core = &core;
        let s = &s;
        move || -> Result<usize, CoreError> {
            let r = core.attendance_report(s, &f, lang)?;
            Ok(r.rows.len() + r.stopped_coming.len())
        }
    };
    let analysis = |report: &str| {
        let f = AnalysisFilter { report: report.into(), from_date: ago(365), to_date: to.clone(), days_ahead: None, lessons_left: None, a_percent: None, b_percent: None };
        let core = &core;
        let s = &s;
        move || -> Result<usize, CoreError> { Ok(core.analysis(s, &f, lang)?.iter().map(|t| t.rows.len()).sum()) }
    };
    let activity = |from: String, staff: Option<String>| {
        let f = ActivityFilter { from_date: from, to_date: to.clone(), staff_id: staff, entity_id: None };
        let core = &core;
        let s = &s;
        move || -> Result<usize, CoreError> { Ok(core.staff_activity(s, &f, centredesk_core::Lang::ZhCn)?.total as usize) }
    };
    type Case<'a> = (&'static str, String, Box<dyn Fn() -> Result<usize, CoreError> + 'a>);
    let cases: Vec<Case> = vec![
        ("revenue", "by day, this month".into(), Box::new(revenue(format!("{}01", &to[..8]), "day"))),
        ("revenue", "by day, last 30 days".into(), Box::new(revenue(ago(30), "day"))),
        ("revenue", "by week, last 365 days".into(), Box::new(revenue(ago(365), "week"))),
        ("revenue", format!("by month, all {years} years"), Box::new(revenue(all.clone(), "month"))),
        ("attendance", "by class, last 28 days".into(), Box::new(attendance(ago(28), "group"))),
        ("attendance", "by coach, last 28 days".into(), Box::new(attendance(ago(28), "coach"))),
        ("attendance", "by member, last 28 days".into(), Box::new(attendance(ago(28), "member"))),
        ("attendance", "by class, last 365 days".into(), Box::new(attendance(ago(365), "group"))),
        ("analysis", "renewals, last 365 days".into(), Box::new(analysis("renewals"))),
        ("analysis", "sales, last 365 days".into(), Box::new(analysis("sales"))),
        ("analysis", "customers".into(), Box::new(analysis("customers"))),
        ("analysis", "scorecard, last 365 days".into(), Box::new(analysis("scorecard"))),
        ("staff activity", "everyone, last 7 days".into(), Box::new(activity(ago(7), None))),
        ("staff activity", "everyone, last 30 days".into(), Box::new(activity(ago(30), None))),
        ("staff activity", "one consultant, last 30 days".into(), Box::new(activity(ago(30), Some(consultant.clone())))),
        ("home", "dashboard (manager)".into(), Box::new(|| Ok(core.home(&s, centredesk_core::Lang::ZhCn)?.renewals_due.len()))),
        // The warm-up run raises every flag and plans every visit; the timed runs are the
        // hourly upkeep's steady state (nothing new to write).
        ("churn", "scan, whole centre".into(), Box::new(|| Ok(core.churn_scan()?.raised as usize))),
        ("churn", "worklist (manager)".into(), Box::new(|| Ok(core.churn_list(&s, lang, 200)?.total as usize))),
        ("visits", "planner, whole centre".into(), Box::new(|| Ok(core.plan_visits()?.planned as usize))),
        ("visits", "due this week (manager)".into(), Box::new(|| Ok(core.visits_due(&s, lang, 200)?.len()))),
    ];
    println!("report benchmark: {} — {} members, {} → {}, {runs} runs each after one warm-up, as the manager", path.display(), summary.members, summary.from, summary.today);
    println!(
        "  ({} contracts, {} payments, {} leads, {} sessions, {} attendance rows, {} change-log rows)",
        summary.contracts, summary.payments, summary.leads, summary.sessions, summary.attendance, summary.change_log
    );
    println!("{:<16} {:<32} {:>10} {:>10} {:>8}  {}", "report", "range", "p50", "max", "rows", "target ≤ 200 ms");
    let mut missed = 0;
    for (report, range, f) in &cases {
        if only.as_deref().is_some_and(|o| !report.contains(o) && !range.contains(o)) {
            continue;
        }
        let rows = f()?;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            f()?;
            times.push(t.elapsed());
        }
        times.sort();
        let p50 = times[times.len() / 2];
        let max = *times.last().unwrap_or(&Duration::ZERO);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let met = ms(max) <= TARGET_MS;
        if !met {
            missed += 1;
        }
        println!("{:<16} {:<32} {:>7.1} ms {:>7.1} ms {:>8}  {}", report, range, ms(p50), ms(max), rows, if met { "met" } else { "NOT met" });
    }
    if missed > 0 {
        println!("{missed} report(s) over 200 ms at their slowest run");
    }
    Ok(())
}
