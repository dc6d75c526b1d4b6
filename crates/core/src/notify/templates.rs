//! Message templates 通知模板: one per notice kind and language, with `{placeholder}`s
//! filled at queue time. The built-in texts are below; a manager's rewrite (stored in
//! `notice_templates`) replaces one for that kind and language. The centre chooses the
//! language its notices go out in (`notice_lang`).

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{CoreError, Field, Lang, Result, Rule};
use crate::validate;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// (kind, placeholders it may use, zh-CN, en). Every placeholder a kind lists is filled
/// when that kind is queued.
pub const BUILT_IN: &[(&str, &[&str], &str, &str)] = &[
    (
        "arrival",
        &["centre", "member", "time", "group", "start", "end", "room"],
        "【{centre}】家长您好，{member}已于 {time} 到馆，参加「{group}」（{start}–{end}，{room}）。",
        "[{centre}] Hello, {member} arrived at {time} for \"{group}\" ({start}–{end}, {room}).",
    ),
    (
        "attended",
        &["centre", "member", "date", "group", "start", "end"],
        "【{centre}】家长您好，{member}已出勤 {date} {start}–{end}「{group}」（点名记录）。",
        "[{centre}] Hello, {member} attended \"{group}\" on {date} {start}–{end} (roll call).",
    ),
    (
        "leave_withdrawn",
        &["centre", "member", "date", "start", "end", "group", "outcome"],
        "【{centre}】家长您好，{member} {date} {start}–{end}「{group}」的请假已取消：{outcome}。",
        "[{centre}] Hello, {member}'s leave for \"{group}\" on {date} {start}–{end} is withdrawn: {outcome}.",
    ),
    (
        "departure",
        &["centre", "member", "time", "group"],
        "【{centre}】家长您好，{member}已于 {time} 下课离馆（「{group}」）。",
        "[{centre}] Hello, {member} left at {time} after \"{group}\".",
    ),
    (
        "comment",
        &["centre", "member", "date", "coach", "comment"],
        "【{centre}】{member} {date} 课堂点评（{coach}教练）：{comment}",
        "[{centre}] {member}, {date}, coach {coach}'s comment: {comment}",
    ),
    (
        "leave_confirmed",
        &["centre", "member", "date", "start", "end", "group"],
        "【{centre}】家长您好，已为{member}登记 {date} {start}–{end}「{group}」的请假，本次不扣课时。",
        "[{centre}] Hello, {member}'s leave for \"{group}\" on {date} {start}–{end} is recorded; no lesson is used.",
    ),
    (
        "trial_approved",
        &["centre", "member", "date", "start", "end", "group", "room"],
        "【{centre}】您好，{member}的试课已安排：{date} {start}–{end}「{group}」，地点{room}。欢迎准时到馆！",
        "[{centre}] Hello, {member}'s trial class is booked: \"{group}\" on {date} {start}–{end}, room {room}. See you there!",
    ),
    (
        "trial_declined",
        &["centre", "member", "date", "group"],
        "【{centre}】您好，很抱歉 {date}「{group}」的试课暂时无法安排，课程顾问会与您联系另约时间。",
        "[{centre}] Hello, sorry: the trial class \"{group}\" on {date} cannot take {member}; our consultant will call to find another time.",
    ),
    (
        "complaint_follow_up",
        &["centre", "member", "complaint_no", "topic", "handler"],
        "【{centre}】家长您好，感谢您关于「{topic}」的意见（编号 {complaint_no}）。我们已按与您商定的方案处理完毕，{handler}会与您联系回访；如仍有不满意，请随时告诉我们。",
        "[{centre}] Hello, thank you for your feedback about {topic} (no. {complaint_no}). We have done what we agreed with you; {handler} will call to hear how it went. Please tell us any time if something is still not right.",
    ),
    (
        "renewal_due",
        &["centre", "member", "package", "end_date", "lessons_left"],
        "【{centre}】家长您好，{member}的「{package}」有效期至 {end_date}，剩余 {lessons_left} 课时，欢迎到前台办理续费。",
        "[{centre}] Hello, {member}'s \"{package}\" runs until {end_date} with {lessons_left} lessons left; renew at the front desk any time.",
    ),
    (
        "session_cancelled",
        &["centre", "member", "group", "date", "start", "end", "note"],
        "【{centre}】家长您好，{date} {start}–{end}「{group}」停课，{member}这次不用到馆，不扣课时。{note}",
        "[{centre}] Hello, \"{group}\" on {date} {start}–{end} is cancelled: {member} need not come, and no lesson is used. {note}",
    ),
    (
        "class_reminder",
        &["centre", "member", "group", "date", "start", "end", "room"],
        "【{centre}】家长您好，温馨提醒：{member} {date} {start}–{end} 有「{group}」，地点{room}。如不能来，请提前告诉我们。",
        "[{centre}] Hello, a reminder: {member} has \"{group}\" on {date} {start}–{end}, room {room}. If they cannot come, please tell us beforehand.",
    ),
    (
        "closure",
        &["centre", "member", "name", "days", "count", "lessons"],
        "【{centre}】家长您好，{days}（{name}）本馆停课，{member}这期间的 {count} 节课不上：{lessons}，不扣课时。",
        "[{centre}] Hello, the centre is closed {days} ({name}): {member}'s {count} lessons then do not take place ({lessons}), and no lesson is used.",
    ),
    (
        "season_timetable",
        &["centre", "member", "season", "days", "classes"],
        "【{centre}】家长您好，{season}（{days}）实行{season}课表，{member}这期间的课：{classes}。{season}结束后恢复原课表。",
        "[{centre}] Hello, during {season} ({days}) the {season} timetable applies. {member}'s classes then: {classes}. The usual timetable returns afterwards.",
    ),
    (
        "session_moved",
        &["centre", "member", "group", "old_date", "old_start", "date", "start", "end", "room", "note"],
        "【{centre}】家长您好，{member}原定 {old_date} {old_start} 的「{group}」调整为 {date} {start}–{end}，地点{room}。{note}",
        "[{centre}] Hello, {member}'s \"{group}\" on {old_date} at {old_start} moves to {date} {start}–{end}, room {room}. {note}",
    ),
    (
        "session_coach",
        &["centre", "member", "group", "date", "start", "coach", "note"],
        "【{centre}】家长您好，{member} {date} {start} 的「{group}」由{coach}教练代课。{note}",
        "[{centre}] Hello, coach {coach} takes {member}'s \"{group}\" on {date} at {start}. {note}",
    ),
    (
        "goods_sale",
        &["centre", "member", "goods", "quantity", "paid"],
        "【{centre}】家长您好，{member}已购买 {goods} ×{quantity}（{paid}）。",
        "[{centre}] Hello, {member} bought {goods} ×{quantity} ({paid}).",
    ),
    (
        "holiday",
        &["centre", "member", "holiday", "tier"],
        "【{centre}】值此{holiday}之际，{centre}全体老师祝{member}和家人节日快乐、阖家安康！",
        "[{centre}] Happy {holiday}! Everyone at {centre} sends {member} and the family warm wishes.",
    ),
    (
        "birthday",
        &["centre", "member", "tier", "tier_wish"],
        "【{centre}】{member}，生日快乐！{centre}全体老师祝你新的一岁健康成长、天天进步！{tier_wish}",
        "[{centre}] Happy birthday, {member}! Everyone at {centre} wishes you a healthy, happy year.{tier_wish}",
    ),
];

pub fn kinds() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|t| t.0)
}

fn built_in(kind: &str) -> Option<&'static (&'static str, &'static [&'static str], &'static str, &'static str)> {
    BUILT_IN.iter().find(|t| t.0 == kind)
}

/// One template as the settings screen shows it.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct NoticeTemplate {
    pub kind: String,
    pub lang: Lang,
    pub body: String,
    /// The placeholders this kind fills, e.g. `member`, `date`.
    pub placeholders: Vec<String>,
    /// False while the built-in text is in use.
    pub customised: bool,
    pub built_in: String,
}

/// The language notices go out in (the desk's own language is a separate choice).
pub(crate) fn notice_lang(c: &Connection) -> Result<Lang> {
    Ok(crate::settings::get(c, "notice_lang")?.map(|v| Lang::parse(&v)).unwrap_or(Lang::ZhCn))
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhCn => "zh-CN",
        Lang::En => "en",
    }
}

fn body_for(c: &Connection, kind: &str, lang: Lang) -> Result<String> {
    let custom: Option<String> =
        c.query_row("SELECT body FROM notice_templates WHERE kind = ?1 AND lang = ?2", params![kind, lang_code(lang)], |r| r.get(0)).optional()?;
    let t = built_in(kind).ok_or_else(|| CoreError::Internal(format!("no template for notice kind {kind}")))?;
    Ok(custom.unwrap_or_else(|| (if lang == Lang::ZhCn { t.2 } else { t.3 }).to_string()))
}

/// Fills `{name}` with its value; an unknown `{…}` is left as typed.
pub fn fill(body: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(body.len() + 32);
    let mut rest = body;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = after.find('}').and_then(|close| values.iter().find(|(k, _)| *k == &after[..close]).map(|(_, v)| (v, close)));
        match known {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The words every notice about one child and one lesson may use: the centre, the child,
/// and the lesson's date, times, class, room and coach. A template uses those it names.
pub(crate) fn lesson_values(centre: &str, member: &str, s: &crate::timetable::ClassSession) -> Vec<(&'static str, String)> {
    vec![
        ("centre", centre.to_string()),
        ("member", member.to_string()),
        ("date", s.date.clone()),
        ("start", s.start_time.clone()),
        ("end", s.end_time.clone()),
        ("group", s.group_name.clone()),
        ("room", s.room_name.clone()),
        ("coach", s.coach_name.clone()),
    ]
}

/// The text of a notice of `kind` in the centre's notice language.
pub(crate) fn render(c: &Connection, kind: &str, values: &[(&str, String)]) -> Result<String> {
    Ok(fill(&body_for(c, kind, notice_lang(c)?)?, values))
}

fn placeholders_in(body: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut rest = body;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

impl Core {
    pub fn notice_templates(&self, session: &Session) -> Result<Vec<NoticeTemplate>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut out = vec![];
            for (kind, names, zh, en) in BUILT_IN {
                for (lang, default) in [(Lang::ZhCn, zh), (Lang::En, en)] {
                    let body = body_for(c, kind, lang)?;
                    out.push(NoticeTemplate {
                        kind: kind.to_string(),
                        lang,
                        customised: body != *default,
                        body,
                        placeholders: names.iter().map(|s| s.to_string()).collect(),
                        built_in: default.to_string(),
                    });
                }
            }
            Ok(out)
        })
    }

    /// Rewrites one template; an empty body goes back to the built-in text. Only the
    /// kind's own placeholders are accepted, so no notice goes out with a `{hole}`.
    pub fn notice_template_set(&self, session: &Session, kind: &str, lang: Lang, body: &str) -> Result<NoticeTemplate> {
        session.require(Action::EditSettings)?;
        let (_, names, _, _) = built_in(kind).ok_or_else(|| CoreError::invalid(Field::Template, Rule::OneOf { allowed: kinds().map(String::from).collect() }))?;
        let body = validate::optional_text(Field::Template, body, 500)?;
        if placeholders_in(&body).iter().any(|p| !names.contains(p)) {
            return Err(CoreError::invalid(Field::Template, Rule::OneOf { allowed: names.iter().map(|n| format!("{{{n}}}")).collect() }));
        }
        self.write(session, |w: &mut WriteTx| {
            if body.is_empty() {
                w.execute("DELETE FROM notice_templates WHERE kind = ?1 AND lang = ?2", params![kind, lang_code(lang)])?;
            } else {
                let now = w.now_text();
                w.execute(
                    "INSERT INTO notice_templates (kind, lang, body, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (kind, lang) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                    params![kind, lang_code(lang), body, now],
                )?;
            }
            let key = format!("{kind}:{}", lang_code(lang));
            w.log("notice_template", &key, if body.is_empty() { "reset" } else { "put" }, None, &serde_json::json!({ "kind": kind, "lang": lang_code(lang), "body": body }))?;
            Ok(())
        })?;
        self.notice_templates(session)?
            .into_iter()
            .find(|t| t.kind == kind && t.lang == lang)
            .ok_or_else(|| CoreError::Internal("template vanished".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_known_names_and_keeps_other_braces() {
        let v = [("member", "小明".to_string()), ("date", "2026-12-01".to_string())];
        assert_eq!(fill("{member} {date} {x} {", &v), "小明 2026-12-01 {x} {");
        assert_eq!(fill("{member}{member}", &v), "小明小明");
        assert_eq!(fill("无占位", &v), "无占位");
    }

    #[test]
    fn every_built_in_uses_only_its_own_placeholders_in_both_languages() {
        for (kind, names, zh, en) in BUILT_IN {
            for body in [zh, en] {
                for p in placeholders_in(body) {
                    assert!(names.contains(&p), "{kind}: {{{p}}} is not listed");
                }
            }
        }
    }
}
