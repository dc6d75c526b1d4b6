// Generated from crates/core/src/vocab.rs by `cargo test -p centredesk-core --lib export_bindings`. Do not edit.
import type { MemberStatus } from './MemberStatus';
import type { StaffSetStatus } from './StaffSetStatus';
import type { LeadStatus } from './LeadStatus';
import type { FollowUpChannel } from './FollowUpChannel';
import type { PackageKind } from './PackageKind';
import type { ContractStatus } from './ContractStatus';
import type { PaymentKind } from './PaymentKind';
import type { NoticeStatus } from './NoticeStatus';
import type { PaymentMethod } from './PaymentMethod';
import type { LeaveVia } from './LeaveVia';
import type { ComplaintCategory } from './ComplaintCategory';
import type { ComplaintSeverity } from './ComplaintSeverity';
import type { HandlingStep } from './HandlingStep';
import type { ScoreKind } from './ScoreKind';
import type { ReportPeriod } from './ReportPeriod';
import type { AttendanceBy } from './AttendanceBy';
import type { StockKind } from './StockKind';
import type { VisitMood } from './VisitMood';
import type { VisitRuleKind } from './VisitRuleKind';
import type { VisitAssignee } from './VisitAssignee';
import type { TierBasis } from './TierBasis';
export const MEMBER_STATUSES: readonly MemberStatus[] = ['applicant', 'active', 'paused', 'expired', 'left'];
export const STAFF_SET_STATUSES: readonly StaffSetStatus[] = ['active', 'paused', 'left'];
export const LEAD_STATUSES: readonly LeadStatus[] = ['new', 'contacted', 'visit_booked', 'visited', 'trial', 'enrolled', 'lost'];
export const FOLLOW_UP_CHANNELS: readonly FollowUpChannel[] = ['phone', 'wechat', 'visit', 'sms', 'other'];
export const PACKAGE_KINDS: readonly PackageKind[] = ['lessons', 'term'];
export const CONTRACT_STATUSES: readonly ContractStatus[] = ['active', 'ended', 'refunded'];
export const PAYMENT_KINDS: readonly PaymentKind[] = ['payment', 'refund', 'reversal'];
export const NOTICE_STATUSES: readonly NoticeStatus[] = ['queued', 'sent', 'failed'];
export const PAYMENT_METHODS: readonly PaymentMethod[] = ['cash', 'wechat', 'alipay', 'card', 'transfer'];
export const LEAVE_VIA: readonly LeaveVia[] = ['desk', 'phone', 'wechat', 'coach', 'portal'];
export const COMPLAINT_CATEGORIES: readonly ComplaintCategory[] = ['class', 'coach', 'staff', 'facility', 'other'];
export const COMPLAINT_SEVERITIES: readonly ComplaintSeverity[] = ['serious', 'minor'];
export const COMPLAINT_STEPS: readonly HandlingStep[] = ['accept', 'calm', 'agree', 'act', 'thank'];
export const SCORE_KINDS: readonly ScoreKind[] = ['csat', 'nps'];
export const REPORT_PERIODS: readonly ReportPeriod[] = ['day', 'week', 'month'];
export const ATTENDANCE_BY: readonly AttendanceBy[] = ['group', 'coach', 'member'];
export const STOCK_KINDS: readonly StockKind[] = ['purchase', 'adjust', 'return'];
export const VISIT_MOODS: readonly VisitMood[] = ['happy', 'neutral', 'unhappy'];
export const VISIT_RULE_KINDS: readonly VisitRuleKind[] = ['first_lesson', 'enrolment', 'complaint_closed', 'contract_ending', 'top_tier', 'next_step', 'churn'];
export const VISIT_ASSIGNEES: readonly VisitAssignee[] = ['consultant', 'clerk', 'manager', 'coach'];
export const TIER_BASES: readonly TierBasis[] = ['spend', 'points'];
/** Every code's label under its catalogue key (`code(prefix, value)` reads them). */
export const VOCABULARY_LABELS: { readonly 'zh-CN': Record<string, string>; readonly en: Record<string, string> } = {
  'zh-CN': {
    "attendance_by.coach": "按教练",
    "attendance_by.group": "按班级",
    "attendance_by.member": "按学员",
    "channel.other": "其他",
    "channel.phone": "电话",
    "channel.sms": "短信",
    "channel.visit": "到店面谈",
    "channel.wechat": "微信",
    "contract_status.active": "有效",
    "contract_status.ended": "已结束",
    "contract_status.refunded": "已退费",
    "fb_category.class": "课程",
    "fb_category.coach": "教练",
    "fb_category.facility": "设施",
    "fb_category.other": "其他",
    "fb_category.staff": "员工",
    "fb_kind.csat": "CSAT 满意度 1–5",
    "fb_kind.nps": "NPS 推荐度 0–10",
    "fb_severity.minor": "一般",
    "fb_severity.serious": "严重",
    "fb_step.accept": "受理",
    "fb_step.act": "执行",
    "fb_step.agree": "协商方案",
    "fb_step.calm": "安抚",
    "fb_step.thank": "致谢回访",
    "lead_status.contacted": "已联系",
    "lead_status.enrolled": "已报名",
    "lead_status.lost": "丢单",
    "lead_status.new": "新线索",
    "lead_status.trial": "试听中",
    "lead_status.visit_booked": "已预约到访",
    "lead_status.visited": "已到访",
    "member_status.active": "在读",
    "member_status.applicant": "待审核",
    "member_status.expired": "已过期",
    "member_status.left": "已流失",
    "member_status.paused": "停课",
    "method.alipay": "支付宝",
    "method.card": "银行卡",
    "method.cash": "现金",
    "method.transfer": "转账",
    "method.wechat": "微信支付",
    "notice_status.failed": "发送失败",
    "notice_status.queued": "待发送",
    "notice_status.sent": "已发送",
    "package_kind.lessons": "课时包",
    "package_kind.term": "期卡（月/季/年）",
    "payment_kind.payment": "收款",
    "payment_kind.refund": "退费",
    "payment_kind.reversal": "冲正",
    "report_period.day": "按日",
    "report_period.month": "按月",
    "report_period.week": "按周",
    "stock_kind.adjust": "盘点调整",
    "stock_kind.purchase": "采购入库",
    "stock_kind.return": "退回入库",
    "tier_basis.points": "积分",
    "tier_basis.spend": "消费金额",
    "via.coach": "教练转告",
    "via.desk": "前台",
    "via.phone": "电话",
    "via.portal": "家长端",
    "via.wechat": "微信",
    "visit_assignee.clerk": "前台",
    "visit_assignee.coach": "教练",
    "visit_assignee.consultant": "会员的课程顾问",
    "visit_assignee.manager": "店长",
    "visit_mood.happy": "满意",
    "visit_mood.neutral": "一般",
    "visit_mood.unhappy": "不满意",
    "visit_rule.churn": "流失预警回访",
    "visit_rule.complaint_closed": "投诉结案后回访",
    "visit_rule.contract_ending": "合同到期前回访",
    "visit_rule.enrolment": "报名后回访",
    "visit_rule.first_lesson": "首次上课后回访",
    "visit_rule.next_step": "约定的下次回访",
    "visit_rule.top_tier": "等级关怀回访",
  },
  en: {
    "attendance_by.coach": "By coach",
    "attendance_by.group": "By class",
    "attendance_by.member": "By member",
    "channel.other": "Other",
    "channel.phone": "Phone",
    "channel.sms": "SMS",
    "channel.visit": "Visit",
    "channel.wechat": "WeChat",
    "contract_status.active": "Active",
    "contract_status.ended": "Ended",
    "contract_status.refunded": "Refunded",
    "fb_category.class": "Class",
    "fb_category.coach": "Coach",
    "fb_category.facility": "Facility",
    "fb_category.other": "Other",
    "fb_category.staff": "Staff",
    "fb_kind.csat": "CSAT 1–5",
    "fb_kind.nps": "NPS 0–10",
    "fb_severity.minor": "Minor",
    "fb_severity.serious": "Serious",
    "fb_step.accept": "Accept",
    "fb_step.act": "Act",
    "fb_step.agree": "Agree a solution",
    "fb_step.calm": "Calm",
    "fb_step.thank": "Thank and follow up",
    "lead_status.contacted": "Contacted",
    "lead_status.enrolled": "Enrolled",
    "lead_status.lost": "Lost",
    "lead_status.new": "New",
    "lead_status.trial": "Trial",
    "lead_status.visit_booked": "Visit booked",
    "lead_status.visited": "Visited",
    "member_status.active": "Active",
    "member_status.applicant": "Applicant",
    "member_status.expired": "Expired",
    "member_status.left": "Left",
    "member_status.paused": "Paused",
    "method.alipay": "Alipay",
    "method.card": "Bank card",
    "method.cash": "Cash",
    "method.transfer": "Bank transfer",
    "method.wechat": "WeChat Pay",
    "notice_status.failed": "Failed",
    "notice_status.queued": "Queued",
    "notice_status.sent": "Sent",
    "package_kind.lessons": "Lesson pack",
    "package_kind.term": "Term card",
    "payment_kind.payment": "Payment",
    "payment_kind.refund": "Refund",
    "payment_kind.reversal": "Reversal",
    "report_period.day": "By day",
    "report_period.month": "By month",
    "report_period.week": "By week",
    "stock_kind.adjust": "Count adjustment",
    "stock_kind.purchase": "Purchase",
    "stock_kind.return": "Return",
    "tier_basis.points": "Points",
    "tier_basis.spend": "Money spent",
    "via.coach": "Via coach",
    "via.desk": "At the desk",
    "via.phone": "Phone",
    "via.portal": "Parents' portal",
    "via.wechat": "WeChat",
    "visit_assignee.clerk": "Front desk",
    "visit_assignee.coach": "Coaches",
    "visit_assignee.consultant": "The member's consultant",
    "visit_assignee.manager": "Manager",
    "visit_mood.happy": "happy",
    "visit_mood.neutral": "neutral",
    "visit_mood.unhappy": "unhappy",
    "visit_rule.churn": "Churn warning",
    "visit_rule.complaint_closed": "After a complaint is closed",
    "visit_rule.contract_ending": "Before the contract ends",
    "visit_rule.enrolment": "After enrolment",
    "visit_rule.first_lesson": "After the first lesson",
    "visit_rule.next_step": "Next visit agreed",
    "visit_rule.top_tier": "Tier care visits",
  },
};
