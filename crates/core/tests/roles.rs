//! Role × command: every service call checks the role in the core. The table below is
//! the specification; a denied pair must be refused with `forbidden` and change nothing.

use centredesk_core::requests::RequestSource;
use centredesk_protocol::requests::{Request, RequestBody};
use crate::common;

use centredesk_core::auth::NewStaff;
use centredesk_core::contracts::{EnrolInput, PauseInput, RefundInput, RefundRule};
use centredesk_core::leads::{ConvertInput, FollowUpInput, LeadFilter, LeadInput};
use centredesk_core::members::{GuardianLinkInput, GuardianUpdate, MemberApplication, MemberApproval, MemberFilter, MemberUpdate};
use centredesk_core::packages::PackageInput;
use centredesk_core::payments::PaymentInput;
use centredesk_core::attendance::{LeaveInput, RollCallInput, TrialInput};
use centredesk_core::timetable::{ClassGroupInput, ClosureInput, RoomInput, Season, SessionChange, SessionFilter, SlotInput};
use centredesk_core::feedback::{ComplaintFilter, ComplaintInput, ConfirmInput, ScoreInput, StepInput, SuggestionInput, VoteInput};
use centredesk_core::{Role, Session};
use crate::common::*;

type Call<'a> = Box<dyn Fn(&Session) -> centredesk_core::Result<()> + 'a>;

fn group_draft() -> centredesk_core::notify::group_messages::GroupMessageDraft {
    use centredesk_core::notify::group_messages::{Audience, GroupMessageDraft};
    GroupMessageDraft { audience: Audience::Status { status: centredesk_core::vocab::MemberStatus::Active }, body: "周六停课一次".into() }
}

const ZH: centredesk_core::Lang = centredesk_core::Lang::ZhCn;

fn attendance_filter() -> centredesk_core::reports::AttendanceFilter {
    centredesk_core::reports::AttendanceFilter { from_date: "2026-11-01".into(), to_date: "2026-11-30".into(), by: "group".into(), inactive_days: None }
}

/// A sync call's refusal for the role as the core's error; any other outcome is not one.
fn not_a_role_question<T>(r: centredesk_core::sync::SyncResult<T>) -> centredesk_core::Result<()> {
    match r {
        Err(centredesk_core::sync::SyncError::Core(e)) => Err(e),
        _ => Ok(()),
    }
}

const M: Role = Role::Manager;
const CL: Role = Role::Clerk;
const CO: Role = Role::Coach;
const CS: Role = Role::Consultant;

#[test]
fn every_command_checks_the_role() {
    let c = common::centre();
    let member = c.member("权限测试", "13600000000");
    let pkg = c.lesson_package(10, "1000");
    let k = c
        .core
        .contract_enrol(&c.admin, EnrolInput { member_id: member.id.clone(), package_id: pkg.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
        .unwrap();
    let receipt = c.core.payment_take(&c.admin, PaymentInput { contract_id: k.contract.id.clone(), amount: "10".into(), method: "cash".into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap();
    let guardian_id = c.core.member_get(&c.admin, &member.id).unwrap().guardians[0].guardian.id.clone();
    let lead_input = || LeadInput {
        name: "线索".into(), contact_name: String::new(), phone: "13600000001".into(), wechat: String::new(), gender: None, birthday: None,
        source: "电话".into(), consultant_id: None, man_money: false, man_authority: false, man_need: false, needs: String::new(), notes: String::new(), next_follow_up: None,
    };
    let lead = c.core.lead_create(&c.admin, lead_input()).unwrap();
    let pkg_input = || PackageInput { name: "新套餐".into(), kind: "lessons".into(), lessons: Some(5), validity_days: Some(30), term_months: None, price: "500".into() };
    let (mid, kid, pid, gid, lid, pay_id) = (&member.id, &k.contract.id, &pkg.id, &guardian_id, &lead.id, &receipt.payment.id);
    // A class taught by the coach, with one session today.
    let room = c.core.room_create(&c.admin, RoomInput { name: "道馆".into(), capacity: 30 }).unwrap().id;
    let group = c.core.group_create(&c.admin, ClassGroupInput { name: "初级班".into(), course: String::new(), level: String::new(), coach_id: Some(c.coach.staff_id.clone()), capacity: 30 }).unwrap().id;
    let slot_input = |weekday: i64| SlotInput { season_id: None, weekday, start_time: "18:00".into(), end_time: "19:00".into(), room_id: room.clone(), coach_id: c.coach.staff_id.clone(), group_id: group.clone() };
    c.core.slot_create(&c.admin, slot_input(3)).unwrap();
    c.core.sessions_generate(&c.admin, "2026-11-25", "2026-11-25").unwrap();
    let sid = &c.core.session_list(&c.admin, SessionFilter { from_date: "2026-11-25".into(), to_date: "2026-11-25".into(), ..Default::default() }).unwrap()[0].id;
    let gm = c.core.group_add_member(&c.admin, &group, mid, None, false).unwrap().id;
    let trial = c.core.trial_request(&c.admin, TrialInput { session_id: sid.clone(), lead_id: Some(lid.clone()), member_id: None, note: String::new() }).unwrap().id;
    // Feedback: a suggestion, and a complaint handled by someone outside the table (a second manager).
    let sugg = c.core.suggestion_create(&c.admin, SuggestionInput { body: "意见".into(), member_id: Some(mid.clone()), guardian_id: None, author_name: String::new(), public: false }).unwrap().id;
    let complaint_input = || ComplaintInput {
        member_id: Some(mid.clone()), guardian_id: None, category: "facility".into(), about_staff_id: None, group_id: None,
        body: "空调坏了".into(), severity: "minor".into(), handler_id: None, deadline: None,
    };
    let other = c.core.staff_create(&c.admin, NewStaff { username: "handler".into(), display_name: "处理人".into(), role: Role::Manager, password: "12345678".into() }).unwrap().id;
    let others_complaint = c.core.complaint_create(&c.admin, ComplaintInput { handler_id: Some(other), ..complaint_input() }).unwrap().id;
    c.core.complaint_step(&c.admin, StepInput { complaint_id: others_complaint.clone(), kind: "accept".into(), notes: "受理".into() }).unwrap();
    let all = [M, CL, CO, CS];
    let desk = [M, CL, CS];
    let table: Vec<(&str, Vec<Role>, Call)> = vec![
        ("search", all.to_vec(), Box::new(|s| c.core.search(s, "权限", 5).map(drop))),
        ("home", all.to_vec(), Box::new(|s| c.core.home(s, centredesk_core::Lang::ZhCn).map(drop))),
        ("member_get", all.to_vec(), Box::new(|s| c.core.member_get(s, mid).map(drop))),
        ("member_list", all.to_vec(), Box::new(|s| c.core.member_list(s, MemberFilter::default()).map(drop))),
        ("member_timeline", all.to_vec(), Box::new(|s| c.core.member_timeline(s, mid, 10).map(drop))),
        ("guardian_get", all.to_vec(), Box::new(|s| c.core.guardian_get(s, gid).map(drop))),
        ("package_list", all.to_vec(), Box::new(|s| c.core.package_list(s, true).map(drop))),
        ("contract_get", all.to_vec(), Box::new(|s| c.core.contract_get(s, kid).map(drop))),
        ("receipt", all.to_vec(), Box::new(|s| c.core.receipt(s, pay_id, centredesk_core::Lang::ZhCn).map(drop))),
        ("payments_recent", all.to_vec(), Box::new(|s| c.core.payments_recent(s, 5).map(drop))),
        ("staff_list", all.to_vec(), Box::new(|s| c.core.staff_list(s).map(drop))),
        ("member_apply", desk.to_vec(), Box::new(|s| c.core.member_apply(s, MemberApplication { name: "新人".into(), gender: "M".into(), guardian: None, referred_by: None, notes: String::new() }).map(drop))),
        ("member_approve", desk.to_vec(), Box::new(|s| c.core.member_approve(s, mid, MemberApproval { birthday: "2016-01-01".into(), school: String::new(), course_interest: String::new() }).map(drop))),
        ("member_update", desk.to_vec(), Box::new(|s| c.core.member_update(s, mid, MemberUpdate { name: "权限测试".into(), gender: "M".into(), birthday: Some("2017-03-07".into()), school: "实验小学".into(), course_interest: String::new(), notes: "n".into(), tags: vec![], rank: String::new(), referred_by: None }).map(drop))),
        ("member_set_status", desk.to_vec(), Box::new(|s| c.core.member_set_status(s, mid, "active").map(drop))),
        ("guardian_link", desk.to_vec(), Box::new(|s| c.core.guardian_link(s, mid, GuardianLinkInput { existing_guardian_id: Some(gid.clone()), new_guardian: None, relation: "妈妈".into(), is_primary: true }).map(drop))),
        ("guardian_update", desk.to_vec(), Box::new(|s| c.core.guardian_update(s, gid, GuardianUpdate { name: "家长".into(), phone: "13600000000".into(), wechat: String::new(), email: String::new(), no_group_messages: false }).map(drop))),
        ("guardian_unlink", desk.to_vec(), Box::new(|s| c.core.guardian_unlink(s, mid, "no-such-guardian").map(drop))),
        ("lead_create", desk.to_vec(), Box::new(|s| c.core.lead_create(s, lead_input()).map(drop))),
        ("lead_update", desk.to_vec(), Box::new(|s| c.core.lead_update(s, lid, lead_input()).map(drop))),
        ("lead_set_status", desk.to_vec(), Box::new(|s| c.core.lead_set_status(s, lid, "contacted", "").map(drop))),
        ("lead_follow_up", desk.to_vec(), Box::new(|s| c.core.lead_follow_up(s, lid, FollowUpInput { channel: "phone".into(), content: "跟进".into(), next_follow_up: None }).map(drop))),
        ("lead_convert", desk.to_vec(), Box::new(|s| c.core.lead_convert(s, "no-such-lead", ConvertInput { gender: "M".into(), relation: String::new() }).map(drop))),
        ("lead_get", desk.to_vec(), Box::new(|s| c.core.lead_get(s, lid).map(drop))),
        ("lead_list", desk.to_vec(), Box::new(|s| c.core.lead_list(s, LeadFilter::default()).map(drop))),
        ("contract_enrol", desk.to_vec(), Box::new(|s| c.core.contract_enrol(s, EnrolInput { member_id: mid.clone(), package_id: pid.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() }).map(drop))),
        ("contract_pause", desk.to_vec(), Box::new(|s| c.core.contract_pause(s, kid, PauseInput { from_date: "2026-11-24".into(), to_date: "2026-11-23".into(), reason: String::new() }).map(drop))),
        ("payment_take", desk.to_vec(), Box::new(|s| c.core.payment_take(s, PaymentInput { contract_id: kid.clone(), amount: "1".into(), method: "cash".into(), note: String::new() }, centredesk_core::Lang::ZhCn).map(drop))),
        ("payment_reverse", vec![M], Box::new(|s| c.core.payment_reverse(s, "no-such-payment", "x").map(drop))),
        ("refund_quote", vec![M], Box::new(|s| c.core.refund_quote(s, kid, RefundRule::Lessons).map(drop))),
        ("contract_refund", vec![M], Box::new(|s| c.core.contract_refund(s, "no-such-contract", RefundInput { rule: RefundRule::Days, method: "cash".into(), reason: "x".into() }).map(drop))),
        ("package_create", vec![M], Box::new(|s| c.core.package_create(s, pkg_input()).map(drop))),
        ("package_update", vec![M], Box::new(|s| c.core.package_update(s, pid, PackageInput { price: "1200".into(), ..pkg_input() }).map(drop))),
        ("package_set_archived", vec![M], Box::new(|s| c.core.package_set_archived(s, pid, false).map(drop))),
        ("staff_create", vec![M], Box::new(|s| c.core.staff_create(s, NewStaff { username: format!("u{}", s.username), display_name: "新员工".into(), role: Role::Clerk, password: "12345678".into() }).map(drop))),
        ("staff_set_active", vec![M], Box::new(|s| c.core.staff_set_active(s, "no-such-staff", true).map(drop))),
        ("settings_update", vec![M], Box::new(|s| c.core.settings_update(s, c.core.settings().unwrap()).map(drop))),
        ("portal_settings_update", vec![M], Box::new(|s| c.core.portal_settings_update(s, c.core.portal_settings().unwrap()).map(drop))),
        ("portal_state", vec![M], Box::new(|s| not_a_role_question(c.core.portal_state(s)))),
        ("portal_invite", desk.to_vec(), Box::new(|s| c.core.portal_invite(s, gid).map(drop))),
        ("portal_guardian", all.to_vec(), Box::new(|s| c.core.portal_guardian(s, gid).map(drop))),
        ("portal_view_as", all.to_vec(), Box::new(|s| c.core.portal_view_as(s, gid).map(drop))),
        ("portal_sign_out", desk.to_vec(), Box::new(|s| c.core.portal_sign_out(s, gid).map(drop))),
        ("guardian_by_phone_or_id", all.to_vec(), Box::new(|s| c.core.guardian_by_phone_or_id(s, gid).map(drop))),
        ("change_log_tail", vec![M], Box::new(|s| c.core.change_log_tail(s, 5).map(drop))),
        ("room_list", all.to_vec(), Box::new(|s| c.core.room_list(s).map(drop))),
        ("group_list", all.to_vec(), Box::new(|s| c.core.group_list(s).map(drop))),
        ("group_members", all.to_vec(), Box::new(|s| c.core.group_members(s, &group, None).map(drop))),
        ("slot_list", all.to_vec(), Box::new(|s| c.core.slot_list(s, None).map(drop))),
        ("holidays", all.to_vec(), Box::new(|s| c.core.holidays(s).map(drop))),
        ("season_list", all.to_vec(), Box::new(|s| c.core.season_list(s).map(drop))),
        ("closure_list", all.to_vec(), Box::new(|s| c.core.closure_list(s).map(drop))),
        ("session_list", all.to_vec(), Box::new(|s| c.core.session_list(s, SessionFilter { from_date: "2026-11-01".into(), to_date: "2026-11-30".into(), ..Default::default() }).map(drop))),
        ("roster", all.to_vec(), Box::new(|s| c.core.roster(s, sid).map(drop))),
        ("notices", all.to_vec(), Box::new(|s| c.core.notices(s, None, 5).map(drop))),
        ("trials_pending", all.to_vec(), Box::new(|s| c.core.trials_pending(s).map(drop))),
        ("export_csv", vec![M], Box::new(|s| {
            let req = centredesk_core::export::ExportRequest { list: "members".into(), from_date: String::new(), to_date: String::new(), bom: true, machine_headers: false };
            c.core.export_csv(s, &req, centredesk_core::Lang::ZhCn).map(drop)
        })),
        ("revenue", vec![M], Box::new(|s| {
            let f = centredesk_core::reports::RevenueFilter { from_date: "2026-11-01".into(), to_date: "2026-11-30".into(), period: "day".into(), consultant_id: None };
            c.core.revenue(s, &f, centredesk_core::Lang::ZhCn).map(drop)
        })),
        ("staff_activity", vec![M], Box::new(|s| {
            let f = centredesk_core::audit::ActivityFilter { from_date: "2026-11-01".into(), to_date: "2026-11-30".into(), staff_id: None, entity_id: None };
            c.core.staff_activity(s, &f, centredesk_core::Lang::ZhCn).map(drop)
        })),
        ("import_preview", vec![M], Box::new(|s| {
            c.core.import_preview(s, centredesk_core::import::ImportKind::Members, "姓名,性别,电话\n导入测试,男,13600000009\n".as_bytes(), None).map(drop)
        })),
        ("import_commit", vec![M], Box::new(|s| {
            c.core.import_commit(s, centredesk_core::import::ImportKind::Leads, "姓名,电话,来源\n导入线索,13600000008,电话\n".as_bytes(), None).map(drop)
        })),
        ("analysis", vec![M], Box::new(|s| {
            let f = centredesk_core::analysis::AnalysisFilter {
                report: "renewals".into(), from_date: "2026-11-01".into(), to_date: "2026-11-30".into(),
                days_ahead: None, lessons_left: None, a_percent: None, b_percent: None,
            };
            c.core.analysis(s, &f, centredesk_core::Lang::ZhCn).map(drop)
        })),
        ("goods_list", all.to_vec(), Box::new(|s| c.core.goods_list(s, true).map(drop))),
        ("goods_create", vec![M], Box::new(|s| c.core.goods_create(s, centredesk_core::goods::GoodsInput { name: "水".into(), category: String::new(), price: "2".into(), points_price: None }).map(drop))),
        ("goods_stock", vec![M], Box::new(|s| c.core.goods_stock(s, centredesk_core::goods::StockInput { goods_id: "no-such-goods".into(), kind: "purchase".into(), quantity: 1, reason: String::new() }).map(drop))),
        ("goods_sell", all.to_vec(), Box::new(|s| c.core.goods_sell(s, centredesk_core::goods::SaleInput { goods_id: "no-such-goods".into(), quantity: 1, member_id: None, method: "cash".into(), delivered: true, note: String::new() }).map(drop))),
        ("goods_return", desk.to_vec(), Box::new(|s| c.core.goods_return(s, centredesk_core::goods::ReturnInput { sale_id: "no-such-sale".into(), quantity: 1, reason: "退货".into() }).map(drop))),
        ("goods_returns", all.to_vec(), Box::new(|s| c.core.goods_returns(s, "2026-11-25", "2026-11-25").map(drop))),
        ("cash_handin_record", vec![M], Box::new(|s| c.core.cash_handin_record(s, centredesk_core::cash::HandinInput { staff_id: c.clerk.staff_id.clone(), business_date: "2026-11-25".into(), amount: "10".into(), received_by: None, note: String::new() }).map(drop))),
        ("cash_handin_void", vec![M], Box::new(|s| c.core.cash_handin_void(s, "no-such-handin", "录错").map(drop))),
        ("cash_report", vec![M], Box::new(|s| {
            let f = centredesk_core::cash::CashFilter { from_date: "2026-11-01".into(), to_date: "2026-11-30".into(), by: "day".into(), staff_id: None };
            c.core.cash_report(s, &f).map(drop)
        })),
        ("cash_report_csv", vec![M], Box::new(|s| {
            let f = centredesk_core::cash::CashFilter { from_date: "2026-11-01".into(), to_date: "2026-11-30".into(), by: "staff".into(), staff_id: None };
            c.core.cash_report_csv(s, &f, centredesk_core::Lang::ZhCn, true).map(drop)
        })),
        ("points_account", all.to_vec(), Box::new(|s| c.core.points_account(s, mid).map(drop))),
        ("referral_tree", all.to_vec(), Box::new(|s| c.core.referral_tree(s, mid).map(drop))),
        ("tier_config", all.to_vec(), Box::new(|s| c.core.tier_config(s).map(drop))),
        ("member_tier", all.to_vec(), Box::new(|s| c.core.member_tier(s, mid).map(drop))),
        ("tier_discount", all.to_vec(), Box::new(|s| c.core.tier_discount(s, mid, pid).map(drop))),
        ("tier_config_update", vec![M], Box::new(|s| {
            let tiers = vec![centredesk_core::tiers::TierDef { name_zh: "金卡".into(), name_en: String::new(), threshold: "100".into(), discount_percent: "5".into(), birthday_zh: String::new(), birthday_en: String::new(), holiday_greetings: false, visit_days: 0, owner_id: None }];
            c.core.tier_config_update(s, centredesk_core::tiers::TierConfig { basis: "spend".into(), period_months: 12, tiers }).map(drop)
        })),
        ("holidays_set", vec![M], Box::new(|s| c.core.holidays_set(s, vec![]).map(drop))),
        ("tiers_evaluate", vec![M], Box::new(|s| c.core.tiers_evaluate(s).map(drop))),
        ("points_award", vec![M], Box::new(|s| c.core.points_award(s, centredesk_core::points::PointsAward { member_id: mid.clone(), points: 1, reason: "测试".into() }).map(drop))),
        ("member_duplicates", vec![M], Box::new(|s| c.core.member_duplicates(s).map(drop))),
        ("member_merge", vec![M], Box::new(|s| c.core.member_merge(s, mid, "no-such-member").map(drop))),
        ("backup_now", vec![M], Box::new(|s| c.core.backup_now(s).map(drop))),
        ("backups", vec![M], Box::new(|s| c.core.backups(s).map(drop))),
        ("print_receipt", vec![M, CL, CO, CS], Box::new(|s| c.core.print_receipt(s, &receipt.payment.id, centredesk_core::Lang::ZhCn).map(drop))),
        ("room_create", vec![M], Box::new(|s| c.core.room_create(s, RoomInput { name: format!("教室{}", s.username), capacity: 10 }).map(drop))),
        ("group_create", vec![M], Box::new(|s| c.core.group_create(s, ClassGroupInput { name: format!("班{}", s.username), course: String::new(), level: String::new(), coach_id: None, capacity: 10 }).map(drop))),
        ("slot_create", vec![M], Box::new(|s| c.core.slot_create(s, slot_input(if s.role == M { 1 } else { 2 })).map(drop))),
        ("slot_deactivate", vec![M], Box::new(|s| c.core.slot_deactivate(s, "no-such-slot").map(drop))),
        ("season_create", vec![M], Box::new(|s| c.core.season_create(s, Season { id: String::new(), name: "寒假".into(), from_date: "2027-01-20".into(), to_date: "2027-01-19".into() }).map(drop))),
        ("season_notice_preview", vec![M], Box::new(|s| c.core.season_notice_preview(s, "no-such-season").map(drop))),
        ("season_notify", vec![M], Box::new(|s| c.core.season_notify(s, "no-such-season").map(drop))),
        ("closure_create", vec![M], Box::new(|s| c.core.closure_create(s, ClosureInput { name: "元旦".into(), from_date: "2027-01-01".into(), to_date: "2027-01-01".into(), notify: false }).map(drop))),
        ("closure_preview", vec![M], Box::new(|s| c.core.closure_preview(s, &ClosureInput { name: "元旦".into(), from_date: "2027-01-01".into(), to_date: "2027-01-01".into(), notify: true }).map(drop))),
        ("sessions_generate", vec![M], Box::new(|s| c.core.sessions_generate(s, "2026-11-25", "2026-11-25").map(drop))),
        ("session_change", vec![M], Box::new(|s| c.core.session_change(s, sid, SessionChange { notify: false, date: None, start_time: None, end_time: None, room_id: None, coach_id: None, cancel: false, note: "n".into() }).map(drop))),
        ("session_change_preview", vec![M], Box::new(|s| c.core.session_change_preview(s, sid, SessionChange { notify: false, date: None, start_time: None, end_time: None, room_id: None, coach_id: None, cancel: false, note: "n".into() }).map(drop))),
        ("group_add_member", desk.to_vec(), Box::new(|s| c.core.group_add_member(s, &group, mid, None, false).map(drop))),
        ("group_remove_member", desk.to_vec(), Box::new(|s| c.core.group_remove_member(s, &gm, Some("2030-01-01".into())).map(drop))),
        ("roll_call", vec![M, CL, CO], Box::new(|s| c.core.roll_call(s, sid, RollCallInput::default()).map(drop))),
        ("session_dismiss", vec![M, CL, CO], Box::new(|s| c.core.session_dismiss(s, sid).map(drop))),
        ("apply_request", vec![M, CL, CO], Box::new(|s| {
            let request = Request { request_id: format!("roles-{}", s.username), body: RequestBody::Dismiss { session_id: sid.clone() } };
            c.core.apply_request(s, RequestSource::Phone("no-such-device"), &request).map(drop)
        })),
        ("phone_today", all.to_vec(), Box::new(|s| c.core.phone_today(s).map(drop))),
        ("phone_roster", all.to_vec(), Box::new(|s| c.core.phone_roster(s, sid).map(drop))),
        ("phone_find_member", all.to_vec(), Box::new(|s| c.core.phone_find_member(s, "权限").map(drop))),
        ("phone_trials", all.to_vec(), Box::new(|s| c.core.phone_trials(s).map(drop))),
        ("phone_hand_overs", all.to_vec(), Box::new(|s| c.core.phone_hand_overs(s).map(drop))),
        ("phone_shop", all.to_vec(), Box::new(|s| c.core.phone_shop(s).map(drop))),
        ("phone_pairing_open", vec![M], Box::new(|s| c.core.phone_pairing_open(s).map(drop))),
        ("phone_pairing_close", vec![M], Box::new(|s| c.core.phone_pairing_close(s).map(drop))),
        ("phone_devices", vec![M], Box::new(|s| c.core.phone_devices(s).map(drop))),
        ("phone_server_settings_set", vec![M], Box::new(|s| c.core.phone_server_settings_set(s, centredesk_core::devices::PhoneServerSettings { enabled: false, port: 8765, https: false }).map(drop))),
        ("phone_device_revoke", vec![M], Box::new(|s| c.core.phone_device_revoke(s, "no-such-device").map(drop))),
        ("leave_request", all.to_vec(), Box::new(|s| c.core.leave_request(s, LeaveInput { member_id: mid.clone(), session_ids: vec![sid.clone()], via: "desk".into(), note: String::new() }).map(drop))),
        ("trial_request", desk.to_vec(), Box::new(|s| c.core.trial_request(s, TrialInput { session_id: sid.clone(), lead_id: Some(lid.clone()), member_id: None, note: String::new() }).map(drop))),
        ("trial_decide", vec![M, CO], Box::new(|s| c.core.trial_decide(s, &trial, true, "").map(drop))),
        ("suggestion_create", all.to_vec(), Box::new(|s| c.core.suggestion_create(s, SuggestionInput { body: "建议".into(), member_id: Some(mid.clone()), guardian_id: None, author_name: String::new(), public: true }).map(drop))),
        ("suggestion_vote", all.to_vec(), Box::new(|s| c.core.suggestion_vote(s, VoteInput { suggestion_id: sugg.clone(), member_id: mid.clone(), vote: if s.role == M { 1 } else { -1 } }).map(drop))),
        ("suggestion_set_public", all.to_vec(), Box::new(|s| c.core.suggestion_set_public(s, &sugg, true).map(drop))),
        ("suggestion_list", all.to_vec(), Box::new(|s| c.core.suggestion_list(s, true).map(drop))),
        ("complaint_create", all.to_vec(), Box::new(|s| c.core.complaint_create(s, complaint_input()).map(drop))),
        ("complaint_list", all.to_vec(), Box::new(|s| c.core.complaint_list(s, ComplaintFilter::default()).map(drop))),
        ("complaint_get", all.to_vec(), Box::new(|s| c.core.complaint_get(s, &others_complaint).map(drop))),
        // Steps on a complaint handled by someone else: the manager only.
        ("complaint_step (not the handler)", vec![M], Box::new(|s| c.core.complaint_step(s, StepInput { complaint_id: others_complaint.clone(), kind: "calm".into(), notes: "n".into() }).map(drop))),
        ("complaint_confirm (not the handler)", vec![M], Box::new(|s| c.core.complaint_confirm(s, ConfirmInput { complaint_id: others_complaint.clone(), resolution: "r".into(), confirmed: true, note: String::new() }).map(drop))),
        ("complaint_assign", vec![M], Box::new(|s| c.core.complaint_assign(s, "no-such-complaint", &c.admin.staff_id).map(drop))),
        ("complaint_stats", vec![M], Box::new(|s| c.core.complaint_stats(s, "2026-11-01", "2026-11-30", centredesk_core::Lang::ZhCn).map(drop))),
        ("feedback_stats_csv", vec![M], Box::new(|s| c.core.feedback_stats_csv(s, "complaints", "2026-11-01", "2026-11-30", "", centredesk_core::Lang::ZhCn, true).map(drop))),
        ("visit_record", all.to_vec(), Box::new(|s| c.core.visit_record(s, mid, centredesk_core::visits::VisitInput { channel: "phone".into(), content: "回访".into(), mood: "happy".into(), ..Default::default() }).map(drop))),
        ("member_visits", all.to_vec(), Box::new(|s| c.core.member_visits(s, mid, centredesk_core::Lang::ZhCn).map(drop))),
        ("visits_due", all.to_vec(), Box::new(|s| c.core.visits_due(s, centredesk_core::Lang::ZhCn, 10).map(drop))),
        ("visit_rules", all.to_vec(), Box::new(|s| c.core.visit_rules(s).map(drop))),
        ("visit_rules_update", vec![M], Box::new(|s| c.core.visit_rules_update(s, centredesk_core::visits::default_rules()).map(drop))),
        ("churn_list", desk.to_vec(), Box::new(|s| c.core.churn_list(s, centredesk_core::Lang::ZhCn, 10).map(drop))),
        ("group_message_preview", vec![M, CL], Box::new(|s| c.core.group_message_preview(s, &group_draft()).map(drop))),
        ("group_message_send", vec![M, CL], Box::new(|s| c.core.group_message_send(s, group_draft()).map(drop))),
        ("hand_over_preview", vec![M], Box::new(|s| c.core.hand_over_preview(s, &centredesk_core::handover::HandOverInput { from_staff_id: c.consultant.staff_id.clone(), to_staff_id: c.admin.staff_id.clone() }).map(drop))),
        ("hand_over", vec![M], Box::new(|s| c.core.hand_over(s, centredesk_core::handover::HandOverInput { from_staff_id: c.consultant.staff_id.clone(), to_staff_id: c.admin.staff_id.clone() }).map(drop))),
        ("group_messages", vec![M, CL], Box::new(|s| c.core.group_messages(s, 10).map(drop))),
        ("churn_decide", desk.to_vec(), Box::new(|s| c.core.churn_decide(s, centredesk_core::churn::ChurnDecision { flag_id: "no-such-flag".into(), decision: "act".into(), reason: String::new(), until: None }).map(drop))),
        ("satisfaction_record", all.to_vec(), Box::new(|s| c.core.satisfaction_record(s, ScoreInput { member_id: mid.clone(), kind: "nps".into(), score: 9, occasion: String::new(), group_id: None, coach_id: None, comment: String::new(), date: None }).map(drop))),
        ("satisfaction_list", all.to_vec(), Box::new(|s| c.core.satisfaction_list(s, "2026-11-01", "2026-11-30").map(drop))),
        ("satisfaction_results", vec![M], Box::new(|s| c.core.satisfaction_results(s, "2026-11-01", "2026-11-30", "group", centredesk_core::Lang::ZhCn).map(drop))),
        ("session_check", all.to_vec(), Box::new(|s| c.core.session_check(s))),
        ("session_get", all.to_vec(), Box::new(|s| c.core.session_get(s, sid).map(drop))),
        ("search_naive", all.to_vec(), Box::new(|s| c.core.search_naive(s, "权限", 5).map(drop))),
        // A wrong old password is refused as a wrong password, never as a role.
        ("change_password", all.to_vec(), Box::new(|s| c.core.change_password(s, "not-the-password", "new-password-1").map(drop))),
        ("arrears", desk.to_vec(), Box::new(|s| c.core.arrears(s, ZH).map(drop))),
        ("check", vec![M], Box::new(|s| c.core.check(s, ZH).map(drop))),
        ("attendance_report", vec![M], Box::new(|s| c.core.attendance_report(s, &attendance_filter(), ZH).map(drop))),
        ("attendance_csv", vec![M], Box::new(|s| c.core.attendance_csv(s, &attendance_filter(), ZH, true).map(drop))),
        ("revenue_csv", vec![M], Box::new(|s| {
            let f = centredesk_core::reports::RevenueFilter { from_date: "2026-11-01".into(), to_date: "2026-11-30".into(), period: "day".into(), consultant_id: None };
            c.core.revenue_csv(s, &f, "by_period", ZH, true).map(drop)
        })),
        ("analysis_csv", vec![M], Box::new(|s| {
            let f = centredesk_core::analysis::AnalysisFilter {
                report: "renewals".into(), from_date: "2026-11-01".into(), to_date: "2026-11-30".into(),
                days_ahead: None, lessons_left: None, a_percent: None, b_percent: None,
            };
            c.core.analysis_csv(s, &f, "renewals", ZH, true).map(drop)
        })),
        ("backup_status", vec![M], Box::new(|s| c.core.backup_status(s).map(drop))),
        ("backup_settings_set", vec![M], Box::new(|s| c.core.backup_settings_set(s, centredesk_core::backup::BackupSettings { second_dir: String::new() }).map(drop))),
        ("export_database", vec![M], Box::new(|s| c.core.export_database(s, &c.dir.path().join(format!("export-{}.db", s.username))).map(drop))),
        ("restore_backup", vec![M], Box::new(|s| c.core.restore_backup(s, "no-such-backup.db").map(drop))),
        ("goods_update", vec![M], Box::new(|s| c.core.goods_update(s, "no-such-goods", centredesk_core::goods::GoodsInput { name: "水".into(), category: String::new(), price: "2".into(), points_price: None }, false).map(drop))),
        ("goods_deliver", all.to_vec(), Box::new(|s| c.core.goods_deliver(s, "no-such-sale").map(drop))),
        ("goods_moves", all.to_vec(), Box::new(|s| c.core.goods_moves(s, "no-such-goods").map(drop))),
        ("goods_sales", all.to_vec(), Box::new(|s| c.core.goods_sales(s, "2026-11-01", "2026-11-30", false).map(drop))),
        ("leave_choices", all.to_vec(), Box::new(|s| c.core.leave_choices(s, mid, 7).map(drop))),
        ("outbox", all.to_vec(), Box::new(|s| c.core.outbox(s, None, 5).map(drop))),
        ("notice_resend", desk.to_vec(), Box::new(|s| c.core.notice_resend(s, "no-such-notice").map(drop))),
        ("deliver_notices_now", desk.to_vec(), Box::new(|s| c.core.deliver_notices_now(s).map(drop))),
        ("notice_templates", all.to_vec(), Box::new(|s| c.core.notice_templates(s).map(drop))),
        ("notice_template_set", vec![M], Box::new(|s| c.core.notice_template_set(s, "no-such-kind", ZH, "正文").map(drop))),
        ("notify_settings", all.to_vec(), Box::new(|s| c.core.notify_settings(s).map(drop))),
        ("notify_settings_set", vec![M], Box::new(|s| c.core.notify_settings_set(s, c.core.notify_settings(&c.admin).unwrap()).map(drop))),
        ("notify_channels", vec![M], Box::new(|s| c.core.notify_channels(s).map(drop))),
        ("notify_channels_set", vec![M], Box::new(|s| c.core.notify_channels_set(s, c.core.notify_channels(&c.admin).unwrap()).map(drop))),
        ("print_roster", all.to_vec(), Box::new(|s| c.core.print_roster(s, sid, ZH).map(drop))),
        ("print_group_week", all.to_vec(), Box::new(|s| c.core.print_group_week(s, &group, "2026-11-25", ZH).map(drop))),
        ("print_timetable_week", all.to_vec(), Box::new(|s| c.core.print_timetable_week(s, "2026-11-25", centredesk_core::print::WeekLayout::ByRoom, ZH).map(drop))),
        // Sync: a refusal for the role comes back as the core's `forbidden`; a network
        // failure (nothing listens there) is not a role question.
        ("sync_now", all.to_vec(), Box::new(|s| not_a_role_question(c.core.sync_now(s)))),
        ("sync_register", vec![M], Box::new(|s| not_a_role_question(c.core.sync_register(s, "http://127.0.0.1:9", "C1", "u", "p", "desk")))),
        ("sync_set_enabled", vec![M], Box::new(|s| not_a_role_question(c.core.sync_set_enabled(s, false)))),
    ];
    let listed: std::collections::BTreeSet<&str> = table.iter().map(|(name, _, _)| name.split(' ').next().unwrap_or(name)).collect();
    let missing: Vec<String> = methods_taking_a_session().into_iter().filter(|m| !listed.contains(m.as_str())).collect();
    assert!(missing.is_empty(), "service methods that take a session but are missing from this role table: {missing:?}");
    let sessions = [(M, &c.admin), (CL, &c.clerk), (CO, &c.coach), (CS, &c.consultant)];
    let mut wrong = vec![];
    for (name, allowed, call) in &table {
        for (role, session) in sessions {
            let before = c.snapshot();
            let result = call(session);
            let forbidden = matches!(&result, Err(e) if e.code() == "forbidden");
            if allowed.contains(&role) == forbidden {
                wrong.push(format!("{name} as {role:?}: {:?}", result.map_err(|e| e.code())));
            }
            if forbidden && c.snapshot() != before {
                wrong.push(format!("{name} as {role:?} was refused but changed data"));
            }
        }
    }
    assert!(wrong.is_empty(), "role table violated:\n{}", wrong.join("\n"));
}

/// Every `pub fn name(&self, …session: &Session…)` in the core's sources: the service
/// methods a staff member calls. Read from the source so a new one cannot be forgotten.
fn methods_taking_a_session() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = vec![];
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut names = std::collections::BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, _) in text.match_indices("pub fn ") {
            let rest = &text[i + "pub fn ".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let signature = &rest[..rest.find(['{', ';']).unwrap_or(rest.len())];
            if signature.contains("&self") && signature.contains(": &Session") {
                names.insert(name);
            }
        }
    }
    assert!(names.len() > 100, "the source scan found only {} methods: is it still reading crates/core/src?", names.len());
    names.into_iter().collect()
}

#[test]
fn forbidden_message_names_the_action_in_both_languages() {
    let c = common::centre();
    let e = c.core.package_create(&c.clerk, PackageInput { name: "x".into(), kind: "term".into(), lessons: None, validity_days: None, term_months: Some(1), price: "1".into() }).unwrap_err();
    assert_eq!(e.message(centredesk_core::Lang::ZhCn), "您的角色无权修改课程套餐和价格");
    assert_eq!(e.message(centredesk_core::Lang::En), "Your role is not allowed to change packages and prices");
}

#[test]
fn login_rules() {
    let c = common::centre();
    assert_eq!(c.core.login("clerk", "wrong").unwrap_err().code(), "auth.bad_credentials");
    assert_eq!(c.core.login("nobody", PASSWORD).unwrap_err().code(), "auth.bad_credentials");
    assert_eq!(c.core.login("CLERK", PASSWORD).unwrap().role, Role::Clerk, "usernames are case-insensitive");
    c.core.staff_set_active(&c.admin, &c.clerk.staff_id, false).unwrap();
    assert_eq!(c.core.login("clerk", PASSWORD).unwrap_err().code(), "auth.account_disabled");
    assert_eq!(c.core.staff_set_active(&c.admin, &c.admin.staff_id, false).unwrap_err().code(), "conflict.last_manager");
    let hash: String = c.raw().query_row("SELECT password_hash FROM staff WHERE username = 'admin'", [], |r| r.get(0)).unwrap();
    assert!(hash.starts_with("$argon2id$"), "passwords are stored as argon2id hashes");
    let logged: i64 = c.count("SELECT COUNT(*) FROM change_log WHERE payload LIKE '%argon2%'");
    assert_eq!(logged, 0, "password hashes never enter the change log");
    c.core.change_password(&c.admin, PASSWORD, "new-password").unwrap();
    assert!(c.core.login("admin", "new-password").is_ok());
}
