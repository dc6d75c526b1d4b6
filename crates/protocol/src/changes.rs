//! Every kind of change a desk's change log holds: the entity and its ops, each with a
//! label in zh-CN and en. Declared once: the desk's `WriteTx::log` refuses a change not
//! listed here; staff activity, the member timeline and head office read the labels;
//! the server folds these entities.

/// One kind of record the change log holds, with every operation on it, each with its
/// label in zh-CN and en. Declared once: `WriteTx::log` refuses a change not listed here,
/// and staff activity, the member timeline and the tests read the labels from here.
pub struct ChangeKind {
    pub entity: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// (op, zh, en)
    pub ops: &'static [(&'static str, &'static str, &'static str)],
}

pub const CHANGES: &[ChangeKind] = &[
    ChangeKind { entity: "attendance", zh: "点名", en: "roll call", ops: &[("mark", "点名", "marked"), ("clear", "取消点名", "mark cleared")] },
    ChangeKind { entity: "cash_handin", zh: "交款", en: "cash hand-in", ops: &[("record", "登记交款", "recorded"), ("void", "作废交款", "voided")] },
    ChangeKind {
        entity: "churn_flag",
        zh: "流失预警",
        en: "churn warning",
        ops: &[
            ("raise", "出现流失风险", "raised"),
            ("reasons", "风险原因变化", "reasons changed"),
            ("clear", "风险解除", "cleared"),
            ("reopen", "重新列入预警", "back on the list"),
            ("act", "安排回访", "visit planned"),
            ("dismiss", "忽略", "dismissed"),
            ("snooze", "暂缓", "snoozed"),
        ],
    },
    ChangeKind { entity: "class_group", zh: "班级", en: "class group", ops: &[("create", "新建", "created")] },
    ChangeKind {
        entity: "class_session",
        zh: "课节",
        en: "class",
        ops: &[("create", "排课", "scheduled"), ("update", "按课表更新", "updated from the timetable"), ("change", "调课", "moved or changed"), ("cancel", "停课", "cancelled"), ("delete", "删除", "removed")],
    },
    ChangeKind { entity: "closure", zh: "停课日", en: "closure", ops: &[("create", "新建", "added")] },
    ChangeKind {
        entity: "complaint",
        zh: "投诉",
        en: "complaint",
        ops: &[
            ("create", "登记投诉", "recorded"),
            ("step_accept", "受理", "accepted"),
            ("step_calm", "安抚", "calmed"),
            ("step_agree", "协商方案", "solution agreed"),
            ("step_act", "执行", "acted on"),
            ("step_thank", "致谢回访", "thanked and followed up"),
            ("close", "客户确认结案", "closed with the customer's confirmation"),
            ("assign", "改派处理人", "reassigned"),
        ],
    },
    ChangeKind {
        entity: "contract",
        zh: "合同",
        en: "contract",
        ops: &[
            ("enrol", "报名", "enrolled"),
            ("renew", "续费", "renewed"),
            ("pause", "停课延期", "paused"),
            ("refund", "退费", "refunded"),
            ("consume_lesson", "消课", "lesson used"),
            ("restore_lesson", "退回课时", "lesson given back"),
        ],
    },
    ChangeKind { entity: "contract_pause", zh: "停课", en: "pause", ops: &[("create", "登记停课", "recorded")] },
    ChangeKind { entity: "counter", zh: "编号", en: "number counter", ops: &[("raise", "跳过已用过的编号", "raised past numbers already used")] },
    ChangeKind { entity: "database", zh: "数据库", en: "database", ops: &[("restore", "恢复备份", "restored from a backup")] },
    ChangeKind { entity: "goods", zh: "物品", en: "item", ops: &[("create", "新建", "added"), ("update", "修改", "changed")] },
    ChangeKind { entity: "goods_return", zh: "退货", en: "goods return", ops: &[("return", "退货", "returned"), ("cancel", "取消未发放的销售", "sale cancelled before hand-over")] },
    ChangeKind { entity: "goods_sale", zh: "物品销售", en: "goods sale", ops: &[("sell", "销售", "sold"), ("deliver", "发放", "handed over"), ("return", "退货", "returned")] },
    ChangeKind {
        entity: "group_member",
        zh: "班级成员",
        en: "class member",
        ops: &[("join", "加入班级", "joined"), ("join_over_capacity", "超员加入班级（已确认）", "joined a full class (confirmed)"), ("leave", "离开班级", "left")],
    },
    ChangeKind { entity: "group_message", zh: "群发消息", en: "group message", ops: &[("send", "发送", "sent")] },
    ChangeKind { entity: "guardian", zh: "家长", en: "guardian", ops: &[("create", "新建", "added"), ("update", "修改", "changed")] },
    ChangeKind { entity: "import", zh: "导入", en: "import", ops: &[("commit", "导入", "imported")] },
    ChangeKind {
        entity: "lead",
        zh: "潜客",
        en: "lead",
        ops: &[("create", "登记", "recorded"), ("update", "修改", "changed"), ("set_status", "改状态", "status changed"), ("follow_up", "跟进", "followed up"), ("convert", "转为会员", "converted to a member"), ("hand_over", "移交给新顾问", "handed over")],
    },
    ChangeKind { entity: "lead_follow_up", zh: "跟进记录", en: "follow-up", ops: &[("create", "登记", "recorded")] },
    ChangeKind { entity: "leave_request", zh: "请假", en: "leave", ops: &[("create", "登记请假", "recorded"), ("withdraw", "撤销请假（孩子来上课了）", "withdrawn (the child came)")] },
    ChangeKind {
        entity: "member",
        zh: "会员",
        en: "member",
        ops: &[
            ("apply", "登记申请", "applied"),
            ("approve", "审核通过", "approved"),
            ("update", "修改资料", "details changed"),
            ("set_status", "改状态", "status set"),
            ("auto_status", "状态随合同变更", "status followed the contracts"),
            ("merge", "合并重复会员", "merged a duplicate"),
            ("merged_into", "被合并", "merged into another record"),
        ],
    },
    ChangeKind { entity: "member_consultant", zh: "负责顾问", en: "consultant", ops: &[("hand_over", "移交给新顾问", "handed over")] },
    ChangeKind { entity: "member_guardian", zh: "家长关联", en: "guardian link", ops: &[("link", "关联家长", "guardian linked"), ("unlink", "取消关联", "guardian unlinked")] },
    ChangeKind { entity: "member_tier", zh: "会员等级", en: "member tier", ops: &[("raise", "升级", "raised"), ("lower", "降级", "lowered"), ("update", "更新", "updated")] },
    ChangeKind {
        entity: "notice",
        zh: "通知",
        en: "notice",
        ops: &[("queue", "加入待发", "queued"), ("sent", "已发送", "sent"), ("retry", "发送失败，稍后重试", "failed, will retry"), ("failed", "发送失败", "failed"), ("resend", "重新发送", "sent again")],
    },
    ChangeKind { entity: "notice_template", zh: "通知模板", en: "message template", ops: &[("put", "修改", "changed"), ("reset", "恢复默认", "reset to the built-in text")] },
    ChangeKind {
        entity: "package",
        zh: "套餐",
        en: "package",
        ops: &[("create", "新建", "created"), ("update", "修改", "changed"), ("archive", "停用", "archived"), ("unarchive", "启用", "brought back")],
    },
    ChangeKind { entity: "payment", zh: "缴费", en: "payment", ops: &[("payment", "收款", "taken"), ("refund", "退费", "refunded"), ("reversal", "冲正", "reversed")] },
    ChangeKind {
        entity: "phone_device",
        zh: "手机设备",
        en: "phone",
        ops: &[("pair", "配对手机", "paired"), ("sign_in", "在手机上登录", "signed in on it"), ("revoke", "取消配对", "revoked")],
    },
    ChangeKind {
        entity: "points",
        zh: "积分",
        en: "points",
        ops: &[
            ("payment", "缴费得积分", "earned by a payment"),
            ("attendance", "上课得积分", "earned by a lesson"),
            ("referral", "转介绍奖励", "referral reward"),
            ("manual", "手动调整", "adjusted by hand"),
            ("redeem", "兑换", "redeemed"),
            ("goods", "购物", "spent on goods"),
            ("reversal", "扣回", "taken back"),
        ],
    },
    ChangeKind { entity: "portal_consent", zh: "家长端隐私告知", en: "portal privacy notice", ops: &[("accept", "家长同意", "accepted by the guardian"), ("refuse", "家长不同意", "refused by the guardian"), ("withdraw", "同意已撤回", "consent withdrawn")] },
    ChangeKind { entity: "portal_invite", zh: "家长端邀请", en: "portal invite", ops: &[("create", "生成邀请", "created"), ("revoke", "作废邀请", "revoked")] },
    ChangeKind {
        entity: "portal_signout",
        zh: "家长端登录",
        en: "portal sign-in",
        ops: &[("desk", "前台已让家长端退出登录", "signed out at the desk"), ("account_deleted", "家长删除了家长端账户", "the guardian deleted their portal account")],
    },
    ChangeKind { entity: "portal_view", zh: "家长视角", en: "view as guardian", ops: &[("view_as", "员工以家长视角查看", "viewed by staff as the guardian")] },
    ChangeKind { entity: "request", zh: "远程请求", en: "request", ops: &[("accept", "已处理", "accepted"), ("refuse", "未通过", "refused")] },
    ChangeKind { entity: "return_visit", zh: "回访", en: "return visit", ops: &[("record", "登记回访", "recorded")] },
    ChangeKind { entity: "room", zh: "教室", en: "room", ops: &[("create", "新建", "added")] },
    ChangeKind { entity: "satisfaction", zh: "满意度", en: "satisfaction", ops: &[("record", "登记评分", "score recorded")] },
    ChangeKind { entity: "season", zh: "季节课表", en: "seasonal timetable", ops: &[("create", "新建", "created")] },
    ChangeKind { entity: "setting", zh: "设置", en: "setting", ops: &[("put", "修改", "changed")] },
    ChangeKind {
        entity: "staff",
        zh: "员工",
        en: "staff",
        ops: &[("create", "新建账号", "account created"), ("change_password", "改密码", "password changed"), ("enable", "启用账号", "enabled"), ("disable", "停用账号", "disabled")],
    },
    ChangeKind {
        entity: "stock_move",
        zh: "出入库",
        en: "stock movement",
        ops: &[("purchase", "入库", "stocked in"), ("sale", "销售出库", "sold"), ("adjust", "盘点调整", "counted and adjusted"), ("return", "退货入库", "returned to stock")],
    },
    ChangeKind { entity: "suggestion", zh: "意见建议", en: "suggestion", ops: &[("create", "登记", "recorded"), ("show", "公开", "shown to members"), ("hide", "隐藏", "hidden")] },
    ChangeKind { entity: "suggestion_vote", zh: "建议投票", en: "suggestion vote", ops: &[("vote", "投票", "voted"), ("withdraw", "撤回投票", "vote withdrawn")] },
    ChangeKind {
        entity: "sync_epoch",
        zh: "同步记录线",
        en: "sync log epoch",
        ops: &[("start", "重新开始同步记录（首次、恢复备份或记录倒退后）", "started (first push, a restored backup, or a rewound log)")],
    },
    ChangeKind { entity: "timetable_slot", zh: "课表时段", en: "timetable slot", ops: &[("create", "新建", "added"), ("deactivate", "停用", "stopped")] },
    ChangeKind {
        entity: "trial_request",
        zh: "试课",
        en: "trial class",
        ops: &[("create", "登记试课", "booked"), ("approved", "批准", "approved"), ("declined", "不批准", "declined"), ("attended", "到课", "attended"), ("missed", "未到", "missed")],
    },
    ChangeKind {
        entity: "visit_plan",
        zh: "回访计划",
        en: "planned visit",
        ops: &[("plan", "计划回访", "planned"), ("done", "已回访", "made"), ("cancel", "取消（已退学、已合并或已续费）", "cancelled (left, merged or renewed)"), ("hand_over", "移交给新顾问", "handed over")],
    },
];

pub fn kind(entity: &str) -> Option<&'static ChangeKind> {
    CHANGES.iter().find(|k| k.entity == entity)
}

/// Whether `entity`/`op` is a declared kind of change.
pub fn declared(entity: &str, op: &str) -> bool {
    kind(entity).is_some_and(|k| k.ops.iter().any(|o| o.0 == op))
}

