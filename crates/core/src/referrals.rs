//! Referral rewards 转介绍奖励: A refers B, B refers C; when C joins, B and A earn points.
//!
//! The rule, as the desk should explain it to a parent:
//!
//! - **When.** A member "joins" when one of their contracts is **paid in full** (the net
//!   money on it reaches its amount due, which must be above zero). A deposit or the first
//!   instalment is not enough: the reward is given by the payment that completes the
//!   contract. Setting `referred_by` after that payment does not reward anyone afterwards.
//! - **Who.** The chain of `referred_by` from the member upwards: level 1 is whoever
//!   referred them, level 2 whoever referred that person, and so on, as far as the table in
//!   Settings (`referral_rewards`, default `[200, 50]`) has levels. A referrer whose record
//!   was merged into another is rewarded on the survivor. The chain stops at the first
//!   member already seen (A referred by B referred by A; a member referred by its own
//!   merged duplicate), so a cycle never loops and nobody is paid twice for one member.
//! - **Once.** Each referrer holds at most one standing reward per referred member: while a
//!   reward stands on one of the member's contracts, paying another contract (a renewal, a
//!   second package) or another instalment pays nothing more. The table in force at the
//!   moment of the reward is used; a changed table applies to later rewards only.
//! - **Reversed.** If the rewarded contract is refunded 退费, or a payment on it is reversed
//!   冲正 so that it is no longer paid in full, every reward standing on it is taken back by
//!   a `reversal` entry of the same size. Nothing then stands for that member, so a later
//!   contract paid in full (a package switched by refund and re-enrolment, or the same
//!   contract paid again after a mistaken reversal) rewards the chain again — once.
//!
//! Storage: no table of its own. A reward is a `points_ledger` entry of kind `referral`
//! for the referrer, `ref_id` = the referred member's contract, reason `L<level> · <name>
//! <member no>`; a reversal is a `reversal` entry with the same `ref_id`. Contract ids are
//! used as `ref_id` by nothing else, so "what stands on a contract" is the sum of the
//! entries pointing at it. Every entry goes through `points::add`, in the transaction of
//! the payment, reversal or refund that caused it, and is in the change log.
//!
//! Reads: [`Core::referral_tree`] (a member's upline and downline, with each referred
//! member's status and what they earned the member), and the manager's report, an
//! analysis table (`analysis("referrals")`: referrers ranked by members referred, enrolled
//! ones and points earned in a date range, and the referred members of the range).
//!
//! Merging duplicates 合并: the survivor takes the duplicate's contracts; if both records
//! had a standing reward (the same child registered and paid twice), only the earliest
//! stays and the others are taken back, in the merge's transaction.

use crate::analysis::{column, ReportTable};
use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Lang, Result};
use crate::members::{load_member, member_ref, MemberRef};
use crate::{contracts, payments, points, settings};
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use ts_rs::TS;

/// The downline is shown this many levels deep at most.
pub const MAX_TREE_DEPTH: usize = 10;
/// And with at most this many members (a very long list is not a tree anyone reads).
pub const MAX_TREE_NODES: usize = 1000;

/// One member in a referral tree.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ReferralNode {
    pub member_id: String,
    pub name: String,
    pub member_no: Option<String>,
    pub status: String,
    /// Upline: the level above the member (1 = who referred them). Downline: how far
    /// below (1 = referred by the member directly).
    pub depth: i64,
    /// Has a contract paid in full that was not refunded.
    pub enrolled: bool,
    /// Downline: net referral points this member's contracts earned the tree's member.
    /// Upline: net points the tree's member's contracts earned this referrer.
    pub points: i64,
    /// How many members this one referred directly.
    pub referred: i64,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ReferralTree {
    pub member: MemberRef,
    /// Nearest first.
    pub upline: Vec<ReferralNode>,
    /// Depth-first, in the order they joined: each node followed by those it referred.
    pub downline: Vec<ReferralNode>,
    /// The member's net referral points, all levels.
    pub points_total: i64,
    /// The downline was cut at MAX_TREE_DEPTH or MAX_TREE_NODES.
    pub truncated: bool,
}

/// The record that stands for `id`: itself, or the one it was merged into.
pub(crate) fn survivor(c: &Connection, id: &str) -> Result<Option<String>> {
    let mut cur = id.to_string();
    for _ in 0..8 {
        let next: Option<Option<String>> = c
            .prepare_cached("SELECT merged_into FROM members WHERE id = ?1")?
            .query_row([&cur], |r| r.get(0))
            .optional()?;
        match next {
            None => return Ok(None),
            Some(None) => return Ok(Some(cur)),
            Some(Some(into)) if into == cur => return Ok(Some(cur)),
            Some(Some(into)) => cur = into,
        }
    }
    Ok(Some(cur))
}

fn referred_by(c: &Connection, id: &str) -> Result<Option<String>> {
    Ok(c.prepare_cached("SELECT referred_by FROM members WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?.flatten())
}

/// The referrers above `member_id`, nearest first, at most `levels`, survivors of merges,
/// stopping at the first one already seen.
pub(crate) fn chain(c: &Connection, member_id: &str, levels: usize) -> Result<Vec<String>> {
    let Some(start) = survivor(c, member_id)? else { return Ok(vec![]) };
    let mut seen = HashSet::from([start.clone()]);
    let mut out = vec![];
    let mut cur = start;
    while out.len() < levels {
        let Some(next) = referred_by(c, &cur)? else { break };
        let Some(next) = survivor(c, &next)? else { break };
        if !seen.insert(next.clone()) {
            break;
        }
        out.push(next.clone());
        cur = next;
    }
    Ok(out)
}

/// Rewards standing on a contract: (referrer record, net points), non-zero only.
fn standing(c: &Connection, contract_id: &str) -> Result<Vec<(String, i64)>> {
    let mut stmt = c.prepare_cached(
        "SELECT member_id, SUM(delta) AS net FROM points_ledger WHERE ref_id = ?1 AND kind IN ('referral', 'reversal')
         GROUP BY member_id HAVING SUM(delta) <> 0 ORDER BY MIN(rowid)",
    )?;
    let rows = stmt.query_map([contract_id], |r| Ok((r.get("member_id")?, r.get("net")?)))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Whether any contract of `member_id` other than `except` carries a standing reward.
fn other_standing(c: &Connection, member_id: &str, except: &str) -> Result<bool> {
    Ok(c.prepare_cached(
        "SELECT EXISTS(SELECT 1 FROM points_ledger p JOIN contracts k ON k.id = p.ref_id
           WHERE k.member_id = ?1 AND k.id <> ?2 AND p.kind IN ('referral', 'reversal')
           GROUP BY p.ref_id, p.member_id HAVING SUM(p.delta) <> 0)",
    )?
    .query_row([member_id, except], |r| r.get(0))?)
}

/// Brings the referral rewards of one contract in line with the rule (module doc): pays
/// the chain when it has just become paid in full and nothing stands for the member,
/// takes back what stands on it when it is refunded or no longer paid in full. Called in
/// the transaction of every payment, payment reversal and refund; idempotent.
pub(crate) fn settle(w: &mut WriteTx, contract_id: &str, reason: &str) -> Result<()> {
    let k = contracts::load(w, contract_id)?;
    let paid = payments::paid_on_contract(w, contract_id)?;
    let paid_in_full = k.status != "refunded" && k.amount_due.is_positive() && paid >= k.amount_due;
    let on_this = standing(w, contract_id)?;
    if !paid_in_full {
        for (member_id, net) in on_this {
            points::add(w, &member_id, -net, "reversal", reason, Some(contract_id))?;
        }
        return Ok(());
    }
    if !on_this.is_empty() || other_standing(w, &k.member_id, contract_id)? {
        return Ok(());
    }
    let table = settings::load(w)?.referral_rewards;
    let referrers = chain(w, &k.member_id, table.len())?;
    if referrers.is_empty() {
        return Ok(());
    }
    let m = load_member(w, &k.member_id)?;
    for (i, referrer) in referrers.iter().enumerate() {
        let label = format!("L{} · {} {}", i + 1, m.name, m.member_no.as_deref().unwrap_or(""));
        points::add(w, referrer, table[i], "referral", label.trim_end(), Some(contract_id))?;
    }
    Ok(())
}

/// After a merge the survivor may hold a standing reward from each record; it is one
/// child, so the earliest stays and the others are taken back.
pub(crate) fn after_merge(w: &mut WriteTx, member_id: &str) -> Result<()> {
    let rewarded: Vec<String> = w
        .prepare(
            "SELECT p.ref_id FROM points_ledger p JOIN contracts k ON k.id = p.ref_id
             WHERE k.member_id = ?1 AND p.kind IN ('referral', 'reversal')
             GROUP BY p.ref_id HAVING SUM(p.delta) <> 0 ORDER BY MIN(p.rowid)",
        )?
        .query_map([member_id], |r| r.get("ref_id"))?
        .collect::<rusqlite::Result<_>>()?;
    for contract_id in rewarded.iter().skip(1) {
        for (referrer, net) in standing(w, contract_id)? {
            points::add(w, &referrer, -net, "reversal", "合并重复会员", Some(contract_id))?;
        }
    }
    Ok(())
}

const ENROLLED: &str = "EXISTS(SELECT 1 FROM contracts k WHERE k.member_id = ?1 AND k.status <> 'refunded' AND k.amount_due > 0
    AND (SELECT COALESCE(SUM(p.amount), 0) FROM payments p WHERE p.contract_id = k.id AND p.kind <> 'refund') >= k.amount_due)";

/// Members referred directly by `id` or by a record merged into it, still current.
const CHILDREN: &str = concat!(
    "SELECT id FROM members WHERE merged_into IS NULL AND id <> ?1 AND referred_by IN ",
    self_and_merged!(),
    " ORDER BY created_at, id"
);

/// Net referral points that contracts of `from_member` earned `to_member` (and the
/// records merged into it).
fn earned(c: &Connection, to_member: &str, from_member: &str) -> Result<i64> {
    Ok(c.prepare_cached(concat!(
        "SELECT COALESCE(SUM(p.delta), 0) FROM points_ledger p WHERE p.member_id IN ",
        self_and_merged!(),
        " AND p.kind IN ('referral', 'reversal') AND p.ref_id IN (SELECT id FROM contracts WHERE member_id = ?2)"
    ))?
    .query_row([to_member, from_member], |r| r.get(0))?)
}

fn node(c: &Connection, id: &str, depth: usize, points: i64) -> Result<ReferralNode> {
    let (name, member_no, status, enrolled): (String, Option<String>, String, bool) = c
        .prepare_cached(&format!("SELECT name, member_no, status, {ENROLLED} AS enrolled FROM members WHERE id = ?1"))?
        .query_row([id], |r| Ok((r.get("name")?, r.get("member_no")?, r.get("status")?, r.get("enrolled")?)))?;
    let referred: i64 = c.prepare_cached(&format!("SELECT COUNT(*) FROM ({CHILDREN})"))?.query_row([id], |r| r.get(0))?;
    Ok(ReferralNode { member_id: id.into(), name, member_no, status, depth: depth as i64, enrolled, points, referred })
}

fn children(c: &Connection, id: &str) -> Result<Vec<String>> {
    let rows = c.prepare_cached(CHILDREN)?.query_map([id], |r| r.get("id"))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(crate) fn tree(c: &Connection, member_id: &str) -> Result<ReferralTree> {
    load_member(c, member_id)?;
    let root = survivor(c, member_id)?.unwrap_or_else(|| member_id.to_string());
    let upline = chain(c, &root, MAX_TREE_DEPTH)?
        .iter()
        .enumerate()
        .map(|(i, id)| node(c, id, i + 1, earned(c, id, &root)?))
        .collect::<Result<Vec<_>>>()?;
    let mut downline = vec![];
    let mut truncated = false;
    let mut seen = HashSet::from([root.clone()]);
    // Depth-first with an explicit stack (children pushed in reverse to keep join order).
    let mut stack: Vec<(String, usize)> = children(c, &root)?.into_iter().rev().map(|id| (id, 1)).collect();
    while let Some((id, depth)) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        if downline.len() >= MAX_TREE_NODES {
            truncated = true;
            break;
        }
        downline.push(node(c, &id, depth, earned(c, &root, &id)?)?);
        let below = children(c, &id)?;
        if depth >= MAX_TREE_DEPTH {
            truncated |= !below.is_empty();
            continue;
        }
        stack.extend(below.into_iter().rev().map(|x| (x, depth + 1)));
    }
    let points_total: i64 = c
        .prepare_cached(concat!(
            "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE member_id IN ",
            self_and_merged!(),
            " AND kind IN ('referral', 'reversal') AND ref_id IN (SELECT id FROM contracts)"
        ))?
        .query_row([&root], |r| r.get(0))?;
    Ok(ReferralTree { member: member_ref(c, &root)?, upline, downline, points_total, truncated })
}

/// The referral report (an analysis, manager): referrers ranked by the members they
/// referred who joined in the range (record created), how many of those are enrolled
/// (a contract paid in full, not refunded), and the referral points they earned in the
/// range (all levels, net of reversals, by business date); then the referred members of
/// the range with their referrer and what they earned the chain.
pub(crate) fn report(c: &Connection, lang: Lang, tz: chrono_tz::Tz, from: NaiveDate, to: NaiveDate) -> Result<Vec<ReportTable>> {
    let instant = |d: NaiveDate| crate::db::instant_text(crate::db::day_start(tz, d));
    let (start, end) = (instant(from), instant(to.succ_opt().unwrap_or(to)));
    // Referred members of the range, each with the record that stands for its referrer.
    let mut stmt = c.prepare(&format!(
        "SELECT m.id, m.member_no, m.name, m.status, m.created_at,
                COALESCE((SELECT r.merged_into FROM members r WHERE r.id = m.referred_by), m.referred_by) AS referrer_id,
                {} AS enrolled
         FROM members m WHERE m.merged_into IS NULL AND m.referred_by IS NOT NULL AND m.created_at >= ?1 AND m.created_at < ?2
         ORDER BY m.created_at, m.id",
        ENROLLED.replace("?1", "m.id")
    ))?;
    type Referred = (String, Option<String>, String, String, String, String, bool);
    let referred: Vec<Referred> = stmt
        .query_map(params![start, end], |r| Ok((r.get("id")?, r.get("member_no")?, r.get("name")?, r.get("status")?, r.get("created_at")?, r.get("referrer_id")?, r.get("enrolled")?)))?
        .collect::<rusqlite::Result<_>>()?;
    // referrer → (referred, enrolled, points)
    let mut by: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for x in &referred {
        let e = by.entry(x.5.clone()).or_default();
        e.0 += 1;
        e.1 += x.6 as i64;
    }
    let mut stmt = c.prepare(
        "SELECT COALESCE(x.merged_into, x.id) AS referrer_id, SUM(p.delta) AS points FROM points_ledger p JOIN members x ON x.id = p.member_id
         WHERE p.kind IN ('referral', 'reversal') AND p.ref_id IN (SELECT id FROM contracts) AND p.business_date BETWEEN ?1 AND ?2
         GROUP BY 1",
    )?;
    let earned_in_range: Vec<(String, i64)> =
        stmt.query_map([from.to_string(), to.to_string()], |r| Ok((r.get("referrer_id")?, r.get("points")?)))?.collect::<rusqlite::Result<_>>()?;
    for (id, pts) in earned_in_range {
        by.entry(id).or_default().2 += pts;
    }
    let mut ranked: Vec<(String, MemberRef, (i64, i64, i64))> = vec![];
    for (id, counts) in by {
        if counts == (0, 0, 0) {
            continue;
        }
        ranked.push((id.clone(), member_ref(c, &id)?, counts));
    }
    ranked.sort_by(|a, b| b.2 .0.cmp(&a.2 .0).then(b.2 .1.cmp(&a.2 .1)).then(b.2 .2.cmp(&a.2 .2)).then(a.1.member_no.cmp(&b.1.member_no)));
    let referrers = ReportTable {
        key: "referrers".into(),
        title: lang.pick("推荐人排行", "Referrers"),
        columns: vec![
            column("name", lang, "推荐人", "Referrer", "text"),
            column("member_no", lang, "会员号", "Member no.", "text"),
            column("referred", lang, "推荐人数", "Referred", "int"),
            column("enrolled", lang, "已报名", "Enrolled", "int"),
            column("points", lang, "获得积分", "Points earned", "int"),
        ],
        total_rows: ranked.len() as i64,
        rows: ranked
            .iter()
            .map(|(_, m, (n, e, p))| vec![m.name.clone(), m.member_no.clone().unwrap_or_default(), n.to_string(), e.to_string(), p.to_string()])
            .collect(),
        chart: Some("referred".into()),
        member_ids: ranked.iter().map(|x| x.0.clone()).collect(),
    };
    let mut rows = vec![];
    for (id, no, name, status, created, referrer, enrolled) in &referred {
        let joined = chrono::DateTime::parse_from_rfc3339(created).map(|t| t.with_timezone(&tz).date_naive().to_string()).unwrap_or_default();
        let chain_points: i64 = c
            .prepare_cached("SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE kind IN ('referral', 'reversal') AND ref_id IN (SELECT id FROM contracts WHERE member_id = ?1)")?
            .query_row([id], |r| r.get(0))?;
        let r = member_ref(c, referrer)?;
        rows.push(vec![
            joined,
            no.clone().unwrap_or_default(),
            name.clone(),
            crate::export::member_status_label(status, lang),
            r.name,
            if *enrolled { lang.pick("是", "yes") } else { lang.pick("否", "no") },
            chain_points.to_string(),
        ]);
    }
    let members = ReportTable {
        key: "referred".into(),
        title: lang.pick("被推荐会员", "Referred members"),
        columns: vec![
            column("joined", lang, "登记日期", "Registered", "date"),
            column("member_no", lang, "会员号", "Member no.", "text"),
            column("name", lang, "会员", "Member", "text"),
            column("status", lang, "状态", "Status", "text"),
            column("referrer", lang, "推荐人", "Referred by", "text"),
            column("enrolled", lang, "已报名", "Enrolled", "text"),
            column("points", lang, "推荐奖励积分", "Reward points", "int"),
        ],
        total_rows: rows.len() as i64,
        rows,
        chart: None,
        member_ids: referred.iter().map(|x| x.0.clone()).collect(),
    };
    Ok(vec![referrers, members])
}

impl Core {
    /// A member's referral tree: who referred them (up the chain) and everyone they
    /// referred, directly or further down, with status and points earned.
    pub fn referral_tree(&self, session: &Session, member_id: &str) -> Result<ReferralTree> {
        session.require(Action::ViewMembers)?;
        self.read(|c| tree(c, member_id))
    }
}
