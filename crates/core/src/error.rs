//! Every failure the core reports, with a stable `code` for the UI and a plain
//! message in both languages that names the field and the rule broken.

use crate::auth::Action;
use crate::money::Money;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[ts(export)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Lang {
        if s.to_ascii_lowercase().starts_with("en") { Lang::En } else { Lang::ZhCn }
    }
    pub fn pick(self, zh: &str, en: &str) -> String {
        match self {
            Lang::ZhCn => zh.to_string(),
            Lang::En => en.to_string(),
        }
    }
}

/// The input field an error is about; its label appears in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Field {
    Name, Gender, Birthday, School, CourseInterest, Notes, Tags, Rank, Status, ReferredBy,
    GuardianName, GuardianPhone, Relation, Wechat, Phone, ContactName,
    Source, Consultant, Needs, LostReason, FollowUpContent, NextFollowUp, Channel,
    PackageName, PackageKind, Lessons, ValidityDays, TermMonths, Price, Discount,
    StartDate, PauseFrom, PauseTo, Reason, Amount, Method, RefundRule,
    Username, Password, DisplayName, Role, CentreName, MemberNoPrefix, Timezone, Setting,
    Member, Guardian, Lead, Package, Contract, Payment, Staff,
    Room, ClassGroup, Capacity, Weekday, StartTime, EndTime, Coach, Date, FromDate, ToDate,
    Mark, Session, Season, Closure, Trial, Comment, Report, Backup, BackupKeep, BackupSecondDir, IdleLockMinutes, Period,
    ImportFile, Column, Goods, Sale, Category, PointsPrice, Points, Quantity, StockKind,
    Template, Email, Url, Host, Port, Notice,
    Suggestion, Complaint, Content, Author, Severity, Handler, Deadline, Step, Vote, Score, ScoreKind, Occasion, Resolution,
    ReferralRewards, ReceivedBy, HandIn,
    Tiers, TierBasis, TierPeriod, TierName, TierThreshold, TierDiscount, TierWish, TierOwner, Holiday, HolidayName,
    VisitContent, Mood, NextStep, NextVisit, VisitPlan, VisitRule, VisitDays, AssignTo,
    ChurnFlag, Decision, SnoozeUntil, MessageBody, ReportMonths, ClassReminder, ReminderHours,
    Device, DeviceName, Request, PairingCode, CentreAddress, PrivacyNotice,
}

impl Field {
    pub fn label(self, lang: Lang) -> String {
        use Field::*;
        let (zh, en) = match self {
            Name => ("姓名", "Name"),
            Gender => ("性别", "Gender"),
            Birthday => ("出生日期", "Birthday"),
            School => ("学校", "School"),
            CourseInterest => ("意向课程", "Course interest"),
            Notes => ("备注", "Notes"),
            Tags => ("标签", "Tags"),
            Rank => ("级别", "Rank"),
            Status => ("状态", "Status"),
            ReferredBy => ("推荐人", "Referred by"),
            GuardianName => ("家长姓名", "Guardian name"),
            GuardianPhone => ("家长电话", "Guardian phone"),
            Relation => ("关系", "Relation"),
            Wechat => ("微信号", "WeChat ID"),
            Phone => ("电话", "Phone"),
            ContactName => ("联系人", "Contact name"),
            Source => ("来源渠道", "Source"),
            Consultant => ("课程顾问", "Consultant"),
            Needs => ("需求", "Needs"),
            LostReason => ("丢单原因", "Lost reason"),
            FollowUpContent => ("跟进内容", "Follow-up notes"),
            NextFollowUp => ("下次跟进日期", "Next follow-up date"),
            Channel => ("跟进方式", "Channel"),
            PackageName => ("套餐名称", "Package name"),
            PackageKind => ("套餐类型", "Package type"),
            Lessons => ("课时数", "Lessons"),
            ValidityDays => ("有效天数", "Valid for (days)"),
            TermMonths => ("期限（月）", "Term (months)"),
            Price => ("价格", "Price"),
            Discount => ("优惠金额", "Discount"),
            StartDate => ("开始日期", "Start date"),
            PauseFrom => ("停课开始", "Pause from"),
            PauseTo => ("停课结束", "Pause until"),
            Reason => ("原因", "Reason"),
            Amount => ("金额", "Amount"),
            Method => ("支付方式", "Payment method"),
            RefundRule => ("退费规则", "Refund rule"),
            Username => ("用户名", "Username"),
            Password => ("密码", "Password"),
            DisplayName => ("显示名称", "Display name"),
            Role => ("角色", "Role"),
            CentreName => ("机构名称", "Centre name"),
            MemberNoPrefix => ("会员编号前缀", "Member number prefix"),
            Timezone => ("时区", "Time zone"),
            Setting => ("设置", "Setting"),
            Member => ("会员", "Member"),
            Guardian => ("家长", "Guardian"),
            Lead => ("潜在客户", "Lead"),
            Package => ("课程套餐", "Package"),
            Contract => ("合同", "Contract"),
            Payment => ("缴费记录", "Payment"),
            Staff => ("员工", "Staff member"),
            Room => ("教室", "Room"),
            ClassGroup => ("班级", "Class"),
            Capacity => ("容量", "Capacity"),
            Weekday => ("星期", "Weekday"),
            StartTime => ("开始时间", "Start time"),
            EndTime => ("结束时间", "End time"),
            Coach => ("教练", "Coach"),
            Date => ("日期", "Date"),
            FromDate => ("开始日期", "From"),
            ToDate => ("结束日期", "To"),
            Mark => ("考勤", "Attendance mark"),
            Session => ("课节", "Session"),
            Season => ("季节课表", "Seasonal timetable"),
            Closure => ("停课日", "Closure"),
            Trial => ("试课", "Trial class"),
            Comment => ("点评", "Comment"),
            Report => ("报表", "Report"),
            Backup => ("备份", "Backup"),
            Period => ("统计周期", "Period"),
            BackupKeep => ("备份保留份数", "Backups kept"),
            IdleLockMinutes => ("无操作自动锁屏（分钟）", "Lock when idle (minutes)"),
            BackupSecondDir => ("第二备份位置", "Second backup folder"),
            ImportFile => ("导入文件", "Import file"),
            Column => ("列", "Column"),
            Goods => ("物品", "Item"),
            Sale => ("销售记录", "Sale"),
            Category => ("类别", "Category"),
            PointsPrice => ("积分价", "Price in points"),
            Points => ("积分", "Points"),
            Quantity => ("数量", "Quantity"),
            StockKind => ("出入库类型", "Stock movement"),
            Template => ("通知模板", "Message template"),
            Email => ("电子邮箱", "E-mail"),
            Url => ("网址", "URL"),
            Host => ("服务器", "Server host"),
            Port => ("端口", "Port"),
            Notice => ("通知", "Notice"),
            CentreAddress => ("中心地址", "Centre address"),
            PrivacyNotice => ("隐私告知", "Privacy notice"),
            Suggestion => ("意见", "Suggestion"),
            Complaint => ("投诉", "Complaint"),
            Content => ("内容", "Text"),
            Author => ("提出人", "From"),
            Severity => ("严重程度", "Severity"),
            Handler => ("处理人", "Handler"),
            Deadline => ("处理期限", "Deadline"),
            Step => ("处理步骤", "Handling step"),
            Vote => ("投票", "Vote"),
            Score => ("评分", "Score"),
            ScoreKind => ("调查类型", "Survey type"),
            Occasion => ("调查时机", "Occasion"),
            Resolution => ("处理结果", "Resolution"),
            ReferralRewards => ("转介绍奖励积分", "Referral reward points"),
            Tiers => ("会员等级", "Member tiers"),
            TierBasis => ("等级依据", "Tier basis"),
            TierPeriod => ("统计周期（月）", "Period (months)"),
            ReportMonths => ("统计月数", "Months in the period"),
            ClassReminder => ("上课提醒", "Class reminder"),
            ReminderHours => ("提前小时数", "Hours before"),
            Device => ("手机设备", "Phone"),
            DeviceName => ("设备名称", "Phone name"),
            Request => ("请求编号", "Request id"),
            PairingCode => ("配对码", "Pairing code"),
            TierName => ("等级名称", "Tier name"),
            TierThreshold => ("等级门槛", "Tier threshold"),
            TierDiscount => ("等级折扣（%）", "Tier discount (%)"),
            TierWish => ("生日祝福附言", "Birthday wish"),
            TierOwner => ("专属顾问", "Named owner"),
            Holiday => ("节日日期", "Holiday date"),
            HolidayName => ("节日名称", "Holiday name"),
            ReceivedBy => ("收款人", "Received by"),
            HandIn => ("交款记录", "Cash hand-in"),
            VisitContent => ("回访内容", "What was said"),
            Mood => ("家长情绪", "Family's mood"),
            NextStep => ("下一步", "Next step"),
            NextVisit => ("下次回访日期", "Next visit date"),
            VisitPlan => ("回访计划", "Planned visit"),
            VisitRule => ("回访规则", "Visit rule"),
            VisitDays => ("回访天数", "Days"),
            AssignTo => ("回访负责人", "Visit owner"),
            ChurnFlag => ("流失预警", "Churn warning"),
            Decision => ("处理方式", "Decision"),
            SnoozeUntil => ("暂缓到", "Snooze until"),
            MessageBody => ("消息内容", "Message"),
        };
        lang.pick(zh, en)
    }
}

/// The rule a value broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Required,
    TooLong { max: usize },
    PhoneFormat,
    /// A phone number Excel turned into scientific notation (1.38001E+10): its digits are lost.
    PhoneScientific { shown: String },
    EmailFormat,
    DateFormat,
    /// A date written correctly that the calendar does not have (2026-02-30).
    NoSuchDay { year: i32, month: u32, day: u32 },
    TimeFormat,
    NotInFuture,
    NotInPast,
    NotBefore { other: Field },
    MoneyFormat,
    MoneyTooPrecise,
    MoneyTooLarge,
    MustBePositive,
    NotNegative,
    NotMoreThan { limit: Money },
    /// A count above what is left (e.g. returning more than was sold and not yet returned).
    AtMost { max: i64 },
    IntRange { min: i64, max: i64 },
    OneOf { allowed: Vec<String> },
    /// A list longer than allowed (e.g. more referral levels than the table holds).
    TooMany { max: usize },
    /// The same value twice in a list (e.g. two tiers with one name).
    Duplicate { value: String },
    /// A tier's threshold not above the tier below it.
    AboveTier { tier: String, below: String },
    PasswordTooShort { min: usize },
    /// A network address that would carry data in plain text: only this PC itself
    /// (127.0.0.1, ::1, localhost) may be reached without TLS.
    TlsRequired,
    /// A token (a request id) with a space or a character beyond printable ASCII.
    PrintableAscii,
    /// A file larger than an import reads (`import::MAX_FILE_BYTES`).
    FileTooLarge { max_mb: usize },
    /// More data rows than one import takes.
    TooManyRows { max: usize },
    /// More columns than any sheet of members or leads has.
    TooManyColumns { max: usize },
    /// A cell longer than any field takes, on its line of the file.
    CellTooLong { line: i64, max: usize },
    /// A line the CSV reader cannot read.
    Unreadable { line: i64 },
    PhoneOrWechat,
    UsernameFormat,
    NameCharacters,
    Unknown,
}

impl Rule {
    fn code(&self) -> &'static str {
        match self {
            Rule::Required => "required",
            Rule::TooLong { .. } => "too_long",
            Rule::PhoneFormat => "phone_format",
            Rule::EmailFormat => "email_format",
            Rule::DateFormat => "date_format",
            Rule::NoSuchDay { .. } => "no_such_day",
            Rule::PhoneScientific { .. } => "phone_scientific",
            Rule::TimeFormat => "time_format",
            Rule::NotInFuture => "not_in_future",
            Rule::NotInPast => "not_in_past",
            Rule::NotBefore { .. } => "not_before",
            Rule::MoneyFormat => "money_format",
            Rule::MoneyTooPrecise => "money_too_precise",
            Rule::MoneyTooLarge => "money_too_large",
            Rule::MustBePositive => "must_be_positive",
            Rule::NotNegative => "not_negative",
            Rule::NotMoreThan { .. } => "not_more_than",
            Rule::AtMost { .. } => "at_most",
            Rule::IntRange { .. } => "int_range",
            Rule::OneOf { .. } => "one_of",
            Rule::TooMany { .. } => "too_many",
            Rule::Duplicate { .. } => "duplicate",
            Rule::AboveTier { .. } => "above_tier",
            Rule::PasswordTooShort { .. } => "password_too_short",
            Rule::TlsRequired => "tls_required",
            Rule::PrintableAscii => "printable_ascii",
            Rule::FileTooLarge { .. } => "file_too_large",
            Rule::TooManyRows { .. } => "too_many_rows",
            Rule::TooManyColumns { .. } => "too_many_columns",
            Rule::CellTooLong { .. } => "cell_too_long",
            Rule::Unreadable { .. } => "unreadable",
            Rule::PhoneOrWechat => "phone_or_wechat",
            Rule::UsernameFormat => "username_format",
            Rule::NameCharacters => "name_characters",
            Rule::Unknown => "unknown",
        }
    }

    fn describe(&self, lang: Lang) -> String {
        match self {
            Rule::Required => lang.pick("必填", "is required"),
            Rule::TooLong { max } => match lang {
                Lang::ZhCn => format!("不能超过 {max} 个字"),
                Lang::En => format!("must be at most {max} characters"),
            },
            Rule::EmailFormat => lang.pick("不是有效的电子邮箱地址，例如 name@example.com", "is not an e-mail address, e.g. name@example.com"),
            Rule::PhoneFormat => lang.pick(
                "请输入以 1 开头的 11 位手机号",
                "must be an 11-digit mobile number starting with 1",
            ),
            Rule::DateFormat => lang.pick("日期格式应为 年-月-日，例如 2015-03-07", "must be a date like 2015-03-07"),
            Rule::NoSuchDay { year, month, day } => match lang {
                Lang::ZhCn => format!("{year} 年 {month} 月没有 {day} 日"),
                Lang::En => format!(
                    "is not a day of the calendar: {} {year} has no {day}{}",
                    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
                        .get(month.saturating_sub(1) as usize)
                        .copied()
                        .unwrap_or("that month"),
                    ordinal_suffix(*day)
                ),
            },
            Rule::PhoneScientific { shown } => match lang {
                Lang::ZhCn => format!("{shown}：Excel 把号码变成了科学计数法，位数已丢失；请把该列设为文本后重新导出"),
                Lang::En => format!(
                    "{shown}: Excel turned the number into scientific notation and its digits are lost; set the column to Text and export again"
                ),
            },
            Rule::TimeFormat => lang.pick("时间格式应为 时:分，例如 18:30", "must be a time like 18:30"),
            Rule::NotInFuture => lang.pick("不能晚于今天", "cannot be in the future"),
            Rule::NotInPast => lang.pick("不能早于今天", "cannot be in the past"),
            Rule::NotBefore { other } => match lang {
                Lang::ZhCn => format!("不能早于{}", other.label(lang)),
                Lang::En => format!("cannot be before {}", other.label(lang).to_lowercase()),
            },
            Rule::MoneyFormat => lang.pick("请输入数字金额，例如 1280 或 1280.50", "must be a number like 1280 or 1280.50"),
            Rule::MoneyTooPrecise => lang.pick("最多两位小数（分）", "must have at most two decimal places"),
            Rule::MoneyTooLarge => lang.pick("金额过大", "is too large"),
            Rule::MustBePositive => lang.pick("必须大于 0", "must be greater than 0"),
            Rule::NotNegative => lang.pick("不能为负数", "cannot be negative"),
            Rule::NotMoreThan { limit } => match lang {
                Lang::ZhCn => format!("不能超过 {}", limit.display_yuan()),
                Lang::En => format!("cannot exceed {}", limit.display_yuan()),
            },
            Rule::AtMost { max } => match lang {
                Lang::ZhCn => format!("不能超过 {max}"),
                Lang::En => format!("cannot be more than {max}"),
            },
            Rule::IntRange { min, max } => match lang {
                Lang::ZhCn => format!("应在 {min} 到 {max} 之间"),
                Lang::En => format!("must be between {min} and {max}"),
            },
            Rule::OneOf { allowed } => match lang {
                Lang::ZhCn => format!("只能是：{}", allowed.join("、")),
                Lang::En => format!("must be one of: {}", allowed.join(", ")),
            },
            Rule::TooMany { max } => match lang {
                Lang::ZhCn => format!("最多 {max} 项"),
                Lang::En => format!("must have at most {max} entries"),
            },
            Rule::Duplicate { value } => match lang {
                Lang::ZhCn => format!("「{value}」重复了"),
                Lang::En => format!("has \"{value}\" twice"),
            },
            Rule::AboveTier { tier, below } => match lang {
                Lang::ZhCn => format!("「{tier}」的门槛应高于下一级「{below}」"),
                Lang::En => format!("of \"{tier}\" must be higher than that of \"{below}\" below it"),
            },
            Rule::TlsRequired => lang.pick(
                "必须加密（https:// 或 TLS）；只有本机地址（127.0.0.1、localhost）可以不加密",
                "must be encrypted (https:// or TLS); only this PC itself (127.0.0.1, localhost) may be reached without it",
            ),
            Rule::PrintableAscii => lang.pick("只能用英文字母、数字和符号，不含空格", "may hold only English letters, digits and symbols, no spaces"),
            Rule::PasswordTooShort { min } => match lang {
                Lang::ZhCn => format!("至少 {min} 位"),
                Lang::En => format!("must be at least {min} characters"),
            },
            Rule::FileTooLarge { max_mb } => match lang {
                Lang::ZhCn => format!("不能超过 {max_mb} MB；请分成几个文件导入"),
                Lang::En => format!("must be at most {max_mb} MB; split it into several files"),
            },
            Rule::TooManyRows { max } => match lang {
                Lang::ZhCn => format!("最多 {max} 行数据；请分成几个文件导入"),
                Lang::En => format!("may have at most {max} data rows; split it into several files"),
            },
            Rule::TooManyColumns { max } => match lang {
                Lang::ZhCn => format!("最多 {max} 列；请只保留要导入的列"),
                Lang::En => format!("may have at most {max} columns; keep only the columns to import"),
            },
            Rule::CellTooLong { line, max } => match lang {
                Lang::ZhCn => format!("第 {line} 行有一格超过 {max} 个字，不像是成员或线索表"),
                Lang::En => format!("has a cell of more than {max} characters on line {line}: it does not look like a sheet of members or leads"),
            },
            Rule::Unreadable { line } => match lang {
                Lang::ZhCn => format!("第 {line} 行无法按 CSV 读取；请在 Excel 里另存为 CSV 后再试"),
                Lang::En => format!("cannot be read as CSV at line {line}; save it as CSV from Excel and try again"),
            },
            Rule::PhoneOrWechat => lang.pick("电话和微信号至少填写一项", "or WeChat ID is required (at least one of them)"),
            Rule::UsernameFormat => lang.pick(
                "只能包含字母、数字、点、下划线或短横线（2–32 位）",
                "may contain only letters, digits, '.', '_' or '-' (2–32 characters)",
            ),
            Rule::NameCharacters => lang.pick("含有不允许的字符", "contains characters that are not allowed"),
            Rule::Unknown => lang.pick("不存在或已删除", "does not exist"),
        }
    }
}

fn ordinal_suffix(day: u32) -> &'static str {
    match (day % 10, day % 100) {
        (1, n) if n != 11 => "st",
        (2, n) if n != 12 => "nd",
        (3, n) if n != 13 => "rd",
        _ => "th",
    }
}

/// A business rule that refuses an otherwise well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    UsernameTaken,
    AlreadySetUp,
    MemberNotApplicant,
    MemberNotApproved,
    InvalidLeadTransition { from: String, to: String },
    LeadAlreadyConverted,
    PackageArchived,
    ContractNotActive,
    ContractFullyPaid,
    PaymentAlreadyReversed,
    CannotReverseReversal,
    CannotReverseRefund,
    PauseOverlaps,
    GuardianAlreadyLinked,
    LastManager,
    /// The room is taken then, by the named class.
    RoomBusy { when: String, by: String },
    /// The coach teaches then, the named class.
    CoachBusy { when: String, by: String },
    SeasonOverlaps,
    TrialAlreadyDecided,
    NotYourSession,
    SessionCancelled,
    /// A parent asked for leave for a class that has already started (or is over).
    SessionStarted { date: String, start: String },
    /// A parent's request names a child not linked to them (any more).
    NotYourChild,
    /// A parent's leave names a class that is not one of the child's.
    NotTheChildsClass,
    /// A staff member's kind of request sent through the parents' portal.
    NotForParents,
    /// A parent's request before they accepted the centre's current privacy notice.
    ConsentNeeded,
    /// A trial for this child in this class was asked for already (and stands).
    TrialAlreadyAsked,
    /// A request id seen before with another body (an id names one request).
    RequestReused,
    /// Pairing a phone while the phone server is off (or could not start).
    PhoneServerOff,
    AlreadyInGroup,
    /// A sheet was asked for a week without classes.
    NothingToPrint,
    /// "Export the database" pointed at the database file itself.
    WouldOverwriteDatabase,
    /// A backup folder (the desk's or the second one) cannot be written.
    BackupFolder { dir: String, detail: String },
    /// Another program held the database longer than the busy timeout.
    Busy,
    /// A member cannot be merged into itself.
    MergeSameMember,
    /// The record to keep has left or was itself merged into another.
    MergeIntoInactive,
    /// The duplicate was already merged into another record.
    MemberAlreadyMerged,
    /// A sale or a stock-out larger than what is on hand.
    NotEnoughStock { name: String, on_hand: i64 },
    /// Spending more points than the member has.
    NotEnoughPoints { balance: i64 },
    /// Paying in points for an item that has no points price.
    NoPointsPrice,
    SaleAlreadyDelivered,
    /// Selling an item that is no longer offered.
    GoodsArchived,
    /// A step or confirmation on a complaint already closed by the customer's answer.
    ComplaintClosed,
    /// All five handling steps are recorded: what remains is the customer's confirmation.
    ComplaintStepsDone,
    /// A handling step out of order (or a confirmation before the last step): `expected` is next.
    ComplaintStepOutOfOrder { expected: String },
    /// Everything sold on this sale has already been returned (or cancelled).
    SaleFullyReturned,
    /// A cash hand-in already voided.
    HandinVoided,
    /// Leave asked for a session whose roll call already has the child: the mark, and
    /// whether a lesson was used.
    AlreadyMarked { mark: String, lesson_used: bool },
    /// A child marked present (late, absent…) who is on leave for the session: the desk
    /// must confirm, which withdraws the leave.
    OnLeave { names: Vec<String> },
    /// Roll call for a class that has not started (more than 30 minutes before it).
    NotStartedYet { date: String, start: String },
    /// Departure notices outside the class (before it starts, or long after it ended).
    DismissOutsideClass { date: String, start: String, end: String },
    /// Adding a child to a class group that is full on that date.
    GroupFull { capacity: i64, members: i64 },
    /// Setting a status the contracts decide (在读 / 已过期) by hand.
    StatusFollowsContracts,
    /// The disk is full: nothing was saved.
    DiskFull,
    /// A planned visit already made or cancelled.
    VisitPlanClosed,
    /// A churn warning already acted on, dismissed, snoozed or cleared.
    ChurnFlagClosed,
    /// A group message whose audience has no guardian who may receive it.
    NobodyToMessage,
}

impl Conflict {
    fn code(&self) -> &'static str {
        match self {
            Conflict::UsernameTaken => "username_taken",
            Conflict::AlreadySetUp => "already_set_up",
            Conflict::MemberNotApplicant => "member_not_applicant",
            Conflict::MemberNotApproved => "member_not_approved",
            Conflict::InvalidLeadTransition { .. } => "invalid_lead_transition",
            Conflict::LeadAlreadyConverted => "lead_already_converted",
            Conflict::PackageArchived => "package_archived",
            Conflict::ContractNotActive => "contract_not_active",
            Conflict::ContractFullyPaid => "contract_fully_paid",
            Conflict::PaymentAlreadyReversed => "payment_already_reversed",
            Conflict::CannotReverseReversal => "cannot_reverse_reversal",
            Conflict::CannotReverseRefund => "cannot_reverse_refund",
            Conflict::PauseOverlaps => "pause_overlaps",
            Conflict::GuardianAlreadyLinked => "guardian_already_linked",
            Conflict::LastManager => "last_manager",
            Conflict::RoomBusy { .. } => "room_busy",
            Conflict::CoachBusy { .. } => "coach_busy",
            Conflict::SeasonOverlaps => "season_overlaps",
            Conflict::TrialAlreadyDecided => "trial_already_decided",
            Conflict::NotYourSession => "not_your_session",
            Conflict::RequestReused => "request_reused",
            Conflict::PhoneServerOff => "phone_server_off",
            Conflict::SessionCancelled => "session_cancelled",
            Conflict::SessionStarted { .. } => "session_started",
            Conflict::NotYourChild => "not_your_child",
            Conflict::NotTheChildsClass => "not_the_childs_class",
            Conflict::NotForParents => "not_for_parents",
            Conflict::ConsentNeeded => "consent_needed",
            Conflict::TrialAlreadyAsked => "trial_already_asked",
            Conflict::AlreadyInGroup => "already_in_group",
            Conflict::NothingToPrint => "nothing_to_print",
            Conflict::WouldOverwriteDatabase => "would_overwrite_database",
            Conflict::BackupFolder { .. } => "backup_folder",
            Conflict::Busy => "busy",
            Conflict::MergeSameMember => "merge_same_member",
            Conflict::MergeIntoInactive => "merge_into_inactive",
            Conflict::MemberAlreadyMerged => "member_already_merged",
            Conflict::NotEnoughStock { .. } => "not_enough_stock",
            Conflict::NotEnoughPoints { .. } => "not_enough_points",
            Conflict::NoPointsPrice => "no_points_price",
            Conflict::SaleAlreadyDelivered => "sale_already_delivered",
            Conflict::GoodsArchived => "goods_archived",
            Conflict::ComplaintClosed => "complaint_closed",
            Conflict::ComplaintStepsDone => "complaint_steps_done",
            Conflict::ComplaintStepOutOfOrder { .. } => "complaint_step_out_of_order",
            Conflict::SaleFullyReturned => "sale_fully_returned",
            Conflict::HandinVoided => "handin_voided",
            Conflict::AlreadyMarked { .. } => "already_marked",
            Conflict::OnLeave { .. } => "on_leave",
            Conflict::NotStartedYet { .. } => "not_started_yet",
            Conflict::DismissOutsideClass { .. } => "dismiss_outside_class",
            Conflict::GroupFull { .. } => "group_full",
            Conflict::StatusFollowsContracts => "status_follows_contracts",
            Conflict::DiskFull => "disk_full",
            Conflict::VisitPlanClosed => "visit_plan_closed",
            Conflict::ChurnFlagClosed => "churn_flag_closed",
            Conflict::NobodyToMessage => "nobody_to_message",
        }
    }

    fn describe(&self, lang: Lang) -> String {
        match self {
            Conflict::UsernameTaken => lang.pick("用户名已被使用", "That username is already taken"),
            Conflict::AlreadySetUp => lang.pick("系统已完成初始设置", "The centre is already set up"),
            Conflict::MemberNotApplicant => lang.pick("该会员已审核，无需再次审核", "This member has already been approved"),
            Conflict::MemberNotApproved => lang.pick("会员尚未审核，请先完成审核", "Approve the member's application first"),
            Conflict::InvalidLeadTransition { from, to } => match lang {
                Lang::ZhCn => format!("不能把状态从“{}”改为“{}”", crate::leads::status_label(from, lang), crate::leads::status_label(to, lang)),
                Lang::En => format!("Status cannot change from '{}' to '{}'", crate::leads::status_label(from, lang), crate::leads::status_label(to, lang)),
            },
            Conflict::LeadAlreadyConverted => lang.pick("该潜在客户已转为会员", "This lead has already become a member"),
            Conflict::PackageArchived => lang.pick("该套餐已停用", "This package is archived"),
            Conflict::ContractNotActive => lang.pick("该合同已结束或已退费", "This contract has ended or been refunded"),
            Conflict::ContractFullyPaid => lang.pick("该合同已付清", "This contract is already paid in full"),
            Conflict::PaymentAlreadyReversed => lang.pick("该笔缴费已冲正", "This payment has already been reversed"),
            Conflict::CannotReverseReversal => lang.pick("冲正记录不能再冲正", "A reversal cannot itself be reversed"),
            Conflict::CannotReverseRefund => lang.pick("退费记录不能冲正", "A refund cannot be reversed"),
            Conflict::PauseOverlaps => lang.pick("与已有的停课时间重叠", "Overlaps an existing pause"),
            Conflict::GuardianAlreadyLinked => lang.pick("该家长已关联此学员", "This guardian is already linked to the member"),
            Conflict::LastManager => lang.pick("至少需要保留一名启用的店长账号", "At least one active manager account must remain"),
            Conflict::RoomBusy { when, by } => match lang {
                Lang::ZhCn => format!("教室在 {when} 已被“{by}”占用"),
                Lang::En => format!("The room is taken at {when} by '{by}'"),
            },
            Conflict::CoachBusy { when, by } => match lang {
                Lang::ZhCn => format!("教练在 {when} 已有课“{by}”"),
                Lang::En => format!("The coach already teaches '{by}' at {when}"),
            },
            Conflict::SeasonOverlaps => lang.pick("与已有的季节课表时间重叠", "Overlaps another seasonal timetable"),
            Conflict::TrialAlreadyDecided => lang.pick("该试课申请已处理", "This trial request has already been decided"),
            Conflict::NotYourSession => lang.pick("这不是您的课", "This is not one of your sessions"),
            Conflict::PhoneServerOff => lang.pick("请先开启手机点名", "Turn phone roll call on first"),
            Conflict::RequestReused => lang.pick("该请求编号已用于另一个请求，请重新提交", "This request id was already used for another request; send it again"),
            Conflict::SessionCancelled => lang.pick("该课节已取消", "This session is cancelled"),
            Conflict::SessionStarted { date, start } => match lang {
                Lang::ZhCn => format!("{date} {start} 的课已开始，不能再请假"),
                Lang::En => format!("The class on {date} at {start} has already started: leave can no longer be asked for it"),
            },
            Conflict::NotYourChild => lang.pick("该学员未与您关联", "This child is not linked to you"),
            Conflict::NotTheChildsClass => lang.pick("这不是该学员的课", "This class is not one of the child's"),
            Conflict::NotForParents => lang.pick("家长端不能提交此类请求", "Parents cannot send this kind of request"),
            Conflict::ConsentNeeded => lang.pick("请先阅读并同意本中心当前的隐私告知", "Read and accept the centre's current privacy notice first"),
            Conflict::TrialAlreadyAsked => lang.pick("已为该学员申请过这节课的试课", "A trial in this class was already asked for this child"),
            Conflict::AlreadyInGroup => lang.pick("该学员已在此班级", "This member is already in the class"),
            Conflict::BackupFolder { dir, detail } => match lang {
                Lang::ZhCn => format!("无法写入备份位置 {dir}（{detail}）：请检查 U 盘或网络文件夹是否已连接、是否还有空间"),
                Lang::En => format!("Cannot write to the backup folder {dir} ({detail}): check that the USB stick or network folder is connected and has room"),
            },
            Conflict::WouldOverwriteDatabase => lang.pick("不能导出到正在使用的数据库文件本身，请换一个位置", "Choose another place: that is the database file in use"),
            Conflict::NothingToPrint => lang.pick("这一周没有课，没有可打印的内容", "There are no classes that week: nothing to print"),
            Conflict::Busy => lang.pick("数据库正忙，请稍后再试", "The database is busy; please try again"),
            Conflict::MergeSameMember => lang.pick("不能把会员与自己合并，请选择另一条记录", "A member cannot be merged with itself: choose the other record"),
            Conflict::MergeIntoInactive => lang.pick(
                "要保留的会员已流失或已被合并，请选择在读的那条记录作为保留记录",
                "The record to keep has left or was merged: keep the current record instead",
            ),
            Conflict::MemberAlreadyMerged => lang.pick("该会员已合并到另一条记录", "This member has already been merged into another record"),
            Conflict::NotEnoughStock { name, on_hand } => match lang {
                Lang::ZhCn => format!("“{name}”库存不足：现有 {on_hand} 件"),
                Lang::En => format!("Not enough “{name}” in stock: {on_hand} on hand"),
            },
            Conflict::NotEnoughPoints { balance } => match lang {
                Lang::ZhCn => format!("积分不足：现有 {balance} 分"),
                Lang::En => format!("Not enough points: the balance is {balance}"),
            },
            Conflict::NoPointsPrice => lang.pick("该物品没有积分价，不能用积分兑换", "This item has no points price: it cannot be paid in points"),
            Conflict::SaleAlreadyDelivered => lang.pick("该物品已经发放过了", "This sale was already handed over"),
            Conflict::GoodsArchived => lang.pick("该物品已停售", "This item is no longer sold"),
            Conflict::SaleFullyReturned => lang.pick("这笔销售已全部退货", "Everything on this sale has already been returned"),
            Conflict::HandinVoided => lang.pick("这条交款记录已作废", "This hand-in has already been voided"),
            Conflict::AlreadyMarked { mark, lesson_used } => {
                let mark = crate::attendance::Mark::parse(mark).map(|m| m.label(lang)).unwrap_or_else(|| mark.clone());
                match (lang, lesson_used) {
                    (Lang::ZhCn, true) => format!("该课已点名：{mark}，已扣 1 课时，不能再请假"),
                    (Lang::ZhCn, false) => format!("该课已点名：{mark}，不能再请假"),
                    (Lang::En, true) => format!("This class's roll call is taken: {mark}, 1 lesson used; leave can no longer be recorded"),
                    (Lang::En, false) => format!("This class's roll call is taken: {mark}; leave can no longer be recorded"),
                }
            }
            Conflict::OnLeave { names } => match lang {
                Lang::ZhCn => format!("{} 已请假：确认后撤销请假，按所选考勤记录（出勤会扣课时）", names.join("、")),
                Lang::En => format!("{} asked for leave: confirm to withdraw the leave and record the mark chosen (present uses a lesson)", names.join(", ")),
            },
            Conflict::NotStartedYet { date, start } => match lang {
                Lang::ZhCn => format!("这节课 {date} {start} 才开始，还不能点名"),
                Lang::En => format!("This class starts on {date} at {start}: roll call cannot be taken yet"),
            },
            Conflict::DismissOutsideClass { date, start, end } => match lang {
                Lang::ZhCn => format!("下课通知只能在上课期间或下课后一小时内发送（{date} {start}–{end}）"),
                Lang::En => format!("Departure notices go out during the class or within an hour after it ({date} {start}–{end})"),
            },
            Conflict::GroupFull { capacity, members } => match lang {
                Lang::ZhCn => format!("该班已满（{members}/{capacity} 人），确认后仍可加入"),
                Lang::En => format!("This class is full ({members} of {capacity}); confirm to add the child anyway"),
            },
            Conflict::DiskFull => lang.pick(
                "电脑磁盘已满，这次操作没有保存（之前的数据都完好）。请清理磁盘空间后再试。",
                "The computer's disk is full: this was not saved (everything saved before is intact). Free some disk space and try again.",
            ),
            Conflict::StatusFollowsContracts => lang.pick(
                "“在读”和“已过期”由合同自动决定，不能手动设置；可手动设置的是停课和流失",
                "\"Active\" and \"expired\" follow the member's contracts and cannot be set by hand; paused and left can",
            ),
            Conflict::ComplaintClosed => lang.pick("该投诉已结案", "This complaint is already closed"),
            Conflict::ChurnFlagClosed => lang.pick("这条流失预警已经处理过了", "This churn warning has already been dealt with"),
            Conflict::NobodyToMessage => lang.pick(
                "所选范围内没有可以接收消息的家长（没有登记家长，或家长已选择不接收群发消息）",
                "Nobody in this group can receive the message (no guardian on record, or the guardians asked not to receive group messages)",
            ),
            Conflict::VisitPlanClosed => lang.pick("这次计划的回访已经完成或已取消", "This planned visit has already been made or cancelled"),
            Conflict::ComplaintStepsDone => lang.pick("处理步骤已全部完成，请登记客户确认", "All handling steps are done: record the customer's confirmation"),
            Conflict::ComplaintStepOutOfOrder { expected } => match lang {
                Lang::ZhCn => format!("处理步骤须按顺序进行，下一步应为“{}”", crate::feedback::step_label(expected, lang)),
                Lang::En => format!("Handling steps go in order: the next step is “{}”", crate::feedback::step_label(expected, lang)),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    BadCredentials,
    NotLoggedIn,
    AccountDisabled,
    /// Too many wrong passwords for this account in a row: no password is checked until
    /// the delay has passed (it doubles with every further failure).
    TooManyAttempts { retry_after_secs: i64 },
    /// The desk locked itself after being left idle: only the same staff member's
    /// password (or logging out) opens it again.
    Locked,
    /// No pairing code is open (none shown, expired, used, or its tries used up).
    PairingClosed,
    /// A wrong pairing code; the code dies after its last try.
    PairingCodeWrong { tries_left: u32 },
    /// A phone that is not paired, or whose pairing the desk revoked.
    DeviceUnknown,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{field:?}: {rule:?}")]
    Validation { field: Field, rule: Rule },
    /// Several fields wrong at once (a form is checked whole, so the clerk sees every
    /// field to fix, not only the first).
    #[error("{0:?}")]
    Validations(Vec<(Field, Rule)>),
    #[error("{0:?} not found")]
    NotFound(Field),
    #[error("not allowed: {0:?}")]
    Forbidden(Action),
    #[error("authentication: {0:?}")]
    Auth(AuthFailure),
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("database: {0}")]
    Db(rusqlite::Error),
    /// The database file cannot be opened or fails its check (the desk offers a backup).
    #[error("damaged database: {0}")]
    Damaged(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for CoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
                CoreError::Conflict(Conflict::Busy)
            }
            Some(rusqlite::ErrorCode::DiskFull) => CoreError::Conflict(Conflict::DiskFull),
            _ => CoreError::Db(e),
        }
    }
}

impl CoreError {
    pub fn invalid(field: Field, rule: Rule) -> CoreError {
        CoreError::Validation { field, rule }
    }

    /// Each (field, rule) broken, in the form's order.
    pub fn problems(&self) -> Vec<(Field, &Rule)> {
        match self {
            CoreError::Validation { field, rule } => vec![(*field, rule)],
            CoreError::Validations(all) => all.iter().map(|(f, r)| (*f, r)).collect(),
            _ => vec![],
        }
    }

    pub fn code(&self) -> String {
        match self {
            CoreError::Validation { rule, .. } => format!("validation.{}", rule.code()),
            CoreError::Validations(all) => all.first().map(|(_, r)| format!("validation.{}", r.code())).unwrap_or_else(|| "validation".into()),
            CoreError::NotFound(_) => "not_found".into(),
            CoreError::Forbidden(_) => "forbidden".into(),
            CoreError::Auth(AuthFailure::BadCredentials) => "auth.bad_credentials".into(),
            CoreError::Auth(AuthFailure::NotLoggedIn) => "auth.not_logged_in".into(),
            CoreError::Auth(AuthFailure::AccountDisabled) => "auth.account_disabled".into(),
            CoreError::Auth(AuthFailure::TooManyAttempts { .. }) => "auth.too_many_attempts".into(),
            CoreError::Auth(AuthFailure::Locked) => "auth.locked".into(),
            CoreError::Auth(AuthFailure::PairingClosed) => "auth.pairing_closed".into(),
            CoreError::Auth(AuthFailure::PairingCodeWrong { .. }) => "auth.pairing_code_wrong".into(),
            CoreError::Auth(AuthFailure::DeviceUnknown) => "auth.device_unknown".into(),
            CoreError::Conflict(c) => format!("conflict.{}", c.code()),
            CoreError::Db(_) => "internal.database".into(),
            CoreError::Damaged(_) => "database.damaged".into(),
            CoreError::Internal(_) => "internal".into(),
        }
    }

    pub fn field(&self) -> Option<Field> {
        match self {
            CoreError::Validation { field, .. } => Some(*field),
            CoreError::Validations(all) => all.first().map(|(f, _)| *f),
            CoreError::NotFound(f) => Some(*f),
            _ => None,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            CoreError::Validation { field, rule } => problem_message(*field, rule, lang),
            CoreError::Validations(all) => {
                all.iter().map(|(f, r)| problem_message(*f, r, lang)).collect::<Vec<_>>().join(if lang == Lang::ZhCn { "；" } else { "; " })
            }
            CoreError::NotFound(f) => match lang {
                Lang::ZhCn => format!("找不到该{}", f.label(lang)),
                Lang::En => format!("{} not found", f.label(lang)),
            },
            CoreError::Forbidden(action) => match lang {
                Lang::ZhCn => format!("您的角色无权{}", action.label(lang)),
                Lang::En => format!("Your role is not allowed to {}", action.label(lang)),
            },
            CoreError::Auth(AuthFailure::BadCredentials) => lang.pick("用户名或密码错误", "Wrong username or password"),
            CoreError::Auth(AuthFailure::NotLoggedIn) => lang.pick("请先登录", "Please log in first"),
            CoreError::Auth(AuthFailure::AccountDisabled) => lang.pick("该账号已停用", "This account is disabled"),
            CoreError::Auth(AuthFailure::TooManyAttempts { retry_after_secs }) => match lang {
                Lang::ZhCn => format!("密码连续输错次数过多，请 {retry_after_secs} 秒后再试"),
                Lang::En => format!("Too many wrong passwords in a row; try again in {retry_after_secs} s"),
            },
            CoreError::Auth(AuthFailure::Locked) => lang.pick("屏幕已锁定，请输入密码解锁", "The desk is locked; enter your password to unlock it"),
            CoreError::Auth(AuthFailure::PairingClosed) => {
                lang.pick("没有可用的配对码：请在前台电脑 设置 → 手机点名 中重新生成", "No pairing code is open: make a new one at the desk in Settings → Phone roll call")
            }
            CoreError::Auth(AuthFailure::PairingCodeWrong { tries_left }) => match lang {
                Lang::ZhCn => format!("配对码错误，还可再试 {tries_left} 次"),
                Lang::En => format!("Wrong pairing code; {tries_left} tries left"),
            },
            CoreError::Auth(AuthFailure::DeviceUnknown) => {
                lang.pick("这部手机未配对或已被前台取消配对，请重新扫码配对", "This phone is not paired, or the desk revoked it; scan the pairing code again")
            }
            CoreError::Conflict(c) => c.describe(lang),
            CoreError::Damaged(d) => match lang {
                Lang::ZhCn => format!("数据库文件已损坏，不能再使用（{d}）。"),
                Lang::En => format!("The database file is damaged and cannot be used ({d})."),
            },
            CoreError::Db(e) => match lang {
                Lang::ZhCn => format!("数据库错误，操作未保存：{e}"),
                Lang::En => format!("Database error; nothing was saved: {e}"),
            },
            CoreError::Internal(e) => match lang {
                Lang::ZhCn => format!("内部错误，操作未保存：{e}"),
                Lang::En => format!("Internal error; nothing was saved: {e}"),
            },
        }
    }

    pub fn to_dto(&self, lang: Lang) -> ErrorDto {
        ErrorDto {
            code: self.code(),
            field: self.field(),
            message: self.message(lang),
            problems: self.problems().into_iter().map(|(field, rule)| Problem { field, message: problem_message(field, rule, lang) }).collect(),
        }
    }
}

fn problem_message(field: Field, rule: &Rule, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => format!("{}：{}", field.label(lang), rule.describe(lang)),
        Lang::En => format!("{} {}", field.label(lang), rule.describe(lang)),
    }
}

/// What crosses to the UI: `{code, field, message}`, and for a form every field in
/// error with its own message (`field` is the first of them).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ErrorDto {
    pub code: String,
    pub field: Option<Field>,
    pub message: String,
    pub problems: Vec<Problem>,
}

/// One field in error and what is wrong with it.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Problem {
    pub field: Field,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_name_the_field_and_rule_in_both_languages() {
        let e = CoreError::invalid(Field::GuardianPhone, Rule::PhoneFormat);
        let json = serde_json::to_value(e.to_dto(Lang::ZhCn)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "validation.phone_format",
                "field": "guardian_phone",
                "message": "家长电话：请输入以 1 开头的 11 位手机号",
                "problems": [{ "field": "guardian_phone", "message": "家长电话：请输入以 1 开头的 11 位手机号" }]
            })
        );
        assert_eq!(e.message(Lang::En), "Guardian phone must be an 11-digit mobile number starting with 1");
    }

    #[test]
    fn a_form_with_several_fields_wrong_names_each_of_them() {
        let e = CoreError::Validations(vec![(Field::Name, Rule::Required), (Field::GuardianPhone, Rule::PhoneFormat)]);
        let dto = e.to_dto(Lang::ZhCn);
        assert_eq!((dto.code.as_str(), dto.field), ("validation.required", Some(Field::Name)));
        assert_eq!(dto.problems.iter().map(|p| p.field).collect::<Vec<_>>(), [Field::Name, Field::GuardianPhone]);
        assert_eq!(dto.message, "姓名：必填；家长电话：请输入以 1 开头的 11 位手机号");
    }

    #[test]
    fn money_limits_show_yuan() {
        let e = CoreError::invalid(Field::Amount, Rule::NotMoreThan { limit: Money::from_fen(150_000) });
        assert_eq!(e.message(Lang::ZhCn), "金额：不能超过 ¥1,500.00");
    }
}
