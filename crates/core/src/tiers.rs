//! Member tiers 会员等级 (bronze / silver / gold / platinum, or whatever the centre calls
//! them): who is in which tier, what it is worth at the desk, and when it is decided.
//!
//! The rule, as the desk should explain it to a parent:
//!
//! - **The table.** The manager keeps an ordered list of tiers in Settings (at most
//!   [`MAX_TIERS`]), lowest first: a name in Chinese (required) and in English (optional;
//!   the Chinese name is used when empty), a **threshold**, a **discount** and an optional
//!   birthday wish in each language. The table is stored as one setting (`tiers`, JSON),
//!   so a change of it is in the change log like any setting. An empty list turns tiers off.
//! - **The basis and the period.** One basis for the whole table: `spend` — money paid,
//!   net of refunds and reversals (the payments ledger: payments less refunds 退费 and
//!   reversals 冲正, each counted on its own business date; goods sold for money are not
//!   counted, as in the revenue report) — or `points` — points earned (every points-ledger
//!   entry except spending on goods, `redeem`; so a take-back of earned points lowers it
//!   and a manual deduction counts against it). The period is the last `period_months`
//!   months (1–36) ending today: business dates `d` with `today − period_months < d ≤
//!   today` (e.g. on 2026-11-25 with 12 months: 2025-11-26 … 2026-11-25; a payment on
//!   2025-11-25 no longer counts). Month arithmetic clamps to the month's end (on 03-31,
//!   one month back is 02-28).
//! - **Thresholds.** A member is in the highest tier whose threshold their total reaches:
//!   `total ≥ threshold` (¥5,000.00 exactly reaches a ¥5,000 tier; ¥4,999.99 does not).
//!   Spend thresholds are money (yuan, up to two decimals, stored in fen); points
//!   thresholds whole points. Thresholds must rise strictly from tier to tier; the first
//!   may be 0 (every member with a non-negative total is at least in it). Below the first
//!   threshold a member has no tier.
//! - **Discount.** A percentage with at most one decimal (`5`, `7.5`; 0–50 %), kept as an
//!   integer permille (50, 75) — never a float. At the desk it is suggested when a
//!   contract is sold: discount = list price × permille / 1000, rounded **half up to the
//!   fen** (¥1,999.90 at 7.5 % is 14,999.25 fen → ¥149.99; ¥10.10 at 5 % is 50.5 fen →
//!   ¥0.51), amount due = list price − discount. The clerk sees it in the enrol dialog and
//!   may keep, change or clear it; the contract keeps whatever was sold (`discount`).
//! - **Members merged** into another (`merged_into`) count for the record kept: their
//!   payments and points add to the survivor's total (the merge re-evaluates the
//!   survivor in its own transaction), and they are not evaluated themselves (their
//!   last tier row stays as history). Applicants (no member number)
//!   have no tier.
//! - **When.** On demand (the manager's "re-evaluate now", [`Core::tiers_evaluate`]), for
//!   one member in the transaction of every payment taken, contract refunded and payment
//!   reversed (so crossing a threshold either way shows at once), and on a schedule: the
//!   shell's background thread calls [`Core::tiers_evaluate_scheduled`] every hour
//!   (the desk runs `upkeep::round` every hour), which is what moves the period window day by day and lowers
//!   a tier as time passes. Evaluations are idempotent. A whole-centre run takes
//!   [`CHUNK`] members to a transaction (each member's totals read inside it), so the
//!   desk never waits long behind it.
//! - **What is written.** Each member's current tier is a row of `member_tiers` (level,
//!   names and discount copied from the table, the total when it changed, the previous
//!   tier, the date). Only a change writes: a different level, name or discount (so
//!   editing the table changes its members at the next evaluation). A member whose tier
//!   did not change writes nothing, and a member who never had a tier and still has none
//!   has no row. Dropping below every threshold keeps the row with level 0 ("no tier").
//!   Every row written is logged whole through `WriteTx::log` (entity `member_tier`,
//!   entity id = subject = the member), so the member's timeline shows the change and
//!   head office folds it as "the row as it now stands" with no server change.
//! - **Birthday greeting by tier.** The birthday template has the placeholders `{tier}`
//!   (the tier's name in the notice language, empty without a tier) and `{tier_wish}` (the
//!   tier's birthday wish, e.g. "金卡会员本月到店可领取生日礼物一份。", empty without one);
//!   the built-in text ends with `{tier_wish}`, so it reads as before for members without
//!   a tier and older custom templates stay valid.

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{CoreError, Field, Lang, Result, Rule};
use crate::members::load_member;
use crate::money::Money;
use crate::{settings, validate};
use chrono::{Months, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use ts_rs::TS;

/// At most this many tiers.
pub const MAX_TIERS: usize = 8;
/// The discount a tier may give, in permille (50 %).
pub const MAX_DISCOUNT_PERMILLE: i64 = 500;
/// Basis of the table.
pub const BASES: &[&str] = crate::vocab::TierBasis::CODES;

/// One tier of the manager's table, as typed and as stored.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct TierDef {
    pub name_zh: String,
    /// Empty: the Chinese name is used.
    #[serde(default)]
    pub name_en: String,
    /// Money (`5000`, `5000.50`) for the spend basis, whole points for the points basis.
    pub threshold: String,
    /// A percentage with at most one decimal: `5`, `7.5`; empty or `0` for none.
    #[serde(default)]
    pub discount_percent: String,
    /// Added to the birthday greeting as `{tier_wish}` (notice language zh-CN / en).
    #[serde(default)]
    pub birthday_zh: String,
    #[serde(default)]
    pub birthday_en: String,
    /// Care plan 关怀计划: this tier's members get the centre's holiday greetings 节日问候
    /// (`notify::holidays`).
    #[serde(default)]
    pub holiday_greetings: bool,
    /// Care plan: a return visit every N days (0–365; 0 = none, except that the top tier
    /// then follows the days of the 等级关怀回访 rule, as before care plans existed).
    #[serde(default)]
    pub visit_days: i64,
    /// Care plan: the staff member who owns this tier's families 专属顾问 — their visits
    /// planned for "the consultant", and the tier's own, go to them while they are active.
    #[serde(default)]
    pub owner_id: Option<String>,
}

/// The manager's tier table.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct TierConfig {
    /// `spend` (money paid, net of refunds and reversals) or `points` (points earned).
    pub basis: String,
    /// The period counted: the last N months up to today (1–36).
    pub period_months: i64,
    /// Lowest first; empty turns tiers off.
    pub tiers: Vec<TierDef>,
}

impl Default for TierConfig {
    fn default() -> Self {
        TierConfig { basis: "spend".into(), period_months: 12, tiers: vec![] }
    }
}

/// A tier as the desk shows it next to a member.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct TierBadge {
    /// 1 = the lowest tier of the table.
    pub level: i64,
    pub name_zh: String,
    pub name_en: String,
    pub discount_permille: i64,
    /// The discount as typed in Settings, e.g. `7.5` (percent).
    pub discount_percent: String,
}

/// A member's tier and where they stand in the current period.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct MemberTier {
    pub member_id: String,
    /// None: no tier (or tiers are off).
    pub tier: Option<TierBadge>,
    /// Business date the stored tier was last changed.
    pub since: Option<String>,
    pub basis: String,
    /// Total in the current period as of today: fen (spend) or points.
    pub value: i64,
    /// The same total as money when the basis is spend.
    pub value_money: Option<Money>,
    pub period_from: String,
    pub period_to: String,
    /// The next tier up and what is missing to reach it (fen or points), if any.
    pub next: Option<TierBadge>,
    pub next_missing: Option<i64>,
    /// Whether the stored tier differs from what today's totals give (it will change at
    /// the next evaluation).
    pub pending_change: bool,
    /// The tier's named owner 专属顾问 (care plan), while active.
    pub owner_name: Option<String>,
}

/// The discount a member's tier suggests for a package.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct TierDiscount {
    pub tier: Option<TierBadge>,
    pub list_price: Money,
    /// list price × permille / 1000, half up to the fen.
    pub discount: Money,
    pub amount_due: Money,
}

/// What an evaluation did.
#[derive(Debug, Clone, Serialize, TS, PartialEq, Default)]
#[ts(export)]
pub struct TierRun {
    pub evaluated: i64,
    pub changed: i64,
    pub raised: i64,
    pub lowered: i64,
    pub period_from: String,
    pub period_to: String,
    /// Members per level now, `[no tier, level 1, level 2, …]`, for the evaluated members.
    pub per_level: Vec<i64>,
}

/// A tier table checked and converted to integers.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub basis: String,
    pub period_months: u32,
    pub tiers: Vec<Tier>,
}

#[derive(Debug, Clone)]
pub(crate) struct Tier {
    pub def: TierDef,
    pub threshold: i64,
    pub permille: i64,
}

impl Tier {
    fn badge(&self, level: usize) -> TierBadge {
        TierBadge {
            level: level as i64,
            name_zh: self.def.name_zh.clone(),
            name_en: if self.def.name_en.is_empty() { self.def.name_zh.clone() } else { self.def.name_en.clone() },
            discount_permille: self.permille,
            discount_percent: permille_text(self.permille),
        }
    }
}

/// `75` → `7.5`, `50` → `5`.
pub fn permille_text(permille: i64) -> String {
    if permille % 10 == 0 { (permille / 10).to_string() } else { format!("{}.{}", permille / 10, permille % 10) }
}

/// A percentage with at most one decimal as permille: `7.5` → 75, `５` → 50, `` → 0.
pub fn parse_percent(field: Field, text: &str) -> Result<i64> {
    let t: String = validate::fold_full_width(text.trim()).trim_end_matches('%').trim().to_string();
    if t.is_empty() {
        return Ok(0);
    }
    let (int_part, frac) = t.split_once('.').unwrap_or((&t, ""));
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.chars().all(|c| c.is_ascii_digit());
    if !digits(int_part) || !(frac.is_empty() || (frac.len() == 1 && digits(frac))) {
        return Err(CoreError::invalid(field, Rule::IntRange { min: 0, max: MAX_DISCOUNT_PERMILLE / 10 }));
    }
    let whole: i64 = int_part.parse().map_err(|_| CoreError::invalid(field, Rule::IntRange { min: 0, max: 50 }))?;
    let tenth: i64 = if frac.is_empty() { 0 } else { frac.parse().unwrap_or(0) };
    let permille = whole * 10 + tenth;
    if permille > MAX_DISCOUNT_PERMILLE {
        return Err(CoreError::invalid(field, Rule::IntRange { min: 0, max: MAX_DISCOUNT_PERMILLE / 10 }));
    }
    Ok(permille)
}

/// `price × permille / 1000`, half up to the fen (prices are never negative).
pub fn discount_for(price: Money, permille: i64) -> Money {
    if permille <= 0 || !price.is_positive() {
        return Money::ZERO;
    }
    price.mul_ratio(permille, 1000)
}

/// Checks a table as typed; returns it normalised (trimmed names, canonical numbers) and
/// as integers. Field + rule errors in both languages; a rule about order names the tier.
pub(crate) fn check(input: &TierConfig) -> Result<(TierConfig, Table)> {
    let basis = BASES
        .iter()
        .find(|b| **b == input.basis.trim())
        .ok_or_else(|| CoreError::invalid(Field::TierBasis, Rule::OneOf { allowed: BASES.iter().map(|s| s.to_string()).collect() }))?
        .to_string();
    validate::int_in(Field::TierPeriod, input.period_months, 1, 36)?;
    if input.tiers.len() > MAX_TIERS {
        return Err(CoreError::invalid(Field::Tiers, Rule::TooMany { max: MAX_TIERS }));
    }
    let mut defs = vec![];
    let mut tiers: Vec<Tier> = vec![];
    for t in &input.tiers {
        let name_zh = validate::required_text(Field::TierName, &t.name_zh, 12)?;
        let name_en = validate::optional_text(Field::TierName, &t.name_en, 24)?;
        if tiers.iter().any(|o| o.def.name_zh == name_zh) {
            return Err(CoreError::invalid(Field::TierName, Rule::Duplicate { value: name_zh }));
        }
        let (threshold, threshold_text) = if basis == "spend" {
            let m = validate::non_negative_money(Field::TierThreshold, &t.threshold)?;
            (m.fen(), m.decimal().to_string())
        } else {
            let text = validate::fold_full_width(t.threshold.trim());
            let p: i64 = text.parse().map_err(|_| CoreError::invalid(Field::TierThreshold, Rule::IntRange { min: 0, max: 100_000_000 }))?;
            validate::int_in(Field::TierThreshold, p, 0, 100_000_000)?;
            (p, p.to_string())
        };
        if let Some(prev) = tiers.last() {
            if threshold <= prev.threshold {
                return Err(CoreError::invalid(Field::TierThreshold, Rule::AboveTier { tier: name_zh, below: prev.def.name_zh.clone() }));
            }
        }
        let permille = parse_percent(Field::TierDiscount, &t.discount_percent)?;
        let def = TierDef {
            name_zh,
            name_en,
            threshold: threshold_text,
            discount_percent: permille_text(permille),
            birthday_zh: validate::optional_text(Field::TierWish, &t.birthday_zh, 100)?,
            birthday_en: validate::optional_text(Field::TierWish, &t.birthday_en, 200)?,
            holiday_greetings: t.holiday_greetings,
            visit_days: validate::int_in(Field::VisitDays, t.visit_days, 0, 365)?,
            owner_id: t.owner_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string),
        };
        defs.push(def.clone());
        tiers.push(Tier { def, threshold, permille });
    }
    let normalised = TierConfig { basis: basis.clone(), period_months: input.period_months, tiers: defs };
    Ok((normalised, Table { basis, period_months: input.period_months as u32, tiers }))
}

pub(crate) fn load_config(c: &Connection) -> Result<TierConfig> {
    Ok(settings::get(c, "tiers")?.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default())
}

/// The stored table as integers; a table that no longer checks (it never should) is off.
/// Whether a change of points can change a tier: the table is on the points basis.
pub(crate) fn follows_points(c: &Connection) -> Result<bool> {
    Ok(load_config(c)?.basis == "points")
}

pub(crate) fn load_table(c: &Connection) -> Result<Table> {
    let cfg = load_config(c)?;
    Ok(match check(&cfg) {
        Ok((_, t)) => t,
        Err(_) => Table { basis: cfg.basis, period_months: 12, tiers: vec![] },
    })
}

/// The first and last business dates counted on `today`.
pub fn period(today: NaiveDate, months: u32) -> (NaiveDate, NaiveDate) {
    let back = today.checked_sub_months(Months::new(months)).unwrap_or(NaiveDate::MIN);
    (back.succ_opt().unwrap_or(back), today)
}

/// The period's total over `ids` (a survivor and the records merged into it): one indexed
/// look-up per record (`payments_member`, `points_ledger_member`).
fn family_total(c: &Connection, basis: &str, from: NaiveDate, to: NaiveDate, ids: &[String]) -> Result<i64> {
    let sql = if basis == "spend" {
        "SELECT SUM(amount) FROM payments WHERE member_id = ?3 AND business_date >= ?1 AND business_date <= ?2"
    } else {
        "SELECT SUM(delta) FROM points_ledger WHERE member_id = ?3 AND business_date >= ?1 AND business_date <= ?2 AND kind <> 'redeem'"
    };
    let (from, to) = (from.to_string(), to.to_string());
    let mut stmt = c.prepare_cached(sql)?;
    let mut total = 0;
    for id in ids {
        let v: Option<i64> = stmt.query_row(params![from, to, id], |r| r.get(0))?;
        total += v.unwrap_or(0);
    }
    Ok(total)
}

/// The records whose entries count for `survivor`: itself and every record merged into
/// it (directly or through another merged record).
fn merged_family(c: &Connection, survivor: &str) -> Result<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "WITH RECURSIVE fam(id) AS (SELECT ?1 UNION SELECT m.id FROM members m JOIN fam ON m.merged_into = fam.id) SELECT id FROM fam",
    )?;
    let rows = stmt.query_map([survivor], |r| r.get("id"))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The highest level whose threshold `value` reaches (0: none).
fn level_for(table: &Table, value: i64) -> usize {
    table.tiers.iter().rposition(|t| value >= t.threshold).map(|i| i + 1).unwrap_or(0)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
struct TierRow {
    member_id: String,
    level: i64,
    name_zh: String,
    name_en: String,
    discount_permille: i64,
    basis: String,
    value: i64,
    period_from: String,
    period_to: String,
    previous_level: i64,
    previous_zh: String,
    previous_en: String,
    since: String,
    updated_at: String,
}

fn stored(c: &Connection, member_id: &str) -> Result<Option<TierRow>> {
    Ok(c.prepare_cached(
        "SELECT member_id, level, name_zh, name_en, discount_permille, basis, value, period_from, period_to,
                previous_level, previous_zh, previous_en, since, updated_at FROM member_tiers WHERE member_id = ?1",
    )?
    .query_row([member_id], |r| {
        Ok(TierRow {
            member_id: r.get("member_id")?,
            level: r.get("level")?,
            name_zh: r.get("name_zh")?,
            name_en: r.get("name_en")?,
            discount_permille: r.get("discount_permille")?,
            basis: r.get("basis")?,
            value: r.get("value")?,
            period_from: r.get("period_from")?,
            period_to: r.get("period_to")?,
            previous_level: r.get("previous_level")?,
            previous_zh: r.get("previous_zh")?,
            previous_en: r.get("previous_en")?,
            since: r.get("since")?,
            updated_at: r.get("updated_at")?,
        })
    })
    .optional()?)
}

fn stored_badge(row: &TierRow) -> Option<TierBadge> {
    (row.level > 0).then(|| TierBadge {
        level: row.level,
        name_zh: row.name_zh.clone(),
        name_en: row.name_en.clone(),
        discount_permille: row.discount_permille,
        discount_percent: permille_text(row.discount_permille),
    })
}

/// The (level, names, discount) a level of the table gives.
fn target(table: &Table, level: usize) -> (i64, String, String, i64) {
    match level.checked_sub(1).and_then(|i| table.tiers.get(i)) {
        Some(t) => {
            let b = t.badge(level);
            (level as i64, b.name_zh, b.name_en, b.discount_permille)
        }
        None => (0, String::new(), String::new(), 0),
    }
}

/// Members evaluated in one transaction by a whole-centre run: the desk never waits
/// behind more than this many (a first run at 100,000 members writes a row for each).
pub const CHUNK: usize = 500;

/// Who a whole-centre run evaluates: approved, unmerged members, and anyone holding a
/// stored tier (so a member who drops out of every tier is written as "no tier").
fn candidates(c: &Connection) -> Result<Vec<String>> {
    let mut stmt = c.prepare(
        "SELECT id FROM members WHERE merged_into IS NULL AND member_no IS NOT NULL
         UNION SELECT t.member_id FROM member_tiers t JOIN members m ON m.id = t.member_id WHERE m.merged_into IS NULL
         ORDER BY 1",
    )?;
    let rows = stmt.query_map([], |r| r.get("id"))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// One member, in the transaction that may have moved them (a payment taken).
pub(crate) fn evaluate(w: &mut WriteTx, member_id: &str) -> Result<TierRun> {
    evaluate_members(w, &[member_id.to_string()])
}

/// Evaluates `ids` (each read as the record that stands for it) and writes only changes.
/// Totals are read inside this transaction, so a payment landing meanwhile is counted.
pub(crate) fn evaluate_members(w: &mut WriteTx, ids: &[String]) -> Result<TierRun> {
    let table = load_table(w)?;
    let (from, to) = period(w.today(), table.period_months);
    let mut members: Vec<String> = vec![];
    for id in ids {
        if let Some(s) = crate::referrals::survivor(w, id)? {
            if !members.contains(&s) {
                members.push(s);
            }
        }
    }
    // Totals, each merged record's folded into the record that stands for it.
    let mut totals: HashMap<String, i64> = HashMap::new();
    for id in &members {
        let family = merged_family(w, id)?;
        totals.insert(id.clone(), family_total(w, &table.basis, from, to, &family)?);
    }
    let mut run = TierRun { period_from: from.to_string(), period_to: to.to_string(), per_level: vec![0; table.tiers.len() + 1], ..Default::default() };
    for id in members {
        let value = totals.get(&id).copied().unwrap_or(0);
        let level = level_for(&table, value);
        run.evaluated += 1;
        run.per_level[level] += 1;
        let (lvl, name_zh, name_en, permille) = target(&table, level);
        let old = stored(w, &id)?;
        let unchanged = match &old {
            None => lvl == 0,
            Some(o) => o.level == lvl && o.name_zh == name_zh && o.name_en == name_en && o.discount_permille == permille,
        };
        if unchanged {
            continue;
        }
        let prev_level = old.as_ref().map(|o| o.level).unwrap_or(0);
        run.changed += 1;
        if lvl > prev_level {
            run.raised += 1;
        } else if lvl < prev_level {
            run.lowered += 1;
        }
        let row = TierRow {
            member_id: id.clone(),
            level: lvl,
            name_zh,
            name_en,
            discount_permille: permille,
            basis: table.basis.clone(),
            value,
            period_from: from.to_string(),
            period_to: to.to_string(),
            previous_level: prev_level,
            previous_zh: old.as_ref().map(|o| o.name_zh.clone()).unwrap_or_default(),
            previous_en: old.as_ref().map(|o| o.name_en.clone()).unwrap_or_default(),
            since: w.today().to_string(),
            updated_at: w.now_text(),
        };
        w.execute(
            "INSERT INTO member_tiers (member_id, level, name_zh, name_en, discount_permille, basis, value, period_from, period_to,
                 previous_level, previous_zh, previous_en, since, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (member_id) DO UPDATE SET level = excluded.level, name_zh = excluded.name_zh, name_en = excluded.name_en,
                 discount_permille = excluded.discount_permille, basis = excluded.basis, value = excluded.value,
                 period_from = excluded.period_from, period_to = excluded.period_to, previous_level = excluded.previous_level,
                 previous_zh = excluded.previous_zh, previous_en = excluded.previous_en, since = excluded.since, updated_at = excluded.updated_at",
            params![
                row.member_id, row.level, row.name_zh, row.name_en, row.discount_permille, row.basis, row.value, row.period_from, row.period_to,
                row.previous_level, row.previous_zh, row.previous_en, row.since, row.updated_at
            ],
        )?;
        w.log("member_tier", &id, if lvl > prev_level { "raise" } else if lvl < prev_level { "lower" } else { "update" }, Some(&id), &row)?;
    }
    Ok(run)
}

/// The stored tier of a member (the survivor's, for a merged record), for the desk.
pub(crate) fn badge_of(c: &Connection, member_id: &str) -> Result<Option<TierBadge>> {
    let id = crate::referrals::survivor(c, member_id)?.unwrap_or_else(|| member_id.to_string());
    Ok(stored(c, &id)?.as_ref().and_then(stored_badge))
}

/// A member's stored tier and its row of today's table (its care plan), matched by the
/// tier's Chinese name — so a table edited since the last evaluation still finds it.
pub(crate) fn care_of(c: &Connection, member_id: &str) -> Result<Option<(TierBadge, Option<TierDef>)>> {
    let Some(badge) = badge_of(c, member_id)? else { return Ok(None) };
    let def = load_config(c)?.tiers.into_iter().find(|t| t.name_zh == badge.name_zh);
    Ok(Some((badge, def)))
}

/// Each tier of today's table with its care plan: (Chinese name, days between return
/// visits, named owner if active). The top tier without days of its own takes `top_days`.
pub(crate) fn care_plans(c: &Connection, top_days: i64) -> Result<Vec<(String, i64, Option<String>)>> {
    let cfg = load_config(c)?;
    let top = cfg.tiers.len();
    let mut out = vec![];
    for (i, t) in cfg.tiers.into_iter().enumerate() {
        let days = if t.visit_days == 0 && i + 1 == top { top_days } else { t.visit_days };
        let owner = active_owner(c, &t)?;
        out.push((t.name_zh, days, owner));
    }
    Ok(out)
}

/// A care plan's named owner while their account is active (a disabled one owns nothing).
fn active_owner(c: &Connection, def: &TierDef) -> Result<Option<String>> {
    let Some(id) = &def.owner_id else { return Ok(None) };
    let active: bool = c.query_row("SELECT EXISTS(SELECT 1 FROM staff WHERE id = ?1 AND active = 1)", [id], |r| r.get(0))?;
    Ok(active.then(|| id.clone()))
}

/// `{tier}` and `{tier_wish}` for a member's birthday greeting in `lang`.
pub(crate) fn birthday_values(c: &Connection, member_id: &str, lang: Lang) -> Result<(String, String)> {
    let Some((badge, def)) = care_of(c, member_id)? else { return Ok((String::new(), String::new())) };
    let def = def.as_ref();
    let name = lang.pick(&badge.name_zh, &badge.name_en);
    let wish = match (def, lang) {
        (Some(d), Lang::ZhCn) => d.birthday_zh.clone(),
        // The English built-in text ends with a full stop: the wish follows after a space.
        (Some(d), Lang::En) if !d.birthday_en.is_empty() => format!(" {}", d.birthday_en),
        _ => String::new(),
    };
    Ok((name, wish))
}

/// The active named owner of a member's tier, by name.
fn owner_name(c: &Connection, member_id: &str) -> Result<Option<String>> {
    let Some(owner) = owner_of(c, member_id)? else { return Ok(None) };
    Ok(c.query_row("SELECT display_name FROM staff WHERE id = ?1", [owner], |r| r.get(0)).optional()?)
}

/// The active named owner of a member's tier (the one `visits` assigns their visits to).
pub(crate) fn owner_of(c: &Connection, member_id: &str) -> Result<Option<String>> {
    let Some((_, Some(def))) = care_of(c, member_id)? else { return Ok(None) };
    active_owner(c, &def)
}

impl Core {
    /// The manager's tier table (every staff member may read it: the desk shows tiers).
    pub fn tier_config(&self, session: &Session) -> Result<TierConfig> {
        session.require(Action::ViewMembers)?;
        self.read(load_config)
    }

    /// Saves the tier table (manager). Members move to their new tiers at the next
    /// evaluation; saving does not evaluate.
    pub fn tier_config_update(&self, session: &Session, input: TierConfig) -> Result<TierConfig> {
        session.require(Action::EditSettings)?;
        let (cfg, _) = check(&input)?;
        self.write(session, |w| {
            for owner in cfg.tiers.iter().filter_map(|t| t.owner_id.as_deref()) {
                crate::auth::require_active_staff(w, owner, Field::TierOwner)?;
            }
            if load_config(w)? != cfg {
                settings::put(w, "tiers", &serde_json::to_string(&cfg).unwrap_or_default())?;
            }
            load_config(w)
        })
    }

    /// "Re-evaluate now" (manager): every member, writing only changes.
    pub fn tiers_evaluate(&self, session: &Session) -> Result<TierRun> {
        session.require(Action::EditSettings)?;
        self.evaluate_all(Some(session.staff_id.clone()))
    }

    /// The scheduled evaluation (no staff member: the change log shows the system).
    pub fn tiers_evaluate_scheduled(&self) -> Result<TierRun> {
        self.evaluate_all(None)
    }

    /// Every member, [`CHUNK`] to a transaction.
    fn evaluate_all(&self, staff_id: Option<String>) -> Result<TierRun> {
        let ids = self.read(candidates)?;
        let mut run: Option<TierRun> = None;
        for chunk in ids.chunks(CHUNK) {
            let part = self.write_as(staff_id.clone(), |w| evaluate_members(w, chunk))?;
            run = Some(match run {
                None => part,
                Some(mut r) => {
                    r.evaluated += part.evaluated;
                    r.changed += part.changed;
                    r.raised += part.raised;
                    r.lowered += part.lowered;
                    for (i, n) in part.per_level.iter().enumerate() {
                        match r.per_level.get_mut(i) {
                            Some(x) => *x += n,
                            None => r.per_level.push(*n),
                        }
                    }
                    r
                }
            });
        }
        match run {
            Some(r) => Ok(r),
            None => self.write_as(staff_id, |w| evaluate_members(w, &[])),
        }
    }

    /// A member's tier and their standing in today's period.
    pub fn member_tier(&self, session: &Session, member_id: &str) -> Result<MemberTier> {
        session.require(Action::ViewMembers)?;
        let today = self.today();
        self.read(|c| {
            load_member(c, member_id)?;
            let id = crate::referrals::survivor(c, member_id)?.unwrap_or_else(|| member_id.to_string());
            let table = load_table(c)?;
            let (from, to) = period(today, table.period_months);
            let value = family_total(c, &table.basis, from, to, &merged_family(c, &id)?)?;
            let row = stored(c, &id)?;
            let tier = row.as_ref().and_then(stored_badge);
            let now_level = level_for(&table, value);
            let (lvl, name_zh, name_en, permille) = target(&table, now_level);
            let pending_change = match &row {
                None => lvl != 0,
                Some(o) => o.level != lvl || o.name_zh != name_zh || o.name_en != name_en || o.discount_permille != permille,
            };
            let next = table.tiers.get(now_level).map(|t| (t.badge(now_level + 1), t.threshold - value));
            Ok(MemberTier {
                member_id: id.clone(),
                since: row.as_ref().filter(|r| r.level > 0).map(|r| r.since.clone()),
                tier,
                basis: table.basis.clone(),
                value,
                value_money: (table.basis == "spend").then(|| Money::from_fen(value)),
                period_from: from.to_string(),
                period_to: to.to_string(),
                next_missing: next.as_ref().map(|n| n.1),
                next: next.map(|n| n.0),
                pending_change,
                owner_name: owner_name(c, &id)?,
            })
        })
    }

    /// The discount the member's stored tier suggests for a package at its list price.
    pub fn tier_discount(&self, session: &Session, member_id: &str, package_id: &str) -> Result<TierDiscount> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            load_member(c, member_id)?;
            let p = crate::packages::load(c, package_id)?;
            let tier = badge_of(c, member_id)?;
            let discount = discount_for(p.price, tier.as_ref().map(|t| t.discount_permille).unwrap_or(0));
            Ok(TierDiscount { tier, list_price: p.price, discount, amount_due: p.price - discount })
        })
    }
}

/// The shell's background loop: the scheduled evaluation every `every` (an hour), so
/// the period moves with the date and tiers fall after refunds or time.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_text_round_trips_through_permille() {
        assert_eq!(parse_percent(Field::TierDiscount, "7.5").unwrap(), 75);
        assert_eq!(parse_percent(Field::TierDiscount, "５").unwrap(), 50);
        assert_eq!(parse_percent(Field::TierDiscount, "10%").unwrap(), 100);
        assert_eq!(parse_percent(Field::TierDiscount, "").unwrap(), 0);
        assert!(parse_percent(Field::TierDiscount, "7.55").is_err());
        assert!(parse_percent(Field::TierDiscount, "-5").is_err());
        assert!(parse_percent(Field::TierDiscount, "50.1").is_err());
        assert!(parse_percent(Field::TierDiscount, "abc").is_err());
        assert_eq!(permille_text(75), "7.5");
        assert_eq!(permille_text(50), "5");
        assert_eq!(permille_text(0), "0");
    }

    #[test]
    fn discounts_round_half_up_to_the_fen() {
        assert_eq!(discount_for(Money::from_fen(199_990), 75), Money::from_fen(14_999)); // 14,999.25
        assert_eq!(discount_for(Money::from_fen(1_010), 50), Money::from_fen(51)); // 50.5 → 51
        assert_eq!(discount_for(Money::from_fen(1_009), 50), Money::from_fen(50)); // 50.45 → 50
        assert_eq!(discount_for(Money::from_fen(100_000), 0), Money::ZERO);
    }

    #[test]
    fn the_period_is_the_last_n_months_up_to_today() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(period(d("2026-11-25"), 12), (d("2025-11-26"), d("2026-11-25")));
        assert_eq!(period(d("2026-03-31"), 1), (d("2026-03-01"), d("2026-03-31")));
    }
}
