// Typed wrappers over the Tauri commands. Types come from ../bindings (generated
// from Rust by ts-rs); only the shell-only AppInfo is declared here.
import { invoke } from '@tauri-apps/api/core';
import type { ClassGroup } from '../bindings/ClassGroup';
import type { DuplicatePair } from '../bindings/DuplicatePair';
import type { Complaint } from '../bindings/Complaint';
import type { ComplaintFilter } from '../bindings/ComplaintFilter';
import type { ComplaintInput } from '../bindings/ComplaintInput';
import type { ComplaintStats } from '../bindings/ComplaintStats';
import type { ConfirmInput } from '../bindings/ConfirmInput';
import type { SatisfactionRow } from '../bindings/SatisfactionRow';
import type { SatisfactionScore } from '../bindings/SatisfactionScore';
import type { ScoreInput } from '../bindings/ScoreInput';
import type { StepInput } from '../bindings/StepInput';
import type { Suggestion } from '../bindings/Suggestion';
import type { SuggestionInput } from '../bindings/SuggestionInput';
import type { VoteInput } from '../bindings/VoteInput';
import type { Goods } from '../bindings/Goods';
import type { GoodsInput } from '../bindings/GoodsInput';
import type { GoodsSale } from '../bindings/GoodsSale';
import type { GoodsReturn } from '../bindings/GoodsReturn';
import type { ReturnInput } from '../bindings/ReturnInput';
import type { CashFilter } from '../bindings/CashFilter';
import type { CashHandin } from '../bindings/CashHandin';
import type { CashReport } from '../bindings/CashReport';
import type { HandinInput } from '../bindings/HandinInput';
import type { SaleInput } from '../bindings/SaleInput';
import type { StockInput } from '../bindings/StockInput';
import type { StockMove } from '../bindings/StockMove';
import type { PointsAccount } from '../bindings/PointsAccount';
import type { PointsAward } from '../bindings/PointsAward';
import type { TierConfig } from '../bindings/TierConfig';
import type { TierRun } from '../bindings/TierRun';
import type { MemberTier } from '../bindings/MemberTier';
import type { TierDiscount } from '../bindings/TierDiscount';
import type { ClassGroupInput } from '../bindings/ClassGroupInput';
import type { ClassSession } from '../bindings/ClassSession';
import type { Closure } from '../bindings/Closure';
import type { GenerateSummary } from '../bindings/GenerateSummary';
import type { GroupMember } from '../bindings/GroupMember';
import type { LeaveInput } from '../bindings/LeaveInput';
import type { LeaveRequest } from '../bindings/LeaveRequest';
import type { Notice } from '../bindings/Notice';
import type { NotifyChannels } from '../bindings/NotifyChannels';
import type { DeliveryReport } from '../bindings/DeliveryReport';
import type { NotifySettings } from '../bindings/NotifySettings';
import type { NoticeTemplate } from '../bindings/NoticeTemplate';
import type { RollCallInput } from '../bindings/RollCallInput';
import type { RollCallResult } from '../bindings/RollCallResult';
import type { Room } from '../bindings/Room';
import type { RoomInput } from '../bindings/RoomInput';
import type { Roster } from '../bindings/Roster';
import type { Season } from '../bindings/Season';
import type { SessionChange } from '../bindings/SessionChange';
import type { SessionFilter } from '../bindings/SessionFilter';
import type { Slot } from '../bindings/Slot';
import type { SlotInput } from '../bindings/SlotInput';
import type { TrialInput } from '../bindings/TrialInput';
import type { TrialRequest } from '../bindings/TrialRequest';
import type { WeekLayout } from '../bindings/WeekLayout';
import type { ContractView } from '../bindings/ContractView';
import type { ConvertInput } from '../bindings/ConvertInput';
import type { EnrolInput } from '../bindings/EnrolInput';
import type { BackupInfo } from '../bindings/BackupInfo';
import type { PushReport } from '../bindings/PushReport';
import type { SyncSettings } from '../bindings/SyncSettings';
import type { SyncState } from '../bindings/SyncState';
import type { ErrorDto } from '../bindings/ErrorDto';
import type { ExportRequest } from '../bindings/ExportRequest';
import type { FirstRun } from '../bindings/FirstRun';
import type { FollowUp } from '../bindings/FollowUp';
import type { FollowUpInput } from '../bindings/FollowUpInput';
import type { Guardian } from '../bindings/Guardian';
import type { GuardianDetail } from '../bindings/GuardianDetail';
import type { GuardianLinkInput } from '../bindings/GuardianLinkInput';
import type { GuardianUpdate } from '../bindings/GuardianUpdate';
import type { HomeDashboard } from '../bindings/HomeDashboard';
import type { Lang } from '../bindings/Lang';
import type { Lead } from '../bindings/Lead';
import type { LeadDetail } from '../bindings/LeadDetail';
import type { LeadFilter } from '../bindings/LeadFilter';
import type { LeadInput } from '../bindings/LeadInput';
import type { LeadRow } from '../bindings/LeadRow';
import type { Member } from '../bindings/Member';
import type { MemberApplication } from '../bindings/MemberApplication';
import type { MemberApproval } from '../bindings/MemberApproval';
import type { MemberDetail } from '../bindings/MemberDetail';
import type { MemberFilter } from '../bindings/MemberFilter';
import type { MemberPage } from '../bindings/MemberPage';
import type { MemberUpdate } from '../bindings/MemberUpdate';
import type { NewStaff } from '../bindings/NewStaff';
import type { Package } from '../bindings/Package';
import type { PackageInput } from '../bindings/PackageInput';
import type { PauseInput } from '../bindings/PauseInput';
import type { Payment } from '../bindings/Payment';
import type { PaymentInput } from '../bindings/PaymentInput';
import type { PaymentRow } from '../bindings/PaymentRow';
import type { Receipt } from '../bindings/Receipt';
import type { RevenueFilter } from '../bindings/RevenueFilter';
import type { AnalysisFilter } from '../bindings/AnalysisFilter';
import type { ReportTable } from '../bindings/ReportTable';
import type { ColumnMapping } from '../bindings/ColumnMapping';
import type { ImportKind } from '../bindings/ImportKind';
import type { ImportPreview } from '../bindings/ImportPreview';
import type { ImportReport } from '../bindings/ImportReport';
import type { ActivityFilter } from '../bindings/ActivityFilter';
import type { StaffActivity } from '../bindings/StaffActivity';
import type { AttendanceFilter } from '../bindings/AttendanceFilter';
import type { AttendanceReport } from '../bindings/AttendanceReport';
import type { RevenueReport } from '../bindings/RevenueReport';
import type { RefundInput } from '../bindings/RefundInput';
import type { RefundQuote } from '../bindings/RefundQuote';
import type { RefundRule } from '../bindings/RefundRule';
import type { SearchHit } from '../bindings/SearchHit';
import type { Session } from '../bindings/Session';
import type { Settings } from '../bindings/Settings';
import type { ReferralTree } from '../bindings/ReferralTree';
import type { Staff } from '../bindings/Staff';
import type { TimelineEntry } from '../bindings/TimelineEntry';

/** What the shell reports on start (not a core type, so not in bindings). */
export type AppInfo = {
  needs_first_run: boolean;
  centre_name: string;
  lang: Lang;
  db_path: string;
  version: string;
  session: Session | null;
  /** The core's instant (UTC) when asked: the UI's "now". */
  now: string;
  /** Set when the app was started with --clock (tests, demos of a given day). */
  clock_start: string | null;
  timezone: string;
};

/** What a print command reports (made by the shell, not a core type). */
export type PrintOutcome = {
  /** Where the PDF was written; null when "save as" was cancelled. */
  path: string | null;
  /** Whether the system viewer was started. */
  opened: boolean;
  /** Characters the PDF font lacks (they print blank). */
  missing_glyphs: string[];
  /** Number of pages (newer shells report it). */
  pages?: number;
};

/** What a CSV export reports (made by the shell). */
export type ExportOutcome = {
  /** Where the CSV was written; null when "save as" was cancelled. */
  path: string | null;
  /** Whether a program (Excel, WPS) was started on it. */
  opened: boolean;
  rows: number;
};

/** `open`: write to the print folder and open the viewer; `save`: ask where to save. */
export type PrintAction = 'open' | 'save';

/** Every rejection is turned into an ErrorDto, even one that did not come from the core. */
export function toError(e: unknown): ErrorDto {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const o = e as { code: unknown; field?: unknown; message: unknown };
    return { code: String(o.code), field: (o.field ?? null) as ErrorDto['field'], message: String(o.message) };
  }
  return { code: 'internal', field: null, message: String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>('app_info'),
  setLanguage: (lang: Lang) => call<Lang>('set_language', { lang }),
  firstRun: (input: FirstRun) => call<Session>('first_run', { input }),
  login: (username: string, password: string) => call<Session>('login', { username, password }),
  logout: () => call<void>('logout'),
  changePassword: (oldPassword: string, newPassword: string) => call<void>('change_password', { oldPassword, newPassword }),
  search: (query: string, limit?: number) => call<SearchHit[]>('search', { query, limit }),
  home: () => call<HomeDashboard>('home'),

  memberApply: (input: MemberApplication) => call<Member>('member_apply', { input }),
  memberApprove: (memberId: string, input: MemberApproval) => call<Member>('member_approve', { memberId, input }),
  memberUpdate: (memberId: string, input: MemberUpdate) => call<Member>('member_update', { memberId, input }),
  memberSetStatus: (memberId: string, status: string) => call<Member>('member_set_status', { memberId, status }),
  memberGet: (memberId: string) => call<MemberDetail>('member_get', { memberId }),
  memberList: (filter: MemberFilter) => call<MemberPage>('member_list', { filter }),
  memberTimeline: (memberId: string) => call<TimelineEntry[]>('member_timeline', { memberId }),
  memberDuplicates: () => call<DuplicatePair[]>('member_duplicates'),
  goodsList: (includeArchived: boolean) => call<Goods[]>('goods_list', { includeArchived }),
  goodsCreate: (input: GoodsInput) => call<Goods>('goods_create', { input }),
  goodsUpdate: (goodsId: string, input: GoodsInput, archived: boolean) => call<Goods>('goods_update', { goodsId, input, archived }),
  goodsStock: (input: StockInput) => call<Goods>('goods_stock', { input }),
  goodsMoves: (goodsId: string) => call<StockMove[]>('goods_moves', { goodsId }),
  goodsSell: (input: SaleInput) => call<GoodsSale>('goods_sell', { input }),
  goodsDeliver: (saleId: string) => call<GoodsSale>('goods_deliver', { saleId }),
  goodsSales: (fromDate: string, toDate: string, undelivered: boolean) => call<GoodsSale[]>('goods_sales', { fromDate, toDate, undelivered }),
  goodsReturn: (input: ReturnInput) => call<GoodsReturn>('goods_return', { input }),
  goodsReturns: (fromDate: string, toDate: string) => call<GoodsReturn[]>('goods_returns', { fromDate, toDate }),
  cashHandinRecord: (input: HandinInput) => call<CashHandin>('cash_handin_record', { input }),
  cashHandinVoid: (handinId: string, reason: string) => call<CashHandin>('cash_handin_void', { handinId, reason }),
  cashReport: (filter: CashFilter) => call<CashReport>('cash_report', { filter }),
  cashReportCsv: (filter: CashFilter, action: 'open' | 'save') => call<ExportOutcome>('cash_report_csv', { filter, action }),
  suggestionCreate: (input: SuggestionInput) => call<Suggestion>('suggestion_create', { input }),
  suggestionSetPublic: (suggestionId: string, isPublic: boolean) => call<Suggestion>('suggestion_set_public', { suggestionId, public: isPublic }),
  suggestionVote: (input: VoteInput) => call<Suggestion>('suggestion_vote', { input }),
  suggestionList: (includeHidden: boolean) => call<Suggestion[]>('suggestion_list', { includeHidden }),
  complaintCreate: (input: ComplaintInput) => call<Complaint>('complaint_create', { input }),
  complaintGet: (complaintId: string) => call<Complaint>('complaint_get', { complaintId }),
  complaintList: (filter: ComplaintFilter) => call<Complaint[]>('complaint_list', { filter }),
  complaintStep: (input: StepInput) => call<Complaint>('complaint_step', { input }),
  complaintConfirm: (input: ConfirmInput) => call<Complaint>('complaint_confirm', { input }),
  complaintAssign: (complaintId: string, handlerId: string) => call<Complaint>('complaint_assign', { complaintId, handlerId }),
  complaintStats: (fromDate: string, toDate: string) => call<ComplaintStats>('complaint_stats', { fromDate, toDate }),
  satisfactionRecord: (input: ScoreInput) => call<SatisfactionScore>('satisfaction_record', { input }),
  satisfactionList: (fromDate: string, toDate: string) => call<SatisfactionScore[]>('satisfaction_list', { fromDate, toDate }),
  satisfactionResults: (fromDate: string, toDate: string, by: string) => call<SatisfactionRow[]>('satisfaction_results', { fromDate, toDate, by }),
  feedbackStatsCsv: (table: 'complaints' | 'satisfaction', fromDate: string, toDate: string, by: string, action: PrintAction) =>
    call<ExportOutcome>('feedback_stats_csv', { table, fromDate, toDate, by, action }),
  pointsAccount: (memberId: string) => call<PointsAccount>('points_account', { memberId }),
  referralTree: (memberId: string) => call<ReferralTree>('referral_tree', { memberId }),
  tierConfig: () => call<TierConfig>('tier_config'),
  tierConfigUpdate: (input: TierConfig) => call<TierConfig>('tier_config_update', { input }),
  tiersEvaluate: () => call<TierRun>('tiers_evaluate'),
  memberTier: (memberId: string) => call<MemberTier>('member_tier', { memberId }),
  tierDiscount: (memberId: string, packageId: string) => call<TierDiscount>('tier_discount', { memberId, packageId }),
  pointsAward: (input: PointsAward) => call<PointsAccount>('points_award', { input }),
  memberMerge: (keepId: string, duplicateId: string) => call<MemberDetail>('member_merge', { keepId, duplicateId }),

  guardianLink: (memberId: string, input: GuardianLinkInput) => call<MemberDetail>('guardian_link', { memberId, input }),
  guardianUpdate: (guardianId: string, input: GuardianUpdate) => call<Guardian>('guardian_update', { guardianId, input }),
  guardianUnlink: (memberId: string, guardianId: string) => call<MemberDetail>('guardian_unlink', { memberId, guardianId }),
  guardianGet: (guardianId: string) => call<GuardianDetail>('guardian_get', { guardianId }),

  leadCreate: (input: LeadInput) => call<Lead>('lead_create', { input }),
  leadUpdate: (leadId: string, input: LeadInput) => call<Lead>('lead_update', { leadId, input }),
  leadSetStatus: (leadId: string, status: string, lostReason: string) =>
    call<Lead>('lead_set_status', { leadId, status, lostReason }),
  leadFollowUp: (leadId: string, input: FollowUpInput) => call<FollowUp>('lead_follow_up', { leadId, input }),
  leadConvert: (leadId: string, input: ConvertInput) => call<Member>('lead_convert', { leadId, input }),
  leadGet: (leadId: string) => call<LeadDetail>('lead_get', { leadId }),
  leadList: (filter: LeadFilter) => call<LeadRow[]>('lead_list', { filter }),

  packageList: (includeArchived: boolean) => call<Package[]>('package_list', { includeArchived }),
  packageCreate: (input: PackageInput) => call<Package>('package_create', { input }),
  packageUpdate: (packageId: string, input: PackageInput) => call<Package>('package_update', { packageId, input }),
  packageSetArchived: (packageId: string, archived: boolean) =>
    call<Package>('package_set_archived', { packageId, archived }),

  contractEnrol: (input: EnrolInput) => call<ContractView>('contract_enrol', { input }),
  contractGet: (contractId: string) => call<ContractView>('contract_get', { contractId }),
  contractPause: (contractId: string, input: PauseInput) => call<ContractView>('contract_pause', { contractId, input }),
  refundQuote: (contractId: string, rule: RefundRule) => call<RefundQuote>('refund_quote', { contractId, rule }),
  contractRefund: (contractId: string, input: RefundInput) => call<Payment | null>('contract_refund', { contractId, input }),

  paymentTake: (input: PaymentInput) => call<Receipt>('payment_take', { input }),
  paymentReverse: (paymentId: string, reason: string) => call<Payment>('payment_reverse', { paymentId, reason }),
  receipt: (paymentId: string) => call<Receipt>('receipt', { paymentId }),
  paymentsRecent: (limit: number) => call<PaymentRow[]>('payments_recent', { limit }),

  staffList: () => call<Staff[]>('staff_list'),
  staffCreate: (input: NewStaff) => call<Staff>('staff_create', { input }),
  staffSetActive: (staffId: string, active: boolean) => call<Staff>('staff_set_active', { staffId, active }),
  settingsGet: () => call<Settings>('settings_get'),
  settingsUpdate: (input: Settings) => call<Settings>('settings_update', { input }),

  roomList: () => call<Room[]>('room_list'),
  roomCreate: (input: RoomInput) => call<Room>('room_create', { input }),
  groupList: () => call<ClassGroup[]>('group_list'),
  groupCreate: (input: ClassGroupInput) => call<ClassGroup>('group_create', { input }),
  groupAddMember: (groupId: string, memberId: string, startDate: string | null) =>
    call<GroupMember>('group_add_member', { groupId, memberId, startDate }),
  groupRemoveMember: (groupMemberId: string, endDate: string | null) =>
    call<GroupMember>('group_remove_member', { groupMemberId, endDate }),
  groupMembers: (groupId: string, on: string | null = null) => call<GroupMember[]>('group_members', { groupId, on }),
  slotList: (seasonId: string | null = null) => call<Slot[]>('slot_list', { seasonId }),
  slotCreate: (input: SlotInput) => call<Slot>('slot_create', { input }),
  slotDeactivate: (slotId: string) => call<Slot>('slot_deactivate', { slotId }),
  seasonList: () => call<Season[]>('season_list'),
  seasonCreate: (input: Season) => call<Season>('season_create', { input }),
  closureList: () => call<Closure[]>('closure_list'),
  closureCreate: (input: Closure) => call<Closure>('closure_create', { input }),
  sessionsGenerate: (from: string, to: string) => call<GenerateSummary>('sessions_generate', { from, to }),
  sessionList: (filter: SessionFilter) => call<ClassSession[]>('session_list', { filter }),
  sessionChange: (sessionId: string, change: SessionChange) => call<ClassSession>('session_change', { sessionId, change }),
  roster: (sessionId: string) => call<Roster>('roster', { sessionId }),
  rollCall: (sessionId: string, input: RollCallInput) => call<RollCallResult>('roll_call', { sessionId, input }),
  sessionDismiss: (sessionId: string) => call<number>('session_dismiss', { sessionId }),
  leaveRequest: (input: LeaveInput) => call<LeaveRequest[]>('leave_request', { input }),
  trialRequest: (input: TrialInput) => call<TrialRequest>('trial_request', { input }),
  trialDecide: (trialId: string, approve: boolean, note: string) => call<TrialRequest>('trial_decide', { trialId, approve, note }),
  trialsPending: () => call<TrialRequest[]>('trials_pending'),
  notices: (sessionId: string | null, limit: number) => call<Notice[]>('notices', { sessionId, limit }),
  outbox: (status: string | null, limit: number) => call<Notice[]>('outbox', { status, limit }),
  noticeResend: (id: string) => call<Notice>('notice_resend', { id }),
  noticesDeliver: () => call<DeliveryReport>('notices_deliver'),
  notifyChannels: () => call<NotifyChannels>('notify_channels'),
  notifyChannelsSet: (input: NotifyChannels) => call<NotifyChannels>('notify_channels_set', { input }),
  notifySettings: () => call<NotifySettings>('notify_settings'),
  notifySettingsSet: (input: NotifySettings) => call<NotifySettings>('notify_settings_set', { input }),
  noticeTemplates: () => call<NoticeTemplate[]>('notice_templates'),
  noticeTemplateSet: (kind: string, lang: Lang, body: string) => call<NoticeTemplate>('notice_template_set', { kind, lang, body }),

  printRoster: (sessionId: string, action: PrintAction) => call<PrintOutcome>('print_roster', { sessionId, action }),
  printGroupWeek: (groupId: string, weekStart: string, action: PrintAction) =>
    call<PrintOutcome>('print_group_week', { groupId, weekStart, action }),
  printTimetableWeek: (weekStart: string, action: PrintAction, layout: WeekLayout | null = null) =>
    call<PrintOutcome>('print_timetable_week', { weekStart, layout, action }),
  printReceipt: (paymentId: string, action: PrintAction) => call<PrintOutcome>('print_receipt', { paymentId, action }),
  backups: () => call<BackupInfo[]>('backups'),
  syncState: () => call<SyncState>('sync_state'),
  syncNow: () => call<PushReport>('sync_now'),
  syncRegister: (serverUrl: string, centre: string, username: string, password: string, deviceName: string) =>
    call<SyncSettings>('sync_register', { serverUrl, centre, username, password, deviceName }),
  syncSetEnabled: (enabled: boolean) => call<SyncSettings>('sync_set_enabled', { enabled }),
  backupNow: () => call<BackupInfo>('backup_now'),
  backupRestore: (fileName: string) => call<BackupInfo>('backup_restore', { fileName }),
  databaseExport: () => call<string | null>('database_export'),
  attendanceReport: (filter: AttendanceFilter) => call<AttendanceReport>('attendance_report', { filter }),
  attendanceCsv: (filter: AttendanceFilter, action: PrintAction) => call<ExportOutcome>('attendance_csv', { filter, action }),
  staffActivity: (filter: ActivityFilter) => call<StaffActivity>('staff_activity', { filter }),
  importPreview: (kind: ImportKind, bytes: number[], mapping: ColumnMapping[] | null) =>
    call<ImportPreview>('import_preview', { kind, bytes, mapping }),
  importCommit: (kind: ImportKind, bytes: number[], mapping: ColumnMapping[] | null) =>
    call<ImportReport>('import_commit', { kind, bytes, mapping }),
  analysis: (filter: AnalysisFilter) => call<ReportTable[]>('analysis', { filter }),
  analysisCsv: (filter: AnalysisFilter, table: string, action: PrintAction) => call<ExportOutcome>('analysis_csv', { filter, table, action }),
  revenue: (filter: RevenueFilter) => call<RevenueReport>('revenue', { filter }),
  revenueCsv: (filter: RevenueFilter, action: PrintAction) => call<ExportOutcome>('revenue_csv', { filter, action }),
  exportCsv: (request: ExportRequest, action: PrintAction) => call<ExportOutcome>('export_csv', { request, action }),
};
