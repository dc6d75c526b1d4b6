//! Renewals, sales and customer-value tables on real databases: exact counts on a small
//! centre, and invariants over a year of demo history.

use crate::common;

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
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let (_dir, path) = crate::common::demo_file(120, 3, today);
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
    renewal_rate_matches_an_oracle(&raw, rate, ("2026-01", "2026-11-25"));
    // The rule of renewals.rs, written out again: started and not ended, not refunded,
    // the member not left or merged, ending within 30 days or ≤ 3 lessons left, and no
    // later-ending contract of the member.
    let due_oracle = one(
        "SELECT COUNT(*) FROM contracts k JOIN members m ON m.id = k.member_id
         WHERE k.status <> 'refunded' AND m.status <> 'left' AND m.merged_into IS NULL
           AND k.start_date <= '2026-11-25' AND k.end_date >= '2026-11-25'
           AND (k.end_date <= '2026-12-25' OR (k.kind = 'lessons' AND k.lessons_total - k.lessons_used <= 3))
           AND NOT EXISTS (SELECT 1 FROM contracts n WHERE n.member_id = k.member_id AND n.id <> k.id AND n.status <> 'refunded' AND n.end_date > k.end_date)",
    );
    assert_eq!((due.total_rows, due.rows.len() as i64), (due_oracle, due_oracle));
    assert!(due.rows.windows(2).all(|w| w[0][col(due, "end_date")] <= w[1][col(due, "end_date")]), "soonest first");

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
    consultants_match_an_oracle(&raw, &s[2], ("2025-11-26", "2026-11-25"), "2026-11-25");

    // Customers: scores 1–5, A about the top fifth, lifetime values adding up to the ledger.
    // Two paying records of one child merged first, so the survivor's sums are checked too.
    let paying: Vec<String> = raw
        .prepare("SELECT member_id FROM payments GROUP BY member_id HAVING SUM(amount) > 0 ORDER BY member_id LIMIT 2")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    core.member_merge(&admin, &paying[0], &paying[1]).unwrap();
    let v = core
        .analysis(
            &admin,
            &filter("customers", "2026-11-01", "2026-11-25"),
            Lang::ZhCn,
        )
        .unwrap();
    let (rfm, abc, churn) = (&v[0], &v[1], &v[2]);
    customers_match_an_oracle(&raw, rfm, abc, churn, "2026-11-25");
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

/// The renewal rate against months counted here from the raw rows: each contract not
/// refunded ends on its end date, or on its last consumed lesson when a lesson package was
/// used up before that; months from `first_month` with contracts ended by `until`.
fn renewal_rate_matches_an_oracle(raw: &rusqlite::Connection, t: &centredesk_core::analysis::ReportTable, (first_month, until): (&str, &str)) {
    use std::collections::{BTreeMap, HashMap, HashSet};
    let mut last_lesson: HashMap<String, String> = HashMap::new();
    let mut stmt = raw.prepare("SELECT a.contract_id, s.date FROM attendance a JOIN class_sessions s ON s.id = a.session_id WHERE a.consumed = 1").unwrap();
    for (contract, date) in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap().map(Result::unwrap) {
        let e = last_lesson.entry(contract).or_default();
        if date > *e {
            *e = date;
        }
    }
    let renewed: HashSet<String> = raw.prepare("SELECT renewal_of FROM contracts WHERE renewal_of IS NOT NULL").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let mut months: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut stmt = raw.prepare("SELECT id, kind, lessons_used, lessons_total, end_date, status FROM contracts").unwrap();
    type Row = (String, String, i64, Option<i64>, String, String);
    for (id, kind, used, total, end, status) in stmt.query_map([], |r| -> rusqlite::Result<Row> { Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)) }).unwrap().map(Result::unwrap) {
        if status == "refunded" {
            continue;
        }
        let used_up = kind == "lessons" && total.is_some_and(|t| used >= t);
        let ended = match last_lesson.get(&id) {
            Some(last) if used_up && *last < end => last.clone(),
            _ => end,
        };
        if ended[..7] >= *first_month && ended.as_str() <= until {
            let m = months.entry(ended[..7].to_string()).or_default();
            m.0 += 1;
            m.1 += i64::from(renewed.contains(&id));
        }
    }
    let got: Vec<(String, i64, i64)> = t.rows.iter().map(|r| (r[col(t, "month")].clone(), n(&r[col(t, "ended")]), n(&r[col(t, "renewed")]))).collect();
    let want: Vec<(String, i64, i64)> = months.into_iter().map(|(m, (e, r))| (m, e, r)).collect();
    assert!(want.iter().any(|m| m.2 > 0), "the demo renews some contracts");
    assert_eq!(got, want);
}

/// The consultants table against figures counted here from the raw rows: each lead of
/// the period, whether it was ever enrolled (its history in the change log), the days to
/// its member's first contract; follow-ups, the ledger and open leads overdue.
fn consultants_match_an_oracle(raw: &rusqlite::Connection, t: &centredesk_core::analysis::ReportTable, (from, to): (&str, &str), today: &str) {
    use std::collections::HashMap;
    let all = |sql: &str| -> Vec<Vec<rusqlite::types::Value>> {
        let mut stmt = raw.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect()).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    };
    let text = |v: &rusqlite::types::Value| match v {
        rusqlite::types::Value::Text(s) => Some(s.clone()),
        _ => None,
    };
    let int = |v: &rusqlite::types::Value| match v {
        rusqlite::types::Value::Integer(i) => *i,
        _ => 0,
    };
    let ms = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis();
    let in_period = |t: &str| (from..=to).contains(&&t[..10]);
    let mut enrolled_ever: std::collections::HashSet<String> = all("SELECT entity_id, payload FROM change_log WHERE entity = 'lead'")
        .iter()
        .filter(|r| text(&r[1]).unwrap().contains("\"status\":\"enrolled\""))
        .map(|r| text(&r[0]).unwrap())
        .collect();
    let first_contract: HashMap<String, i64> = all("SELECT member_id, created_at FROM contracts").iter().fold(HashMap::new(), |mut m, r| {
        let at = ms(&text(&r[1]).unwrap());
        let e = m.entry(text(&r[0]).unwrap()).or_insert(at);
        *e = (*e).min(at);
        m
    });
    #[derive(Default, Debug, PartialEq)]
    struct Figures { leads: i64, follow_ups: i64, conversions: i64, days: Vec<i64>, revenue: i64, overdue: i64 }
    let mut by: HashMap<String, Figures> = HashMap::new();
    for r in all("SELECT id, consultant_id, status, converted_member_id, created_at, next_follow_up FROM leads") {
        let (id, consultant, status, created) = (text(&r[0]).unwrap(), text(&r[1]).unwrap_or_default(), text(&r[2]).unwrap(), text(&r[4]).unwrap());
        if status == "enrolled" {
            enrolled_ever.insert(id.clone());
        }
        let f = by.entry(consultant).or_default();
        if !["enrolled", "lost"].contains(&status.as_str()) && text(&r[5]).is_some_and(|d| d.as_str() < today) {
            f.overdue += 1;
        }
        if in_period(&created) {
            f.leads += 1;
            f.conversions += i64::from(enrolled_ever.contains(&id));
            if let Some(first) = text(&r[3]).and_then(|m| first_contract.get(&m).copied()) {
                f.days.push(first - ms(&created));
            }
        }
    }
    for r in all("SELECT staff_id, at FROM lead_follow_ups") {
        if in_period(&text(&r[1]).unwrap()) {
            by.entry(text(&r[0]).unwrap()).or_default().follow_ups += 1;
        }
    }
    for r in all("SELECT k.consultant_id, p.amount, p.business_date FROM payments p JOIN contracts k ON k.id = p.contract_id WHERE k.consultant_id IS NOT NULL") {
        if in_period(&text(&r[2]).unwrap()) {
            by.entry(text(&r[0]).unwrap()).or_default().revenue += int(&r[1]);
        }
    }
    let staff = all("SELECT id, display_name FROM staff WHERE role IN ('consultant','manager') AND active = 1");
    assert_eq!(t.rows.len(), staff.len());
    let mut checked = 0;
    for s in staff {
        let (id, name) = (text(&s[0]).unwrap(), text(&s[1]).unwrap());
        let f = by.remove(&id).unwrap_or_default();
        let row = t.rows.iter().find(|r| r[col(t, "consultant")] == name).unwrap();
        let days = (!f.days.is_empty()).then(|| f.days.iter().sum::<i64>() / f.days.len() as i64 / 86_400_000);
        assert_eq!(n(&row[col(t, "leads")]), f.leads, "{name}: leads");
        assert_eq!(n(&row[col(t, "follow_ups")]), f.follow_ups, "{name}: follow-ups");
        assert_eq!(n(&row[col(t, "conversions")]), f.conversions, "{name}: conversions");
        assert_eq!(row[col(t, "days_to_convert")], days.map(|d| d.to_string()).unwrap_or_default(), "{name}: days to convert");
        assert_eq!(centredesk_core::Money::parse(&row[col(t, "revenue")]).unwrap().fen(), f.revenue, "{name}: revenue");
        assert_eq!(n(&row[col(t, "overdue")]), f.overdue, "{name}: overdue follow-ups");
        checked += f.leads;
    }
    assert!(checked > 0, "the demo's consultants have leads in the period");
}

/// The customer tables against the set-based SQL they were first written as (joins and
/// NTILE windows over the raw ledger, merged records folded by `merged_into`).
fn customers_match_an_oracle(
    raw: &rusqlite::Connection,
    rfm: &centredesk_core::analysis::ReportTable,
    abc: &centredesk_core::analysis::ReportTable,
    churn: &centredesk_core::analysis::ReportTable,
    today: &str,
) {
    let lines = |sql: &str| -> Vec<Vec<String>> {
        let mut stmt = raw.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([today], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Integer(x) => x.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    _ => String::new(),
                })
                .collect())
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    };
    let money = |fen: &str| centredesk_core::Money::from_fen(fen.parse().unwrap()).to_string();
    // RFM: who, last payment, days, payments and money per survivor over the last 365 days.
    let want = lines(
        "WITH pay AS (
            SELECT COALESCE(pm.merged_into, pm.id) AS id, MAX(p.business_date) AS last, SUM(p.kind = 'payment') AS freq, SUM(p.amount) AS spent
            FROM payments p JOIN members pm ON pm.id = p.member_id
            WHERE p.business_date BETWEEN date(?1, '-365 days') AND ?1 GROUP BY 1 HAVING SUM(p.amount) > 0)
         SELECT COALESCE(m.member_no, ''), m.name, last, CAST(julianday(?1) - julianday(last) AS INTEGER), freq, spent,
                NTILE(5) OVER (ORDER BY last, m.id), NTILE(5) OVER (ORDER BY freq, m.id), NTILE(5) OVER (ORDER BY spent, m.id)
         FROM pay JOIN members m ON m.id = pay.id ORDER BY spent DESC, m.id",
    );
    assert_eq!(rfm.total_rows as usize, want.len());
    let got: Vec<Vec<String>> = rfm.rows.iter().map(|r| r[..7].to_vec()).collect();
    let want: Vec<Vec<String>> = want.iter().map(|w| vec![w[0].clone(), w[1].clone(), w[2].clone(), w[3].clone(), w[4].clone(), money(&w[5]), format!("{}{}{}", w[6], w[7], w[8])]).collect();
    assert_eq!(got, want, "RFM rows");
    // ABC: lifetime value, first and last payment per survivor, largest first.
    let want = lines(
        "SELECT COALESCE(m.member_no, ''), m.name, SUM(p.amount), MIN(p.business_date), MAX(p.business_date), COUNT(*) OVER ()
         FROM payments p JOIN members pm ON pm.id = p.member_id JOIN members m ON m.id = COALESCE(pm.merged_into, pm.id)
         WHERE ?1 = ?1 GROUP BY m.id HAVING SUM(p.amount) > 0 ORDER BY 3 DESC, m.id",
    );
    assert_eq!(abc.total_rows as usize, want.len());
    let got: Vec<Vec<String>> = abc.rows.iter().map(|r| r[1..6].to_vec()).collect();
    let want: Vec<Vec<String>> = want.iter().map(|w| vec![w[0].clone(), w[1].clone(), money(&w[2]), w[3].clone(), w[4].clone()]).collect();
    assert_eq!(got, want, "ABC rows");
    // Win back: paying members with no contract running today, largest value first.
    let want = lines(
        "SELECT m.id FROM members m
         WHERE m.status IN ('active','paused','expired','left') AND m.merged_into IS NULL
           AND EXISTS (SELECT 1 FROM payments p WHERE p.member_id = m.id OR p.member_id IN (SELECT x.id FROM members x WHERE x.merged_into = m.id))
           AND NOT EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = m.id AND k.status = 'active' AND k.end_date >= ?1
                             AND (k.kind = 'term' OR k.lessons_used < k.lessons_total))
         ORDER BY (SELECT SUM(p.amount) FROM payments p WHERE p.member_id = m.id OR p.member_id IN (SELECT x.id FROM members x WHERE x.merged_into = m.id)) DESC, m.id",
    );
    assert_eq!(churn.member_ids, want.into_iter().map(|w| w[0].clone()).collect::<Vec<_>>(), "win-back list");
    assert!(!churn.member_ids.is_empty());
}
