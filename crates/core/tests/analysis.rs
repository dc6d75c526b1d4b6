//! Renewals, sales and customer-value tables on real databases: exact counts on a small
//! centre, and invariants over a year of demo history.

mod common;

use centredesk_core::analysis::AnalysisFilter;
use centredesk_core::leads::LeadInput;
use centredesk_core::{Core, Lang};

fn filter(report: &str, from: &str, to: &str) -> AnalysisFilter {
    AnalysisFilter {
        report: report.into(),
        from_date: from.into(),
        to_date: to.into(),
        days_ahead: None,
        lessons_left: None,
        a_percent: None,
        b_percent: None,
    }
}

fn col(t: &centredesk_core::analysis::ReportTable, key: &str) -> usize {
    t.columns
        .iter()
        .position(|c| c.key == key)
        .unwrap_or_else(|| panic!("no column {key}"))
}

fn n(s: &str) -> i64 {
    s.parse().unwrap_or(0)
}

#[test]
fn a_lost_lead_still_counts_for_the_stages_it_passed() {
    let c = common::centre();
    let lead = c
        .core
        .lead_create(
            &c.consultant,
            LeadInput {
                name: "张三".into(),
                contact_name: "张妈妈".into(),
                phone: "13900000001".into(),
                wechat: String::new(),
                gender: None,
                birthday: None,
                source: "电话".into(),
                consultant_id: None,
                man_money: true,
                man_authority: true,
                man_need: true,
                needs: String::new(),
                notes: String::new(),
                next_follow_up: None,
            },
        )
        .unwrap();
    for status in ["contacted", "visit_booked", "visited"] {
        c.core
            .lead_set_status(&c.consultant, &lead.id, status, "")
            .unwrap();
    }
    c.core
        .lead_set_status(&c.consultant, &lead.id, "lost", "价格太高")
        .unwrap();
    let tables = c
        .core
        .analysis(
            &c.admin,
            &filter("sales", "2026-11-01", "2026-11-30"),
            Lang::ZhCn,
        )
        .unwrap();
    let funnel = &tables[0];
    let row = &funnel.rows[0];
    let get = |k: &str| n(&row[col(funnel, k)]);
    assert_eq!(
        (
            row[0].as_str(),
            get("leads"),
            get("visited"),
            get("trial"),
            get("enrolled"),
            get("lost")
        ),
        ("电话", 1, 1, 0, 0, 1)
    );
    assert_eq!(
        tables[1].rows,
        vec![vec!["价格太高".to_string(), "1".to_string()]]
    );
    let csv = c
        .core
        .analysis_csv(
            &c.admin,
            &filter("sales", "2026-11-01", "2026-11-30"),
            "funnel",
            Lang::ZhCn,
            false,
        )
        .unwrap();
    let text = String::from_utf8(csv.bytes).unwrap();
    assert!(
        text.starts_with("来源,潜客,到访,试课,报名,丢单,转化率\r\n电话,1,1,0,0,1,0.0\r\n"),
        "{text}"
    );
    assert_eq!(
        c.core
            .analysis(
                &c.clerk,
                &filter("sales", "2026-11-01", "2026-11-30"),
                Lang::ZhCn
            )
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        c.core
            .analysis(
                &c.admin,
                &filter("weather", "2026-11-01", "2026-11-30"),
                Lang::ZhCn
            )
            .unwrap_err()
            .code(),
        "validation.one_of"
    );
}

#[test]
fn a_year_of_demo_history_keeps_every_table_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    centredesk_core::demo::generate(
        &path,
        &centredesk_core::demo::DemoOptions {
            members: 120,
            seed: 3,
            today,
        },
    )
    .unwrap();
    // The demo's own today, not the machine's: "due within 30 days" is counted from it.
    let core = Core::open_with_clock(&path, centredesk_core::ManualClock::new(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 25, 2, 0, 0).unwrap())).unwrap();
    let admin = core
        .login("admin", centredesk_core::demo::DEMO_PASSWORD)
        .unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let one = |sql: &str| -> i64 { raw.query_row(sql, [], |r| r.get(0)).unwrap() };

    // Renewals: every member listed is really due; nobody renews more than ended.
    let r = core
        .analysis(
            &admin,
            &filter("renewals", "2026-01-01", "2026-11-30"),
            Lang::ZhCn,
        )
        .unwrap();
    let (due, rate) = (&r[0], &r[1]);
    assert!(!due.rows.is_empty());
    for row in &due.rows {
        let soon = row[col(due, "end_date")].as_str() <= "2026-12-25";
        let low =
            !row[col(due, "lessons_left")].is_empty() && n(&row[col(due, "lessons_left")]) <= 3;
        assert!(soon || low, "{row:?}");
    }
    assert!(rate
        .rows
        .iter()
        .all(|x| n(&x[col(rate, "renewed")]) <= n(&x[col(rate, "ended")])));

    // Sales: the funnel narrows, and its leads are the period's leads.
    let s = core
        .analysis(
            &admin,
            &filter("sales", "2025-11-26", "2026-11-25"),
            Lang::ZhCn,
        )
        .unwrap();
    let f = &s[0];
    for row in &f.rows {
        let v: Vec<i64> = ["leads", "visited", "trial", "enrolled"]
            .iter()
            .map(|k| n(&row[col(f, k)]))
            .collect();
        assert!(v.windows(2).all(|w| w[0] >= w[1]), "{row:?}");
    }
    let leads: i64 = f.rows.iter().map(|r| n(&r[col(f, "leads")])).sum();
    assert_eq!(leads, one("SELECT COUNT(*) FROM leads WHERE substr(created_at, 1, 10) BETWEEN '2025-11-26' AND '2026-11-25'"));

    // Customers: scores 1–5, A about the top fifth, lifetime values adding up to the ledger.
    let v = core
        .analysis(
            &admin,
            &filter("customers", "2026-11-01", "2026-11-25"),
            Lang::ZhCn,
        )
        .unwrap();
    let (rfm, abc, churn) = (&v[0], &v[1], &v[2]);
    assert!(rfm
        .rows
        .iter()
        .all(|r| r[col(rfm, "rfm")].chars().all(|c| ('1'..='5').contains(&c))));
    let classes: String = abc.rows.iter().map(|r| r[0].clone()).collect();
    assert!(
        classes.find('B').unwrap() > classes.rfind('A').unwrap()
            && classes.find('C').unwrap() > classes.rfind('B').unwrap(),
        "A, then B, then C"
    );
    let a = classes.matches('A').count() as i64;
    assert_eq!(
        a,
        (abc.rows.len() as i64 * 20 + 99) / 100,
        "the top 20 %, rounded up"
    );
    let lifetime: i64 = abc
        .rows
        .iter()
        .map(|r| {
            centredesk_core::Money::parse(&r[col(abc, "lifetime_value")])
                .unwrap()
                .fen()
        })
        .sum();
    assert_eq!(lifetime, one("SELECT SUM(s) FROM (SELECT SUM(amount) s FROM payments GROUP BY member_id HAVING SUM(amount) > 0)"));
    // Nobody on the win-back list has a contract running today.
    for id in &churn.member_ids {
        let running: i64 = raw
            .query_row(
                "SELECT COUNT(*) FROM contracts WHERE member_id = ?1 AND status = 'active' AND end_date >= '2026-11-25' AND (kind = 'term' OR lessons_used < lessons_total)",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(running, 0);
    }
}
