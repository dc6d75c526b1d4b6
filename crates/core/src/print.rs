//! Printing 打印: what goes on each sheet, in the clerk's language. The layout itself is
//! `centredesk-pdf`'s; this module reads the data with the same permission checks as the
//! screens that show it and hands over plain strings.

use crate::attendance::{Roster, RosterEntry};
use crate::auth::Session;
use crate::db::Core;
use crate::error::{Conflict, CoreError, Field, Lang, Result};
use crate::timetable::{ClassSession, SessionFilter};
use crate::validate;
use centredesk_pdf::{
    receipt_pdf, roster_pdf, week_pdf, PageFoot, Pdf, ReceiptSheet, RosterColumns, RosterRow, RosterSheet, WeekEntry, WeekRow,
    WeekSheet,
};
use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;
use ts_rs::TS;

/// A PDF ready to open or save.
#[derive(Debug, Clone)]
pub struct PrintedPdf {
    /// A suggested file name, e.g. `点名表-黄带班-2026-11-28.pdf`.
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub pages: usize,
    /// Characters the font lacks: printed as □, shown to the clerk as a warning.
    pub missing_glyphs: Vec<char>,
}

/// How a weekly timetable sheet is arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum WeekLayout {
    ByRoom,
    ByCoach,
}

fn weekday(date: NaiveDate, lang: Lang) -> &'static str {
    crate::timetable::weekday_name(i64::from(date.weekday().number_from_monday()), lang)
}

/// File names keep to characters every OS accepts.
fn file_name(parts: &[&str]) -> String {
    let joined = parts.join("-");
    let safe: String = joined.chars().map(|c| if "\\/:*?\"<>|".contains(c) || c.is_control() { '_' } else { c }).collect();
    format!("{safe}.pdf")
}

fn printed(core: &Core, lang: Lang) -> (PageFoot, String) {
    let local = core.local_minute();
    let foot = PageFoot {
        page_template: lang.pick("第 {page} / {pages} 页", "Page {page} / {pages}"),
        // The version too: support can tell which build printed a sheet.
        printed: crate::made_by(&lang.pick("打印于", "Printed"), &local),
        created_unix: core.now().timestamp(),
    };
    (foot, local)
}

fn finish(file_name: String, pdf: Pdf) -> PrintedPdf {
    PrintedPdf { file_name, pages: pdf.pages, missing_glyphs: pdf.missing.into_iter().collect(), bytes: pdf.bytes }
}

fn session_title(s: &ClassSession, lang: Lang) -> String {
    let title = format!("{} · {}", lang.pick("点名表", "Class roster"), s.group_name);
    if s.status == "cancelled" {
        format!("{title} {}", lang.pick("（已取消）", "(cancelled)"))
    } else {
        title
    }
}

fn roster_sheet(centre: &str, roster: &Roster, lang: Lang) -> RosterSheet {
    let s = &roster.session;
    let date = NaiveDate::parse_from_str(&s.date, "%Y-%m-%d").ok();
    let expected = roster.entries.iter().filter(|e| e.expected).count();
    RosterSheet {
        centre: centre.to_string(),
        title: session_title(s, lang),
        details: vec![
            (lang.pick("日期", "Date"), format!("{} {}", s.date, date.map(|d| weekday(d, lang)).unwrap_or(""))),
            (lang.pick("时间", "Time"), format!("{}–{}", s.start_time, s.end_time)),
            (lang.pick("教室", "Room"), s.room_name.clone()),
            (lang.pick("教练", "Coach"), s.coach_name.clone()),
            (lang.pick("人数", "Students"), format!("{expected} / {}", roster.capacity)),
        ],
        columns: RosterColumns {
            no: lang.pick("序号", "No."),
            name: lang.pick("姓名", "Name"),
            member_no: lang.pick("会员号", "Member no."),
            phone: lang.pick("家长电话", "Guardian phone"),
            sign_in: lang.pick("签到", "Sign-in"),
            marks: lang.pick("标记", "Mark"),
            notes: lang.pick("备注", "Notes"),
        },
        rows: roster.entries.iter().map(|e| roster_row(e, lang)).collect(),
    }
}

fn roster_row(e: &RosterEntry, lang: Lang) -> RosterRow {
    let marks = if e.on_leave {
        lang.pick("请假", "Leave")
    } else if e.trial {
        lang.pick("试课", "Trial")
    } else if !e.expected {
        lang.pick("补课", "Make-up")
    } else {
        String::new()
    };
    let mut notes = Vec::new();
    if e.member_id.is_some() && !e.covered {
        notes.push(lang.pick("无有效课时，请续费", "No lessons left: renew"));
    } else if e.lessons_remaining.is_some_and(|n| n <= 2) {
        notes.push(match lang {
            Lang::ZhCn => format!("剩 {} 课时", e.lessons_remaining.unwrap_or(0)),
            Lang::En => format!("{} lessons left", e.lessons_remaining.unwrap_or(0)),
        });
    }
    if !e.comment.is_empty() {
        notes.push(e.comment.clone());
    }
    RosterRow {
        name: e.name.clone(),
        member_no: e.member_no.clone().unwrap_or_default(),
        phone: e.guardian_phone.clone().unwrap_or_default(),
        marks,
        notes: notes.join("；"),
    }
}

/// Monday of the week holding `date`, and the Sunday after.
fn week_of(field: Field, date: &str) -> Result<(NaiveDate, NaiveDate)> {
    let d = validate::date(field, date)?;
    let monday = d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
    Ok((monday, monday + Duration::days(6)))
}

impl Core {
    /// The roster 点名表 of one session.
    pub fn print_roster(&self, session: &Session, session_id: &str, lang: Lang) -> Result<PrintedPdf> {
        let roster = self.roster(session, session_id)?;
        let centre = self.settings()?.centre_name;
        let (foot, _) = printed(self, lang);
        let s = &roster.session;
        let pdf = roster_pdf(&session_title(s, lang), &[roster_sheet(&centre, &roster, lang)], &foot);
        Ok(finish(file_name(&[&lang.pick("点名表", "roster"), &s.group_name, &s.date, &s.start_time.replace(':', "")]), pdf))
    }

    /// Every roster of one class group's week (Monday to Sunday around `week_of`), each
    /// on its own pages; cancelled sessions are left out.
    pub fn print_group_week(&self, session: &Session, group_id: &str, week_of_date: &str, lang: Lang) -> Result<PrintedPdf> {
        let (monday, sunday) = week_of(Field::Date, week_of_date)?;
        let filter = SessionFilter { from_date: monday.to_string(), to_date: sunday.to_string(), group_id: Some(group_id.to_string()), ..Default::default() };
        let sessions: Vec<ClassSession> = self.session_list(session, filter)?.into_iter().filter(|s| s.status != "cancelled").collect();
        let Some(first) = sessions.first() else {
            return Err(CoreError::Conflict(Conflict::NothingToPrint));
        };
        let group_name = first.group_name.clone();
        let centre = self.settings()?.centre_name;
        let mut sheets = Vec::with_capacity(sessions.len());
        for s in &sessions {
            sheets.push(roster_sheet(&centre, &self.roster(session, &s.id)?, lang));
        }
        let (foot, _) = printed(self, lang);
        let title = format!("{} · {group_name} · {monday} – {sunday}", lang.pick("点名表", "Class rosters"));
        let pdf = roster_pdf(&title, &sheets, &foot);
        Ok(finish(file_name(&[&lang.pick("点名表", "rosters"), &group_name, &monday.to_string()]), pdf))
    }

    /// The week's timetable for the notice board: a row per room (or coach), a column
    /// per weekday. Cancelled sessions stay on it, shaded and struck through, so
    /// parents see the class is off.
    pub fn print_timetable_week(&self, session: &Session, week_of_date: &str, layout: WeekLayout, lang: Lang) -> Result<PrintedPdf> {
        let (monday, sunday) = week_of(Field::Date, week_of_date)?;
        let filter = SessionFilter { from_date: monday.to_string(), to_date: sunday.to_string(), ..Default::default() };
        let sessions = self.session_list(session, filter)?;
        let key = |s: &ClassSession| match layout {
            WeekLayout::ByRoom => s.room_name.clone(),
            WeekLayout::ByCoach => s.coach_name.clone(),
        };
        let mut labels: Vec<String> = sessions.iter().map(key).collect();
        labels.sort();
        labels.dedup();
        let rows = labels
            .into_iter()
            .map(|label| {
                let mut cells = vec![Vec::new(); 7];
                for s in sessions.iter().filter(|s| key(s) == label) {
                    let Ok(date) = NaiveDate::parse_from_str(&s.date, "%Y-%m-%d") else { continue };
                    cells[date.weekday().num_days_from_monday() as usize].push(WeekEntry {
                        time: format!("{}–{}", s.start_time, s.end_time),
                        title: s.group_name.clone(),
                        detail: match layout {
                            WeekLayout::ByRoom => s.coach_name.clone(),
                            WeekLayout::ByCoach => s.room_name.clone(),
                        },
                        cancelled: s.status == "cancelled",
                    });
                }
                WeekRow { label, cells }
            })
            .collect();
        let days = (0..7)
            .map(|i| {
                let d = monday + Duration::days(i);
                format!("{} {}", weekday(d, lang), d.format("%m-%d"))
            })
            .collect();
        let title = match lang {
            Lang::ZhCn => format!("课表 {monday} 至 {sunday}"),
            Lang::En => format!("Timetable {monday} to {sunday}"),
        };
        let sheet = WeekSheet {
            centre: self.settings()?.centre_name,
            title,
            row_head: match layout {
                WeekLayout::ByRoom => lang.pick("教室", "Room"),
                WeekLayout::ByCoach => lang.pick("教练", "Coach"),
            },
            days,
            rows,
            empty: lang.pick("本周没有课", "No classes this week"),
        };
        let (foot, _) = printed(self, lang);
        let pdf = week_pdf(&sheet, &foot);
        Ok(finish(file_name(&[&lang.pick("课表", "timetable"), &monday.to_string()]), pdf))
    }

    /// The receipt 收据 of one ledger entry (payment, refund or reversal).
    pub fn print_receipt(&self, session: &Session, payment_id: &str, lang: Lang) -> Result<PrintedPdf> {
        let r = self.receipt(session, payment_id, lang)?;
        let p = &r.payment;
        let (foot, _) = printed(self, lang);
        // The same lines as the screen's receipt (payments::receipt_lines).
        let lines = r.lines.iter().map(|l| (l.label.clone(), l.value.clone())).collect();
        let sheet = ReceiptSheet {
            centre: r.centre_name.clone(),
            title: r.title.clone(),
            number: format!("No. {}", p.receipt_no),
            lines,
            amount_label: lang.pick("金额", "Amount"),
            amount: p.amount.display_yuan(),
            // Chinese receipts carry the amount in capitals against alteration.
            amount_words: match lang {
                Lang::ZhCn => format!("人民币{}", p.amount.chinese_capitals()),
                Lang::En => String::new(),
            },
            void_mark: if p.reversed { lang.pick("已冲正 作废", "REVERSED — VOID") } else { String::new() },
            signatures: vec![lang.pick("经办人", "Staff"), lang.pick("家长", "Guardian")],
        };
        let pdf = receipt_pdf(&sheet, &foot);
        Ok(finish(file_name(&[&lang.pick("收据", "receipt"), &p.receipt_no]), pdf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_everywhere() {
        assert_eq!(file_name(&["点名表", "A/B班", "2026-11-28"]), "点名表-A_B班-2026-11-28.pdf");
    }

    #[test]
    fn a_week_runs_monday_to_sunday() {
        let (m, s) = week_of(Field::Date, "2026-11-25").unwrap();
        assert_eq!((m.to_string(), s.to_string()), ("2026-11-23".to_string(), "2026-11-29".to_string()));
        let (m, _) = week_of(Field::Date, "2026-11-29").unwrap();
        assert_eq!(m.to_string(), "2026-11-23");
        assert!(week_of(Field::Date, "2026-13-01").is_err());
    }
}
