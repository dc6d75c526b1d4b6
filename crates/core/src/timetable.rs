//! Timetable 课表: rooms, class groups 班级 and who is in them, the base weekly
//! timetable 基础课表 and seasonal ones, closures, and the dated sessions 日期课表
//! generated from them. One-off changes (move, cancel, substitute coach) survive
//! regeneration; regeneration never duplicates a session nor deletes one with attendance.

use crate::auth::{Action, Role, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Lang, Result, Rule};
use crate::validate;
use chrono::{Datelike, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The longest range generated in one go.
pub const MAX_GENERATE_DAYS: i64 = 366;

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Room {
    pub id: String,
    pub name: String,
    pub capacity: i64,
    pub archived: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct RoomInput {
    pub name: String,
    pub capacity: i64,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ClassGroup {
    pub id: String,
    pub name: String,
    pub course: String,
    pub level: String,
    pub coach_id: Option<String>,
    pub coach_name: Option<String>,
    pub capacity: i64,
    pub archived: bool,
    /// Members in the group today.
    pub size: i64,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ClassGroupInput {
    pub name: String,
    #[serde(default)]
    pub course: String,
    #[serde(default)]
    pub level: String,
    pub coach_id: Option<String>,
    pub capacity: i64,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct GroupMember {
    pub id: String,
    pub group_id: String,
    pub member_id: String,
    pub member_name: String,
    pub member_no: Option<String>,
    pub start_date: String,
    pub end_date: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Slot {
    pub id: String,
    pub season_id: Option<String>,
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    pub start_time: String,
    pub end_time: String,
    pub room_id: String,
    pub room_name: String,
    pub coach_id: String,
    pub coach_name: String,
    pub group_id: String,
    pub group_name: String,
    pub active: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct SlotInput {
    pub season_id: Option<String>,
    pub weekday: i64,
    pub start_time: String,
    pub end_time: String,
    pub room_id: String,
    pub coach_id: String,
    pub group_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct Season {
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub from_date: String,
    pub to_date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct Closure {
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub from_date: String,
    pub to_date: String,
}

/// Days to close: the sessions still to come in them are cancelled (see `notify::closures`).
#[derive(Debug, Clone, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct ClosureInput {
    pub name: String,
    pub from_date: String,
    pub to_date: String,
    /// Tell the families of the children expected in the cancelled sessions.
    pub notify: bool,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ClassSession {
    pub id: String,
    pub slot_id: Option<String>,
    pub group_id: String,
    pub group_name: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub room_id: String,
    pub room_name: String,
    pub coach_id: String,
    pub coach_name: String,
    /// `scheduled` or `cancelled`.
    pub status: String,
    pub is_override: bool,
    pub note: String,
}

/// A one-off change to one session: move, substitute coach, cancel.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct SessionChange {
    pub date: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub room_id: Option<String>,
    pub coach_id: Option<String>,
    #[serde(default)]
    pub cancel: bool,
    #[serde(default)]
    pub note: String,
    /// Tell the families expected in the session (`notify::session_changes`).
    #[serde(default)]
    pub notify: bool,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq, Default)]
#[ts(export)]
pub struct GenerateSummary {
    pub created: i64,
    pub updated: i64,
    pub removed: i64,
    /// Sessions that no longer belong to the timetable but were kept because they
    /// have attendance or were changed by hand.
    pub kept: i64,
}

#[derive(Debug, Clone, Deserialize, TS, Default)]
#[ts(export)]
pub struct SessionFilter {
    pub from_date: String,
    pub to_date: String,
    pub room_id: Option<String>,
    pub coach_id: Option<String>,
    pub group_id: Option<String>,
    /// Only the sessions of the groups this member is in on each session's date (what
    /// the leave dialog offers).
    #[serde(default)]
    #[ts(optional)]
    pub member_id: Option<String>,
}

/// `HH:MM` (also `H:MM`, full-width digits, `：`) → `HH:MM`.
pub fn parse_time(field: Field, value: &str) -> Result<String> {
    let v = validate::fold_full_width(value.trim()).replace('：', ":");
    let (h, m) = v.split_once(':').ok_or(CoreError::invalid(field, Rule::TimeFormat))?;
    // Minutes always have two digits ("18:5" is ambiguous).
    let (h, m): (u32, u32) = match (h.parse::<u32>(), m.parse::<u32>()) {
        (Ok(hh), Ok(mm)) if hh < 24 && mm < 60 && m.len() == 2 && (1..=2).contains(&h.len()) => (hh, mm),
        _ => return Err(CoreError::invalid(field, Rule::TimeFormat)),
    };
    Ok(format!("{h:02}:{m:02}"))
}

fn times(start: &str, end: &str) -> Result<(String, String)> {
    let s = parse_time(Field::StartTime, start)?;
    let e = parse_time(Field::EndTime, end)?;
    if e <= s {
        return Err(CoreError::invalid(Field::EndTime, Rule::NotBefore { other: Field::StartTime }));
    }
    Ok((s, e))
}

fn date_text(d: NaiveDate) -> String {
    d.to_string()
}

const SESSION_SELECT: &str = "SELECT s.id, s.slot_id, s.group_id, g.name AS group_name, s.date, s.start_time, s.end_time, s.room_id, r.name AS room_name,
        s.coach_id, st.display_name, s.status, s.is_override, s.note
     FROM class_sessions s JOIN class_groups g ON g.id = s.group_id JOIN rooms r ON r.id = s.room_id
     JOIN staff st ON st.id = s.coach_id";

fn session_from_row(r: &Row) -> rusqlite::Result<ClassSession> {
    Ok(ClassSession {
        id: r.get("id")?,
        slot_id: r.get("slot_id")?,
        group_id: r.get("group_id")?,
        group_name: r.get("group_name")?,
        date: r.get("date")?,
        start_time: r.get("start_time")?,
        end_time: r.get("end_time")?,
        room_id: r.get("room_id")?,
        room_name: r.get("room_name")?,
        coach_id: r.get("coach_id")?,
        coach_name: r.get("display_name")?,
        status: r.get("status")?,
        is_override: r.get("is_override")?,
        note: r.get("note")?,
    })
}

pub(crate) fn load_session(c: &Connection, id: &str) -> Result<ClassSession> {
    c.prepare_cached(&format!("{SESSION_SELECT} WHERE s.id = ?1"))?
        .query_row([id], session_from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Session))
}

const SLOT_SELECT: &str = "SELECT t.id, t.season_id, t.weekday, t.start_time, t.end_time, t.room_id, r.name AS room_name, t.coach_id, st.display_name,
        t.group_id, g.name AS group_name, t.active
     FROM timetable_slots t JOIN rooms r ON r.id = t.room_id JOIN staff st ON st.id = t.coach_id
     JOIN class_groups g ON g.id = t.group_id";

fn slot_from_row(r: &Row) -> rusqlite::Result<Slot> {
    Ok(Slot {
        id: r.get("id")?,
        season_id: r.get("season_id")?,
        weekday: r.get("weekday")?,
        start_time: r.get("start_time")?,
        end_time: r.get("end_time")?,
        room_id: r.get("room_id")?,
        room_name: r.get("room_name")?,
        coach_id: r.get("coach_id")?,
        coach_name: r.get("display_name")?,
        group_id: r.get("group_id")?,
        group_name: r.get("group_name")?,
        active: r.get("active")?,
    })
}

fn load_slot(c: &Connection, id: &str) -> Result<Slot> {
    c.query_row(&format!("{SLOT_SELECT} WHERE t.id = ?1"), [id], slot_from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Session))
}

fn load_group(c: &Connection, id: &str, today: &str) -> Result<ClassGroup> {
    c.query_row(
        &format!(
            "SELECT g.id, g.name, g.course, g.level, g.coach_id, st.display_name, g.capacity, g.archived,
                (SELECT COUNT(*) FROM group_members gm JOIN members mm ON mm.id = gm.member_id WHERE {}) AS size
             FROM class_groups g LEFT JOIN staff st ON st.id = g.coach_id WHERE g.id = ?1",
            crate::attendance::on_roll_sql("mm", "g.id", "?2")
        ),
        params![id, today],
        |r| {
            Ok(ClassGroup {
                id: r.get("id")?,
                name: r.get("name")?,
                course: r.get("course")?,
                level: r.get("level")?,
                coach_id: r.get("coach_id")?,
                coach_name: r.get("display_name")?,
                capacity: r.get("capacity")?,
                archived: r.get("archived")?,
                size: r.get("size")?,
            })
        },
    )
    .optional()?
    .ok_or(CoreError::NotFound(Field::ClassGroup))
}

fn check_coach(c: &Connection, id: &str) -> Result<()> {
    crate::auth::require_active_staff(c, id, Field::Coach)
}

fn check_room(c: &Connection, id: &str) -> Result<()> {
    let ok: bool = c.query_row("SELECT EXISTS(SELECT 1 FROM rooms WHERE id = ?1 AND archived = 0)", [id], |r| r.get(0))?;
    if ok { Ok(()) } else { Err(CoreError::invalid(Field::Room, Rule::Unknown)) }
}

/// Refuses a weekly slot that double-books its room or coach in the same timetable.
fn slot_clash(c: &Connection, input: &SlotInput, start: &str, end: &str, except: Option<&str>) -> Result<()> {
    let mut stmt = c.prepare(&format!(
        "{SLOT_SELECT} WHERE t.active = 1 AND t.weekday = ?1 AND t.season_id IS ?2 AND t.start_time < ?4 AND ?3 < t.end_time
           AND (t.room_id = ?5 OR t.coach_id = ?6) AND t.id IS NOT ?7"
    ))?;
    let clashes: Vec<Slot> = stmt
        .query_map(params![input.weekday, input.season_id, start, end, input.room_id, input.coach_id, except], slot_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    if let Some(s) = clashes.first() {
        let when = format!("{} {}–{}", weekday_name(s.weekday, Lang::ZhCn), s.start_time, s.end_time);
        return Err(CoreError::Conflict(if s.room_id == input.room_id {
            Conflict::RoomBusy { when, by: s.group_name.clone() }
        } else {
            Conflict::CoachBusy { when, by: s.group_name.clone() }
        }));
    }
    Ok(())
}

/// Refuses a dated session that double-books its room or coach that day.
fn session_clash(c: &Connection, date: &str, start: &str, end: &str, room: &str, coach: &str, except: Option<&str>) -> Result<()> {
    let mut stmt = c.prepare_cached(&format!(
        "{SESSION_SELECT} WHERE s.status = 'scheduled' AND s.date = ?1 AND s.start_time < ?3 AND ?2 < s.end_time
           AND (s.room_id = ?4 OR s.coach_id = ?5) AND s.id IS NOT ?6"
    ))?;
    let clashes: Vec<ClassSession> =
        stmt.query_map(params![date, start, end, room, coach, except], session_from_row)?.collect::<rusqlite::Result<_>>()?;
    if let Some(s) = clashes.first() {
        let when = format!("{date} {}–{}", s.start_time, s.end_time);
        return Err(CoreError::Conflict(if s.room_id == room {
            Conflict::RoomBusy { when, by: s.group_name.clone() }
        } else {
            Conflict::CoachBusy { when, by: s.group_name.clone() }
        }));
    }
    Ok(())
}

/// 1 = Monday … 7 = Sunday, as the desk and the notices name it.
pub(crate) fn weekday_name(weekday: i64, lang: Lang) -> &'static str {
    let i = (weekday - 1).clamp(0, 6) as usize;
    match lang {
        Lang::ZhCn => ["周一", "周二", "周三", "周四", "周五", "周六", "周日"][i],
        Lang::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][i],
    }
}

fn log_session(w: &mut WriteTx, id: &str, op: &str) -> Result<ClassSession> {
    let s = load_session(w, id)?;
    w.log("class_session", id, op, None, &s)?;
    Ok(s)
}

fn has_attendance(c: &Connection, session_id: &str) -> Result<bool> {
    Ok(c.prepare_cached("SELECT EXISTS(SELECT 1 FROM attendance WHERE session_id = ?1)")?.query_row([session_id], |r| r.get(0))?)
}

impl Core {
    pub fn room_list(&self, session: &Session) -> Result<Vec<Room>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut stmt = c.prepare("SELECT id, name, capacity, archived FROM rooms ORDER BY archived, name")?;
            let rows = stmt
                .query_map([], |r| Ok(Room { id: r.get("id")?, name: r.get("name")?, capacity: r.get("capacity")?, archived: r.get("archived")? }))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    pub fn room_create(&self, session: &Session, input: RoomInput) -> Result<Room> {
        session.require(Action::ManageTimetable)?;
        let name = validate::required_text(Field::Room, &input.name, 20)?;
        let capacity = validate::int_in(Field::Capacity, input.capacity, 1, 500)?;
        self.write(session, |w| {
            let id = crate::new_id();
            w.execute(
                "INSERT INTO rooms (id, name, capacity, archived, created_at, updated_at) VALUES (?1, ?2, ?3, 0, ?4, ?4)",
                params![id, name, capacity, w.now_text()],
            )?;
            let room = Room { id: id.clone(), name: name.clone(), capacity, archived: false };
            w.log("room", &id, "create", None, &room)?;
            Ok(room)
        })
    }

    pub fn group_list(&self, session: &Session) -> Result<Vec<ClassGroup>> {
        session.require(Action::ViewMembers)?;
        let today = self.today().to_string();
        self.read(|c| {
            let ids: Vec<String> = c.prepare("SELECT id FROM class_groups ORDER BY archived, name")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            ids.iter().map(|id| load_group(c, id, &today)).collect()
        })
    }

    pub fn group_create(&self, session: &Session, input: ClassGroupInput) -> Result<ClassGroup> {
        session.require(Action::ManageTimetable)?;
        let name = validate::required_text(Field::ClassGroup, &input.name, 30)?;
        let course = validate::optional_text(Field::ClassGroup, &input.course, 30)?;
        let level = validate::optional_text(Field::Rank, &input.level, 20)?;
        let capacity = validate::int_in(Field::Capacity, input.capacity, 1, 500)?;
        self.write(session, |w| {
            if let Some(coach) = input.coach_id.as_deref().filter(|s| !s.is_empty()) {
                check_coach(w, coach)?;
            }
            let id = crate::new_id();
            w.execute(
                "INSERT INTO class_groups (id, name, course, level, coach_id, capacity, archived, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?7)",
                params![id, name, course, level, input.coach_id.as_deref().filter(|s| !s.is_empty()), capacity, w.now_text()],
            )?;
            let g = load_group(w, &id, &w.today().to_string())?;
            w.log("class_group", &id, "create", None, &g)?;
            Ok(g)
        })
    }

    /// Puts a member in a class group from `start_date` (default today).
    /// Adds a member to a class group from `start_date` (today when none). A full class
    /// (its size on that date — the members on its roll call — at its capacity) is
    /// refused unless the desk confirmed (`confirm_full`); the addition is then logged as
    /// over capacity.
    pub fn group_add_member(&self, session: &Session, group_id: &str, member_id: &str, start_date: Option<String>, confirm_full: bool) -> Result<GroupMember> {
        session.require(Action::EditMembers)?;
        let start = validate::optional_date(Field::StartDate, &start_date)?;
        self.write(session, |w| {
            let start = start.unwrap_or(w.today());
            let group = load_group(w, group_id, &start.to_string())?;
            let m = crate::members::load_member(w, member_id)?;
            if m.status == "applicant" {
                return Err(CoreError::Conflict(Conflict::MemberNotApproved));
            }
            let already: bool = w.query_row(
                "SELECT EXISTS(SELECT 1 FROM group_members WHERE group_id = ?1 AND member_id = ?2 AND (end_date IS NULL OR end_date >= ?3))",
                params![group_id, member_id, start.to_string()],
                |r| r.get(0),
            )?;
            if already {
                return Err(CoreError::Conflict(Conflict::AlreadyInGroup));
            }
            let full = group.size >= group.capacity;
            if full && !confirm_full {
                return Err(CoreError::Conflict(Conflict::GroupFull { capacity: group.capacity, members: group.size }));
            }
            let id = crate::new_id();
            w.execute(
                "INSERT INTO group_members (id, group_id, member_id, start_date, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, group_id, member_id, start.to_string(), w.now_text()],
            )?;
            let gm = group_member(w, &id)?;
            w.log("group_member", &id, if full { "join_over_capacity" } else { "join" }, Some(member_id), &gm)?;
            Ok(gm)
        })
    }

    /// Takes a member out of a group from `end_date` on (the last day they belong).
    pub fn group_remove_member(&self, session: &Session, group_member_id: &str, end_date: Option<String>) -> Result<GroupMember> {
        session.require(Action::EditMembers)?;
        let end = validate::optional_date(Field::ToDate, &end_date)?;
        self.write(session, |w| {
            let gm = group_member(w, group_member_id)?;
            let end = end.unwrap_or(w.today());
            if end.to_string() < gm.start_date {
                return Err(CoreError::invalid(Field::ToDate, Rule::NotBefore { other: Field::StartDate }));
            }
            w.execute("UPDATE group_members SET end_date = ?2 WHERE id = ?1", params![group_member_id, end.to_string()])?;
            let gm = group_member(w, group_member_id)?;
            w.log("group_member", group_member_id, "leave", Some(&gm.member_id.clone()), &gm)?;
            Ok(gm)
        })
    }

    pub fn group_members(&self, session: &Session, group_id: &str, on: Option<String>) -> Result<Vec<GroupMember>> {
        session.require(Action::ViewMembers)?;
        let on = validate::optional_date(Field::Date, &on)?.unwrap_or(self.today()).to_string();
        self.read(|c| {
            let ids: Vec<String> = c
                .prepare(
                    "SELECT gm.id FROM group_members gm JOIN members m ON m.id = gm.member_id
                     WHERE gm.group_id = ?1 AND gm.start_date <= ?2 AND (gm.end_date IS NULL OR gm.end_date >= ?2) ORDER BY m.member_no",
                )?
                .query_map(params![group_id, on], |r| r.get("id"))?
                .collect::<rusqlite::Result<_>>()?;
            ids.iter().map(|id| group_member(c, id)).collect()
        })
    }

    pub fn slot_list(&self, session: &Session, season_id: Option<String>) -> Result<Vec<Slot>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{SLOT_SELECT} WHERE t.active = 1 AND t.season_id IS ?1 ORDER BY t.weekday, t.start_time, r.name"))?;
            let rows = stmt.query_map([season_id], slot_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// Adds a weekly slot to the base timetable (or to a season's), refusing clashes.
    pub fn slot_create(&self, session: &Session, input: SlotInput) -> Result<Slot> {
        session.require(Action::ManageTimetable)?;
        validate::int_in(Field::Weekday, input.weekday, 1, 7)?;
        let (start, end) = times(&input.start_time, &input.end_time)?;
        self.write(session, |w| {
            check_room(w, &input.room_id)?;
            check_coach(w, &input.coach_id)?;
            load_group(w, &input.group_id, &w.today().to_string())?;
            if let Some(season) = &input.season_id {
                w.query_row("SELECT id FROM seasons WHERE id = ?1", [season], |r| r.get::<_, String>(0))
                    .optional()?
                    .ok_or(CoreError::NotFound(Field::Season))?;
            }
            slot_clash(w, &input, &start, &end, None)?;
            let id = crate::new_id();
            w.execute(
                "INSERT INTO timetable_slots (id, season_id, weekday, start_time, end_time, room_id, coach_id, group_id, active, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?9)",
                params![id, input.season_id, input.weekday, start, end, input.room_id, input.coach_id, input.group_id, w.now_text()],
            )?;
            let slot = load_slot(w, &id)?;
            w.log("timetable_slot", &id, "create", None, &slot)?;
            Ok(slot)
        })
    }

    /// Retires a slot; the next regeneration removes its future sessions that have no
    /// attendance.
    pub fn slot_deactivate(&self, session: &Session, slot_id: &str) -> Result<Slot> {
        session.require(Action::ManageTimetable)?;
        self.write(session, |w| {
            load_slot(w, slot_id)?;
            w.execute("UPDATE timetable_slots SET active = 0, updated_at = ?2 WHERE id = ?1", params![slot_id, w.now_text()])?;
            let slot = load_slot(w, slot_id)?;
            w.log("timetable_slot", slot_id, "deactivate", None, &slot)?;
            Ok(slot)
        })
    }

    pub fn season_create(&self, session: &Session, input: Season) -> Result<Season> {
        session.require(Action::ManageTimetable)?;
        let name = validate::required_text(Field::Season, &input.name, 20)?;
        let (from, to) = validate::date_range(&input.from_date, &input.to_date)?;
        self.write(session, |w| {
            let overlaps: bool = w.query_row(
                "SELECT EXISTS(SELECT 1 FROM seasons WHERE from_date <= ?2 AND to_date >= ?1)",
                params![from.to_string(), to.to_string()],
                |r| r.get(0),
            )?;
            if overlaps {
                return Err(CoreError::Conflict(Conflict::SeasonOverlaps));
            }
            let s = Season { id: crate::new_id(), name: name.clone(), from_date: from.to_string(), to_date: to.to_string() };
            w.execute(
                "INSERT INTO seasons (id, name, from_date, to_date, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.id, s.name, s.from_date, s.to_date, w.now_text()],
            )?;
            w.log("season", &s.id, "create", None, &s)?;
            Ok(s)
        })
    }

    /// Closes the days: the sessions from today on in them, not yet held, are cancelled
    /// (as by hand, so regeneration keeps them so) and, if chosen, the families expected
    /// are told once. One transaction.
    pub fn closure_create(&self, session: &Session, input: ClosureInput) -> Result<Closure> {
        session.require(Action::ManageTimetable)?;
        let name = validate::required_text(Field::Closure, &input.name, 20)?;
        let (from, to) = validate::date_range(&input.from_date, &input.to_date)?;
        self.write(session, |w| {
            let cl = Closure { id: crate::new_id(), name: name.clone(), from_date: from.to_string(), to_date: to.to_string() };
            w.execute(
                "INSERT INTO closures (id, name, from_date, to_date, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![cl.id, cl.name, cl.from_date, cl.to_date, w.now_text()],
            )?;
            w.log("closure", &cl.id, "create", None, &cl)?;
            let today = w.today();
            let affected = crate::notify::closures::affected(w, today, &name, from, to)?;
            for s in &affected.sessions {
                w.execute(
                    "UPDATE class_sessions SET status = 'cancelled', is_override = 1, note = ?2, updated_at = ?3 WHERE id = ?1",
                    params![s.id, name, w.now_text()],
                )?;
                log_session(w, &s.id, "cancel")?;
            }
            if input.notify {
                crate::notify::closures::queue(w, &cl.id, &affected)?;
            }
            Ok(cl)
        })
    }

    /// What closing the days would cancel and whom it would tell, before it is saved.
    pub fn closure_preview(&self, session: &Session, input: &ClosureInput) -> Result<crate::notify::closures::ClosurePreview> {
        session.require(Action::ManageTimetable)?;
        let name = validate::required_text(Field::Closure, &input.name, 20)?;
        let (from, to) = validate::date_range(&input.from_date, &input.to_date)?;
        let today = self.today();
        self.read(|c| crate::notify::closures::preview(c, &crate::notify::closures::affected(c, today, &name, from, to)?))
    }

    /// Whom the season's timetable changes and what they would be told, before it goes.
    pub fn season_notice_preview(&self, session: &Session, season_id: &str) -> Result<crate::notify::seasons::SeasonNoticePreview> {
        session.require(Action::ManageTimetable)?;
        let today = self.today();
        self.read(|c| {
            let season = crate::notify::seasons::load_season(c, season_id)?;
            crate::notify::seasons::preview(c, &crate::notify::seasons::affected(c, today, &season)?)
        })
    }

    /// Tells the families whose classes the season changes (once per child and
    /// classes told); how many notices were queued. One transaction.
    pub fn season_notify(&self, session: &Session, season_id: &str) -> Result<i64> {
        session.require(Action::ManageTimetable)?;
        self.write(session, |w| {
            let season = crate::notify::seasons::load_season(w, season_id)?;
            let today = w.today();
            let affected = crate::notify::seasons::affected(w, today, &season)?;
            crate::notify::seasons::queue(w, &affected)
        })
    }

    pub fn season_list(&self, session: &Session) -> Result<Vec<Season>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut stmt = c.prepare("SELECT id, name, from_date, to_date FROM seasons ORDER BY from_date")?;
            let rows = stmt
                .query_map([], |r| Ok(Season { id: r.get("id")?, name: r.get("name")?, from_date: r.get("from_date")?, to_date: r.get("to_date")? }))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    pub fn closure_list(&self, session: &Session) -> Result<Vec<Closure>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut stmt = c.prepare("SELECT id, name, from_date, to_date FROM closures ORDER BY from_date")?;
            let rows = stmt
                .query_map([], |r| Ok(Closure { id: r.get("id")?, name: r.get("name")?, from_date: r.get("from_date")?, to_date: r.get("to_date")? }))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// Generates the dated sessions for `[from, to]` from the timetable in force each
    /// day (a season's if one covers the day, else the base), skipping closures.
    /// Idempotent: existing sessions are matched by slot and original date.
    pub fn sessions_generate(&self, session: &Session, from: &str, to: &str) -> Result<GenerateSummary> {
        session.require(Action::ManageTimetable)?;
        let (from, to) = validate::date_range(from, to)?;
        if (to - from).num_days() >= MAX_GENERATE_DAYS {
            return Err(CoreError::invalid(Field::ToDate, Rule::IntRange { min: 1, max: MAX_GENERATE_DAYS }));
        }
        self.write(session, |w| {
            let mut summary = GenerateSummary::default();
            let mut day = from;
            while day <= to {
                generate_day(w, day, &mut summary)?;
                day = day.succ_opt().unwrap_or(day);
                if day == NaiveDate::MAX {
                    break;
                }
            }
            Ok(summary)
        })
    }

    pub fn session_list(&self, session: &Session, filter: SessionFilter) -> Result<Vec<ClassSession>> {
        session.require(Action::ViewMembers)?;
        let (from, to) = validate::date_range(&filter.from_date, &filter.to_date)?;
        // A coach sees his own classes.
        let coach = if session.role == Role::Coach { Some(session.staff_id.clone()) } else { filter.coach_id.filter(|s| !s.is_empty()) };
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "{SESSION_SELECT} WHERE s.date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.coach_id = ?3)
                   AND (?4 IS NULL OR s.room_id = ?4) AND (?5 IS NULL OR s.group_id = ?5)
                   AND (?6 IS NULL OR EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = s.group_id AND gm.member_id = ?6
                                               AND gm.start_date <= s.date AND (gm.end_date IS NULL OR gm.end_date >= s.date)))
                 ORDER BY s.date, s.start_time, r.name"
            ))?;
            let rows = stmt
                .query_map(
                    params![
                        from.to_string(),
                        to.to_string(),
                        coach,
                        filter.room_id.filter(|s| !s.is_empty()),
                        filter.group_id.filter(|s| !s.is_empty()),
                        filter.member_id.filter(|s| !s.is_empty())
                    ],
                    session_from_row,
                )?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    pub fn session_get(&self, session: &Session, session_id: &str) -> Result<ClassSession> {
        session.require(Action::ViewMembers)?;
        self.read(|c| load_session(c, session_id))
    }

    /// A one-off change: move (date, time, room), substitute coach, or cancel. The
    /// session is marked as changed by hand, so regeneration leaves it alone.
    pub fn session_change(&self, session: &Session, session_id: &str, change: SessionChange) -> Result<ClassSession> {
        session.require(Action::ManageTimetable)?;
        let note = validate::optional_text(Field::Notes, &change.note, 100)?;
        let date = validate::optional_date(Field::Date, &change.date)?;
        self.write(session, |w| {
            let (before, after) = proposed(w, session_id, &change, date, &note)?;
            if after.room_id != before.room_id {
                check_room(w, &after.room_id)?;
            }
            if after.coach_id != before.coach_id {
                check_coach(w, &after.coach_id)?;
            }
            if after.status == "scheduled" {
                session_clash(w, &after.date, &after.start_time, &after.end_time, &after.room_id, &after.coach_id, Some(session_id))?;
            }
            // Who was expected, read before the change moves the session off their day.
            let notices = if change.notify { crate::notify::session_changes::planned(w, &before, &after)? } else { None };
            w.execute(
                "UPDATE class_sessions SET date = ?2, start_time = ?3, end_time = ?4, room_id = ?5, coach_id = ?6, status = ?7,
                    is_override = 1, note = ?8, updated_at = ?9 WHERE id = ?1",
                params![session_id, after.date, after.start_time, after.end_time, after.room_id, after.coach_id, after.status, note, w.now_text()],
            )?;
            let logged = log_session(w, session_id, if change.cancel { "cancel" } else { "change" })?;
            crate::notify::session_changes::queue(w, &after, &notices)?;
            Ok(logged)
        })
    }

    /// What a change would tell the families, before it is made: how many families and
    /// guardians, and the text the first one gets (the dialog shows it).
    pub fn session_change_preview(&self, session: &Session, session_id: &str, change: SessionChange) -> Result<crate::notify::session_changes::ChangePreview> {
        session.require(Action::ManageTimetable)?;
        let note = validate::optional_text(Field::Notes, &change.note, 100)?;
        let date = validate::optional_date(Field::Date, &change.date)?;
        self.read(|c| {
            let (before, after) = proposed(c, session_id, &change, date, &note)?;
            crate::notify::session_changes::preview(c, &crate::notify::session_changes::planned(c, &before, &after)?)
        })
    }
}

/// The session as it is and as `change` would make it (names looked up; nothing checked
/// beyond the times: the write checks rooms, coaches and clashes).
fn proposed(c: &Connection, session_id: &str, change: &SessionChange, date: Option<NaiveDate>, note: &str) -> Result<(ClassSession, ClassSession)> {
    let before = load_session(c, session_id)?;
    let mut after = before.clone();
    if let Some(d) = date {
        after.date = date_text(d);
    }
    let (start, end) = times(change.start_time.as_deref().unwrap_or(&before.start_time), change.end_time.as_deref().unwrap_or(&before.end_time))?;
    (after.start_time, after.end_time) = (start, end);
    if let Some(room) = change.room_id.clone().filter(|r| !r.is_empty()) {
        after.room_name = c.query_row("SELECT name FROM rooms WHERE id = ?1", [&room], |r| r.get(0)).optional()?.unwrap_or_default();
        after.room_id = room;
    }
    if let Some(coach) = change.coach_id.clone().filter(|r| !r.is_empty()) {
        after.coach_name = c.query_row("SELECT display_name FROM staff WHERE id = ?1", [&coach], |r| r.get(0)).optional()?.unwrap_or_default();
        after.coach_id = coach;
    }
    after.status = if change.cancel { "cancelled".into() } else { "scheduled".into() };
    after.note = note.to_string();
    Ok((before, after))
}

fn group_member(c: &Connection, id: &str) -> Result<GroupMember> {
    c.query_row(
        "SELECT gm.id, gm.group_id, gm.member_id, m.name, m.member_no, gm.start_date, gm.end_date
         FROM group_members gm JOIN members m ON m.id = gm.member_id WHERE gm.id = ?1",
        [id],
        |r| {
            Ok(GroupMember {
                id: r.get("id")?,
                group_id: r.get("group_id")?,
                member_id: r.get("member_id")?,
                member_name: r.get("name")?,
                member_no: r.get("member_no")?,
                start_date: r.get("start_date")?,
                end_date: r.get("end_date")?,
            })
        },
    )
    .optional()?
    .ok_or(CoreError::NotFound(Field::ClassGroup))
}

fn generate_day(w: &mut WriteTx, day: NaiveDate, summary: &mut GenerateSummary) -> Result<()> {
    let d = day.to_string();
    let closed: bool = w
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM closures WHERE from_date <= ?1 AND to_date >= ?1)")?
        .query_row([&d], |r| r.get(0))?;
    let season: Option<String> = w
        .prepare_cached("SELECT id FROM seasons WHERE from_date <= ?1 AND to_date >= ?1")?
        .query_row([&d], |r| r.get(0))
        .optional()?;
    let weekday = day.weekday().number_from_monday() as i64;
    let slots: Vec<Slot> = if closed {
        vec![]
    } else {
        w.prepare_cached(&format!("{SLOT_SELECT} WHERE t.active = 1 AND t.weekday = ?1 AND t.season_id IS ?2"))?
            .query_map(params![weekday, season], slot_from_row)?
            .collect::<rusqlite::Result<_>>()?
    };
    // Sessions this day's slots produced earlier (matched on the day they were made for).
    let existing: Vec<(String, String, bool)> = w
        .prepare_cached("SELECT id, slot_id, is_override FROM class_sessions WHERE origin_date = ?1 AND slot_id IS NOT NULL")?
        .query_map([&d], |r| Ok((r.get("id")?, r.get("slot_id")?, r.get("is_override")?)))?
        .collect::<rusqlite::Result<_>>()?;
    for slot in &slots {
        match existing.iter().find(|e| e.1 == slot.id) {
            None => {
                let id = crate::new_id();
                w.execute(
                    "INSERT INTO class_sessions (id, slot_id, origin_date, group_id, date, start_time, end_time, room_id, coach_id, status,
                        is_override, note, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?6, ?7, ?8, 'scheduled', 0, '', ?9, ?9)",
                    params![id, slot.id, d, slot.group_id, slot.start_time, slot.end_time, slot.room_id, slot.coach_id, w.now_text()],
                )?;
                log_session(w, &id, "create")?;
                summary.created += 1;
            }
            Some((id, _, false)) if !has_attendance(w, id)? => {
                // Follow an edited slot, unless the session was changed by hand or held.
                let changed = w.execute(
                    "UPDATE class_sessions SET start_time = ?2, end_time = ?3, room_id = ?4, coach_id = ?5, group_id = ?6, updated_at = ?7
                     WHERE id = ?1 AND (start_time, end_time, room_id, coach_id, group_id) IS NOT (?2, ?3, ?4, ?5, ?6)",
                    params![id, slot.start_time, slot.end_time, slot.room_id, slot.coach_id, slot.group_id, w.now_text()],
                )?;
                if changed > 0 {
                    log_session(w, id, "update")?;
                    summary.updated += 1;
                }
            }
            Some(_) => {}
        }
    }
    for (id, slot_id, is_override) in &existing {
        if slots.iter().any(|s| &s.id == slot_id) {
            continue;
        }
        let attended = has_attendance(w, id)?;
        let requests: bool = w.query_row(
            "SELECT EXISTS(SELECT 1 FROM leave_requests WHERE session_id = ?1) OR EXISTS(SELECT 1 FROM trial_requests WHERE session_id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        if *is_override || attended || requests {
            summary.kept += 1;
            continue;
        }
        let s = load_session(w, id)?;
        w.execute("DELETE FROM class_sessions WHERE id = ?1", [id])?;
        w.log("class_session", id, "delete", None, &s)?;
        summary.removed += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_normalised() {
        assert_eq!(parse_time(Field::StartTime, "9:05").unwrap(), "09:05");
        assert_eq!(parse_time(Field::StartTime, "１８：３０").unwrap(), "18:30");
        for bad in ["24:00", "18:60", "1830", "18:5x", "18:5", "", "-1:00"] {
            assert!(parse_time(Field::StartTime, bad).is_err(), "{bad}");
        }
        assert_eq!(times("19:00", "18:00").unwrap_err().code(), "validation.not_before");
    }
}
