//! The desk's vocabularies, each declared once: the codes stored in SQLite and sent over
//! the wire, a label in each language, and a parse that refuses anything else with the
//! field named. ts-rs exports each as a TypeScript union, and `export_bindings_vocabulary`
//! writes their value lists to `ui/src/bindings/vocabulary.ts`, so the UI's pickers and
//! tabs list exactly what the core accepts. The SQL CHECK lists stay as the database's
//! own guard.

use crate::error::{CoreError, Field, Lang, Result, Rule};

macro_rules! vocabulary {
    ($( $(#[$meta:meta])* $name:ident ($field:ident, $list:literal) { $( $variant:ident = $code:literal : $zh:literal / $en:literal ),+ $(,)? } )+) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, ts_rs::TS)]
            #[ts(export)]
            pub enum $name { $( #[serde(rename = $code)] $variant ),+ }

            impl $name {
                pub const ALL: &'static [$name] = &[$($name::$variant),+];
                /// Every code, in the order pickers show them.
                pub const CODES: &'static [&'static str] = &[$($code),+];

                pub fn as_str(self) -> &'static str {
                    match self { $($name::$variant => $code),+ }
                }

                pub fn label(self, lang: Lang) -> &'static str {
                    match (self, lang) { $( ($name::$variant, Lang::ZhCn) => $zh, ($name::$variant, Lang::En) => $en ),+ }
                }

                pub fn from_code(code: &str) -> Option<$name> {
                    match code { $($code => Some($name::$variant),)+ _ => None }
                }

                /// The code as stored, or the field-named error listing what is allowed.
                pub fn parse(code: &str) -> Result<$name> {
                    $name::from_code(code.trim()).ok_or_else(|| CoreError::invalid(Field::$field, Rule::OneOf { allowed: $name::CODES.iter().map(|c| c.to_string()).collect() }))
                }

                /// A stored code's label; an unknown code (a newer desk's) as it is.
                pub fn label_of(code: &str, lang: Lang) -> String {
                    $name::from_code(code).map_or_else(|| code.to_string(), |v| v.label(lang).to_string())
                }
            }
        )+

        /// `(type, constant name, codes)` of every vocabulary, for the TypeScript lists.
        pub const LISTS: &[(&str, &str, &[&str])] = &[$( (stringify!($name), $list, $name::CODES) ),+];
    };
}

vocabulary! {
    /// A member's status 会员状态 (`members::follow_contracts` sets active/expired).
    MemberStatus(Status, "MEMBER_STATUSES") {
        Applicant = "applicant": "待审核" / "applicant",
        Active = "active": "在读" / "active",
        Paused = "paused": "停课" / "paused",
        Expired = "expired": "已过期" / "expired",
        Left = "left": "已退学" / "left",
    }
    /// The statuses staff set by hand (the others follow the contracts).
    StaffSetStatus(Status, "STAFF_SET_STATUSES") {
        Active = "active": "在读" / "active",
        Paused = "paused": "停课" / "paused",
        Left = "left": "已退学" / "left",
    }
    /// A lead's stage 线索状态.
    LeadStatus(Status, "LEAD_STATUSES") {
        New = "new": "新线索" / "new",
        Contacted = "contacted": "已联系" / "contacted",
        VisitBooked = "visit_booked": "已预约到访" / "visit booked",
        Visited = "visited": "已到访" / "visited",
        Trial = "trial": "已试听" / "trial",
        Enrolled = "enrolled": "已报名" / "enrolled",
        Lost = "lost": "已丢单" / "lost",
    }
    /// How a lead was followed up.
    FollowUpChannel(Channel, "FOLLOW_UP_CHANNELS") {
        Phone = "phone": "电话" / "phone",
        Wechat = "wechat": "微信" / "WeChat",
        Visit = "visit": "到访" / "visit",
        Sms = "sms": "短信" / "SMS",
        Other = "other": "其他" / "other",
    }
    /// How money was paid 支付方式 (goods may also be paid in points, `goods.rs`).
    PaymentMethod(Method, "PAYMENT_METHODS") {
        Cash = "cash": "现金" / "Cash",
        Wechat = "wechat": "微信支付" / "WeChat Pay",
        Alipay = "alipay": "支付宝" / "Alipay",
        Card = "card": "银行卡" / "Bank card",
        Transfer = "transfer": "转账" / "Bank transfer",
    }
    /// How a leave request reached the centre.
    LeaveVia(Channel, "LEAVE_VIA") {
        Desk = "desk": "前台" / "at the desk",
        Phone = "phone": "电话" / "by phone",
        Wechat = "wechat": "微信" / "on WeChat",
        Coach = "coach": "教练" / "through the coach",
        Portal = "portal": "家长端" / "parents' portal",
    }
    /// What a complaint is about.
    ComplaintCategory(Category, "COMPLAINT_CATEGORIES") {
        Class = "class": "课程" / "Class",
        Coach = "coach": "教练" / "Coach",
        Staff = "staff": "员工" / "Staff",
        Facility = "facility": "设施" / "Facility",
        Other = "other": "其他" / "Other",
    }
    ComplaintSeverity(Severity, "COMPLAINT_SEVERITIES") {
        Serious = "serious": "严重" / "serious",
        Minor = "minor": "一般" / "minor",
    }
    /// The handling steps of a complaint, in order.
    HandlingStep(Step, "COMPLAINT_STEPS") {
        Accept = "accept": "受理" / "accept",
        Calm = "calm": "安抚" / "calm",
        Agree = "agree": "协商方案" / "agree a solution",
        Act = "act": "执行" / "act",
        Thank = "thank": "致谢回访" / "thank and follow up",
    }
    ScoreKind(ScoreKind, "SCORE_KINDS") {
        Csat = "csat": "满意度" / "CSAT",
        Nps = "nps": "推荐度" / "NPS",
    }
    /// A revenue report's period.
    ReportPeriod(Period, "REPORT_PERIODS") {
        Day = "day": "按日" / "by day",
        Week = "week": "按周" / "by week",
        Month = "month": "按月" / "by month",
    }
    /// How the attendance report groups its rows.
    AttendanceBy(Period, "ATTENDANCE_BY") {
        Group = "group": "按班级" / "by class",
        Coach = "coach": "按教练" / "by coach",
        Member = "member": "按学员" / "by member",
    }
    /// Stock moved other than by a sale.
    StockKind(StockKind, "STOCK_KINDS") {
        Purchase = "purchase": "进货" / "purchase",
        Adjust = "adjust": "盘点调整" / "adjustment",
        Return = "return": "退回入库" / "returned to stock",
    }
    /// How the family felt on a return visit 回访.
    VisitMood(Mood, "VISIT_MOODS") {
        Happy = "happy": "满意" / "happy",
        Neutral = "neutral": "一般" / "neutral",
        Unhappy = "unhappy": "不满意" / "unhappy",
    }
    /// Why a return visit was planned (`visits.rs`): the manager's rules, or a visit's next step.
    VisitRuleKind(VisitRule, "VISIT_RULE_KINDS") {
        FirstLesson = "first_lesson": "首次上课后回访" / "after the first lesson",
        Enrolment = "enrolment": "报名后回访" / "after enrolment",
        ComplaintClosed = "complaint_closed": "投诉结案后回访" / "after a complaint is closed",
        ContractEnding = "contract_ending": "合同到期前回访" / "before a contract ends",
        TopTier = "top_tier": "等级关怀回访" / "tier care visit",
        NextStep = "next_step": "约定的下次回访" / "next visit agreed",
        Churn = "churn": "流失预警回访" / "churn warning",
    }
    /// Who makes a planned visit: the member's consultant, or anyone of a role.
    VisitAssignee(AssignTo, "VISIT_ASSIGNEES") {
        Consultant = "consultant": "会员的课程顾问" / "The member's consultant",
        Clerk = "clerk": "前台" / "Front desk",
        Manager = "manager": "店长" / "Manager",
        Coach = "coach": "教练" / "Coaches",
    }
    /// What a membership tier counts.
    TierBasis(TierBasis, "TIER_BASES") {
        Spend = "spend": "消费金额" / "money spent",
        Points = "points": "积分" / "points",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_round_trips_and_anything_else_names_the_field() {
        for m in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(m.as_str()).unwrap(), *m);
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::json!(m.as_str()));
        }
        let e = PaymentMethod::parse("bitcoin").unwrap_err();
        assert_eq!((e.code(), e.field()), ("validation.one_of".to_string(), Some(Field::Method)));
        assert!(e.message(Lang::ZhCn).contains("cash"), "{}", e.message(Lang::ZhCn));
        assert_eq!(LeadStatus::label_of("visit_booked", Lang::ZhCn), "已预约到访");
        assert_eq!(LeadStatus::label_of("from-a-newer-desk", Lang::En), "from-a-newer-desk");
    }

    /// Writes the value lists next to the ts-rs types (run with the other exports).
    #[test]
    fn export_bindings_vocabulary() {
        let mut out = String::from("// Generated from crates/core/src/vocab.rs by `cargo test -p centredesk-core --lib export_bindings`. Do not edit.\n");
        for (ty, _, _) in LISTS {
            out.push_str(&format!("import type {{ {ty} }} from './{ty}';\n"));
        }
        for (ty, name, codes) in LISTS {
            let values: Vec<String> = codes.iter().map(|c| format!("'{c}'")).collect();
            out.push_str(&format!("export const {name}: readonly {ty}[] = [{}];\n", values.join(", ")));
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("vocabulary.ts"), out).unwrap();
    }
}
