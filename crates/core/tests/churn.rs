//! Churn warnings 流失预警: each rule at its threshold, the scan writing only changes,
//! and what staff do with a warning (act, dismiss, snooze), who sees which, and the
//! "warned and renewed" count.

use crate::common::{self, Centre};
use centredesk_core::attendance::{LeaveInput, MarkInput, RollCallInput};
use centredesk_core::churn::ChurnDecision;
use centredesk_core::contracts::EnrolInput;
use centredesk_core::feedback::{ComplaintInput, ScoreInput};
use centredesk_core::timetable::SessionFilter;
use centredesk_core::{CoreError, Lang};
use chrono::{NaiveDate, TimeZone, Utc};

struct Class {
    c: Centre,
    group: String,
}

/// A Wednesday class 17:00–18:00 from July to December 2026 (today: Wednesday 2026-11-25).
fn class() -> Class {
    let c = common::centre();
    let group = c.weekly_class("周三班", 3, "2026-07-01", "2026-12-31");
    Class { c, group }
}

impl Class {
    /// A pupil of the class with a 48-lesson contract from July (sold by the consultant).
    fn pupil(&self, name: &str, phone: &str) -> String {
        let c = &self.c;
        let m = c.member(name, phone);
        c.core.group_add_member(&c.admin, &self.group, &m.id, Some("2026-07-01".into()), false).unwrap();
        let pkg = c.lesson_package(48, "4800");
        c.core
            .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id, discount: String::new(), start_date: Some("2026-07-01".into()), consultant_id: Some(c.consultant.staff_id.clone()), renewal_of: None, notes: String::new() })
            .unwrap();
        m.id
    }

    fn session(&self, date: &str) -> String {
        self.c.core.session_list(&self.c.admin, SessionFilter { from_date: date.into(), to_date: date.into(), ..Default::default() }).unwrap().remove(0).id
    }

    fn attend(&self, member: &str, dates: &[&str]) {
        for d in dates {
            let s = self.session(d);
            self.c.to_class(&s);
            self.c.core.roll_call(&self.c.coach, &s, RollCallInput { marks: vec![MarkInput { member_id: member.into(), mark: "present".into(), ..Default::default() }], ..Default::default() }).unwrap();
        }
        self.on("2026-11-25");
    }

    fn on(&self, date: &str) {
        let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        self.c.clock.set(Utc.from_utc_datetime(&d.and_hms_opt(2, 0, 0).unwrap()));
    }

    /// The member's reasons on the manager's list after a scan.
    fn reasons(&self, member: &str) -> Vec<String> {
        self.c.core.churn_scan().unwrap();
        let list = self.c.core.churn_list(&self.c.admin, Lang::ZhCn, 500).unwrap();
        list.rows.into_iter().find(|r| r.member_id == member).map(|r| r.reason_codes).unwrap_or_default()
    }
}

/// Wednesdays from 2026-08-05 (12 weeks before the last 4) to 2026-10-21.
const USUAL: [&str; 12] = ["2026-08-05", "2026-08-12", "2026-08-19", "2026-08-26", "2026-09-02", "2026-09-09", "2026-09-16", "2026-09-23", "2026-09-30", "2026-10-07", "2026-10-14", "2026-10-21"];

#[test]
fn attendance_at_half_its_usual_rate_warns_and_above_half_does_not() {
    let k = class();
    let (half, more) = (k.pupil("一半", "13700000101"), k.pupil("多一次", "13700000102"));
    k.attend(&half, &USUAL);
    k.attend(&half, &["2026-11-11", "2026-11-18"]);
    k.attend(&more, &USUAL);
    k.attend(&more, &["2026-11-04", "2026-11-11", "2026-11-18"]);
    assert_eq!(k.reasons(&half), ["attendance_drop"]);
    assert!(k.reasons(&more).is_empty());
    let row = k.c.core.churn_list(&k.c.admin, Lang::ZhCn, 10).unwrap().rows.remove(0);
    assert_eq!(row.reasons, ["出勤下降：近 4 周上课 2 次，平时每 4 周约 4 次"]);
    assert_eq!(row.consultant_name.as_deref(), Some("张敏"));
}

#[test]
fn no_lesson_for_21_days_while_a_contract_runs_warns_on_day_21_not_20() {
    let k = class();
    let m = k.pupil("没来", "13700000103");
    k.attend(&m, &["2026-11-04"]);
    k.on("2026-11-24");
    assert!(k.reasons(&m).is_empty(), "20 days");
    k.on("2026-11-25");
    assert_eq!(k.reasons(&m), ["no_lesson"], "21 days");
    let row = k.c.core.churn_list(&k.c.admin, Lang::En, 10).unwrap().rows.remove(0);
    assert_eq!(row.reasons, ["No lesson for 21+ days while a contract runs (last on 2026-11-04)"]);
}

#[test]
fn three_leaves_in_four_weeks_a_low_score_and_an_open_complaint_each_warn() {
    let k = class();
    let (m, two) = (k.pupil("请假", "13700000104"), k.pupil("两次", "13700000105"));
    k.attend(&m, &["2026-11-18"]);
    k.attend(&two, &["2026-11-18"]);
    k.on("2026-10-30");
    for (who, dates) in [(&m, vec!["2026-11-04", "2026-11-11", "2026-11-25"]), (&two, vec!["2026-11-04", "2026-11-11"])] {
        let ids = dates.iter().map(|d| k.session(d)).collect();
        k.c.core.leave_request(&k.c.clerk, LeaveInput { member_id: who.clone(), session_ids: ids, via: "phone".into(), note: String::new() }).unwrap();
    }
    k.on("2026-11-25");
    assert_eq!(k.reasons(&m), ["frequent_leave"]);
    assert!(k.reasons(&two).is_empty());

    let score = |member: &str, kind: &str, score: i64| {
        k.c.core.satisfaction_record(&k.c.clerk, ScoreInput { member_id: member.into(), kind: kind.into(), score, occasion: String::new(), group_id: None, coach_id: None, comment: String::new(), date: None }).unwrap();
    };
    score(&two, "csat", 3);
    score(&two, "nps", 7);
    assert!(k.reasons(&two).is_empty(), "CSAT 3 and NPS 7 are not low");
    score(&two, "nps", 6);
    assert_eq!(k.reasons(&two), ["low_score"]);

    let calm = k.pupil("投诉", "13700000106");
    k.attend(&calm, &["2026-11-18"]);
    assert!(k.reasons(&calm).is_empty());
    k.c.core
        .complaint_create(&k.c.clerk, ComplaintInput { member_id: Some(calm.clone()), guardian_id: None, category: "class".into(), about_staff_id: None, group_id: None, body: "教练迟到".into(), severity: "minor".into(), handler_id: None, deadline: None })
        .unwrap();
    assert_eq!(k.reasons(&calm), ["complaint"]);
}

#[test]
fn the_scan_writes_only_changes_clears_what_passed_and_counts_who_renewed() {
    let k = class();
    let c = &k.c;
    let m = c.member("续费", "13700000107");
    let pkg = c.term_package(1, "680");
    let old = c
        .core
        .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id.clone(), discount: String::new(), start_date: Some("2026-11-01".into()), consultant_id: None, renewal_of: None, notes: String::new() })
        .unwrap()
        .contract;
    c.core.group_add_member(&c.admin, &k.group, &m.id, Some("2026-11-01".into()), false).unwrap();
    k.attend(&m.id, &["2026-11-18"]);
    assert_eq!(k.reasons(&m.id), ["renewal"]);
    let log = c.log_len();
    let run = c.core.churn_scan().unwrap();
    assert_eq!((run.raised, run.changed, run.cleared, c.log_len()), (0, 0, 0, log), "a second scan writes nothing");
    let list = c.core.churn_list(&c.admin, Lang::ZhCn, 10).unwrap();
    assert_eq!((list.warned, list.renewed), (1, 0), "the contract it warns about is not a renewal");
    c.clock.set(Utc.with_ymd_and_hms(2026, 11, 25, 2, 5, 0).unwrap());
    c.core.contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id, discount: String::new(), start_date: None, consultant_id: None, renewal_of: Some(old.id), notes: String::new() }).unwrap();
    assert_eq!(c.core.churn_scan().unwrap().cleared, 1);
    let list = c.core.churn_list(&c.admin, Lang::ZhCn, 10).unwrap();
    assert!(list.rows.is_empty());
    assert_eq!((list.warned, list.renewed), (1, 1));
    let ops: Vec<String> = c.raw().prepare("SELECT op FROM change_log WHERE entity = 'churn_flag' ORDER BY seq").unwrap().query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap();
    assert_eq!(ops, ["raise", "clear"]);
}

#[test]
fn acting_dismissing_and_snoozing_take_a_warning_off_the_list_for_a_while() {
    let k = class();
    let c = &k.c;
    let ids: Vec<String> = ["甲", "乙", "丙"].iter().enumerate().map(|(i, n)| k.pupil(&format!("风险{n}"), &format!("1370000011{i}"))).collect();
    for m in &ids {
        k.attend(m, &["2026-10-28"]);
    }
    c.core.churn_scan().unwrap();
    let flags: Vec<(String, String)> = c.core.churn_list(&c.admin, Lang::ZhCn, 10).unwrap().rows.into_iter().map(|r| (r.member_id, r.flag_id)).collect();
    assert_eq!(flags.len(), 3);
    let flag = |m: &str| flags.iter().find(|f| f.0 == m).unwrap().1.clone();
    let decide = |s, f: String, d: &str, reason: &str, until: Option<&str>| c.core.churn_decide(s, ChurnDecision { flag_id: f, decision: d.into(), reason: reason.into(), until: until.map(String::from) });

    // Coaches neither see nor decide; a consultant sees their own members.
    assert!(matches!(c.core.churn_list(&c.coach, Lang::ZhCn, 10), Err(CoreError::Forbidden(_))));
    assert!(matches!(decide(&c.coach, flag(&ids[0]), "act", "", None), Err(CoreError::Forbidden(_))));
    assert_eq!(c.core.churn_list(&c.consultant, Lang::ZhCn, 10).unwrap().total, 3);

    // Act: a return visit today for whoever acted; off the list for 14 days.
    decide(&c.clerk, flag(&ids[0]), "act", "", None).unwrap();
    let due = c.core.visits_due(&c.clerk, Lang::ZhCn, 10).unwrap();
    assert!(due.iter().any(|p| p.rule == "churn" && p.member_id == ids[0] && p.due_date == "2026-11-25"));
    assert_eq!(decide(&c.clerk, flag(&ids[0]), "act", "", None).unwrap_err().code(), "conflict.churn_flag_closed");
    // Dismiss needs its reason; snooze a date within 60 days.
    assert_eq!(decide(&c.admin, flag(&ids[1]), "dismiss", " ", None).unwrap_err().field(), Some(centredesk_core::error::Field::Reason));
    decide(&c.admin, flag(&ids[1]), "dismiss", "家长说下月出国，回来继续", None).unwrap();
    assert_eq!(decide(&c.admin, flag(&ids[2]), "snooze", "", Some("2027-01-25")).unwrap_err().field(), Some(centredesk_core::error::Field::SnoozeUntil));
    decide(&c.admin, flag(&ids[2]), "snooze", "", Some("2026-12-01")).unwrap();
    assert_eq!(c.core.churn_list(&c.admin, Lang::ZhCn, 10).unwrap().total, 0);

    // After the snooze (and the act's 14 days), still at risk: back on the list; dismissed is not.
    k.on("2026-12-02");
    c.core.churn_scan().unwrap();
    let back: Vec<String> = c.core.churn_list(&c.admin, Lang::ZhCn, 10).unwrap().rows.into_iter().map(|r| r.member_id).collect();
    assert_eq!(back, [ids[2].clone()]);
    k.on("2026-12-10");
    c.core.churn_scan().unwrap();
    assert_eq!(c.core.churn_list(&c.admin, Lang::ZhCn, 10).unwrap().total, 2, "the act's two weeks are over");
    // Acted on again: a new visit, for the new day.
    decide(&c.clerk, flag(&ids[0]), "act", "", None).unwrap();
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM visit_plans WHERE rule = 'churn' AND member_id = '{}'", ids[0])), 2);
}
