//! One search box for members, guardians and leads: by Chinese name or any part of it,
//! full pinyin, pinyin initials (every reading of a surname: 曾 zeng/ceng, 单 shan/dan),
//! phone number or its last four digits, and member number.
//!
//! Each record has one `search_doc` row whose `terms` the FTS5 index tokenizes; this
//! module owns building those terms and querying them.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::Result;
use crate::validate::fold_full_width;
use pinyin::{ToPinyin, ToPinyinMulti};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use ts_rs::TS;

const MAX_READING_COMBINATIONS: usize = 16;

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

fn readings(c: char, all: bool) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    if all {
        if let Some(multi) = c.to_pinyin_multi() {
            for p in multi {
                out.push(p.plain().to_string());
            }
        }
    }
    if let Some(p) = c.to_pinyin() {
        let plain = p.plain().to_string();
        out.retain(|r| r != &plain);
        out.insert(0, plain);
    }
    let mut with_v = vec![];
    for r in &out {
        // Keyboards type ü as v (lü → lv); the tokenizer folds ü to u.
        if r.contains('ü') {
            with_v.push(r.replace('ü', "v"));
        }
    }
    out.extend(with_v);
    out
}

/// Search terms for a person's name.
pub fn name_terms(name: &str) -> Vec<String> {
    let name = fold_full_width(name).to_lowercase();
    let mut terms: Vec<String> = vec![];
    let han: Vec<char> = name.chars().filter(|c| is_han(*c)).collect();
    if !han.is_empty() {
        terms.extend(han.iter().map(|c| c.to_string()));
        // The whole name as one token too, for exact and prefix name matches.
        if han.len() > 1 {
            terms.push(han.iter().collect());
        }
        // Every reading for the surname (first character: 曾 zeng/ceng, 单 shan/dan);
        // given names take their common reading, as rare heteronyms only add noise.
        let per_char: Vec<Vec<String>> = han.iter().enumerate().map(|(i, c)| readings(*c, i == 0).into_iter().take(4).collect()).collect();
        let mut combos: Vec<Vec<String>> = vec![vec![]];
        for options in &per_char {
            if options.is_empty() {
                continue;
            }
            let mut next = vec![];
            for combo in &combos {
                for o in options {
                    if next.len() >= MAX_READING_COMBINATIONS {
                        break;
                    }
                    let mut c = combo.clone();
                    c.push(o.clone());
                    next.push(c);
                }
            }
            combos = next;
        }
        for combo in combos.iter().filter(|c| !c.is_empty()) {
            terms.push(combo.concat());
            terms.push(combo.iter().filter_map(|s| s.chars().next()).collect());
            if combo.len() > 1 {
                terms.push(combo[1..].concat());
                terms.push(combo[1..].iter().filter_map(|s| s.chars().next()).collect());
            }
            terms.extend(combo.iter().cloned());
        }
    }
    // Latin names: each word and the whole name run together.
    let latin: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    if latin.len() > 1 {
        terms.push(latin.concat());
    }
    terms.extend(latin);
    dedup(terms)
}

pub fn phone_terms(phone: &str) -> Vec<String> {
    let digits: String = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return vec![];
    }
    let mut t = vec![digits.clone()];
    if digits.len() > 4 {
        t.push(digits[digits.len() - 4..].to_string());
    }
    t
}

fn member_no_terms(no: &str) -> Vec<String> {
    let lower = no.to_lowercase();
    let digits: String = lower.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut t = vec![lower];
    if !digits.is_empty() {
        t.push(digits.clone());
        let trimmed = digits.trim_start_matches('0');
        if !trimmed.is_empty() {
            t.push(trimmed.to_string());
        }
    }
    t
}

fn dedup(terms: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for t in terms {
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

fn upsert_doc(w: &Connection, entity: &str, entity_id: &str, label: &str, terms: Vec<String>) -> Result<()> {
    w.execute(
        "INSERT INTO search_doc (entity, entity_id, label, terms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(entity_id) DO UPDATE SET terms = excluded.terms, label = excluded.label
         WHERE terms <> excluded.terms OR label <> excluded.label",
        params![entity, entity_id, label, dedup(terms).join(" ")],
    )?;
    Ok(())
}

/// Re-indexes a member: name, member number, and their guardians' phones (a parent
/// at the desk gives their own number).
pub(crate) fn index_member(w: &Connection, member_id: &str) -> Result<()> {
    let (name, no): (String, Option<String>) =
        w.query_row("SELECT name, member_no FROM members WHERE id = ?1", [member_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut terms = name_terms(&name);
    if let Some(no) = no {
        terms.extend(member_no_terms(&no));
    }
    let mut stmt = w.prepare(
        "SELECT g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id WHERE mg.member_id = ?1",
    )?;
    let phones = stmt.query_map([member_id], |r| r.get::<_, String>("phone"))?;
    for p in phones {
        terms.extend(phone_terms(&p?));
    }
    upsert_doc(w, "member", member_id, &name, terms)
}

fn index_guardian_only(w: &Connection, guardian_id: &str) -> Result<()> {
    let (name, phone): (String, String) =
        w.query_row("SELECT name, phone FROM guardians WHERE id = ?1", [guardian_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut terms = name_terms(&name);
    terms.extend(phone_terms(&phone));
    upsert_doc(w, "guardian", guardian_id, &name, terms)
}

/// Re-indexes a guardian and the children whose documents carry the guardian's phone.
pub(crate) fn index_guardian(w: &Connection, guardian_id: &str) -> Result<()> {
    index_guardian_only(w, guardian_id)?;
    let mut stmt = w.prepare("SELECT member_id FROM member_guardians WHERE guardian_id = ?1")?;
    let members: Vec<String> = stmt.query_map([guardian_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for m in members {
        index_member(w, &m)?;
    }
    Ok(())
}

/// Rebuilds every search document (after a change to how terms are made).
pub(crate) fn reindex_all(c: &Connection) -> Result<()> {
    for (table, index) in [
        ("members", index_member as fn(&Connection, &str) -> Result<()>),
        ("guardians", index_guardian_only),
        ("leads", index_lead),
    ] {
        let ids: Vec<String> = c.prepare(&format!("SELECT id FROM {table}"))?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        for id in ids {
            index(c, &id)?;
        }
    }
    Ok(())
}

pub(crate) fn index_lead(w: &Connection, lead_id: &str) -> Result<()> {
    let (name, contact, phone): (String, String, String) = w.query_row(
        "SELECT name, contact_name, phone FROM leads WHERE id = ?1",
        [lead_id],
        |r| Ok((r.get("name")?, r.get("contact_name")?, r.get("phone")?)),
    )?;
    let mut terms = name_terms(&name);
    terms.extend(name_terms(&contact));
    terms.extend(phone_terms(&phone));
    upsert_doc(w, "lead", lead_id, &format!("{name} {contact}"), terms)
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct SearchHit {
    /// `member`, `guardian` or `lead`.
    pub entity: String,
    pub id: String,
    pub name: String,
    pub member_no: Option<String>,
    pub phone: Option<String>,
    /// Member or lead status code.
    pub status: Option<String>,
    /// For a guardian, the children's names; for a member, the guardians' names.
    pub related: Vec<String>,
}

/// A parsed search box: FTS5 query plus the Han text a hit's name must contain.
#[derive(Debug, PartialEq)]
pub struct ParsedQuery {
    /// Whole tokens: a Han run as a whole name ("张三"), Latin/digit pieces whole ("zs").
    pub exact: String,
    /// The same as prefixes ("张三"* finds 张三丰; "zs"* finds zsf).
    pub prefix: String,
    /// Han characters one by one, anywhere in the name ("三丰" in 张三丰).
    pub substring: String,
    pub han: Vec<String>,
}

pub fn parse_query(input: &str) -> Option<ParsedQuery> {
    let folded = fold_full_width(input).to_lowercase();
    let (mut exact, mut prefix, mut substring, mut han_runs) = (vec![], vec![], vec![], vec![]);
    for piece in folded.split_whitespace() {
        // Split the piece into runs of Han characters and runs of Latin letters/digits;
        // anything else (FTS syntax, punctuation) separates runs and is dropped.
        let mut runs: Vec<(bool, String)> = vec![];
        for c in piece.chars() {
            let kind = if is_han(c) { Some(true) } else if c.is_ascii_alphanumeric() { Some(false) } else { None };
            match (kind, runs.last_mut()) {
                (Some(k), Some((last, run))) if *last == k && !run.is_empty() => run.push(c),
                (Some(k), _) => runs.push((k, c.to_string())),
                (None, _) => runs.push((false, String::new())),
            }
        }
        for (is_han_run, run) in runs.into_iter().filter(|r| !r.1.is_empty()) {
            if is_han_run {
                exact.push(format!("\"{run}\""));
                prefix.push(format!("\"{run}\"*"));
                substring.extend(run.chars().map(|c| format!("\"{c}\"")));
                han_runs.push(run);
            } else {
                exact.push(format!("\"{run}\""));
                prefix.push(format!("\"{run}\"*"));
                substring.push(format!("\"{run}\"*"));
            }
        }
    }
    if exact.is_empty() {
        return None;
    }
    Some(ParsedQuery { exact: exact.join(" "), prefix: prefix.join(" "), substring: substring.join(" "), han: han_runs })
}

/// How many index hits are examined before ranking; the box shows the best `limit`.
const CANDIDATES: i64 = 200;

impl Core {
    pub fn search(&self, session: &Session, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        session.require(Action::ViewMembers)?;
        let Some(parsed) = parse_query(query) else { return Ok(vec![]) };
        let with_leads = session.can(Action::ViewLeads);
        self.read(|c| search_on(c, &parsed, with_leads, limit))
    }

    /// The benchmark's baseline: the same search done by a `LIKE '%q%'` scan.
    pub fn search_naive(&self, session: &Session, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| naive_search(c, query, limit))
    }
}

pub fn search_on(c: &Connection, q: &ParsedQuery, with_leads: bool, limit: usize) -> Result<Vec<SearchHit>> {
    let mut stmt = c.prepare_cached(
        "SELECT d.entity, d.entity_id, d.label FROM search_fts JOIN search_doc d ON d.id = search_fts.rowid
         WHERE search_fts MATCH ?1 LIMIT ?2",
    )?;
    // Whole tokens first (someone's full name or initials), then prefixes, then Han
    // characters anywhere in a name; each tier fills what the previous left.
    let mut candidates: Vec<Candidate> = vec![];
    let mut seen = std::collections::HashSet::new();
    for (tier, query) in [(0u8, &q.exact), (1, &q.prefix), (2, &q.substring)] {
        if tier > 0 && query == [&q.exact, &q.prefix][tier as usize - 1] {
            continue;
        }
        let room = CANDIDATES - candidates.len() as i64;
        if room <= 0 {
            break;
        }
        let rows = stmt.query_map(params![query, CANDIDATES], |r| Ok(Candidate { entity: r.get("entity")?, id: r.get("entity_id")?, label: r.get("label")?, tier }))?;
        for row in rows {
            let row = row?;
            if candidates.len() as i64 >= CANDIDATES {
                break;
            }
            if seen.insert(row.id.clone()) {
                candidates.push(row);
            }
        }
    }
    rank(c, candidates, q, with_leads, limit)
}

/// The naive search the benchmark compares against: the same terms scanned with
/// `LIKE '%q%'`, then the same hydration and ranking.
pub fn naive_search(c: &Connection, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
    let Some(q) = parse_query(query) else { return Ok(vec![]) };
    let pattern = format!("%{}%", fold_full_width(query.trim()).to_lowercase());
    let mut stmt = c.prepare_cached("SELECT entity, entity_id, label FROM search_doc WHERE terms LIKE ?1 LIMIT ?2")?;
    let candidates: Vec<Candidate> = stmt
        .query_map(params![pattern, CANDIDATES], |r| Ok(Candidate { entity: r.get("entity")?, id: r.get("entity_id")?, label: r.get("label")?, tier: 2 }))?
        .collect::<rusqlite::Result<_>>()?;
    rank(c, candidates, &q, true, limit)
}

struct Candidate {
    entity: String,
    id: String,
    label: String,
    /// 0 whole token, 1 prefix, 2 substring.
    tier: u8,
}

/// Ranks candidates on what the index row itself holds, then loads only the rows
/// that will be shown.
fn rank(c: &Connection, mut candidates: Vec<Candidate>, q: &ParsedQuery, with_leads: bool, limit: usize) -> Result<Vec<SearchHit>> {
    // Han characters must appear in that order in a name (the index only knows they
    // all appear), so "张三" does not find "三张".
    candidates.retain(|k| (with_leads || k.entity != "lead") && q.han.iter().all(|run| k.label.contains(run.as_str())));
    let text: String = q.han.concat();
    candidates.sort_by_key(|k| {
        let name = k.label.split(' ').next().unwrap_or("");
        let entity_rank = match k.entity.as_str() {
            "member" => 0,
            "guardian" => 1,
            _ => 2,
        };
        let name_rank = if !text.is_empty() && name == text {
            0
        } else if !text.is_empty() && name.starts_with(&text) {
            1
        } else {
            2
        };
        (name_rank, k.tier, entity_rank, name.chars().count())
    });
    let mut hits = Vec::with_capacity(limit);
    for k in candidates {
        if hits.len() >= limit {
            break;
        }
        let hit = match k.entity.as_str() {
            "member" => member_hit(c, &k.id)?,
            "guardian" => guardian_hit(c, &k.id)?,
            "lead" => lead_hit(c, &k.id)?,
            _ => None,
        };
        hits.extend(hit);
    }
    Ok(hits)
}

fn member_hit(c: &Connection, id: &str) -> Result<Option<SearchHit>> {
    let Some((name, no, status)) = c
        .prepare_cached("SELECT name, member_no, status FROM members WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get::<_, String>("name")?, r.get::<_, Option<String>>("member_no")?, r.get::<_, String>("status")?)))
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = c.prepare_cached(
        "SELECT g.name, g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id
         WHERE mg.member_id = ?1 ORDER BY mg.is_primary DESC, mg.created_at",
    )?;
    let guardians: Vec<(String, String)> = stmt.query_map([id], |r| Ok((r.get("name")?, r.get("phone")?)))?.collect::<rusqlite::Result<_>>()?;
    Ok(Some(SearchHit {
        entity: "member".into(),
        id: id.into(),
        name,
        member_no: no,
        phone: guardians.first().map(|g| g.1.clone()),
        status: Some(status),
        related: guardians.into_iter().map(|g| g.0).collect(),
    }))
}

fn guardian_hit(c: &Connection, id: &str) -> Result<Option<SearchHit>> {
    let Some((name, phone)) = c
        .prepare_cached("SELECT name, phone FROM guardians WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = c.prepare_cached(
        "SELECT m.name FROM member_guardians mg JOIN members m ON m.id = mg.member_id WHERE mg.guardian_id = ?1 ORDER BY m.name",
    )?;
    let children = stmt.query_map([id], |r| r.get("name"))?.collect::<rusqlite::Result<_>>()?;
    Ok(Some(SearchHit { entity: "guardian".into(), id: id.into(), name, member_no: None, phone: Some(phone), status: None, related: children }))
}

fn lead_hit(c: &Connection, id: &str) -> Result<Option<SearchHit>> {
    let row = c
        .prepare_cached("SELECT name, phone, status, contact_name FROM leads WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((r.get::<_, String>("name")?, r.get::<_, String>("phone")?, r.get::<_, String>("status")?, r.get::<_, String>("contact_name")?))
        })
        .optional()?;
    Ok(row.map(|(name, phone, status, contact)| SearchHit {
        entity: "lead".into(),
        id: id.into(),
        name,
        member_no: None,
        phone: if phone.is_empty() { None } else { Some(phone) },
        status: Some(status),
        related: if contact.is_empty() { vec![] } else { vec![contact] },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_for_a_common_name() {
        let t = name_terms("张三丰");
        for expected in ["张", "三", "丰", "zhangsanfeng", "zsf", "sanfeng", "sf", "zhang", "san", "feng"] {
            assert!(t.contains(&expected.to_string()), "{expected} missing from {t:?}");
        }
    }

    #[test]
    fn surnames_with_several_readings_get_every_reading() {
        for (name, readings) in [("曾小明", ["zengxiaoming", "cengxiaoming"]), ("单田芳", ["shantianfang", "dantianfang"]), ("解晓东", ["xiexiaodong", "jiexiaodong"]), ("区丽华", ["oulihua", "qulihua"])] {
            let t = name_terms(name);
            for r in readings {
                assert!(t.contains(&r.to_string()), "{name}: {r} missing from {t:?}");
            }
        }
    }

    #[test]
    fn u_umlaut_typed_as_v() {
        let t = name_terms("吕布");
        assert!(t.iter().any(|x| x == "lvbu"), "{t:?}");
    }

    #[test]
    fn query_parsing() {
        let q = parse_query("张三").unwrap();
        assert_eq!((q.exact.as_str(), q.prefix.as_str(), q.substring.as_str()), ("\"张三\"", "\"张三\"*", "\"张\" \"三\""));
        assert_eq!(q.han, vec!["张三".to_string()]);
        let q = parse_query(" ZS ").unwrap();
        assert_eq!((q.exact.as_str(), q.prefix.as_str()), ("\"zs\"", "\"zs\"*"));
        assert_eq!(parse_query("５６７８").unwrap().prefix, "\"5678\"*");
        assert_eq!(parse_query("张z").unwrap().substring, "\"张\" \"z\"*");
        // FTS syntax characters never reach the MATCH expression.
        assert_eq!(parse_query("a\" OR *").unwrap().prefix, "\"a\"* \"or\"*");
        assert!(parse_query("  ").is_none());
        assert!(parse_query("\"*").is_none());
    }
}
