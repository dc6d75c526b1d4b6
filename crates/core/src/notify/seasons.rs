//! A switch to a seasonal timetable 寒暑假课表 tells the families. While a season runs,
//! its own weekly slots replace the base timetable (`timetable::generate_day`), so every
//! class group whose weekly classes differ between the two — other days, times or room,
//! or none at all in the season — changes for its children. When the manager has set the
//! season's timetable up, the desk shows how many families that is and the text
//! (`Core::season_notice_preview`) and then queues one notice per child to each guardian
//! (`Core::season_notify`), naming the season, its dates and the child's classes in it.
//!
//! Who: the children on the roll (`attendance::on_roll_sql`) of a changed group on the
//! season's first day, or today once it has begun; nobody once it has ended. Once per
//! change: the key is the season, the child and a digest of the classes told, so sending
//! again tells nobody twice, and after the season's slots are edited only the families
//! whose classes read differently are told again.

use super::templates;
use super::{guardians_of, NewNotice};
use crate::db::WriteTx;
use crate::error::{CoreError, Lang, Result};
use crate::timetable::{weekday_name, Season};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS, PartialEq, Default)]
#[ts(export)]
pub struct SeasonNoticePreview {
    /// Class groups whose weekly classes differ in the season.
    pub groups: i64,
    /// Children whose guardians will be told now, and how many guardians.
    pub families: i64,
    pub guardians: i64,
    /// Children in a changed group who have no guardian on record: nobody can be told.
    pub unreachable: i64,
    /// Children already told these same classes for this season.
    pub already: i64,
    /// What the first family gets.
    pub sample: Option<String>,
}

/// The notices the season means: (member, key, text) per child not yet told, and the counts.
pub(crate) struct Affected {
    pub groups: i64,
    pub already: i64,
    pub texts: Vec<(String, String, String)>,
}

type Week = Vec<(i64, String, String, String, String)>;

/// A group's weekly classes in the base timetable (`season` None) or a season's, in
/// order: (weekday, start, end, room id, room name).
fn week(c: &Connection, season: Option<&str>) -> Result<BTreeMap<String, Week>> {
    let mut stmt = c.prepare(
        "SELECT t.group_id, t.weekday, t.start_time, t.end_time, t.room_id, r.name FROM timetable_slots t JOIN rooms r ON r.id = t.room_id
          WHERE t.active = 1 AND t.season_id IS ?1 ORDER BY t.weekday, t.start_time, t.end_time, t.room_id",
    )?;
    let mut out: BTreeMap<String, Week> = BTreeMap::new();
    let rows = stmt.query_map([season], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))))?;
    for row in rows {
        let (group, class) = row?;
        out.entry(group).or_default().push(class);
    }
    Ok(out)
}

fn classes_text(week: &Week, lang: Lang) -> String {
    if week.is_empty() {
        return lang.pick("暂停上课", "no classes");
    }
    let sep = lang.pick("、", ", ");
    week.iter().map(|(d, start, end, _, room)| format!("{} {start}–{end} {room}", weekday_name(*d, lang))).collect::<Vec<_>>().join(&sep)
}

pub(crate) fn load_season(c: &Connection, id: &str) -> Result<Season> {
    c.query_row("SELECT id, name, from_date, to_date FROM seasons WHERE id = ?1", [id], |r| {
        Ok(Season { id: r.get("id")?, name: r.get("name")?, from_date: r.get("from_date")?, to_date: r.get("to_date")? })
    })
    .optional()?
    .ok_or(CoreError::NotFound(crate::error::Field::Season))
}

pub(crate) fn affected(c: &Connection, today: NaiveDate, season: &Season) -> Result<Affected> {
    let mut out = Affected { groups: 0, already: 0, texts: vec![] };
    let first = season.from_date.as_str().max(today.to_string().as_str()).to_string();
    if first > season.to_date {
        return Ok(out);
    }
    let base = week(c, None)?;
    let seasonal = week(c, Some(&season.id))?;
    let lang = templates::notice_lang(c)?;
    let empty = Week::new();
    // Per changed group, in name order: its name, id, classes in the season as told, and
    // the same as data (what the key digests, so the notice language does not matter).
    let mut changed: Vec<(String, String, String, String)> = vec![];
    for group in base.keys().chain(seasonal.keys().filter(|g| !base.contains_key(*g))) {
        let (before, during) = (base.get(group).unwrap_or(&empty), seasonal.get(group).unwrap_or(&empty));
        let same = before.len() == during.len() && before.iter().zip(during).all(|(a, b)| (a.0, &a.1, &a.2, &a.3) == (b.0, &b.1, &b.2, &b.3));
        if same {
            continue;
        }
        let name: String = c.query_row("SELECT name FROM class_groups WHERE id = ?1", [group], |r| r.get(0))?;
        let data: Vec<String> = during.iter().map(|(d, start, end, room, _)| format!("{d},{start},{end},{room}")).collect();
        changed.push((name, group.clone(), classes_text(during, lang), format!("{group}:{}", data.join(";"))));
    }
    changed.sort();
    out.groups = changed.len() as i64;
    // Each child's changed groups, in the order of the groups.
    let mut children: BTreeMap<String, (String, Vec<String>, Vec<&str>)> = BTreeMap::new();
    let mut order: Vec<String> = vec![];
    let mut stmt = c.prepare(&format!(
        "SELECT mm.id, mm.name FROM group_members gm JOIN members mm ON mm.id = gm.member_id WHERE {} ORDER BY mm.member_no IS NULL, mm.member_no, mm.name",
        crate::attendance::on_roll_sql("mm", "?1", "?2")
    ))?;
    for (name, group, text, data) in &changed {
        let rows: Vec<(String, String)> = stmt.query_map([group, &first], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        for (id, member) in rows {
            let entry = children.entry(id.clone()).or_insert_with(|| {
                order.push(id.clone());
                (member, vec![], vec![])
            });
            entry.2.push(data);
            entry.1.push(match lang {
                Lang::ZhCn => format!("「{name}」{text}"),
                Lang::En => format!("\"{name}\" {text}"),
            });
        }
    }
    let centre = crate::settings::get(c, "centre_name")?.unwrap_or_default();
    let days = format!("{}–{}", season.from_date, season.to_date);
    for id in order {
        let (member, classes, data) = &children[&id];
        let classes = classes.join(&lang.pick("；", "; "));
        let digest = Sha256::digest(data.join("|").as_bytes());
        let key = format!("season:{}:{id}:{}", season.id, digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>());
        let told: bool = c.query_row("SELECT EXISTS(SELECT 1 FROM notices WHERE dedupe_key = ?1)", [&key], |r| r.get(0))?;
        if told {
            out.already += 1;
            continue;
        }
        let values = [
            ("centre", centre.clone()),
            ("member", member.clone()),
            ("season", season.name.clone()),
            ("days", days.clone()),
            ("classes", classes),
        ];
        out.texts.push((id, key, templates::render(c, "season_timetable", &values)?));
    }
    Ok(out)
}

pub(crate) fn preview(c: &Connection, affected: &Affected) -> Result<SeasonNoticePreview> {
    let texts: Vec<(String, String)> = affected.texts.iter().map(|(m, _, t)| (m.clone(), t.clone())).collect();
    let r = super::reach(c, &texts)?;
    Ok(SeasonNoticePreview {
        groups: affected.groups,
        families: r.families,
        guardians: r.guardians,
        unreachable: r.unreachable,
        already: affected.already,
        sample: r.sample,
    })
}

/// Queues one notice per child to each guardian; how many were queued.
pub(crate) fn queue(w: &mut WriteTx, affected: &Affected) -> Result<i64> {
    let mut n = 0;
    for (member_id, key, text) in &affected.texts {
        let recipients = guardians_of(w, member_id)?;
        n += super::queue(
            w,
            &NewNotice { kind: "season_timetable", member_id: Some(member_id), lead_id: None, session_id: None, text: text.clone(), dedupe_key: Some(key.clone()) },
            &recipients,
        )?;
    }
    Ok(n)
}
