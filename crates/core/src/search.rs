//! One search box for members, guardians and leads: by Chinese name or any part of it,
//! full pinyin, pinyin initials (every reading of a surname: 曾 zeng/ceng, 单 shan/dan),
//! phone number or its last four digits, and member number.
//!
//! Each record has one `search_doc` row whose `terms` the FTS5 index tokenizes; this
//! module owns building those terms and querying them.

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
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

fn upsert_doc(w: &WriteTx, entity: &str, entity_id: &str, terms: Vec<String>) -> Result<()> {
    w.execute(
        "INSERT INTO search_doc (entity, entity_id, terms) VALUES (?1, ?2, ?3)
         ON CONFLICT(entity_id) DO UPDATE SET terms = excluded.terms WHERE terms <> excluded.terms",
        params![entity, entity_id, dedup(terms).join(" ")],
    )?;
    Ok(())
}

/// Re-indexes a member: name, member number, and their guardians' phones (a parent
/// at the desk gives their own number).
pub(crate) fn index_member(w: &WriteTx, member_id: &str) -> Result<()> {
    let (name, no): (String, Option<String>) =
        w.query_row("SELECT name, member_no FROM members WHERE id = ?1", [member_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut terms = name_terms(&name);
    if let Some(no) = no {
        terms.extend(member_no_terms(&no));
    }
    let mut stmt = w.prepare(
        "SELECT g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id WHERE mg.member_id = ?1",
    )?;
    let phones = stmt.query_map([member_id], |r| r.get::<_, String>(0))?;
    for p in phones {
        terms.extend(phone_terms(&p?));
    }
    upsert_doc(w, "member", member_id, terms)
}

pub(crate) fn index_guardian(w: &WriteTx, guardian_id: &str) -> Result<()> {
    let (name, phone): (String, String) =
        w.query_row("SELECT name, phone FROM guardians WHERE id = ?1", [guardian_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut terms = name_terms(&name);
    terms.extend(phone_terms(&phone));
    upsert_doc(w, "guardian", guardian_id, terms)?;
    let mut stmt = w.prepare("SELECT member_id FROM member_guardians WHERE guardian_id = ?1")?;
    let members: Vec<String> = stmt.query_map([guardian_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for m in members {
        index_member(w, &m)?;
    }
    Ok(())
}

pub(crate) fn index_lead(w: &WriteTx, lead_id: &str) -> Result<()> {
    let (name, contact, phone): (String, String, String) = w.query_row(
        "SELECT name, contact_name, phone FROM leads WHERE id = ?1",
        [lead_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut terms = name_terms(&name);
    terms.extend(name_terms(&contact));
    terms.extend(phone_terms(&phone));
    upsert_doc(w, "lead", lead_id, terms)
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
    /// Every Latin/digit piece as a prefix (`"zs"*`).
    pub fts: String,
    /// The same with whole tokens only (`"zs"`): these hits rank first.
    pub fts_exact: String,
    pub han: Vec<String>,
}

pub fn parse_query(input: &str) -> Option<ParsedQuery> {
    let folded = fold_full_width(input).to_lowercase();
    let mut parts = vec![];
    let mut han_runs = vec![];
    for piece in folded.split_whitespace() {
        let mut run = String::new();
        let mut ascii = String::new();
        let flush_ascii = |ascii: &mut String, parts: &mut Vec<String>| {
            if !ascii.is_empty() {
                parts.push(format!("\"{ascii}\"*"));
                ascii.clear();
            }
        };
        for c in piece.chars() {
            if is_han(c) {
                flush_ascii(&mut ascii, &mut parts);
                parts.push(format!("\"{c}\""));
                run.push(c);
            } else if c.is_ascii_alphanumeric() {
                if !run.is_empty() {
                    han_runs.push(std::mem::take(&mut run));
                }
                ascii.push(c);
            } else if !run.is_empty() {
                han_runs.push(std::mem::take(&mut run));
            }
        }
        flush_ascii(&mut ascii, &mut parts);
        if !run.is_empty() {
            han_runs.push(run);
        }
    }
    if parts.is_empty() {
        return None;
    }
    let fts = parts.join(" ");
    Some(ParsedQuery { fts_exact: fts.replace("\"*", "\""), fts, han: han_runs })
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
        "SELECT d.entity, d.entity_id FROM search_fts JOIN search_doc d ON d.id = search_fts.rowid
         WHERE search_fts MATCH ?1 LIMIT ?2",
    )?;
    // Whole-token hits first ("zs" is someone's initials), then prefixes ("zs" of "zsf").
    let mut candidates: Vec<(String, String, bool)> = stmt
        .query_map(params![q.fts_exact, CANDIDATES], |r| Ok((r.get(0)?, r.get(1)?, true)))?
        .collect::<rusqlite::Result<_>>()?;
    if q.fts != q.fts_exact && (candidates.len() as i64) < CANDIDATES {
        let seen: std::collections::HashSet<String> = candidates.iter().map(|c| c.1.clone()).collect();
        let more: Vec<(String, String, bool)> = stmt
            .query_map(params![q.fts, CANDIDATES], |r| Ok((r.get(0)?, r.get(1)?, false)))?
            .collect::<rusqlite::Result<_>>()?;
        candidates.extend(more.into_iter().filter(|c| !seen.contains(&c.1)).take(CANDIDATES as usize - seen.len()));
    }
    rank(c, candidates, q, with_leads, limit)
}

/// The naive search the benchmark compares against: the same terms scanned with
/// `LIKE '%q%'`, then the same hydration and ranking.
pub fn naive_search(c: &Connection, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
    let Some(q) = parse_query(query) else { return Ok(vec![]) };
    let pattern = format!("%{}%", fold_full_width(query.trim()).to_lowercase());
    let mut stmt = c.prepare_cached("SELECT entity, entity_id FROM search_doc WHERE terms LIKE ?1 LIMIT ?2")?;
    let candidates: Vec<(String, String, bool)> = stmt
        .query_map(params![pattern, CANDIDATES], |r| Ok((r.get(0)?, r.get(1)?, false)))?
        .collect::<rusqlite::Result<_>>()?;
    rank(c, candidates, &q, true, limit)
}

fn rank(c: &Connection, candidates: Vec<(String, String, bool)>, q: &ParsedQuery, with_leads: bool, limit: usize) -> Result<Vec<SearchHit>> {
    let mut hits = vec![];
    for (entity, id, exact) in candidates {
        let hit = match entity.as_str() {
            "member" => member_hit(c, &id)?,
            "guardian" => guardian_hit(c, &id)?,
            "lead" if with_leads => lead_hit(c, &id)?,
            _ => None,
        };
        let Some(hit) = hit else { continue };
        // Han characters must appear in order in the name (the index only knows they
        // all appear), so "张三" does not find "三张".
        let name_ok = q.han.iter().all(|run| hit.name.contains(run.as_str()) || hit.related.iter().any(|r| r.contains(run.as_str())));
        if name_ok {
            hits.push((exact, hit));
        }
    }
    let text: String = q.han.concat();
    hits.sort_by_key(|(exact, h)| {
        let entity_rank = match h.entity.as_str() {
            "member" => 0,
            "guardian" => 1,
            _ => 2,
        };
        let name_rank = if !text.is_empty() && h.name == text {
            0
        } else if !text.is_empty() && h.name.starts_with(&text) {
            1
        } else {
            2
        };
        (name_rank, !exact, entity_rank, h.name.chars().count())
    });
    Ok(hits.into_iter().take(limit).map(|(_, h)| h).collect())
}

fn member_hit(c: &Connection, id: &str) -> Result<Option<SearchHit>> {
    let Some((name, no, status)) = c
        .prepare_cached("SELECT name, member_no, status FROM members WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?)))
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = c.prepare_cached(
        "SELECT g.name, g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id
         WHERE mg.member_id = ?1 ORDER BY mg.is_primary DESC, mg.created_at",
    )?;
    let guardians: Vec<(String, String)> = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
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
    let children = stmt.query_map([id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(Some(SearchHit { entity: "guardian".into(), id: id.into(), name, member_no: None, phone: Some(phone), status: None, related: children }))
}

fn lead_hit(c: &Connection, id: &str) -> Result<Option<SearchHit>> {
    let row = c
        .prepare_cached("SELECT name, phone, status, contact_name FROM leads WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
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
        assert_eq!(parse_query("张三").unwrap(), ParsedQuery { fts: "\"张\" \"三\"".into(), fts_exact: "\"张\" \"三\"".into(), han: vec!["张三".into()] });
        assert_eq!(parse_query("zs").unwrap().fts_exact, "\"zs\"");
        assert_eq!(parse_query(" ZS ").unwrap().fts, "\"zs\"*");
        assert_eq!(parse_query("５６７８").unwrap().fts, "\"5678\"*");
        // FTS syntax characters never reach the MATCH expression.
        assert_eq!(parse_query("a\" OR *").unwrap().fts, "\"a\"* \"or\"*");
        assert!(parse_query("  ").is_none());
        assert!(parse_query("\"*").is_none());
    }
}
