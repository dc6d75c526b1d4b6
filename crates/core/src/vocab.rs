//! The desk's vocabularies, each declared once: the codes stored in SQLite and sent over
//! the wire, a label in each language, and a parse that refuses anything else with the
//! field named. ts-rs exports each as a TypeScript union, and `export_bindings_vocabulary`
//! writes their value lists to `ui/src/bindings/vocabulary.ts`, so the UI's pickers and
//! tabs list exactly what the core accepts. The SQL CHECK lists stay as the database's
//! own guard.

use crate::error::{CoreError, Field, Lang, Result, Rule};

macro_rules! vocabulary {
    ($( $(#[$meta:meta])* $name:ident ($field:ident, $list:literal, $prefix:literal) { $( $variant:ident = $code:literal : $zh:literal / $en:literal ),+ $(,)? } )+) => {
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

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }

            // Stored as its code; a code outside the list (the CHECK constraint keeps them
            // out) is a read error naming the value, never a panic.
            impl rusqlite::types::ToSql for $name {
                fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                    Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
                }
            }

            impl rusqlite::types::FromSql for $name {
                fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                    let code = value.as_str()?;
                    $name::from_code(code).ok_or_else(|| rusqlite::types::FromSqlError::Other(format!("{} is not a {}", code, stringify!($name)).into()))
                }
            }
        )+

        /// `(type, constant name, codes)` of every vocabulary, for the TypeScript lists.
        pub const LISTS: &[(&str, &str, &[&str])] = &[$( (stringify!($name), $list, $name::CODES) ),+];

        /// `(catalogue key, zh-CN, en)` of every code: the UI's `code(prefix, value)` labels,
        /// generated so the desk's screens and its receipts and exports say the same word.
        pub const LABELS: &[(&str, &str, &str)] = &[$( $( (concat!($prefix, ".", $code), $zh, $en), )+ )+];
    };
}

vocabulary! {
    /// A member's status 会员状态 (`members::follow_contracts` sets active/expired).
    MemberStatus(Status, "MEMBER_STATUSES", "member_status") {
        Applicant = "applicant": "待审核" / "Applicant",
        Active = "active": "在读" / "Active",
        Paused = "paused": "停课" / "Paused",
        Expired = "expired": "已过期" / "Expired",
        Left = "left": "已流失" / "Left",
    }
    /// The statuses staff set by hand (the others follow the contracts).
    StaffSetStatus(Status, "STAFF_SET_STATUSES", "member_status") {
        Active = "active": "在读" / "Active",
        Paused = "paused": "停课" / "Paused",
        Left = "left": "已流失" / "Left",
    }
    /// A lead's stage 线索状态.
    LeadStatus(Status, "LEAD_STATUSES", "lead_status") {
        New = "new": "新线索" / "New",
        Contacted = "contacted": "已联系" / "Contacted",
        VisitBooked = "visit_booked": "已预约到访" / "Visit booked",
        Visited = "visited": "已到访" / "Visited",
        Trial = "trial": "试听中" / "Trial",
        Enrolled = "enrolled": "已报名" / "Enrolled",
        Lost = "lost": "丢单" / "Lost",
    }
    /// How a lead was followed up.
    FollowUpChannel(Channel, "FOLLOW_UP_CHANNELS", "channel") {
        Phone = "phone": "电话" / "Phone",
        Wechat = "wechat": "微信" / "WeChat",
        Visit = "visit": "到店面谈" / "Visit",
        Sms = "sms": "短信" / "SMS",
        Other = "other": "其他" / "Other",
    }
    /// What a package sells 套餐类型, and so what its contracts are: a number of lessons
    /// within a validity, or a term of months.
    PackageKind(PackageKind, "PACKAGE_KINDS", "package_kind") {
        Lessons = "lessons": "课时包" / "Lesson pack",
        Term = "term": "期卡（月/季/年）" / "Term card",
    }
    /// A contract's state 合同状态 (a refund closes it; whether it runs on a date is the
    /// valid-contract rule in `contracts.rs`, not this).
    ContractStatus(Status, "CONTRACT_STATUSES", "contract_status") {
        Active = "active": "有效" / "Active",
        Ended = "ended": "已结束" / "Ended",
        Refunded = "refunded": "已退费" / "Refunded",
    }
    /// A ledger row of money taken or given back (`payments.rs`: rows are never changed).
    PaymentKind(Payment, "PAYMENT_KINDS", "payment_kind") {
        Payment = "payment": "收款" / "Payment",
        Refund = "refund": "退费" / "Refund",
        Reversal = "reversal": "冲正" / "Reversal",
    }
    /// Where a notice to a family is in its delivery (`notify/delivery.rs`).
    NoticeStatus(Notice, "NOTICE_STATUSES", "notice_status") {
        Queued = "queued": "待发送" / "Queued",
        Sent = "sent": "已发送" / "Sent",
        Failed = "failed": "发送失败" / "Failed",
    }
    /// How money was paid 支付方式 (goods may also be paid in points, `goods.rs`).
    PaymentMethod(Method, "PAYMENT_METHODS", "method") {
        Cash = "cash": "现金" / "Cash",
        Wechat = "wechat": "微信支付" / "WeChat Pay",
        Alipay = "alipay": "支付宝" / "Alipay",
        Card = "card": "银行卡" / "Bank card",
        Transfer = "transfer": "转账" / "Bank transfer",
    }
    /// How a leave request reached the centre.
    LeaveVia(Channel, "LEAVE_VIA", "via") {
        Desk = "desk": "前台" / "At the desk",
        Phone = "phone": "电话" / "Phone",
        Wechat = "wechat": "微信" / "WeChat",
        Coach = "coach": "教练转告" / "Via coach",
        Portal = "portal": "家长端" / "Parents' portal",
    }
    /// What a complaint is about.
    ComplaintCategory(Category, "COMPLAINT_CATEGORIES", "fb_category") {
        Class = "class": "课程" / "Class",
        Coach = "coach": "教练" / "Coach",
        Staff = "staff": "员工" / "Staff",
        Facility = "facility": "设施" / "Facility",
        Other = "other": "其他" / "Other",
    }
    ComplaintSeverity(Severity, "COMPLAINT_SEVERITIES", "fb_severity") {
        Serious = "serious": "严重" / "Serious",
        Minor = "minor": "一般" / "Minor",
    }
    /// The handling steps of a complaint, in order.
    HandlingStep(Step, "COMPLAINT_STEPS", "fb_step") {
        Accept = "accept": "受理" / "Accept",
        Calm = "calm": "安抚" / "Calm",
        Agree = "agree": "协商方案" / "Agree a solution",
        Act = "act": "执行" / "Act",
        Thank = "thank": "致谢回访" / "Thank and follow up",
    }
    ScoreKind(ScoreKind, "SCORE_KINDS", "fb_kind") {
        Csat = "csat": "CSAT 满意度 1–5" / "CSAT 1–5",
        Nps = "nps": "NPS 推荐度 0–10" / "NPS 0–10",
    }
    /// A revenue report's period.
    ReportPeriod(Period, "REPORT_PERIODS", "report_period") {
        Day = "day": "按日" / "By day",
        Week = "week": "按周" / "By week",
        Month = "month": "按月" / "By month",
    }
    /// How the attendance report groups its rows.
    AttendanceBy(Period, "ATTENDANCE_BY", "attendance_by") {
        Group = "group": "按班级" / "By class",
        Coach = "coach": "按教练" / "By coach",
        Member = "member": "按学员" / "By member",
    }
    /// Stock moved other than by a sale.
    StockKind(StockKind, "STOCK_KINDS", "stock_kind") {
        Purchase = "purchase": "采购入库" / "Purchase",
        Adjust = "adjust": "盘点调整" / "Count adjustment",
        Return = "return": "退回入库" / "Return",
    }
    /// How the family felt on a return visit 回访.
    VisitMood(Mood, "VISIT_MOODS", "visit_mood") {
        Happy = "happy": "满意" / "happy",
        Neutral = "neutral": "一般" / "neutral",
        Unhappy = "unhappy": "不满意" / "unhappy",
    }
    /// Why a return visit was planned (`visits.rs`): the manager's rules, or a visit's next step.
    VisitRuleKind(VisitRule, "VISIT_RULE_KINDS", "visit_rule") {
        FirstLesson = "first_lesson": "首次上课后回访" / "After the first lesson",
        Enrolment = "enrolment": "报名后回访" / "After enrolment",
        ComplaintClosed = "complaint_closed": "投诉结案后回访" / "After a complaint is closed",
        ContractEnding = "contract_ending": "合同到期前回访" / "Before the contract ends",
        TopTier = "top_tier": "等级关怀回访" / "Tier care visits",
        NextStep = "next_step": "约定的下次回访" / "Next visit agreed",
        Churn = "churn": "流失预警回访" / "Churn warning",
    }
    /// Who makes a planned visit: the member's consultant, or anyone of a role.
    VisitAssignee(AssignTo, "VISIT_ASSIGNEES", "visit_assignee") {
        Consultant = "consultant": "会员的课程顾问" / "The member's consultant",
        Clerk = "clerk": "前台" / "Front desk",
        Manager = "manager": "店长" / "Manager",
        Coach = "coach": "教练" / "Coaches",
    }
    /// What a membership tier counts.
    TierBasis(TierBasis, "TIER_BASES", "tier_basis") {
        Spend = "spend": "消费金额" / "Money spent",
        Points = "points": "积分" / "Points",
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
        // The labels, once per catalogue key (two vocabularies may share a prefix, e.g.
        // the statuses staff set are member statuses: their words must agree).
        let mut labels: std::collections::BTreeMap<&str, (&str, &str)> = Default::default();
        for (key, zh, en) in LABELS {
            let before = labels.insert(key, (zh, en));
            assert!(before.is_none_or(|b| b == (*zh, *en)), "{key} has two labels");
        }
        out.push_str("/** Every code's label under its catalogue key (`code(prefix, value)` reads them). */\n");
        out.push_str("export const VOCABULARY_LABELS: { readonly 'zh-CN': Record<string, string>; readonly en: Record<string, string> } = {\n");
        for (lang, pick) in [("'zh-CN'", 0), ("en", 1)] {
            let entries: Vec<String> = labels.iter().map(|(k, (zh, en))| format!("    {}: {}", serde_json::to_string(k).unwrap(), serde_json::to_string(if pick == 0 { zh } else { en }).unwrap())).collect();
            out.push_str(&format!("  {lang}: {{\n{},\n  }},\n", entries.join(",\n")));
        }
        out.push_str("};\n");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("vocabulary.ts"), out).unwrap();
    }
}
