//! Messages to a group 群发消息: the clerk or the manager writes one message to the
//! families of a class group, a tier, a tag, a member status, or a list from a report
//! (e.g. the win-back list), sees how many families it reaches and what the first one
//! gets, and sends it: one notice per guardian through the ordinary outbox.
//!
//! - Who is in the group is decided when it is sent, on the centre's business date: a
//!   class group's members on that day; members (not merged away) of the tier, tag or
//!   status; every member row of the report's table (computed in full, not the screen's
//!   first page — a report's lists need `ViewReports`).
//! - A guardian who asked not to receive group messages (`guardians.no_group_messages`,
//!   set on the guardian's page) is left out and counted; so is a child with no guardian
//!   on record. Notices about their own child still reach them.
//! - A guardian of two children in the group gets one message: `{member}` in the text
//!   names both children, `{guardian}` the guardian; the notice is on the first child's
//!   timeline.
//! - The message is kept (`group_messages`) with its audience in words and its counts,
//!   logged like every write; its notices carry the key `group:<id>` so a retry of the
//!   same send never queues one twice.

use super::{templates, NewNotice, Recipient};
use crate::analysis::AnalysisFilter;
use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Lang, Result};
use crate::vocab::MemberStatus;
use crate::validate;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use ts_rs::TS;

/// The longest message the desk sends to a group (an SMS gateway splits longer ones).
pub const MAX_BODY: usize = 300;

/// Who a message goes to.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Audience {
    /// The members of a class group on the day it is sent.
    Group { group_id: String },
    /// Members whose current tier is this level (1 = the lowest).
    Tier { level: i64 },
    /// Members carrying this tag.
    Tag { tag: String },
    /// Members of this status.
    Status { status: MemberStatus },
    /// The members listed in one table of a report (e.g. `customers` → `churn`, the win-back list).
    Report { filter: AnalysisFilter, table: String },
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct GroupMessageDraft {
    pub audience: Audience,
    /// The text; `{member}` and `{guardian}` are filled in for each family.
    pub body: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq, Default)]
#[ts(export)]
pub struct GroupMessagePreview {
    /// The audience in words ("班级：周六初级班").
    pub audience_label: String,
    /// Children in the audience.
    pub members: i64,
    /// Children at least one of whose guardians gets the message.
    pub families: i64,
    /// Messages queued: one per guardian.
    pub notices: i64,
    /// Guardians left out because they asked not to receive group messages.
    pub opted_out: i64,
    /// Children with no guardian on record: nobody can be told.
    pub unreachable: i64,
    /// What the first guardian gets (None when nobody would).
    pub sample: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct GroupMessage {
    pub id: String,
    pub audience_label: String,
    pub body: String,
    pub families: i64,
    pub notices: i64,
    pub opted_out: i64,
    pub unreachable: i64,
    pub staff_name: String,
    pub created_at: String,
}

/// One guardian's message: the children of theirs in the audience.
struct Addressee {
    guardian: Recipient,
    children: Vec<(String, String)>,
}

struct Resolved {
    label: String,
    members: i64,
    addressees: Vec<Addressee>,
    families: i64,
    opted_out: i64,
    unreachable: i64,
}

fn label(c: &Connection, audience: &Audience, lang: Lang) -> Result<String> {
    Ok(match audience {
        Audience::Group { group_id } => {
            let name: String = c
                .query_row("SELECT name FROM class_groups WHERE id = ?1", [group_id], |r| r.get(0))
                .map_err(|_| CoreError::NotFound(Field::ClassGroup))?;
            format!("{}{name}", lang.pick("班级：", "Class: "))
        }
        Audience::Tier { level } => {
            let names: Option<(String, String)> = c
                .query_row("SELECT name_zh, name_en FROM member_tiers WHERE level = ?1 ORDER BY updated_at DESC LIMIT 1", [level], |r| Ok((r.get(0)?, r.get(1)?)))
                .ok();
            let name = names.map(|(zh, en)| if lang == Lang::En && !en.is_empty() { en } else { zh }).unwrap_or_else(|| level.to_string());
            format!("{}{name}", lang.pick("会员等级：", "Tier: "))
        }
        Audience::Tag { tag } => format!("{}{tag}", lang.pick("标签：", "Tag: ")),
        Audience::Status { status } => format!("{}{}", lang.pick("会员状态：", "Status: "), status.label(lang)),
        Audience::Report { .. } => String::new(),
    })
}

/// The members of the audience (in a stable order: name, then id) and the audience in words.
fn audience_members(core: &Core, session: &Session, audience: &Audience, lang: Lang) -> Result<(Vec<String>, String)> {
    if let Audience::Report { filter, table } = audience {
        // A report's list in full (its own reads), not the screen's first page.
        let t = core.analysis_tables(session, filter, lang, usize::MAX)?.into_iter().find(|t| &t.key == table).ok_or(CoreError::NotFound(Field::Report))?;
        let mut seen = HashSet::new();
        let ids = t.member_ids.into_iter().filter(|id| !id.is_empty() && seen.insert(id.clone())).collect();
        return Ok((ids, format!("{}{}", lang.pick("报表名单：", "Report list: "), t.title)));
    }
    let today = core.today().to_string();
    core.read(|c| {
        // Members who left are in a group only when asked for by their status (or a report).
        let live = "m.merged_into IS NULL AND m.status NOT IN ('applicant', 'left')";
        let query = |sql: String, p: &[&dyn rusqlite::ToSql]| -> Result<Vec<String>> {
            Ok(c.prepare(&format!("{sql} ORDER BY m.name, m.id"))?.query_map(p, |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
        };
        let ids = match audience {
            Audience::Group { group_id } => query(
                format!(
                    "SELECT DISTINCT m.id, m.name FROM group_members gm JOIN members m ON m.id = gm.member_id
                     WHERE gm.group_id = ?1 AND gm.start_date <= ?2 AND (gm.end_date IS NULL OR gm.end_date >= ?2) AND {live}"
                ),
                &[group_id, &today],
            )?,
            Audience::Tier { level } => query(format!("SELECT m.id FROM member_tiers t JOIN members m ON m.id = t.member_id WHERE t.level = ?1 AND {live}"), &[level])?,
            Audience::Tag { tag } => query(format!("SELECT m.id FROM members m WHERE EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?1) AND {live}"), &[tag])?,
            Audience::Status { status } => {
                query("SELECT m.id FROM members m WHERE m.status = ?1 AND m.merged_into IS NULL".into(), &[&status.as_str()])?
            }
            Audience::Report { .. } => vec![],
        };
        Ok((ids, label(c, audience, lang)?))
    })
}

fn resolve(core: &Core, session: &Session, audience: &Audience, lang: Lang) -> Result<Resolved> {
    if let Audience::Tag { tag } = audience {
        validate::required_text(Field::Tags, tag, 40)?;
    }
    if let Audience::Tier { level } = audience {
        validate::int_in(Field::Tiers, *level, 1, 20)?;
    }
    let (ids, label) = audience_members(core, session, audience, lang)?;
    core.read(|c| addressees(c, ids, label))
}

fn addressees(c: &Connection, ids: Vec<String>, label: String) -> Result<Resolved> {
    let mut by_guardian: BTreeMap<String, usize> = BTreeMap::new();
    let mut addressees: Vec<Addressee> = vec![];
    let mut opted_out_guardians = HashSet::new();
    let (mut families, mut unreachable) = (0, 0);
    let mut stmt = c.prepare_cached(
        "SELECT g.id, g.name, g.phone, g.no_group_messages, m.name AS member_name FROM member_guardians mg
         JOIN guardians g ON g.id = mg.guardian_id JOIN members m ON m.id = mg.member_id
         WHERE mg.member_id = ?1 ORDER BY mg.is_primary DESC, mg.created_at",
    )?;
    for member_id in &ids {
        let rows: Vec<(String, String, String, bool, String)> =
            stmt.query_map([member_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?.collect::<rusqlite::Result<_>>()?;
        if rows.is_empty() {
            unreachable += 1;
            continue;
        }
        let mut reached = false;
        for (gid, name, phone, opted_out, member_name) in rows {
            if opted_out {
                opted_out_guardians.insert(gid);
                continue;
            }
            reached = true;
            let i = *by_guardian.entry(gid.clone()).or_insert_with(|| {
                addressees.push(Addressee { guardian: Recipient { guardian_id: Some(gid.clone()), name, phone }, children: vec![] });
                addressees.len() - 1
            });
            addressees[i].children.push((member_id.clone(), member_name));
        }
        if reached {
            families += 1;
        }
    }
    Ok(Resolved { label, members: ids.len() as i64, addressees, families, opted_out: opted_out_guardians.len() as i64, unreachable })
}

fn text_for(body: &str, a: &Addressee, lang: Lang) -> String {
    let names: Vec<&str> = a.children.iter().map(|(_, n)| n.as_str()).collect();
    templates::fill(body, &[("member", names.join(lang.pick("、", ", ").as_str())), ("guardian", a.guardian.name.clone())])
}

fn check_body(body: &str) -> Result<String> {
    validate::required_text(Field::MessageBody, body, MAX_BODY)
}

impl Core {
    /// How many families a message would reach and what the first one gets; nothing is saved.
    pub fn group_message_preview(&self, session: &Session, draft: &GroupMessageDraft) -> Result<GroupMessagePreview> {
        session.require(Action::MessageGroups)?;
        let lang = self.read(templates::notice_lang)?;
        let mut v = validate::Checks::new();
        let body = v.take(check_body(&draft.body));
        v.finish()?;
        let r = resolve(self, session, &draft.audience, lang)?;
        Ok(GroupMessagePreview {
                audience_label: r.label,
                members: r.members,
                families: r.families,
                notices: r.addressees.len() as i64,
                opted_out: r.opted_out,
                unreachable: r.unreachable,
            sample: r.addressees.first().map(|a| text_for(&body, a, lang)),
        })
    }

    /// Sends the message: one notice per guardian in the outbox, in one transaction with
    /// the message's own record. Refused when it would reach nobody.
    pub fn group_message_send(&self, session: &Session, draft: GroupMessageDraft) -> Result<GroupMessage> {
        session.require(Action::MessageGroups)?;
        let body = check_body(&draft.body)?;
        let audience_json = serde_json::to_string(&draft.audience).map_err(|e| CoreError::Internal(e.to_string()))?;
        // Resolved before the write: a report's list opens its own reads. Between the two a
        // member may change; the message goes to the group as the desk previewed it.
        let lang = self.read(templates::notice_lang)?;
        let resolved = resolve(self, session, &draft.audience, lang)?;
        if resolved.addressees.is_empty() {
            return Err(CoreError::Conflict(Conflict::NobodyToMessage));
        }
        self.write(session, |w| {
            let id = crate::new_id();
            let now = w.now_text();
            w.execute(
                "INSERT INTO group_messages (id, audience, audience_label, body, families, notices, opted_out, unreachable, staff_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![id, audience_json, resolved.label, body, resolved.families, resolved.addressees.len() as i64, resolved.opted_out, resolved.unreachable, session.staff_id, now],
            )?;
            let message = load(w, &id)?;
            w.log("group_message", &id, "send", None, &message)?;
            queue_all(w, &id, &body, &resolved.addressees, lang)?;
            Ok(message)
        })
    }

    /// The messages sent to groups, newest first.
    pub fn group_messages(&self, session: &Session, limit: i64) -> Result<Vec<GroupMessage>> {
        session.require(Action::MessageGroups)?;
        self.read(|c| {
            Ok(c.prepare(&format!("{SELECT} ORDER BY gm.created_at DESC, gm.rowid DESC LIMIT ?1"))?
                .query_map([limit.clamp(1, 500)], from_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn queue_all(w: &mut WriteTx, id: &str, body: &str, addressees: &[Addressee], lang: Lang) -> Result<()> {
    for a in addressees {
        let first_child = a.children.first().map(|(m, _)| m.as_str());
        super::queue(
            w,
            &NewNotice { kind: "group_message", member_id: first_child, lead_id: None, session_id: None, text: text_for(body, a, lang), dedupe_key: Some(format!("group:{id}")) },
            std::slice::from_ref(&a.guardian),
        )?;
    }
    Ok(())
}

const SELECT: &str = "SELECT gm.id, gm.audience_label, gm.body, gm.families, gm.notices, gm.opted_out, gm.unreachable, s.display_name AS staff_name, gm.created_at
     FROM group_messages gm JOIN staff s ON s.id = gm.staff_id";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<GroupMessage> {
    Ok(GroupMessage {
        id: r.get("id")?,
        audience_label: r.get("audience_label")?,
        body: r.get("body")?,
        families: r.get("families")?,
        notices: r.get("notices")?,
        opted_out: r.get("opted_out")?,
        unreachable: r.get("unreachable")?,
        staff_name: r.get("staff_name")?,
        created_at: r.get("created_at")?,
    })
}

fn load(c: &Connection, id: &str) -> Result<GroupMessage> {
    Ok(c.query_row(&format!("{SELECT} WHERE gm.id = ?1"), [id], from_row)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_guardian_of_two_children_is_named_once_with_both_children() {
        let a = Addressee {
            guardian: Recipient { guardian_id: Some("g".into()), name: "王芳".into(), phone: "13800000000".into() },
            children: vec![("a".into(), "小明".into()), ("b".into(), "小红".into())],
        };
        assert_eq!(text_for("{guardian}您好，{member}周六不上课。", &a, Lang::ZhCn), "王芳您好，小明、小红周六不上课。");
        assert_eq!(text_for("Dear {guardian}: {member}", &a, Lang::En), "Dear 王芳: 小明, 小红");
    }

    #[test]
    fn the_audience_travels_as_a_tagged_object() {
        let a: Audience = serde_json::from_str(r#"{"kind":"status","status":"active"}"#).unwrap();
        assert_eq!(a, Audience::Status { status: MemberStatus::Active });
        assert!(serde_json::from_str::<Audience>(r#"{"kind":"status","status":"gone"}"#).is_err());
        assert_eq!(serde_json::to_string(&Audience::Tier { level: 2 }).unwrap(), r#"{"kind":"tier","level":2}"#);
    }
}
