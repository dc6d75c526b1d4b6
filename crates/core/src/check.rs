//! The invariant checker 数据检查: does this database say true things? Each rule below is
//! a fact the desk states that can be recomputed from the rows behind it. A healthy file
//! has no findings; support runs it on a file a centre sends (`centredesk check`), the
//! manager from Settings → 备份与数据, and the test suite on the demo and on randomised
//! centres.
//!
//! - **member_status**: 在读 / 已过期 follow the contracts (`members::follow_contracts`).
//! - **leave_and_mark**: no child is on leave for a session whose roll call marks them
//!   otherwise.
//! - **lessons_used**: each lesson package's lessons used = the marks that consumed from it.
//! - **stock**: each item's stock = the sum of its stock ledger.
//! - **points**: a balance is never stored (it is the sum of the ledger, `points::balance`),
//!   so what can drift is the ledger against what it records: each sale paid in points
//!   has taken its points, less what its returns gave back.
//! - **logged**: every payment, points entry, attendance mark and goods sale is in the
//!   change log (the audit trail and the sync outbox).
//! - **arrears**: the arrears total = Σ(amount due − paid) over the ledger.
//! - **caches**: every report cache (migrations 0012, 0015) = its recomputation.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{Lang, Result};
use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

/// One thing that is not as it should be.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Finding {
    /// The rule's key (`member_status`, `stock` …).
    pub rule: String,
    /// What it is about (a member number, an item's name, a cache's name).
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct CheckReport {
    /// Every rule checked, with its description, in the report's language.
    pub rules: Vec<CheckedRule>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct CheckedRule {
    pub rule: String,
    pub description: String,
    pub findings: i64,
}

impl CheckReport {
    pub fn healthy(&self) -> bool {
        self.findings.is_empty()
    }
}

const RULES: [(&str, &str, &str); 8] = [
    ("member_status", "会员状态与合同一致（在读 / 已过期）", "member status follows the contracts (active / expired)"),
    ("leave_and_mark", "同一节课没有既请假又点名出勤（或缺勤）", "no child both on leave and marked otherwise for one session"),
    ("lessons_used", "课时包已用课时 = 扣课的考勤记录数", "lessons used on each package = the marks that consumed from it"),
    ("stock", "物品库存 = 出入库记录之和", "each item's stock = the sum of its stock ledger"),
    ("points", "积分兑换的物品 = 积分记录（扣除的积分减去退回的积分）", "goods paid in points = their points entries (taken, less what returns gave back)"),
    ("logged", "缴费、积分、考勤、物品销售都记入了变更日志", "every payment, points entry, mark and goods sale is in the change log"),
    ("arrears", "欠费合计 = 各合同（应付 − 已付）之和", "arrears total = Σ(amount due − paid) over the contracts"),
    ("caches", "报表缓存 = 重新计算的结果", "every report cache = its recomputation"),
];

fn rows(c: &Connection, sql: &str) -> Result<Vec<Vec<String>>> {
    let mut stmt = c.prepare(sql)?;
    let n = stmt.column_count();
    let out = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => String::new(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Real(v) => v.to_string(),
                        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        rusqlite::types::ValueRef::Blob(b) => format!("{b:?}"),
                    })
                })
                .collect::<rusqlite::Result<Vec<String>>>()
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(out)
}

/// Each report cache as its rows in a fixed order, next to the same rows recomputed from
/// what they summarise (also what `tests/report_caches.rs` compares).
pub fn caches(c: &Connection) -> Result<Vec<(&'static str, Vec<Vec<String>>, Vec<Vec<String>>)>> {
    let lead_rank = |s: &str| crate::analysis::STAGE_RANK.replace("{s}", s);
    Ok(vec![
        (
            "session_marks",
            // A session whose marks were all removed keeps a row of zeros; it counts nothing.
            rows(c, "SELECT * FROM session_marks WHERE present + late + absent + leave + makeup + trial > 0 ORDER BY 1")?,
            rows(
                c,
                "SELECT session_id, SUM(mark = 'present'), SUM(mark = 'late'), SUM(mark = 'absent'), SUM(mark = 'leave'), SUM(mark = 'makeup'), SUM(mark = 'trial')
                 FROM attendance GROUP BY 1 ORDER BY 1",
            )?,
        ),
        (
            "member_attended",
            rows(c, "SELECT * FROM member_attended ORDER BY 1")?,
            rows(
                c,
                "SELECT a.member_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
                 WHERE a.mark IN ('present','late','makeup') GROUP BY 1 ORDER BY 1",
            )?,
        ),
        (
            "contract_consumed",
            rows(c, "SELECT * FROM contract_consumed ORDER BY 1")?,
            rows(
                c,
                "SELECT a.contract_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
                 WHERE a.contract_id IS NOT NULL AND a.consumed = 1 GROUP BY 1 ORDER BY 1",
            )?,
        ),
        (
            "payment_days",
            rows(c, "SELECT * FROM payment_days ORDER BY 1, 2, 3, 4")?,
            rows(
                c,
                "SELECT p.business_date, COALESCE(k.consultant_id, ''), p.method, COALESCE(k.package_name, ''),
                    SUM(CASE WHEN p.kind = 'payment' THEN p.amount ELSE 0 END), SUM(CASE WHEN p.kind = 'refund' THEN p.amount ELSE 0 END),
                    SUM(CASE WHEN p.kind = 'reversal' THEN p.amount ELSE 0 END), COUNT(*)
                 FROM payments p LEFT JOIN contracts k ON k.id = p.contract_id GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
            )?,
        ),
        (
            "member_spend",
            rows(c, "SELECT * FROM member_spend ORDER BY 1")?,
            rows(c, "SELECT member_id, SUM(amount), SUM(kind = 'payment'), MIN(business_date), MAX(business_date) FROM payments GROUP BY 1 ORDER BY 1")?,
        ),
        (
            "activity_hours",
            rows(c, "SELECT * FROM activity_hours ORDER BY 1, 2, 3, 4")?,
            rows(c, "SELECT substr(at, 1, 13), COALESCE(staff_id, ''), entity, op, COUNT(*) FROM change_log GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")?,
        ),
        (
            "lead_reach",
            rows(c, "SELECT * FROM lead_reach ORDER BY 1")?,
            rows(
                c,
                &format!(
                    "SELECT l.id, MAX({cur}, COALESCE((SELECT MAX({hist}) FROM change_log cl WHERE cl.entity = 'lead' AND cl.entity_id = l.id), -1)) FROM leads l ORDER BY 1",
                    cur = lead_rank("l.status"),
                    hist = lead_rank("json_extract(cl.payload, '$.data.status')"),
                ),
            )?,
        ),
        (
            "contract_ends",
            rows(c, "SELECT * FROM contract_ends ORDER BY 1")?,
            rows(
                c,
                "SELECT k.id, CASE WHEN k.kind = 'lessons' AND k.lessons_used >= k.lessons_total AND u.last < k.end_date THEN u.last ELSE k.end_date END,
                    (SELECT COUNT(*) > 0 FROM contracts r WHERE r.renewal_of = k.id)
                 FROM contracts k LEFT JOIN (
                    SELECT a.contract_id, MAX(s.date) AS last FROM attendance a JOIN class_sessions s ON s.id = a.session_id
                    WHERE a.consumed = 1 GROUP BY 1) u ON u.contract_id = k.id
                 WHERE k.status <> 'refunded' ORDER BY 1",
            )?,
        ),
    ])
}

fn check(c: &Connection, today: &str, lang: Lang) -> Result<CheckReport> {
    let mut findings: Vec<Finding> = vec![];
    let mut found = |rule: &str, subject: String, detail: String| findings.push(Finding { rule: rule.into(), subject, detail });
    let who = "COALESCE(m.member_no, m.name)";

    for r in rows(
        c,
        &format!(
            "SELECT {who}, m.status FROM members m WHERE m.id IN ({})",
            crate::members::status_drift_sql().replace("?1", &format!("'{today}'"))
        ),
    )? {
        let wanted = if r[1] == "active" { lang.pick("已过期", "expired") } else { lang.pick("在读", "active") };
        found("member_status", r[0].clone(), lang.pick(&format!("状态为 {}，按合同应为 {wanted}", r[1]), &format!("status is {}; its contracts make it {wanted}", r[1])));
    }
    for r in rows(
        c,
        &format!(
            "SELECT {who}, s.date || ' ' || s.start_time, a.mark FROM leave_requests l
             JOIN attendance a ON a.session_id = l.session_id AND a.member_id = l.member_id
             JOIN members m ON m.id = l.member_id JOIN class_sessions s ON s.id = l.session_id
             WHERE l.withdrawn_at IS NULL AND a.mark <> 'leave'"
        ),
    )? {
        found("leave_and_mark", r[0].clone(), lang.pick(&format!("{} 既请假又点名为 {}", r[1], r[2]), &format!("{}: on leave and marked {}", r[1], r[2])));
    }
    for r in rows(
        c,
        "SELECT k.contract_no, k.lessons_used, (SELECT COUNT(*) FROM attendance a WHERE a.contract_id = k.id AND a.consumed = 1)
         FROM contracts k WHERE k.kind = 'lessons'
           AND k.lessons_used <> (SELECT COUNT(*) FROM attendance a WHERE a.contract_id = k.id AND a.consumed = 1)",
    )? {
        found("lessons_used", r[0].clone(), lang.pick(&format!("已用 {} 课时，考勤扣课 {} 次", r[1], r[2]), &format!("{} lessons used, {} marks consumed from it", r[1], r[2])));
    }
    for r in rows(
        c,
        "SELECT g.name, g.stock, COALESCE((SELECT SUM(quantity) FROM stock_moves s WHERE s.goods_id = g.id), 0) FROM goods g
         WHERE g.stock <> COALESCE((SELECT SUM(quantity) FROM stock_moves s WHERE s.goods_id = g.id), 0)",
    )? {
        found("stock", r[0].clone(), lang.pick(&format!("库存 {}，出入库记录合计 {}", r[1], r[2]), &format!("stock {}, its ledger sums to {}", r[1], r[2])));
    }
    for r in rows(
        c,
        "SELECT sale_no, expected, ledger FROM (
           SELECT s.sale_no, -s.points + COALESCE((SELECT SUM(r.points) FROM goods_returns r WHERE r.sale_id = s.id), 0) AS expected,
                  COALESCE((SELECT SUM(p.delta) FROM points_ledger p WHERE p.ref_id = s.id), 0) AS ledger
           FROM goods_sales s WHERE s.method = 'points' AND s.member_id IS NOT NULL) WHERE expected <> ledger",
    )? {
        found("points", r[0].clone(), lang.pick(&format!("应记积分 {}，积分记录合计 {}", r[1], r[2]), &format!("{} points due, its entries sum to {}", r[1], r[2])));
    }
    for (table, entity, zh, en) in [
        ("payments", "payment", "缴费记录", "payment"),
        ("points_ledger", "points", "积分记录", "points entry"),
        ("attendance", "attendance", "考勤记录", "attendance mark"),
        ("goods_sales", "goods_sale", "物品销售", "goods sale"),
    ] {
        let missing = rows(
            c,
            &format!("SELECT t.id FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM change_log l WHERE l.entity = '{entity}' AND l.entity_id = t.id)"),
        )?;
        for r in missing {
            found("logged", r[0].clone(), lang.pick(&format!("{zh}不在变更日志中"), &format!("{en} missing from the change log")));
        }
    }
    let owed = crate::arrears::owing(c, lang, 0)?.total_owed;
    let ledger: i64 = c.query_row(
        "SELECT COALESCE(SUM(d), 0) FROM (SELECT k.amount_due - COALESCE((SELECT SUM(p.amount) FROM payments p WHERE p.contract_id = k.id AND p.kind <> 'refund'), 0) AS d
           FROM contracts k WHERE k.status <> 'refunded') WHERE d > 0",
        [],
        |r| r.get(0),
    )?;
    if owed.fen() != ledger {
        found("arrears", lang.pick("欠费合计", "arrears total"), format!("{owed} ≠ {}", crate::Money::from_fen(ledger)));
    }
    for (name, cached, recomputed) in caches(c)? {
        if cached != recomputed {
            let first = cached.iter().zip(&recomputed).position(|(a, b)| a != b).unwrap_or(cached.len().min(recomputed.len()));
            found(
                "caches",
                name.into(),
                lang.pick(
                    &format!("缓存 {} 行，重算 {} 行；第 {} 行起不同", cached.len(), recomputed.len(), first + 1),
                    &format!("{} cached rows, {} recomputed; they differ from row {}", cached.len(), recomputed.len(), first + 1),
                ),
            );
        }
    }
    let rules = RULES
        .iter()
        .map(|(rule, zh, en)| CheckedRule {
            rule: rule.to_string(),
            description: lang.pick(zh, en),
            findings: findings.iter().filter(|f| f.rule == *rule).count() as i64,
        })
        .collect();
    Ok(CheckReport { rules, findings })
}

impl Core {
    /// Checks this database's invariants (the manager, or support from the CLI).
    pub fn check(&self, session: &Session, lang: Lang) -> Result<CheckReport> {
        session.require(Action::ManageBackups)?;
        self.check_unattended(lang)
    }

    /// The same check without a login: `centredesk check` on a file support was sent.
    pub fn check_unattended(&self, lang: Lang) -> Result<CheckReport> {
        let today = self.today().to_string();
        self.read(|c| check(c, &today, lang))
    }
}
