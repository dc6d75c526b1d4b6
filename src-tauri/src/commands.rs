//! The desk's command table: every command the window can call, declared once.
//!
//! One line per command — its name, its arguments, its result, and the core call it
//! makes — produces everything else:
//! - the dispatch behind the shell's single Tauri command `call` (arguments parsed from
//!   the JSON the UI sends, unknown or missing ones refused with `invalid_args`);
//! - the TypeScript map of every command's arguments and result, exported by ts-rs
//!   into `ui/src/bindings/CommandArgs.ts` and `CommandResults.ts` when `cargo test`
//!   runs, which `ui/src/lib/api.ts`'s one typed `call(name, args)` reads — so a wrong
//!   argument name or type is an error in `npm run check`;
//! - `NAMES`, the list the role tests walk.
//!
//! Kinds of body: `staff |core, session, lang| …` runs a core call as the logged-in
//! staff member (refused when nobody is); `sync |core, session| …` the same for sync
//! calls (their own error type); `public |core| …` needs no login; `shell |ctx| …` is for
//! the few that are the shell's own business (the session, the language, files, dialogs).
//! Arguments are camelCase in JSON (`memberId`), as Tauri names them.

use centredesk_core::analysis::{AnalysisFilter, ReportTable};
use centredesk_core::auth::{FirstRun, NewStaff, Staff};
use centredesk_core::demo::DemoStarted;
use centredesk_core::contracts::{ContractView, EnrolInput, PauseInput, RefundInput, RefundQuote, RefundRule};
use centredesk_core::duplicates::DuplicatePair;
use centredesk_core::feedback::{
    Complaint, ComplaintFilter, ComplaintInput, ComplaintStats, ConfirmInput, SatisfactionRow, SatisfactionScore, ScoreInput, StepInput, Suggestion,
    SuggestionInput, VoteInput,
};
use centredesk_core::churn::{ChurnDecision, ChurnList};
use centredesk_core::cash::{CashFilter, CashHandin, CashReport, HandinInput};
use centredesk_core::goods::{Goods, GoodsInput, GoodsReturn, GoodsSale, ReturnInput, SaleInput, StockInput, StockMove};
use centredesk_core::home::HomeDashboard;
use centredesk_core::handover::{HandOverCounts, HandOverInput};
use centredesk_core::leads::{ConvertInput, FollowUp, FollowUpInput, Lead, LeadDetail, LeadFilter, LeadInput, LeadRow};
use centredesk_core::members::{
    Guardian, GuardianDetail, GuardianLinkInput, GuardianUpdate, Member, MemberApplication, MemberApproval, MemberDetail,
    MemberFilter, MemberPage, MemberUpdate, TimelineEntry,
};
use centredesk_core::packages::{Package, PackageInput};
use centredesk_core::payments::{Payment, PaymentInput, PaymentRow, Receipt};
use centredesk_core::referrals::ReferralTree;
use centredesk_core::tiers::{MemberTier, TierConfig, TierDiscount, TierRun};
use centredesk_core::search::SearchHit;
use centredesk_core::arrears::Arrears;
use centredesk_core::check::CheckReport;
use centredesk_core::attendance::{LeaveChoice, LeaveInput, LeaveRequest, RollCallInput, RollCallResult, Roster, TrialInput, TrialRequest};
use centredesk_core::notify::automatic::NotifySettings;
use centredesk_core::notify::delivery::{DeliveryReport, NotifyChannels};
use centredesk_core::notify::templates::NoticeTemplate;
use centredesk_core::notify::closures::ClosurePreview;
use centredesk_core::notify::holidays::Holiday;
use centredesk_core::notify::seasons::SeasonNoticePreview;
use centredesk_core::notify::session_changes::ChangePreview;
use centredesk_core::notify::group_messages::{GroupMessage, GroupMessageDraft, GroupMessagePreview};
use centredesk_core::notify::Notice;
use centredesk_core::settings::Settings;
use centredesk_core::visits::{MemberVisits, ReturnVisit, VisitInput, VisitRule};
use centredesk_core::timetable::{
    ClassGroup, ClassGroupInput, ClassSession, Closure, ClosureInput, GenerateSummary, GroupMember, Room, RoomInput, Season, SessionChange,
    SessionFilter, Slot, SlotInput,
};
use centredesk_core::points::{PointsAccount, PointsAward};
use centredesk_core::print::WeekLayout;
use centredesk_core::audit::{ActivityFilter, StaffActivity};
use centredesk_core::backup::{BackupInfo, BackupSettings, BackupStatus};
use centredesk_core::import::{ColumnMapping, ImportKind, ImportPreview, ImportReport};
use centredesk_core::export::ExportRequest;
use centredesk_core::sync::{PushReport, SyncSettings, SyncState};
use centredesk_core::reports::{AttendanceFilter, AttendanceReport, RevenueFilter, RevenueReport};
use centredesk_core::devices::{PhoneDevice, PhoneServerSettings};
use crate::phone::{PhonePairing, PhoneServerStatus};
use crate::portal::PortalInviteCard;
use centredesk_core::portal::{PortalGuardian, PortalSettings, PortalView};
use centredesk_core::sync::PortalState;
use crate::printing::{Delivery, ExportOutcome, PrintOutcome};
use crate::{AppInfo, AppState, CmdResult, SupportFolder};
use centredesk_core::{Core, CoreError, ErrorDto, Lang, Session};
use serde_json::Value;
use tauri::AppHandle;
use ts_rs::TS;

/// What a command body may reach: the shell's state and the app (for dialogs).
pub(crate) struct Ctx<'a> {
    pub app: &'a AppHandle,
    pub state: &'a AppState,
}

fn staff<T>(ctx: &Ctx, f: impl FnOnce(&Core, &Session, Lang) -> centredesk_core::Result<T>) -> CmdResult<T> {
    let lang = ctx.state.lang();
    ctx.state.as_staff(|core, s| f(core, s, lang))
}

fn sync<T>(ctx: &Ctx, f: impl FnOnce(&Core, &Session) -> Result<T, centredesk_core::sync::SyncError>) -> CmdResult<T> {
    ctx.state.sync_as_staff(f)
}

fn public<T>(ctx: &Ctx, f: impl FnOnce(&Core) -> centredesk_core::Result<T>) -> CmdResult<T> {
    f(&ctx.state.core).map_err(|e| ctx.state.fail(e))
}

fn shell<T>(ctx: &Ctx, f: impl FnOnce(&Ctx) -> CmdResult<T>) -> CmdResult<T> {
    f(ctx)
}

fn parse<A: serde::de::DeserializeOwned>(ctx: &Ctx, command: &str, args: Value) -> CmdResult<A> {
    let args = if args.is_null() { Value::Object(Default::default()) } else { args };
    serde_json::from_value(args).map_err(|e| bad_args(ctx, command, &e.to_string()))
}

fn bad_args(ctx: &Ctx, command: &str, detail: &str) -> ErrorDto {
    let lang = ctx.state.lang();
    ErrorDto {
        code: "invalid_args".into(),
        field: None,
        problems: vec![],
        message: lang.pick(&format!("命令 {command} 的参数不对：{detail}"), &format!("Wrong arguments for {command}: {detail}")),
    }
}

fn to_json<T: serde::Serialize>(ctx: &Ctx, out: T) -> CmdResult<Value> {
    serde_json::to_value(out).map_err(|e| ctx.state.fail(CoreError::Internal(e.to_string())))
}

macro_rules! commands {
    ($( $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty => $kind:ident $body:expr ; )*) => {
        /// Each command's arguments, as the UI sends them.
        #[allow(non_snake_case)]
        pub(crate) mod args {
            use super::*;
            $(
                pub mod $name {
                    use super::*;
                    #[derive(serde::Deserialize, TS)]
                    #[serde(rename_all = "camelCase", deny_unknown_fields)]
                    pub struct Args { $(pub $arg: $ty),* }
                }
            )*
        }

        /// Every command's arguments by name (TypeScript: `CommandArgs`).
        #[derive(TS)]
        #[ts(export)]
        #[allow(dead_code)]
        pub(crate) struct CommandArgs { $( #[ts(inline)] $name: args::$name::Args, )* }

        /// Every command's result by name (TypeScript: `CommandResults`).
        #[derive(TS)]
        #[ts(export)]
        #[allow(dead_code)]
        pub(crate) struct CommandResults { $( $name: $ret, )* }

        /// Every command's name, in the table's order.
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Runs `command` with its JSON arguments; the result as JSON.
        pub(crate) fn dispatch(ctx: &Ctx, command: &str, args: Value) -> CmdResult<Value> {
            match command {
                $(
                    stringify!($name) => {
                        let args::$name::Args { $($arg),* } = parse(ctx, command, args)?;
                        let out: $ret = $kind(ctx, $body)?;
                        to_json(ctx, out)
                    }
                )*
                _ => Err(bad_args(ctx, command, "no such command")),
            }
        }
    };
}

commands! {
    app_info() -> AppInfo => shell |ctx| ctx.state.app_info();
    set_language(lang: Lang) -> Lang => shell |ctx| Ok(ctx.state.set_language(lang));
    sync_state() -> SyncState => sync |core, _| core.sync_state();
    sync_now() -> PushReport => sync |core, s| core.sync_now(s);
    sync_register(server_url: String, centre: String, username: String, password: String, device_name: String) -> SyncSettings => sync |core, s| core.sync_register(s, &server_url, &centre, &username, &password, &device_name);
    sync_set_enabled(enabled: bool) -> SyncSettings => shell |ctx| ctx.state.sync_set_enabled(enabled);
    first_run(input: FirstRun) -> Session => shell |ctx| ctx.state.start_session(ctx.state.core.first_run(input));
    first_run_demo() -> DemoStarted => public |core| core.first_run_with_demo();
    login(username: String, password: String) -> Session => shell |ctx| ctx.state.start_session(ctx.state.core.login(&username, &password));
    logout() -> () => shell |ctx| Ok(ctx.state.logout());
    desk_lock() -> () => shell |ctx| ctx.state.lock_desk();
    open_folder(which: SupportFolder) -> String => shell |ctx| ctx.state.open_folder(ctx.app, which);
    desk_unlock(password: String) -> Session => shell |ctx| ctx.state.unlock_desk(&password);
    change_password(old_password: String, new_password: String) -> () => staff |core, s, _| core.change_password(s, &old_password, &new_password);
    search(query: String, limit: Option<usize>) -> Vec<SearchHit> => staff |core, s, _| core.search(s, &query, limit.unwrap_or(20));
    home() -> HomeDashboard => staff |core, s, lang| core.home(s, lang);
    arrears() -> Arrears => staff |core, s, lang| core.arrears(s, lang);
    check() -> CheckReport => staff |core, s, lang| core.check(s, lang);
    member_apply(input: MemberApplication) -> Member => staff |core, s, _| core.member_apply(s, input);
    member_approve(member_id: String, input: MemberApproval) -> Member => staff |core, s, _| core.member_approve(s, &member_id, input);
    member_update(member_id: String, input: MemberUpdate) -> Member => staff |core, s, _| core.member_update(s, &member_id, input);
    member_set_status(member_id: String, status: String) -> Member => staff |core, s, _| core.member_set_status(s, &member_id, &status);
    member_get(member_id: String) -> MemberDetail => staff |core, s, _| core.member_get(s, &member_id);
    member_list(filter: MemberFilter) -> MemberPage => staff |core, s, _| core.member_list(s, filter);
    member_timeline(member_id: String) -> Vec<TimelineEntry> => staff |core, s, _| core.member_timeline(s, &member_id, 200);
    member_visits(member_id: String) -> MemberVisits => staff |core, s, lang| core.member_visits(s, &member_id, lang);
    visit_record(member_id: String, input: VisitInput) -> ReturnVisit => staff |core, s, _| core.visit_record(s, &member_id, input);
    churn_list() -> ChurnList => staff |core, s, lang| core.churn_list(s, lang, 500);
    churn_decide(input: ChurnDecision) -> () => staff |core, s, _| core.churn_decide(s, input);
    group_message_preview(draft: GroupMessageDraft) -> GroupMessagePreview => staff |core, s, _| core.group_message_preview(s, &draft);
    group_message_send(draft: GroupMessageDraft) -> GroupMessage => staff |core, s, _| core.group_message_send(s, draft);
    hand_over_preview(input: HandOverInput) -> HandOverCounts => staff |core, s, _| core.hand_over_preview(s, &input);
    hand_over(input: HandOverInput) -> HandOverCounts => staff |core, s, _| core.hand_over(s, input);
    group_messages() -> Vec<GroupMessage> => staff |core, s, _| core.group_messages(s, 100);
    visit_rules() -> Vec<VisitRule> => staff |core, s, _| core.visit_rules(s);
    visit_rules_update(rules: Vec<VisitRule>) -> Vec<VisitRule> => staff |core, s, _| core.visit_rules_update(s, rules);
    guardian_link(member_id: String, input: GuardianLinkInput) -> MemberDetail => staff |core, s, _| core.guardian_link(s, &member_id, input);
    guardian_update(guardian_id: String, input: GuardianUpdate) -> Guardian => staff |core, s, _| core.guardian_update(s, &guardian_id, input);
    guardian_unlink(member_id: String, guardian_id: String) -> MemberDetail => staff |core, s, _| core.guardian_unlink(s, &member_id, &guardian_id);
    guardian_get(guardian_id: String) -> GuardianDetail => staff |core, s, _| core.guardian_get(s, &guardian_id);
    lead_create(input: LeadInput) -> Lead => staff |core, s, _| core.lead_create(s, input);
    lead_update(lead_id: String, input: LeadInput) -> Lead => staff |core, s, _| core.lead_update(s, &lead_id, input);
    lead_set_status(lead_id: String, status: String, lost_reason: String) -> Lead => staff |core, s, _| core.lead_set_status(s, &lead_id, &status, &lost_reason);
    lead_follow_up(lead_id: String, input: FollowUpInput) -> FollowUp => staff |core, s, _| core.lead_follow_up(s, &lead_id, input);
    lead_convert(lead_id: String, input: ConvertInput) -> Member => staff |core, s, _| core.lead_convert(s, &lead_id, input);
    lead_get(lead_id: String) -> LeadDetail => staff |core, s, _| core.lead_get(s, &lead_id);
    lead_list(filter: LeadFilter) -> Vec<LeadRow> => staff |core, s, _| core.lead_list(s, filter);
    package_list(include_archived: bool) -> Vec<Package> => staff |core, s, _| core.package_list(s, include_archived);
    package_create(input: PackageInput) -> Package => staff |core, s, _| core.package_create(s, input);
    package_update(package_id: String, input: PackageInput) -> Package => staff |core, s, _| core.package_update(s, &package_id, input);
    package_set_archived(package_id: String, archived: bool) -> Package => staff |core, s, _| core.package_set_archived(s, &package_id, archived);
    contract_enrol(input: EnrolInput) -> ContractView => staff |core, s, _| core.contract_enrol(s, input);
    contract_get(contract_id: String) -> ContractView => staff |core, s, _| core.contract_get(s, &contract_id);
    contract_pause(contract_id: String, input: PauseInput) -> ContractView => staff |core, s, _| core.contract_pause(s, &contract_id, input);
    refund_quote(contract_id: String, rule: RefundRule) -> RefundQuote => staff |core, s, _| core.refund_quote(s, &contract_id, rule);
    contract_refund(contract_id: String, input: RefundInput) -> Option<Payment> => staff |core, s, _| core.contract_refund(s, &contract_id, input);
    payment_take(input: PaymentInput) -> Receipt => staff |core, s, lang| core.payment_take(s, input, lang);
    payment_reverse(payment_id: String, reason: String) -> Payment => staff |core, s, _| core.payment_reverse(s, &payment_id, &reason);
    receipt(payment_id: String) -> Receipt => staff |core, s, lang| core.receipt(s, &payment_id, lang);
    payments_recent(limit: i64) -> Vec<PaymentRow> => staff |core, s, _| core.payments_recent(s, limit);
    staff_list() -> Vec<Staff> => staff |core, s, _| core.staff_list(s);
    staff_create(input: NewStaff) -> Staff => staff |core, s, _| core.staff_create(s, input);
    staff_set_active(staff_id: String, active: bool) -> Staff => staff |core, s, _| core.staff_set_active(s, &staff_id, active);
    settings_get() -> Settings => public |core| core.settings();
    settings_update(input: Settings) -> Settings => staff |core, s, _| core.settings_update(s, input);
    room_list() -> Vec<Room> => staff |core, s, _| core.room_list(s);
    room_create(input: RoomInput) -> Room => staff |core, s, _| core.room_create(s, input);
    group_list() -> Vec<ClassGroup> => staff |core, s, _| core.group_list(s);
    group_create(input: ClassGroupInput) -> ClassGroup => staff |core, s, _| core.group_create(s, input);
    group_add_member(group_id: String, member_id: String, start_date: Option<String>, confirm_full: bool) -> GroupMember => staff |core, s, _| core.group_add_member(s, &group_id, &member_id, start_date, confirm_full);
    group_remove_member(group_member_id: String, end_date: Option<String>) -> GroupMember => staff |core, s, _| core.group_remove_member(s, &group_member_id, end_date);
    group_members(group_id: String, on: Option<String>) -> Vec<GroupMember> => staff |core, s, _| core.group_members(s, &group_id, on);
    slot_list(season_id: Option<String>) -> Vec<Slot> => staff |core, s, _| core.slot_list(s, season_id);
    slot_create(input: SlotInput) -> Slot => staff |core, s, _| core.slot_create(s, input);
    slot_deactivate(slot_id: String) -> Slot => staff |core, s, _| core.slot_deactivate(s, &slot_id);
    season_list() -> Vec<Season> => staff |core, s, _| core.season_list(s);
    season_create(input: Season) -> Season => staff |core, s, _| core.season_create(s, input);
    season_notice_preview(season_id: String) -> SeasonNoticePreview => staff |core, s, _| core.season_notice_preview(s, &season_id);
    season_notify(season_id: String) -> i64 => staff |core, s, _| core.season_notify(s, &season_id);
    closure_list() -> Vec<Closure> => staff |core, s, _| core.closure_list(s);
    closure_create(input: ClosureInput) -> Closure => staff |core, s, _| core.closure_create(s, input);
    closure_preview(input: ClosureInput) -> ClosurePreview => staff |core, s, _| core.closure_preview(s, &input);
    sessions_generate(from: String, to: String) -> GenerateSummary => staff |core, s, _| core.sessions_generate(s, &from, &to);
    session_list(filter: SessionFilter) -> Vec<ClassSession> => staff |core, s, _| core.session_list(s, filter);
    session_change(session_id: String, change: SessionChange) -> ClassSession => staff |core, s, _| core.session_change(s, &session_id, change);
    session_change_preview(session_id: String, change: SessionChange) -> ChangePreview => staff |core, s, _| core.session_change_preview(s, &session_id, change);
    roster(session_id: String) -> Roster => staff |core, s, _| core.roster(s, &session_id);
    roll_call(session_id: String, input: RollCallInput) -> RollCallResult => staff |core, s, _| core.roll_call(s, &session_id, input);
    session_dismiss(session_id: String) -> i64 => staff |core, s, _| core.session_dismiss(s, &session_id);
    leave_request(input: LeaveInput) -> Vec<LeaveRequest> => staff |core, s, _| core.leave_request(s, input);
    leave_choices(member_id: String, days: i64) -> Vec<LeaveChoice> => staff |core, s, _| core.leave_choices(s, &member_id, days);
    trial_request(input: TrialInput) -> TrialRequest => staff |core, s, _| core.trial_request(s, input);
    trial_decide(trial_id: String, approve: bool, note: String) -> TrialRequest => staff |core, s, _| core.trial_decide(s, &trial_id, approve, &note);
    trials_pending() -> Vec<TrialRequest> => staff |core, s, _| core.trials_pending(s);
    notices(session_id: Option<String>, limit: i64) -> Vec<Notice> => staff |core, s, _| core.notices(s, session_id, limit);
    outbox(status: Option<String>, limit: i64) -> Vec<Notice> => staff |core, s, _| core.outbox(s, status, limit);
    notice_resend(id: String) -> Notice => staff |core, s, _| core.notice_resend(s, &id);
    notices_deliver() -> DeliveryReport => staff |core, s, _| core.deliver_notices_now(s);
    notify_channels() -> NotifyChannels => staff |core, s, _| core.notify_channels(s);
    notify_channels_set(input: NotifyChannels) -> NotifyChannels => staff |core, s, _| core.notify_channels_set(s, input);
    notify_settings() -> NotifySettings => staff |core, s, _| core.notify_settings(s);
    notify_settings_set(input: NotifySettings) -> NotifySettings => staff |core, s, _| core.notify_settings_set(s, input);
    notice_templates() -> Vec<NoticeTemplate> => staff |core, s, _| core.notice_templates(s);
    notice_template_set(kind: String, lang: Lang, body: String) -> NoticeTemplate => staff |core, s, _| core.notice_template_set(s, &kind, lang, &body);
    print_roster(session_id: String, action: Delivery) -> PrintOutcome => shell |ctx| ctx.print(action, |core, s, lang| core.print_roster(s, &session_id, lang));
    print_group_week(group_id: String, week_start: String, action: Delivery) -> PrintOutcome => shell |ctx| ctx.print(action, |core, s, lang| core.print_group_week(s, &group_id, &week_start, lang));
    print_timetable_week(week_start: String, layout: Option<WeekLayout>, action: Delivery) -> PrintOutcome => shell |ctx| ctx.print(action, |core, s, lang| core.print_timetable_week(s, &week_start, layout.unwrap_or(WeekLayout::ByRoom), lang));
    print_receipt(payment_id: String, action: Delivery) -> PrintOutcome => shell |ctx| ctx.print(action, |core, s, lang| core.print_receipt(s, &payment_id, lang));
    backups() -> Vec<BackupInfo> => staff |core, s, _| core.backups(s);
    backup_status() -> BackupStatus => staff |core, s, _| core.backup_status(s);
    backup_settings_set(input: BackupSettings) -> BackupStatus => staff |core, s, _| core.backup_settings_set(s, input);
    backup_now() -> BackupInfo => staff |core, s, _| core.backup_now(s);
    backup_restore(file_name: String) -> BackupInfo => shell |ctx| ctx.state.restore_backup(&file_name);
    phone_server_status() -> PhoneServerStatus => shell |ctx| ctx.state.phone_server_status();
    phone_server_set(input: PhoneServerSettings) -> PhoneServerStatus => shell |ctx| ctx.state.phone_server_set(input);
    phone_pairing_open() -> PhonePairing => shell |ctx| ctx.state.phone_pairing_open();
    portal_state() -> PortalState => sync |core, s| core.portal_state(s);
    portal_settings_update(input: PortalSettings) -> PortalSettings => staff |core, s, _| core.portal_settings_update(s, input);
    portal_invite(guardian_id: String) -> PortalInviteCard => shell |ctx| ctx.state.portal_invite(&guardian_id);
    portal_guardian(guardian_id: String) -> PortalGuardian => staff |core, s, _| core.portal_guardian(s, &guardian_id);
    portal_sign_out(guardian_id: String) -> PortalGuardian => staff |core, s, _| core.portal_sign_out(s, &guardian_id);
    portal_view_as(guardian_id: String) -> PortalView => staff |core, s, _| core.portal_view_as(s, &guardian_id);
    phone_pairing_close() -> () => staff |core, s, _| core.phone_pairing_close(s);
    phone_devices() -> Vec<PhoneDevice> => staff |core, s, _| core.phone_devices(s);
    phone_device_revoke(device_id: String) -> PhoneDevice => staff |core, s, _| core.phone_device_revoke(s, &device_id);
    database_export() -> Option<String> => shell |ctx| ctx.state.export_database(ctx.app);
    chart_picture_save(title: String, png: Vec<u8>, action: Delivery) -> ExportOutcome => shell |ctx| ctx.save_picture(action, &title, &png);
    export_csv(request: ExportRequest, action: Delivery) -> ExportOutcome => shell |ctx| ctx.export(action, |core, s, lang| core.export_csv(s, &request, lang));
    revenue(filter: RevenueFilter) -> RevenueReport => staff |core, s, lang| core.revenue(s, &filter, lang);
    attendance_report(filter: AttendanceFilter) -> AttendanceReport => staff |core, s, lang| core.attendance_report(s, &filter, lang);
    attendance_csv(filter: AttendanceFilter, action: Delivery) -> ExportOutcome => shell |ctx| ctx.export(action, |core, s, lang| core.attendance_csv(s, &filter, lang, true));
    staff_activity(filter: ActivityFilter) -> StaffActivity => staff |core, s, lang| core.staff_activity(s, &filter, lang);
    import_preview(kind: ImportKind, bytes: Vec<u8>, mapping: Option<Vec<ColumnMapping>>) -> ImportPreview => staff |core, s, _| core.import_preview(s, kind, &bytes, mapping.as_deref());
    import_commit(kind: ImportKind, bytes: Vec<u8>, mapping: Option<Vec<ColumnMapping>>) -> ImportReport => staff |core, s, _| core.import_commit(s, kind, &bytes, mapping.as_deref());
    goods_list(include_archived: bool) -> Vec<Goods> => staff |core, s, _| core.goods_list(s, include_archived);
    goods_create(input: GoodsInput) -> Goods => staff |core, s, _| core.goods_create(s, input);
    goods_update(goods_id: String, input: GoodsInput, archived: bool) -> Goods => staff |core, s, _| core.goods_update(s, &goods_id, input, archived);
    goods_stock(input: StockInput) -> Goods => staff |core, s, _| core.goods_stock(s, input);
    goods_moves(goods_id: String) -> Vec<StockMove> => staff |core, s, _| core.goods_moves(s, &goods_id);
    goods_sell(input: SaleInput) -> GoodsSale => staff |core, s, _| core.goods_sell(s, input);
    goods_deliver(sale_id: String) -> GoodsSale => staff |core, s, _| core.goods_deliver(s, &sale_id);
    goods_sales(from_date: String, to_date: String, undelivered: bool) -> Vec<GoodsSale> => staff |core, s, _| core.goods_sales(s, &from_date, &to_date, undelivered);
    goods_return(input: ReturnInput) -> GoodsReturn => staff |core, s, _| core.goods_return(s, input);
    goods_returns(from_date: String, to_date: String) -> Vec<GoodsReturn> => staff |core, s, _| core.goods_returns(s, &from_date, &to_date);
    cash_handin_record(input: HandinInput) -> CashHandin => staff |core, s, _| core.cash_handin_record(s, input);
    cash_handin_void(handin_id: String, reason: String) -> CashHandin => staff |core, s, _| core.cash_handin_void(s, &handin_id, &reason);
    cash_report(filter: CashFilter) -> CashReport => staff |core, s, _| core.cash_report(s, &filter);
    cash_report_csv(filter: CashFilter, action: Delivery) -> ExportOutcome => shell |ctx| ctx.export(action, |core, s, lang| core.cash_report_csv(s, &filter, lang, true));
    points_account(member_id: String) -> PointsAccount => staff |core, s, _| core.points_account(s, &member_id);
    referral_tree(member_id: String) -> ReferralTree => staff |core, s, _| core.referral_tree(s, &member_id);
    tier_config() -> TierConfig => staff |core, s, _| core.tier_config(s);
    tier_config_update(input: TierConfig) -> TierConfig => staff |core, s, _| core.tier_config_update(s, input);
    holidays() -> Vec<Holiday> => staff |core, s, _| core.holidays(s);
    holidays_set(input: Vec<Holiday>) -> Vec<Holiday> => staff |core, s, _| core.holidays_set(s, input);
    tiers_evaluate() -> TierRun => staff |core, s, _| core.tiers_evaluate(s);
    member_tier(member_id: String) -> MemberTier => staff |core, s, _| core.member_tier(s, &member_id);
    tier_discount(member_id: String, package_id: String) -> TierDiscount => staff |core, s, _| core.tier_discount(s, &member_id, &package_id);
    points_award(input: PointsAward) -> PointsAccount => staff |core, s, _| core.points_award(s, input);
    member_duplicates() -> Vec<DuplicatePair> => staff |core, s, _| core.member_duplicates(s);
    member_merge(keep_id: String, duplicate_id: String) -> MemberDetail => staff |core, s, _| core.member_merge(s, &keep_id, &duplicate_id);
    analysis(filter: AnalysisFilter) -> Vec<ReportTable> => staff |core, s, lang| core.analysis(s, &filter, lang);
    analysis_csv(filter: AnalysisFilter, table: String, action: Delivery) -> ExportOutcome => shell |ctx| ctx.export(action, |core, s, lang| core.analysis_csv(s, &filter, &table, lang, true));
    feedback_stats_csv(table: String, from_date: String, to_date: String, by: String, action: Delivery) -> ExportOutcome => shell |ctx| ctx.export(action, |core, s, lang| core.feedback_stats_csv(s, &table, &from_date, &to_date, &by, lang, true));
    revenue_csv(filter: RevenueFilter, table: String, action: Delivery) -> ExportOutcome => shell |ctx| ctx.export(action, |core, s, lang| core.revenue_csv(s, &filter, &table, lang, true));
    suggestion_create(input: SuggestionInput) -> Suggestion => staff |core, s, _| core.suggestion_create(s, input);
    suggestion_set_public(suggestion_id: String, public: bool) -> Suggestion => staff |core, s, _| core.suggestion_set_public(s, &suggestion_id, public);
    suggestion_vote(input: VoteInput) -> Suggestion => staff |core, s, _| core.suggestion_vote(s, input);
    suggestion_list(include_hidden: bool) -> Vec<Suggestion> => staff |core, s, _| core.suggestion_list(s, include_hidden);
    complaint_create(input: ComplaintInput) -> Complaint => staff |core, s, _| core.complaint_create(s, input);
    complaint_get(complaint_id: String) -> Complaint => staff |core, s, _| core.complaint_get(s, &complaint_id);
    complaint_list(filter: ComplaintFilter) -> Vec<Complaint> => staff |core, s, _| core.complaint_list(s, filter);
    complaint_step(input: StepInput) -> Complaint => staff |core, s, _| core.complaint_step(s, input);
    complaint_confirm(input: ConfirmInput) -> Complaint => staff |core, s, _| core.complaint_confirm(s, input);
    complaint_assign(complaint_id: String, handler_id: String) -> Complaint => staff |core, s, _| core.complaint_assign(s, &complaint_id, &handler_id);
    complaint_stats(from_date: String, to_date: String) -> ComplaintStats => staff |core, s, lang| core.complaint_stats(s, &from_date, &to_date, lang);
    satisfaction_record(input: ScoreInput) -> SatisfactionScore => staff |core, s, _| core.satisfaction_record(s, input);
    satisfaction_list(from_date: String, to_date: String) -> Vec<SatisfactionScore> => staff |core, s, _| core.satisfaction_list(s, &from_date, &to_date);
    satisfaction_results(from_date: String, to_date: String, by: String) -> Vec<SatisfactionRow> => staff |core, s, lang| core.satisfaction_results(s, &from_date, &to_date, &by, lang);
}
