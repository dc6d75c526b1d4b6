//! The desktop shell: a window over the core. Each command body is one call into
//! `centredesk-core`; the shell only holds who is logged in and the UI language.

use centredesk_core::analysis::{AnalysisFilter, ReportTable};
use centredesk_core::auth::{FirstRun, NewStaff, Staff};
use centredesk_core::contracts::{ContractView, EnrolInput, PauseInput, RefundInput, RefundQuote, RefundRule};
use centredesk_core::duplicates::DuplicatePair;
use centredesk_core::error::AuthFailure;
use centredesk_core::feedback::{
    Complaint, ComplaintFilter, ComplaintInput, ComplaintStats, ConfirmInput, SatisfactionRow, SatisfactionScore, ScoreInput, StepInput, Suggestion,
    SuggestionInput, VoteInput,
};
use centredesk_core::cash::{CashFilter, CashHandin, CashReport, HandinInput};
use centredesk_core::goods::{Goods, GoodsInput, GoodsReturn, GoodsSale, ReturnInput, SaleInput, StockInput, StockMove};
use centredesk_core::home::HomeDashboard;
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
use centredesk_core::attendance::{LeaveInput, LeaveRequest, RollCallInput, RollCallResult, Roster, TrialInput, TrialRequest};
use centredesk_core::notify::automatic::NotifySettings;
use centredesk_core::notify::delivery::{DeliveryReport, NotifyChannels};
use centredesk_core::notify::templates::NoticeTemplate;
use centredesk_core::notify::Notice;
use centredesk_core::settings::Settings;
use centredesk_core::timetable::{
    ClassGroup, ClassGroupInput, ClassSession, Closure, GenerateSummary, GroupMember, Room, RoomInput, Season, SessionChange,
    SessionFilter, Slot, SlotInput,
};
use centredesk_core::points::{PointsAccount, PointsAward};
use centredesk_core::print::WeekLayout;
use centredesk_core::audit::{ActivityFilter, StaffActivity};
use centredesk_core::backup::BackupInfo;
use centredesk_core::import::{ColumnMapping, ImportKind, ImportPreview, ImportReport};
use centredesk_core::export::ExportRequest;
use centredesk_core::sync::{PushReport, PusherControl, SyncError, SyncSettings, SyncState};
use centredesk_core::reports::{AttendanceFilter, AttendanceReport, RevenueFilter, RevenueReport};
use printing::{ExportOutcome, PrintOutcome};

mod printing;
use centredesk_core::{Core, CoreError, ErrorDto, Lang, Session};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Manager, State};

pub struct AppState {
    core: Core,
    session: Mutex<Option<Session>>,
    lang: Mutex<Lang>,
    prefs_path: PathBuf,
    /// Wakes or stops the background head-office pusher.
    pusher: Arc<PusherControl>,
}

type CmdResult<T> = Result<T, ErrorDto>;

impl AppState {
    fn lang(&self) -> Lang {
        *self.lang.lock().unwrap()
    }

    fn fail(&self, e: CoreError) -> ErrorDto {
        e.to_dto(self.lang())
    }

    /// Runs a core call as the logged-in staff member.
    fn as_staff<T>(&self, f: impl FnOnce(&Core, &Session) -> centredesk_core::Result<T>) -> CmdResult<T> {
        let session = self.session.lock().unwrap().clone();
        let session = session.ok_or_else(|| self.fail(CoreError::Auth(AuthFailure::NotLoggedIn)))?;
        f(&self.core, &session).map_err(|e| self.fail(e))
    }

    /// Runs a sync call as the logged-in staff member.
    fn sync_as_staff<T>(&self, f: impl FnOnce(&Core, &Session) -> Result<T, SyncError>) -> CmdResult<T> {
        self.as_staff(|core, session| Ok(f(core, session)))?.map_err(|e| e.to_dto(self.lang()))
    }

    fn start_session(&self, result: centredesk_core::Result<Session>) -> CmdResult<Session> {
        let session = result.map_err(|e| self.fail(e))?;
        *self.session.lock().unwrap() = Some(session.clone());
        Ok(session)
    }
}

#[derive(Serialize)]
struct AppInfo {
    needs_first_run: bool,
    centre_name: String,
    lang: Lang,
    db_path: String,
    version: &'static str,
    session: Option<Session>,
    /// The core's "now" (UTC): the UI reads dates from the core's clock, never the
    /// machine's, so "today" in a form is the desk's today.
    now: String,
    /// Set when the app was started with `--clock`: the header shows it.
    clock_start: Option<String>,
    timezone: String,
}

#[tauri::command(async)]
fn app_info(state: State<'_, AppState>) -> CmdResult<AppInfo> {
    Ok(AppInfo {
        needs_first_run: state.core.needs_first_run().map_err(|e| state.fail(e))?,
        centre_name: state.core.settings().map_err(|e| state.fail(e))?.centre_name,
        lang: state.lang(),
        db_path: state.core.path().display().to_string(),
        version: env!("CARGO_PKG_VERSION"),
        session: state.session.lock().unwrap().clone(),
        now: centredesk_core::db::instant_text(state.core.now()),
        clock_start: state.core.clock_start().map(centredesk_core::db::instant_text),
        timezone: state.core.timezone().name().to_string(),
    })
}

#[tauri::command(async)]
fn set_language(state: State<'_, AppState>, lang: Lang) -> CmdResult<Lang> {
    *state.lang.lock().unwrap() = lang;
    // A device preference, not centre data: kept beside the app's config, not synced.
    let _ = std::fs::create_dir_all(state.prefs_path.parent().unwrap_or(&state.prefs_path));
    let _ = std::fs::write(&state.prefs_path, serde_json::json!({ "lang": lang }).to_string());
    Ok(lang)
}

#[tauri::command(async)]
fn sync_state(state: State<'_, AppState>) -> CmdResult<SyncState> {
    state.sync_as_staff(|core, _| core.sync_state())
}

#[tauri::command(async)]
fn sync_now(state: State<'_, AppState>) -> CmdResult<PushReport> {
    state.sync_as_staff(|core, s| core.sync_now(s))
}

#[tauri::command(async)]
fn sync_register(state: State<'_, AppState>, server_url: String, centre: String, username: String, password: String, device_name: String) -> CmdResult<SyncSettings> {
    state.sync_as_staff(|core, s| core.sync_register(s, &server_url, &centre, &username, &password, &device_name))
}

#[tauri::command(async)]
fn sync_set_enabled(state: State<'_, AppState>, enabled: bool) -> CmdResult<SyncSettings> {
    let settings = state.sync_as_staff(|core, s| core.sync_set_enabled(s, enabled))?;
    state.pusher.wake();
    Ok(settings)
}

#[tauri::command(async)]
fn first_run(state: State<'_, AppState>, input: FirstRun) -> CmdResult<Session> {
    state.start_session(state.core.first_run(input))
}

#[tauri::command(async)]
fn login(state: State<'_, AppState>, username: String, password: String) -> CmdResult<Session> {
    state.start_session(state.core.login(&username, &password))
}

#[tauri::command(async)]
fn logout(state: State<'_, AppState>) {
    *state.session.lock().unwrap() = None;
}

#[tauri::command(async)]
fn change_password(state: State<'_, AppState>, old_password: String, new_password: String) -> CmdResult<()> {
    state.as_staff(|core, s| core.change_password(s, &old_password, &new_password))
}

#[tauri::command(async)]
fn search(state: State<'_, AppState>, query: String, limit: Option<usize>) -> CmdResult<Vec<SearchHit>> {
    state.as_staff(|core, s| core.search(s, &query, limit.unwrap_or(20)))
}

#[tauri::command(async)]
fn home(state: State<'_, AppState>) -> CmdResult<HomeDashboard> {
    state.as_staff(|core, s| core.home(s))
}

#[tauri::command(async)]
fn member_apply(state: State<'_, AppState>, input: MemberApplication) -> CmdResult<Member> {
    state.as_staff(|core, s| core.member_apply(s, input))
}

#[tauri::command(async)]
fn member_approve(state: State<'_, AppState>, member_id: String, input: MemberApproval) -> CmdResult<Member> {
    state.as_staff(|core, s| core.member_approve(s, &member_id, input))
}

#[tauri::command(async)]
fn member_update(state: State<'_, AppState>, member_id: String, input: MemberUpdate) -> CmdResult<Member> {
    state.as_staff(|core, s| core.member_update(s, &member_id, input))
}

#[tauri::command(async)]
fn member_set_status(state: State<'_, AppState>, member_id: String, status: String) -> CmdResult<Member> {
    state.as_staff(|core, s| core.member_set_status(s, &member_id, &status))
}

#[tauri::command(async)]
fn member_get(state: State<'_, AppState>, member_id: String) -> CmdResult<MemberDetail> {
    state.as_staff(|core, s| core.member_get(s, &member_id))
}

#[tauri::command(async)]
fn member_list(state: State<'_, AppState>, filter: MemberFilter) -> CmdResult<MemberPage> {
    state.as_staff(|core, s| core.member_list(s, filter))
}

#[tauri::command(async)]
fn member_timeline(state: State<'_, AppState>, member_id: String) -> CmdResult<Vec<TimelineEntry>> {
    state.as_staff(|core, s| core.member_timeline(s, &member_id, 200))
}

#[tauri::command(async)]
fn guardian_link(state: State<'_, AppState>, member_id: String, input: GuardianLinkInput) -> CmdResult<MemberDetail> {
    state.as_staff(|core, s| core.guardian_link(s, &member_id, input))
}

#[tauri::command(async)]
fn guardian_update(state: State<'_, AppState>, guardian_id: String, input: GuardianUpdate) -> CmdResult<Guardian> {
    state.as_staff(|core, s| core.guardian_update(s, &guardian_id, input))
}

#[tauri::command(async)]
fn guardian_unlink(state: State<'_, AppState>, member_id: String, guardian_id: String) -> CmdResult<MemberDetail> {
    state.as_staff(|core, s| core.guardian_unlink(s, &member_id, &guardian_id))
}

#[tauri::command(async)]
fn guardian_get(state: State<'_, AppState>, guardian_id: String) -> CmdResult<GuardianDetail> {
    state.as_staff(|core, s| core.guardian_get(s, &guardian_id))
}

#[tauri::command(async)]
fn lead_create(state: State<'_, AppState>, input: LeadInput) -> CmdResult<Lead> {
    state.as_staff(|core, s| core.lead_create(s, input))
}

#[tauri::command(async)]
fn lead_update(state: State<'_, AppState>, lead_id: String, input: LeadInput) -> CmdResult<Lead> {
    state.as_staff(|core, s| core.lead_update(s, &lead_id, input))
}

#[tauri::command(async)]
fn lead_set_status(state: State<'_, AppState>, lead_id: String, status: String, lost_reason: String) -> CmdResult<Lead> {
    state.as_staff(|core, s| core.lead_set_status(s, &lead_id, &status, &lost_reason))
}

#[tauri::command(async)]
fn lead_follow_up(state: State<'_, AppState>, lead_id: String, input: FollowUpInput) -> CmdResult<FollowUp> {
    state.as_staff(|core, s| core.lead_follow_up(s, &lead_id, input))
}

#[tauri::command(async)]
fn lead_convert(state: State<'_, AppState>, lead_id: String, input: ConvertInput) -> CmdResult<Member> {
    state.as_staff(|core, s| core.lead_convert(s, &lead_id, input))
}

#[tauri::command(async)]
fn lead_get(state: State<'_, AppState>, lead_id: String) -> CmdResult<LeadDetail> {
    state.as_staff(|core, s| core.lead_get(s, &lead_id))
}

#[tauri::command(async)]
fn lead_list(state: State<'_, AppState>, filter: LeadFilter) -> CmdResult<Vec<LeadRow>> {
    state.as_staff(|core, s| core.lead_list(s, filter))
}

#[tauri::command(async)]
fn package_list(state: State<'_, AppState>, include_archived: bool) -> CmdResult<Vec<Package>> {
    state.as_staff(|core, s| core.package_list(s, include_archived))
}

#[tauri::command(async)]
fn package_create(state: State<'_, AppState>, input: PackageInput) -> CmdResult<Package> {
    state.as_staff(|core, s| core.package_create(s, input))
}

#[tauri::command(async)]
fn package_update(state: State<'_, AppState>, package_id: String, input: PackageInput) -> CmdResult<Package> {
    state.as_staff(|core, s| core.package_update(s, &package_id, input))
}

#[tauri::command(async)]
fn package_set_archived(state: State<'_, AppState>, package_id: String, archived: bool) -> CmdResult<Package> {
    state.as_staff(|core, s| core.package_set_archived(s, &package_id, archived))
}

#[tauri::command(async)]
fn contract_enrol(state: State<'_, AppState>, input: EnrolInput) -> CmdResult<ContractView> {
    state.as_staff(|core, s| core.contract_enrol(s, input))
}

#[tauri::command(async)]
fn contract_get(state: State<'_, AppState>, contract_id: String) -> CmdResult<ContractView> {
    state.as_staff(|core, s| core.contract_get(s, &contract_id))
}

#[tauri::command(async)]
fn contract_pause(state: State<'_, AppState>, contract_id: String, input: PauseInput) -> CmdResult<ContractView> {
    state.as_staff(|core, s| core.contract_pause(s, &contract_id, input))
}

#[tauri::command(async)]
fn refund_quote(state: State<'_, AppState>, contract_id: String, rule: RefundRule) -> CmdResult<RefundQuote> {
    state.as_staff(|core, s| core.refund_quote(s, &contract_id, rule))
}

#[tauri::command(async)]
fn contract_refund(state: State<'_, AppState>, contract_id: String, input: RefundInput) -> CmdResult<Option<Payment>> {
    state.as_staff(|core, s| core.contract_refund(s, &contract_id, input))
}

#[tauri::command(async)]
fn payment_take(state: State<'_, AppState>, input: PaymentInput) -> CmdResult<Receipt> {
    state.as_staff(|core, s| core.payment_take(s, input))
}

#[tauri::command(async)]
fn payment_reverse(state: State<'_, AppState>, payment_id: String, reason: String) -> CmdResult<Payment> {
    state.as_staff(|core, s| core.payment_reverse(s, &payment_id, &reason))
}

#[tauri::command(async)]
fn receipt(state: State<'_, AppState>, payment_id: String) -> CmdResult<Receipt> {
    state.as_staff(|core, s| core.receipt(s, &payment_id))
}

#[tauri::command(async)]
fn payments_recent(state: State<'_, AppState>, limit: i64) -> CmdResult<Vec<PaymentRow>> {
    state.as_staff(|core, s| core.payments_recent(s, limit))
}

#[tauri::command(async)]
fn staff_list(state: State<'_, AppState>) -> CmdResult<Vec<Staff>> {
    state.as_staff(|core, s| core.staff_list(s))
}

#[tauri::command(async)]
fn staff_create(state: State<'_, AppState>, input: NewStaff) -> CmdResult<Staff> {
    state.as_staff(|core, s| core.staff_create(s, input))
}

#[tauri::command(async)]
fn staff_set_active(state: State<'_, AppState>, staff_id: String, active: bool) -> CmdResult<Staff> {
    state.as_staff(|core, s| core.staff_set_active(s, &staff_id, active))
}

#[tauri::command(async)]
fn settings_get(state: State<'_, AppState>) -> CmdResult<Settings> {
    state.core.settings().map_err(|e| state.fail(e))
}

#[tauri::command(async)]
fn settings_update(state: State<'_, AppState>, input: Settings) -> CmdResult<Settings> {
    state.as_staff(|core, s| core.settings_update(s, input))
}

#[tauri::command(async)]
fn room_list(state: State<'_, AppState>) -> CmdResult<Vec<Room>> {
    state.as_staff(|core, s| core.room_list(s))
}

#[tauri::command(async)]
fn room_create(state: State<'_, AppState>, input: RoomInput) -> CmdResult<Room> {
    state.as_staff(|core, s| core.room_create(s, input))
}

#[tauri::command(async)]
fn group_list(state: State<'_, AppState>) -> CmdResult<Vec<ClassGroup>> {
    state.as_staff(|core, s| core.group_list(s))
}

#[tauri::command(async)]
fn group_create(state: State<'_, AppState>, input: ClassGroupInput) -> CmdResult<ClassGroup> {
    state.as_staff(|core, s| core.group_create(s, input))
}

#[tauri::command(async)]
fn group_add_member(state: State<'_, AppState>, group_id: String, member_id: String, start_date: Option<String>) -> CmdResult<GroupMember> {
    state.as_staff(|core, s| core.group_add_member(s, &group_id, &member_id, start_date))
}

#[tauri::command(async)]
fn group_remove_member(state: State<'_, AppState>, group_member_id: String, end_date: Option<String>) -> CmdResult<GroupMember> {
    state.as_staff(|core, s| core.group_remove_member(s, &group_member_id, end_date))
}

#[tauri::command(async)]
fn group_members(state: State<'_, AppState>, group_id: String, on: Option<String>) -> CmdResult<Vec<GroupMember>> {
    state.as_staff(|core, s| core.group_members(s, &group_id, on))
}

#[tauri::command(async)]
fn slot_list(state: State<'_, AppState>, season_id: Option<String>) -> CmdResult<Vec<Slot>> {
    state.as_staff(|core, s| core.slot_list(s, season_id))
}

#[tauri::command(async)]
fn slot_create(state: State<'_, AppState>, input: SlotInput) -> CmdResult<Slot> {
    state.as_staff(|core, s| core.slot_create(s, input))
}

#[tauri::command(async)]
fn slot_deactivate(state: State<'_, AppState>, slot_id: String) -> CmdResult<Slot> {
    state.as_staff(|core, s| core.slot_deactivate(s, &slot_id))
}

#[tauri::command(async)]
fn season_list(state: State<'_, AppState>) -> CmdResult<Vec<Season>> {
    state.as_staff(|core, s| core.season_list(s))
}

#[tauri::command(async)]
fn season_create(state: State<'_, AppState>, input: Season) -> CmdResult<Season> {
    state.as_staff(|core, s| core.season_create(s, input))
}

#[tauri::command(async)]
fn closure_list(state: State<'_, AppState>) -> CmdResult<Vec<Closure>> {
    state.as_staff(|core, s| core.closure_list(s))
}

#[tauri::command(async)]
fn closure_create(state: State<'_, AppState>, input: Closure) -> CmdResult<Closure> {
    state.as_staff(|core, s| core.closure_create(s, input))
}

#[tauri::command(async)]
fn sessions_generate(state: State<'_, AppState>, from: String, to: String) -> CmdResult<GenerateSummary> {
    state.as_staff(|core, s| core.sessions_generate(s, &from, &to))
}

#[tauri::command(async)]
fn session_list(state: State<'_, AppState>, filter: SessionFilter) -> CmdResult<Vec<ClassSession>> {
    state.as_staff(|core, s| core.session_list(s, filter))
}

#[tauri::command(async)]
fn session_change(state: State<'_, AppState>, session_id: String, change: SessionChange) -> CmdResult<ClassSession> {
    state.as_staff(|core, s| core.session_change(s, &session_id, change))
}

#[tauri::command(async)]
fn roster(state: State<'_, AppState>, session_id: String) -> CmdResult<Roster> {
    state.as_staff(|core, s| core.roster(s, &session_id))
}

#[tauri::command(async)]
fn roll_call(state: State<'_, AppState>, session_id: String, input: RollCallInput) -> CmdResult<RollCallResult> {
    state.as_staff(|core, s| core.roll_call(s, &session_id, input))
}

#[tauri::command(async)]
fn session_dismiss(state: State<'_, AppState>, session_id: String) -> CmdResult<i64> {
    state.as_staff(|core, s| core.session_dismiss(s, &session_id))
}

#[tauri::command(async)]
fn leave_request(state: State<'_, AppState>, input: LeaveInput) -> CmdResult<Vec<LeaveRequest>> {
    state.as_staff(|core, s| core.leave_request(s, input))
}

#[tauri::command(async)]
fn trial_request(state: State<'_, AppState>, input: TrialInput) -> CmdResult<TrialRequest> {
    state.as_staff(|core, s| core.trial_request(s, input))
}

#[tauri::command(async)]
fn trial_decide(state: State<'_, AppState>, trial_id: String, approve: bool, note: String) -> CmdResult<TrialRequest> {
    state.as_staff(|core, s| core.trial_decide(s, &trial_id, approve, &note))
}

#[tauri::command(async)]
fn trials_pending(state: State<'_, AppState>) -> CmdResult<Vec<TrialRequest>> {
    state.as_staff(|core, s| core.trials_pending(s))
}

#[tauri::command(async)]
fn notices(state: State<'_, AppState>, session_id: Option<String>, limit: i64) -> CmdResult<Vec<Notice>> {
    state.as_staff(|core, s| core.notices(s, session_id, limit))
}

#[tauri::command(async)]
fn outbox(state: State<'_, AppState>, status: Option<String>, limit: i64) -> CmdResult<Vec<Notice>> {
    state.as_staff(|core, s| core.outbox(s, status, limit))
}

#[tauri::command(async)]
fn notice_resend(state: State<'_, AppState>, id: String) -> CmdResult<Notice> {
    state.as_staff(|core, s| core.notice_resend(s, &id))
}

#[tauri::command(async)]
fn notices_deliver(state: State<'_, AppState>) -> CmdResult<DeliveryReport> {
    state.as_staff(|core, s| core.deliver_notices_now(s))
}

#[tauri::command(async)]
fn notify_channels(state: State<'_, AppState>) -> CmdResult<NotifyChannels> {
    state.as_staff(|core, s| core.notify_channels(s))
}

#[tauri::command(async)]
fn notify_channels_set(state: State<'_, AppState>, input: NotifyChannels) -> CmdResult<NotifyChannels> {
    state.as_staff(|core, s| core.notify_channels_set(s, input))
}

#[tauri::command(async)]
fn notify_settings(state: State<'_, AppState>) -> CmdResult<NotifySettings> {
    state.as_staff(|core, s| core.notify_settings(s))
}

#[tauri::command(async)]
fn notify_settings_set(state: State<'_, AppState>, input: NotifySettings) -> CmdResult<NotifySettings> {
    state.as_staff(|core, s| core.notify_settings_set(s, input))
}

#[tauri::command(async)]
fn notice_templates(state: State<'_, AppState>) -> CmdResult<Vec<NoticeTemplate>> {
    state.as_staff(|core, s| core.notice_templates(s))
}

#[tauri::command(async)]
fn notice_template_set(state: State<'_, AppState>, kind: String, lang: Lang, body: String) -> CmdResult<NoticeTemplate> {
    state.as_staff(|core, s| core.notice_template_set(s, &kind, lang, &body))
}

// Printing: `action` is "open" (the system PDF viewer, from where the clerk prints) or
// "save" (a save-as dialog).
#[tauri::command(async)]
fn print_roster(app: AppHandle, state: State<'_, AppState>, session_id: String, action: String) -> CmdResult<PrintOutcome> {
    state.print(&app, &action, |core, s, lang| core.print_roster(s, &session_id, lang))
}

#[tauri::command(async)]
fn print_group_week(app: AppHandle, state: State<'_, AppState>, group_id: String, week_start: String, action: String) -> CmdResult<PrintOutcome> {
    state.print(&app, &action, |core, s, lang| core.print_group_week(s, &group_id, &week_start, lang))
}

#[tauri::command(async)]
fn print_timetable_week(app: AppHandle, state: State<'_, AppState>, week_start: String, layout: Option<WeekLayout>, action: String) -> CmdResult<PrintOutcome> {
    let layout = layout.unwrap_or(WeekLayout::ByRoom);
    state.print(&app, &action, |core, s, lang| core.print_timetable_week(s, &week_start, layout, lang))
}

#[tauri::command(async)]
fn print_receipt(app: AppHandle, state: State<'_, AppState>, payment_id: String, action: String) -> CmdResult<PrintOutcome> {
    state.print(&app, &action, |core, s, lang| core.print_receipt(s, &payment_id, lang))
}

#[tauri::command(async)]
fn backups(state: State<'_, AppState>) -> CmdResult<Vec<BackupInfo>> {
    state.as_staff(|core, s| core.backups(s))
}

#[tauri::command(async)]
fn backup_now(state: State<'_, AppState>) -> CmdResult<BackupInfo> {
    state.as_staff(|core, s| core.backup_now(s))
}

/// Restores a backup, then logs everyone out: the accounts are now the backup's.
#[tauri::command(async)]
fn backup_restore(state: State<'_, AppState>, file_name: String) -> CmdResult<BackupInfo> {
    let kept_aside = state.as_staff(|core, s| core.restore_backup(s, &file_name))?;
    *state.session.lock().unwrap() = None;
    Ok(kept_aside)
}

/// The whole database saved where the manager chooses; None when cancelled.
#[tauri::command(async)]
fn database_export(app: AppHandle, state: State<'_, AppState>) -> CmdResult<Option<String>> {
    state.export_database(&app)
}

/// A list as CSV for Excel: "open" keeps it in Documents/CentreDesk and opens it;
/// "save" asks where.
#[tauri::command(async)]
fn export_csv(app: AppHandle, state: State<'_, AppState>, request: ExportRequest, action: String) -> CmdResult<ExportOutcome> {
    state.export(&app, &action, |core, s, lang| core.export_csv(s, &request, lang))
}

#[tauri::command(async)]
fn revenue(state: State<'_, AppState>, filter: RevenueFilter) -> CmdResult<RevenueReport> {
    let lang = state.lang();
    state.as_staff(|core, s| core.revenue(s, &filter, lang))
}

#[tauri::command(async)]
fn attendance_report(state: State<'_, AppState>, filter: AttendanceFilter) -> CmdResult<AttendanceReport> {
    let lang = state.lang();
    state.as_staff(|core, s| core.attendance_report(s, &filter, lang))
}

#[tauri::command(async)]
fn attendance_csv(app: AppHandle, state: State<'_, AppState>, filter: AttendanceFilter, action: String) -> CmdResult<ExportOutcome> {
    state.export(&app, &action, |core, s, lang| core.attendance_csv(s, &filter, lang, true))
}

#[tauri::command(async)]
fn staff_activity(state: State<'_, AppState>, filter: ActivityFilter) -> CmdResult<StaffActivity> {
    state.as_staff(|core, s| core.staff_activity(s, &filter))
}

/// Members or leads from a spreadsheet: the preview writes nothing.
#[tauri::command(async)]
fn import_preview(state: State<'_, AppState>, kind: ImportKind, bytes: Vec<u8>, mapping: Option<Vec<ColumnMapping>>) -> CmdResult<ImportPreview> {
    state.as_staff(|core, s| core.import_preview(s, kind, &bytes, mapping.as_deref()))
}

/// Imports every accepted row in one transaction.
#[tauri::command(async)]
fn import_commit(state: State<'_, AppState>, kind: ImportKind, bytes: Vec<u8>, mapping: Option<Vec<ColumnMapping>>) -> CmdResult<ImportReport> {
    state.as_staff(|core, s| core.import_commit(s, kind, &bytes, mapping.as_deref()))
}

#[tauri::command(async)]
fn goods_list(state: State<'_, AppState>, include_archived: bool) -> CmdResult<Vec<Goods>> {
    state.as_staff(|core, s| core.goods_list(s, include_archived))
}

#[tauri::command(async)]
fn goods_create(state: State<'_, AppState>, input: GoodsInput) -> CmdResult<Goods> {
    state.as_staff(|core, s| core.goods_create(s, input))
}

#[tauri::command(async)]
fn goods_update(state: State<'_, AppState>, goods_id: String, input: GoodsInput, archived: bool) -> CmdResult<Goods> {
    state.as_staff(|core, s| core.goods_update(s, &goods_id, input, archived))
}

#[tauri::command(async)]
fn goods_stock(state: State<'_, AppState>, input: StockInput) -> CmdResult<Goods> {
    state.as_staff(|core, s| core.goods_stock(s, input))
}

#[tauri::command(async)]
fn goods_moves(state: State<'_, AppState>, goods_id: String) -> CmdResult<Vec<StockMove>> {
    state.as_staff(|core, s| core.goods_moves(s, &goods_id))
}

#[tauri::command(async)]
fn goods_sell(state: State<'_, AppState>, input: SaleInput) -> CmdResult<GoodsSale> {
    state.as_staff(|core, s| core.goods_sell(s, input))
}

#[tauri::command(async)]
fn goods_deliver(state: State<'_, AppState>, sale_id: String) -> CmdResult<GoodsSale> {
    state.as_staff(|core, s| core.goods_deliver(s, &sale_id))
}

#[tauri::command(async)]
fn goods_sales(state: State<'_, AppState>, from_date: String, to_date: String, undelivered: bool) -> CmdResult<Vec<GoodsSale>> {
    state.as_staff(|core, s| core.goods_sales(s, &from_date, &to_date, undelivered))
}

#[tauri::command(async)]
fn goods_return(state: State<'_, AppState>, input: ReturnInput) -> CmdResult<GoodsReturn> {
    state.as_staff(|core, s| core.goods_return(s, input))
}

#[tauri::command(async)]
fn goods_returns(state: State<'_, AppState>, from_date: String, to_date: String) -> CmdResult<Vec<GoodsReturn>> {
    state.as_staff(|core, s| core.goods_returns(s, &from_date, &to_date))
}

#[tauri::command(async)]
fn cash_handin_record(state: State<'_, AppState>, input: HandinInput) -> CmdResult<CashHandin> {
    state.as_staff(|core, s| core.cash_handin_record(s, input))
}

#[tauri::command(async)]
fn cash_handin_void(state: State<'_, AppState>, handin_id: String, reason: String) -> CmdResult<CashHandin> {
    state.as_staff(|core, s| core.cash_handin_void(s, &handin_id, &reason))
}

#[tauri::command(async)]
fn cash_report(state: State<'_, AppState>, filter: CashFilter) -> CmdResult<CashReport> {
    state.as_staff(|core, s| core.cash_report(s, &filter))
}

#[tauri::command(async)]
fn cash_report_csv(app: AppHandle, state: State<'_, AppState>, filter: CashFilter, action: String) -> CmdResult<ExportOutcome> {
    state.export(&app, &action, |core, s, lang| core.cash_report_csv(s, &filter, lang, true))
}

#[tauri::command(async)]
fn points_account(state: State<'_, AppState>, member_id: String) -> CmdResult<PointsAccount> {
    state.as_staff(|core, s| core.points_account(s, &member_id))
}

#[tauri::command(async)]
fn referral_tree(state: State<'_, AppState>, member_id: String) -> CmdResult<ReferralTree> {
    state.as_staff(|core, s| core.referral_tree(s, &member_id))
}

#[tauri::command(async)]
fn tier_config(state: State<'_, AppState>) -> CmdResult<TierConfig> {
    state.as_staff(|core, s| core.tier_config(s))
}

#[tauri::command(async)]
fn tier_config_update(state: State<'_, AppState>, input: TierConfig) -> CmdResult<TierConfig> {
    state.as_staff(|core, s| core.tier_config_update(s, input))
}

#[tauri::command(async)]
fn tiers_evaluate(state: State<'_, AppState>) -> CmdResult<TierRun> {
    state.as_staff(|core, s| core.tiers_evaluate(s))
}

#[tauri::command(async)]
fn member_tier(state: State<'_, AppState>, member_id: String) -> CmdResult<MemberTier> {
    state.as_staff(|core, s| core.member_tier(s, &member_id))
}

#[tauri::command(async)]
fn tier_discount(state: State<'_, AppState>, member_id: String, package_id: String) -> CmdResult<TierDiscount> {
    state.as_staff(|core, s| core.tier_discount(s, &member_id, &package_id))
}

#[tauri::command(async)]
fn points_award(state: State<'_, AppState>, input: PointsAward) -> CmdResult<PointsAccount> {
    state.as_staff(|core, s| core.points_award(s, input))
}

#[tauri::command(async)]
fn member_duplicates(state: State<'_, AppState>) -> CmdResult<Vec<DuplicatePair>> {
    state.as_staff(|core, s| core.member_duplicates(s))
}

#[tauri::command(async)]
fn member_merge(state: State<'_, AppState>, keep_id: String, duplicate_id: String) -> CmdResult<MemberDetail> {
    state.as_staff(|core, s| core.member_merge(s, &keep_id, &duplicate_id))
}

#[tauri::command(async)]
fn analysis(state: State<'_, AppState>, filter: AnalysisFilter) -> CmdResult<Vec<ReportTable>> {
    let lang = state.lang();
    state.as_staff(|core, s| core.analysis(s, &filter, lang))
}

#[tauri::command(async)]
fn analysis_csv(app: AppHandle, state: State<'_, AppState>, filter: AnalysisFilter, table: String, action: String) -> CmdResult<ExportOutcome> {
    state.export(&app, &action, |core, s, lang| core.analysis_csv(s, &filter, &table, lang, true))
}

#[tauri::command(async)]
fn feedback_stats_csv(app: AppHandle, state: State<'_, AppState>, table: String, from_date: String, to_date: String, by: String, action: String) -> CmdResult<ExportOutcome> {
    state.export(&app, &action, |core, s, lang| core.feedback_stats_csv(s, &table, &from_date, &to_date, &by, lang, true))
}

#[tauri::command(async)]
fn revenue_csv(app: AppHandle, state: State<'_, AppState>, filter: RevenueFilter, action: String) -> CmdResult<ExportOutcome> {
    state.export(&app, &action, |core, s, lang| core.revenue_csv(s, &filter, lang, true))
}

#[tauri::command(async)]
fn suggestion_create(state: State<'_, AppState>, input: SuggestionInput) -> CmdResult<Suggestion> {
    state.as_staff(|core, s| core.suggestion_create(s, input))
}

#[tauri::command(async)]
fn suggestion_set_public(state: State<'_, AppState>, suggestion_id: String, public: bool) -> CmdResult<Suggestion> {
    state.as_staff(|core, s| core.suggestion_set_public(s, &suggestion_id, public))
}

#[tauri::command(async)]
fn suggestion_vote(state: State<'_, AppState>, input: VoteInput) -> CmdResult<Suggestion> {
    state.as_staff(|core, s| core.suggestion_vote(s, input))
}

#[tauri::command(async)]
fn suggestion_list(state: State<'_, AppState>, include_hidden: bool) -> CmdResult<Vec<Suggestion>> {
    state.as_staff(|core, s| core.suggestion_list(s, include_hidden))
}

#[tauri::command(async)]
fn complaint_create(state: State<'_, AppState>, input: ComplaintInput) -> CmdResult<Complaint> {
    state.as_staff(|core, s| core.complaint_create(s, input))
}

#[tauri::command(async)]
fn complaint_get(state: State<'_, AppState>, complaint_id: String) -> CmdResult<Complaint> {
    state.as_staff(|core, s| core.complaint_get(s, &complaint_id))
}

#[tauri::command(async)]
fn complaint_list(state: State<'_, AppState>, filter: ComplaintFilter) -> CmdResult<Vec<Complaint>> {
    state.as_staff(|core, s| core.complaint_list(s, filter))
}

#[tauri::command(async)]
fn complaint_step(state: State<'_, AppState>, input: StepInput) -> CmdResult<Complaint> {
    state.as_staff(|core, s| core.complaint_step(s, input))
}

#[tauri::command(async)]
fn complaint_confirm(state: State<'_, AppState>, input: ConfirmInput) -> CmdResult<Complaint> {
    state.as_staff(|core, s| core.complaint_confirm(s, input))
}

#[tauri::command(async)]
fn complaint_assign(state: State<'_, AppState>, complaint_id: String, handler_id: String) -> CmdResult<Complaint> {
    state.as_staff(|core, s| core.complaint_assign(s, &complaint_id, &handler_id))
}

#[tauri::command(async)]
fn complaint_stats(state: State<'_, AppState>, from_date: String, to_date: String) -> CmdResult<ComplaintStats> {
    let lang = state.lang();
    state.as_staff(|core, s| core.complaint_stats(s, &from_date, &to_date, lang))
}

#[tauri::command(async)]
fn satisfaction_record(state: State<'_, AppState>, input: ScoreInput) -> CmdResult<SatisfactionScore> {
    state.as_staff(|core, s| core.satisfaction_record(s, input))
}

#[tauri::command(async)]
fn satisfaction_list(state: State<'_, AppState>, from_date: String, to_date: String) -> CmdResult<Vec<SatisfactionScore>> {
    state.as_staff(|core, s| core.satisfaction_list(s, &from_date, &to_date))
}

#[tauri::command(async)]
fn satisfaction_results(state: State<'_, AppState>, from_date: String, to_date: String, by: String) -> CmdResult<Vec<SatisfactionRow>> {
    let lang = state.lang();
    state.as_staff(|core, s| core.satisfaction_results(s, &from_date, &to_date, &by, lang))
}

/// The value after `--name` on the command line.
fn arg_value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// The database file: `--db PATH`, else `CENTREDESK_DB`, else the OS data directory.
fn db_path_from_args() -> PathBuf {
    arg_value("--db").map(PathBuf::from).unwrap_or_else(centredesk_core::default_db_path)
}

/// `--clock INSTANT` (tests and demos of a given day; see `OffsetClock`), else the
/// system clock. Only an explicit command-line option sets it.
fn clock_from_args() -> Result<Arc<dyn centredesk_core::Clock>, String> {
    match arg_value("--clock") {
        Some(text) => Ok(centredesk_core::OffsetClock::starting_at(centredesk_core::OffsetClock::parse_instant(&text)?)),
        None => Ok(Arc::new(centredesk_core::SystemClock)),
    }
}

pub fn run() {
    // Some GPU drivers give WebKitGTK a blank window with the DMA-BUF renderer.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    let db_path = db_path_from_args();
    let clock = match clock_from_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let core = Core::open_with_clock(&db_path, clock.clone()).map_err(|e| format!("cannot open {}: {}", db_path.display(), e.message(Lang::En)))?;
            let prefs_path = app.path().app_config_dir()?.join("prefs.json");
            let lang = std::fs::read_to_string(&prefs_path)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v.get("lang").and_then(|l| l.as_str()).map(Lang::parse))
                .unwrap_or_default();
            let pusher = Arc::new(PusherControl::default());
            app.manage(AppState { core, session: Mutex::new(None), lang: Mutex::new(lang), prefs_path, pusher: pusher.clone() });
            printing::schedule_backups(app.handle().clone());
            // Head-office sync on a thread of its own: the desk never waits for the network.
            let handle = app.handle().clone();
            std::thread::spawn(move || centredesk_core::sync::run_pusher(&handle.state::<AppState>().core, &pusher, std::time::Duration::from_secs(30)));
            // Notices to parents: automatic reminders and delivery, likewise off the desk's path.
            let handle = app.handle().clone();
            std::thread::spawn(move || centredesk_core::notify::delivery::run_notifier(&handle.state::<AppState>().core, std::time::Duration::from_secs(60)));
            // Member tiers: the scheduled evaluation every hour (writes only changes).
            let handle = app.handle().clone();
            std::thread::spawn(move || centredesk_core::tiers::run_tier_evaluator(&handle.state::<AppState>().core, std::time::Duration::from_secs(3600)));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            app_info, set_language, first_run, login, logout, change_password, search, home,
            member_apply, member_approve, member_update, member_set_status, member_get, member_list, member_timeline,
            guardian_link, guardian_update, guardian_unlink, guardian_get,
            lead_create, lead_update, lead_set_status, lead_follow_up, lead_convert, lead_get, lead_list,
            package_list, package_create, package_update, package_set_archived,
            contract_enrol, contract_get, contract_pause, refund_quote, contract_refund,
            payment_take, payment_reverse, receipt, payments_recent,
            staff_list, staff_create, staff_set_active, settings_get, settings_update,
            room_list, room_create, group_list, group_create, group_add_member, group_remove_member, group_members,
            slot_list, slot_create, slot_deactivate, season_list, season_create, closure_list, closure_create,
            sessions_generate, session_list, session_change, roster, roll_call, session_dismiss,
            leave_request, trial_request, trial_decide, trials_pending, notices,
            print_roster, print_group_week, print_timetable_week, print_receipt, export_csv,
            backups, backup_now, backup_restore, database_export, revenue, revenue_csv, attendance_report, attendance_csv, staff_activity, import_preview, import_commit,
            analysis, analysis_csv, feedback_stats_csv, member_duplicates, member_merge,
            sync_state, sync_now, sync_register, sync_set_enabled,
            outbox, notice_resend, notices_deliver, notify_channels, notify_channels_set, notify_settings, notify_settings_set, notice_templates, notice_template_set,
            goods_list, goods_create, goods_update, goods_stock, goods_moves, goods_sell, goods_deliver, goods_sales, goods_return, goods_returns,
            cash_handin_record, cash_handin_void, cash_report, cash_report_csv, points_account, points_award, referral_tree,
            tier_config, tier_config_update, tiers_evaluate, member_tier, tier_discount,
            suggestion_create, suggestion_set_public, suggestion_vote, suggestion_list,
            complaint_create, complaint_get, complaint_list, complaint_step, complaint_confirm, complaint_assign, complaint_stats,
            satisfaction_record, satisfaction_list, satisfaction_results,
        ])
        .run(tauri::generate_context!())
        .expect("error while running CentreDesk");
}
