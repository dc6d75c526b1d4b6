//! A consultant's hand-over 移交客户: their members, open leads and planned visits move to
//! another consultant in one step (also after the leaver's account is disabled); the
//! sales stay theirs; closed leads, left members and other consultants' families stay;
//! refusals save nothing.

use crate::common::{self, PASSWORD};
use centredesk_core::auth::NewStaff;
use centredesk_core::contracts::EnrolInput;
use centredesk_core::handover::{HandOverCounts, HandOverInput};
use centredesk_core::leads::LeadInput;
use centredesk_core::{CoreError, Role};
use chrono::{TimeZone, Utc};

fn lead(c: &common::Centre, name: &str, phone: &str, consultant: &str) -> String {
    let input = LeadInput {
        name: name.into(), contact_name: String::new(), phone: phone.into(), wechat: String::new(), gender: None, birthday: None,
        source: "电话".into(), consultant_id: Some(consultant.into()), man_money: false, man_authority: false, man_need: false, needs: String::new(), notes: String::new(), next_follow_up: None,
    };
    c.core.lead_create(&c.admin, input).unwrap().id
}

#[test]
fn a_leaving_consultant_hands_over_members_open_leads_and_planned_visits_in_one_step() {
    let c = common::centre();
    let leaver = c.consultant.staff_id.clone();
    let heir = c.core.staff_create(&c.admin, NewStaff { username: "heir".into(), display_name: "刘洋".into(), role: Role::Consultant, password: PASSWORD.into() }).unwrap().id;
    let other = c.core.staff_create(&c.admin, NewStaff { username: "other".into(), display_name: "周婷".into(), role: Role::Consultant, password: PASSWORD.into() }).unwrap().id;
    let pkg = c.lesson_package(24, "2400");
    let enrol = |member: &str, consultant: &str, start: &str| {
        c.core
            .contract_enrol(&c.clerk, EnrolInput { member_id: member.into(), package_id: pkg.id.clone(), discount: String::new(), start_date: Some(start.into()), consultant_id: Some(consultant.into()), renewal_of: None, notes: String::new() })
            .unwrap()
    };
    // Two of the leaver's members (one enrolled 30 days ago: a visit is planned for the
    // leaver), one who left, one of another consultant's.
    let mine = c.member("甲", "13500000001");
    let mine2 = c.member("乙", "13500000002");
    let left = c.member("丙", "13500000003");
    let theirs = c.member("丁", "13500000004");
    enrol(&mine.id, &leaver, "2026-10-26");
    enrol(&mine2.id, &leaver, "2026-11-01");
    enrol(&left.id, &leaver, "2026-09-01");
    c.core.member_set_status(&c.admin, &left.id, "left").unwrap();
    enrol(&theirs.id, &other, "2026-11-01");
    c.core.plan_visits().unwrap();
    let planned = c.count(&format!("SELECT COUNT(*) FROM visit_plans WHERE assignee_id = '{leaver}' AND status = 'open'"));
    assert!(planned >= 1, "the 30-day visit is the leaver's");
    // Open and closed leads.
    let open = lead(&c, "线索一", "13600000001", &leaver);
    let lost = lead(&c, "线索二", "13600000002", &leaver);
    c.core.lead_set_status(&c.admin, &lost, "lost", "价格").unwrap();

    // The leaver is the named owner of the gold tier's families.
    let gold = centredesk_core::tiers::TierDef {
        name_zh: "金卡".into(),
        name_en: String::new(),
        threshold: "5000".into(),
        discount_percent: "0".into(),
        birthday_zh: String::new(),
        birthday_en: String::new(),
        holiday_greetings: false,
        visit_days: 0,
        owner_id: Some(leaver.clone()),
    };
    c.core.tier_config_update(&c.admin, centredesk_core::tiers::TierConfig { basis: "spend".into(), period_months: 12, tiers: vec![gold] }).unwrap();

    // The manager disables the leaver first, then hands over.
    c.core.staff_set_active(&c.admin, &leaver, false).unwrap();
    let input = || HandOverInput { from_staff_id: leaver.clone(), to_staff_id: heir.clone() };
    let before = c.log_len();
    let preview = c.core.hand_over_preview(&c.admin, &input()).unwrap();
    assert_eq!(c.log_len(), before);
    let expected = HandOverCounts { members: 2, leads: 1, visits: planned, tiers: 1 };
    assert_eq!(preview, expected);
    assert_eq!(c.core.hand_over(&c.admin, input()).unwrap(), expected);

    let owners: Vec<(String, String)> =
        c.raw().prepare("SELECT member_id, consultant_id FROM member_consultants ORDER BY member_id").unwrap().query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap();
    let mut want = vec![(mine.id.clone(), heir.clone()), (mine2.id.clone(), heir.clone())];
    want.sort();
    assert_eq!(owners, want);
    let lead_owner = |id: &str| c.raw().query_row("SELECT consultant_id FROM leads WHERE id = ?1", [id], |r| r.get::<_, String>(0)).unwrap();
    assert_eq!(lead_owner(&open), heir);
    assert_eq!(lead_owner(&lost), leaver, "a lost lead stays in the leaver's record");
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM visit_plans WHERE assignee_id = '{heir}' AND status = 'open'")), planned);
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM contracts WHERE consultant_id = '{leaver}'")), 3, "the sales stay the leaver's");
    assert_eq!(c.core.tier_config(&c.admin).unwrap().tiers[0].owner_id.as_deref(), Some(heir.as_str()), "the tier names the heir");
    // Each moved row is in the change log (the tier table as a setting).
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE op = 'hand_over'"), 2 + 1 + planned);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'setting' AND entity_id = 'tiers'"), 2);

    // The heir now owns them: a visit planned from here on is theirs, even for a contract
    // another consultant sells later, and with the leaver's account active again.
    c.core.staff_set_active(&c.admin, &leaver, true).unwrap();
    let later = enrol(&mine.id, &other, "2026-11-25");
    c.clock.set(Utc.with_ymd_and_hms(2026, 12, 20, 2, 0, 0).unwrap());
    c.core.plan_visits().unwrap();
    let assignee: String = c.raw().query_row("SELECT assignee_id FROM visit_plans WHERE source_id = ?1", [&later.contract.id], |r| r.get(0)).unwrap();
    assert_eq!(assignee, heir);
    // Running it again moves nothing.
    assert_eq!(c.core.hand_over_preview(&c.admin, &input()).unwrap(), HandOverCounts::default());
}

#[test]
fn a_hand_over_is_the_managers_to_an_active_consultant_and_a_refused_one_saves_nothing() {
    let c = common::centre();
    let before = c.snapshot();
    let to = |to: &str| HandOverInput { from_staff_id: c.consultant.staff_id.clone(), to_staff_id: to.into() };
    assert!(matches!(c.core.hand_over(&c.clerk, to(&c.admin.staff_id)), Err(CoreError::Forbidden(_))));
    assert!(matches!(c.core.hand_over(&c.consultant, to(&c.admin.staff_id)), Err(CoreError::Forbidden(_))));
    let e = c.core.hand_over(&c.admin, to(&c.coach.staff_id)).unwrap_err();
    assert_eq!(e.field(), Some(centredesk_core::error::Field::Consultant), "a coach does not own families");
    assert!(c.core.hand_over(&c.admin, to(&c.consultant.staff_id)).is_err(), "not to oneself");
    assert!(matches!(c.core.hand_over(&c.admin, to("nobody")), Err(CoreError::NotFound(_))));
    assert_eq!(c.snapshot(), before);
}
