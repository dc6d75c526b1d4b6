//! The monthly scorecard 经营月报: every figure of a small centre's four months checked by
//! hand and against an independent recomputation from the base tables, the per-consultant
//! and per-coach tables adding up to the months, the limits, who may see it, and the CSV.

use crate::common::{self, Centre};
use centredesk_core::analysis::{AnalysisFilter, ReportTable};
use centredesk_core::attendance::{MarkInput, RollCallInput};
use centredesk_core::contracts::EnrolInput;
use centredesk_core::feedback::{ComplaintInput, ConfirmInput, ScoreInput, StepInput};
use centredesk_core::timetable::SessionFilter;
use centredesk_core::visits::VisitInput;
use centredesk_core::Lang;
use chrono::{NaiveDate, TimeZone, Utc};
use rusqlite::params;

fn filter(from: &str, to: &str) -> AnalysisFilter {
    AnalysisFilter { report: "scorecard".into(), from_date: from.into(), to_date: to.into(), days_ahead: None, lessons_left: None, a_percent: None, b_percent: None }
}

fn on(c: &Centre, date: &str) {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    c.clock.set(Utc.from_utc_datetime(&d.and_hms_opt(2, 0, 0).unwrap()));
}

fn enrol(c: &Centre, member: &str, package: &str, start: &str, consultant: Option<&str>, renewal_of: Option<&str>) -> String {
    let input = EnrolInput {
        member_id: member.into(),
        package_id: package.into(),
        discount: String::new(),
        start_date: Some(start.into()),
        consultant_id: consultant.map(String::from),
        renewal_of: renewal_of.map(String::from),
        notes: String::new(),
    };
    c.core.contract_enrol(&c.clerk, input).unwrap().contract.id
}

fn visit(c: &Centre, member: &str, date: &str, csat: i64) {
    on(c, date);
    let input = VisitInput { channel: "phone".into(), content: "问候近况".into(), mood: "happy".into(), next_step: String::new(), satisfaction: Some(csat), plan_id: None, next_visit: None };
    c.core.visit_record(&c.clerk, member, input).unwrap();
}

/// A complaint opened on `opened` with `deadline`, taken through its five steps and closed on `closed`.
fn complaint(c: &Centre, member: &str, opened: &str, deadline: &str, closed: &str) {
    on(c, opened);
    let k = c
        .core
        .complaint_create(
            &c.clerk,
            ComplaintInput { member_id: Some(member.into()), guardian_id: None, category: "class".into(), about_staff_id: None, group_id: None, body: "上课时间变动未通知".into(), severity: "minor".into(), handler_id: None, deadline: Some(deadline.into()) },
        )
        .unwrap();
    on(c, closed);
    for kind in ["accept", "calm", "agree", "act", "thank"] {
        c.core.complaint_step(&c.clerk, StepInput { complaint_id: k.id.clone(), kind: kind.into(), notes: "已处理".into() }).unwrap();
    }
    c.core.complaint_confirm(&c.clerk, ConfirmInput { complaint_id: k.id, resolution: "已道歉并调整通知流程".into(), confirmed: true, note: String::new() }).unwrap();
}

struct Scenario {
    c: Centre,
    /// Renewed at the end of October (consultant's).
    a: String,
    /// Lost: the contract ran to 31 October (nobody's).
    b: String,
    /// New in November (the manager's).
    c_new: String,
}

/// Today 2026-11-25. A and B on a 3-month card from 1 August; A renews from 1 November,
/// B does not; C starts a lesson package on 3 November; D's card starts in December.
fn scenario() -> Scenario {
    let c = common::centre();
    let card = c.term_package(3, "3000").id;
    let lessons = c.lesson_package(12, "1800").id;
    let (a, b, c_new, d) = (c.member("甲", "13800000001").id, c.member("乙", "13800000002").id, c.member("丙", "13800000003").id, c.member("丁", "13800000004").id);
    on(&c, "2026-08-01");
    let consultant = c.consultant.staff_id.clone();
    let a1 = enrol(&c, &a, &card, "2026-08-01", Some(&consultant), None);
    enrol(&c, &b, &card, "2026-08-01", None, None);
    on(&c, "2026-10-20");
    enrol(&c, &a, &card, "2026-11-01", Some(&consultant), Some(&a1));
    on(&c, "2026-11-03");
    enrol(&c, &c_new, &lessons, "2026-11-03", Some(&c.admin.staff_id), None);
    enrol(&c, &d, &card, "2026-12-10", Some(&consultant), None);

    // A attends two Wednesday classes of the coach in November.
    let group = c.weekly_class("周三班", 3, "2026-11-01", "2026-11-30");
    c.core.group_add_member(&c.admin, &group, &a, Some("2026-11-01".into()), false).unwrap();
    for date in ["2026-11-04", "2026-11-11"] {
        let s = c.core.session_list(&c.admin, SessionFilter { from_date: date.into(), to_date: date.into(), ..Default::default() }).unwrap().remove(0).id;
        c.to_class(&s);
        c.core.roll_call(&c.coach, &s, RollCallInput { marks: vec![MarkInput { member_id: a.clone(), mark: "present".into(), ..Default::default() }], ..Default::default() }).unwrap();
    }

    visit(&c, &b, "2026-10-15", 2);
    visit(&c, &a, "2026-11-24", 5);
    on(&c, "2026-11-25");
    let nps = |member: &str, score: i64, date: &str, coach: Option<String>| {
        let input = ScoreInput { member_id: member.into(), kind: "nps".into(), score, occasion: String::new(), group_id: None, coach_id: coach, comment: String::new(), date: Some(date.into()) };
        c.core.satisfaction_record(&c.clerk, input).unwrap();
    };
    nps(&c_new, 9, "2026-11-20", Some(c.coach.staff_id.clone()));
    nps(&a, 5, "2026-11-21", None);
    complaint(&c, &b, "2026-11-10", "2026-11-12", "2026-11-12");
    complaint(&c, &b, "2026-11-10", "2026-11-11", "2026-11-13");
    on(&c, "2026-11-25");
    c.core.plan_visits().unwrap();
    Scenario { c, a, b, c_new }
}

fn tables(c: &Centre, from: &str, to: &str, lang: Lang) -> Vec<ReportTable> {
    c.core.analysis(&c.admin, &filter(from, to), lang).unwrap()
}

fn row<'a>(t: &'a ReportTable, first: &str) -> &'a [String] {
    t.rows.iter().find(|r| r[0] == first).unwrap_or_else(|| panic!("no row {first} in {:?}", t.rows))
}

fn col(t: &ReportTable, key: &str) -> usize {
    t.columns.iter().position(|c| c.key == key).unwrap()
}

/// The measures of [a, b] recomputed from the base tables, one query each, the way a
/// person would count them (contracts' own end dates: nobody's package here is used up).
fn recount(c: &Centre, a: &str, b: &str) -> Vec<String> {
    let raw = c.raw();
    let n = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> i64 { raw.query_row(sql, p, |r| r.get(0)).unwrap() };
    let before = (NaiveDate::parse_from_str(a, "%Y-%m-%d").unwrap().pred_opt().unwrap()).to_string();
    let active_sql = "SELECT m.id FROM members m WHERE m.merged_into IS NULL AND EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = m.id AND k.status <> 'refunded' AND k.start_date <= ?1 AND k.end_date >= ?1)";
    let active = |d: &str| -> Vec<String> { raw.prepare(active_sql).unwrap().query_map([d], |r| r.get(0)).unwrap().map(|x| x.unwrap()).collect() };
    let (start, end) = (active(&before), active(b));
    let retained = start.iter().filter(|m| end.contains(m)).count() as i64;
    let new = n("SELECT COUNT(*) FROM (SELECT member_id, MIN(start_date) AS f FROM contracts WHERE status <> 'refunded' GROUP BY member_id) WHERE f BETWEEN ?1 AND ?2", &[&a, &b]);
    let renewed = n("SELECT COUNT(*) FROM contracts k WHERE k.status <> 'refunded' AND k.end_date BETWEEN ?1 AND ?2 AND EXISTS (SELECT 1 FROM contracts r WHERE r.renewal_of = k.id)", &[&a, &b]);
    let due = n("SELECT COUNT(*) FROM visit_plans WHERE due_date BETWEEN ?1 AND ?2 AND status <> 'cancelled'", &[&a, &b]);
    let made = n("SELECT COUNT(*) FROM visit_plans WHERE due_date BETWEEN ?1 AND ?2 AND status = 'done'", &[&a, &b]);
    let visits = n("SELECT COUNT(*) FROM return_visits WHERE business_date BETWEEN ?1 AND ?2", &[&a, &b]);
    let closed = n("SELECT COUNT(*) FROM complaints WHERE closed_date BETWEEN ?1 AND ?2", &[&a, &b]);
    let on_time = n("SELECT COUNT(*) FROM complaints WHERE closed_date BETWEEN ?1 AND ?2 AND closed_date <= deadline", &[&a, &b]);
    let scores = |kind: &str| -> Vec<i64> {
        raw.prepare("SELECT score FROM satisfaction_scores WHERE kind = ?1 AND business_date BETWEEN ?2 AND ?3").unwrap().query_map(params![kind, a, b], |r| r.get(0)).unwrap().map(|x| x.unwrap()).collect()
    };
    let (csat, nps) = (scores("csat"), scores("nps"));
    let two = |x: f64| format!("{x:.2}");
    vec![
        end.len().to_string(),
        new.to_string(),
        renewed.to_string(),
        (start.len() as i64 - retained).to_string(),
        if start.is_empty() { String::new() } else { ((retained * 1000 + start.len() as i64 / 2) / start.len() as i64).to_string() },
        due.to_string(),
        made.to_string(),
        if end.is_empty() { String::new() } else { two(visits as f64 / end.len() as f64) },
        closed.to_string(),
        on_time.to_string(),
        if csat.is_empty() { String::new() } else { two(csat.iter().sum::<i64>() as f64 / csat.len() as f64) },
        if nps.is_empty() {
            String::new()
        } else {
            let p = nps.iter().filter(|s| **s >= 9).count() as f64;
            let d = nps.iter().filter(|s| **s <= 6).count() as f64;
            format!("{:.1}", (p - d) * 100.0 / nps.len() as f64)
        },
    ]
}

#[test]
fn every_months_figures_by_hand_and_by_an_independent_count() {
    let s = scenario();
    let c = &s.c;
    let t = tables(c, "2026-08-01", "2026-12-31", Lang::ZhCn);
    let months = &t[0];
    assert_eq!(months.key, "months");
    // December is after today: not counted. November is counted to today.
    let labels: Vec<&str> = months.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(labels, ["2026-08", "2026-09", "2026-10", "2026-11"]);

    let pick = |m: &str, keys: &[&str]| -> Vec<String> { keys.iter().map(|k| row(months, m)[col(months, k)].clone()).collect() };
    let keys = ["active", "new", "renewed", "lost", "retention"];
    assert_eq!(pick("2026-08", &keys), ["2", "2", "0", "0", ""], "two new, nobody before them");
    assert_eq!(pick("2026-09", &keys), ["2", "0", "0", "0", "1000"]);
    assert_eq!(pick("2026-10", &keys), ["2", "0", "1", "0", "1000"], "A's card ended 31 October, renewed");
    assert_eq!(pick("2026-11", &keys), ["2", "1", "0", "1", "500"], "B lost, C new, A kept; D starts in December");
    assert_eq!(pick("2026-10", &["interactions", "csat"]), ["0.50", "2.00"]);
    assert_eq!(pick("2026-11", &["interactions", "csat", "nps", "complaints_closed", "closed_on_time"]), ["0.50", "5.00", "0.0", "2", "1"]);

    // Every cell of every month against the count from the base tables.
    let ranges = [("2026-08", "2026-08-01", "2026-08-31"), ("2026-09", "2026-09-01", "2026-09-30"), ("2026-10", "2026-10-01", "2026-10-31"), ("2026-11", "2026-11-01", "2026-11-25")];
    for (label, a, b) in ranges {
        assert_eq!(row(months, label)[1..].to_vec(), recount(c, a, b), "{label}");
    }
    assert!(c.count("SELECT COUNT(*) FROM visit_plans") > 0, "the planner planned visits, so their columns are exercised");
}

#[test]
fn the_consultant_and_coach_tables_add_up_to_the_months() {
    let s = scenario();
    let c = &s.c;
    let t = tables(c, "2026-08-01", "2026-11-25", Lang::ZhCn);
    let (months, consultants, coaches) = (&t[0], &t[1], &t[2]);
    let sum = |t: &ReportTable, key: &str| -> i64 { t.rows.iter().map(|r| r[col(t, key)].parse::<i64>().unwrap_or(0)).sum() };
    for key in ["new", "renewed"] {
        assert_eq!(sum(consultants, key), sum(months, key), "{key}: every member counts for one consultant or as unassigned");
    }
    let last = months.rows.last().unwrap();
    assert_eq!(sum(consultants, "active").to_string(), last[col(months, "active")], "the period's end is November's");

    let get = |t: &ReportTable, name: &str, key: &str| row(t, name)[col(t, key)].clone();
    assert_eq!([get(consultants, "张敏", "active"), get(consultants, "张敏", "new"), get(consultants, "张敏", "renewed")], ["1", "1", "1"], "A, sold by the consultant");
    assert_eq!([get(consultants, "王校长", "active"), get(consultants, "王校长", "new")], ["1", "1"], "C, sold by the manager");
    assert_eq!(get(consultants, "（未分配）", "new"), "1", "B had nobody");
    assert_eq!(get(consultants, "张敏", "nps"), "-100.0", "A's answer counts for A's consultant");
    let unassigned = consultants.rows.last().unwrap();
    assert_eq!(unassigned[0], "（未分配）", "unassigned comes last");

    // The coach taught A: A's answer (naming nobody) counts for the coach, and so does C's,
    // which names the coach though C is in no class: one promoter, one detractor.
    assert_eq!([get(coaches, "陈刚", "active"), get(coaches, "陈刚", "nps")], ["1", "0.0"]);
    assert_eq!(coaches.rows.len(), 2, "the coach, and the members nobody taught: {:?}", coaches.rows);
    let _ = (&s.a, &s.b, &s.c_new);
}

#[test]
fn the_scorecard_is_the_managers_has_limits_and_its_csv_is_the_same_rows() {
    let s = scenario();
    let c = &s.c;
    assert_eq!(c.core.analysis(&c.clerk, &filter("2026-08-01", "2026-11-25"), Lang::ZhCn).unwrap_err().code(), "forbidden");
    assert_eq!(c.core.analysis(&c.consultant, &filter("2026-08-01", "2026-11-25"), Lang::ZhCn).unwrap_err().code(), "forbidden");

    // Five years at most; the 61st month is refused, naming the field and the rule.
    assert_eq!(tables(c, "2021-12-01", "2026-11-25", Lang::ZhCn)[0].rows.len(), 60);
    let e = c.core.analysis(&c.admin, &filter("2021-11-30", "2026-11-25"), Lang::ZhCn).unwrap_err();
    assert_eq!(e.field(), Some(centredesk_core::error::Field::ReportMonths));
    assert!(e.message(Lang::ZhCn).contains("统计月数") && e.message(Lang::En).contains("between 1 and 60"), "{}", e.message(Lang::En));
    // A period wholly after today has nothing yet.
    assert!(tables(c, "2027-01-01", "2027-03-31", Lang::En).iter().all(|t| t.rows.is_empty()));

    // English labels; the CSV has the screen's rows, numbers as numbers.
    let en = tables(c, "2026-08-01", "2026-11-25", Lang::En);
    assert_eq!(en[0].columns[5].label, "Retention");
    assert_eq!(row(&en[1], "(unassigned)")[2], "1");
    let csv = c.core.analysis_csv(&c.admin, &filter("2026-08-01", "2026-11-25"), "months", Lang::ZhCn, false).unwrap();
    assert_eq!(csv.rows, 4);
    let text = common::csv_table(&csv.bytes);
    assert!(text.contains("月份") && text.contains("留存率"), "{text}");
    assert!(text.contains("2026-11,2,1,0,1,50.0,"), "November's row with retention as a percentage: {text}");
    assert!(c.core.analysis_csv(&c.admin, &filter("2026-08-01", "2026-11-25"), "coaches", Lang::En, false).is_ok());
}
