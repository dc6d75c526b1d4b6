//! Reading the change log: the audit trail (who did what, when) that the manager
//! supervises and the outbox that head-office sync will drain.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::Result;
use serde::Serialize;
use ts_rs::TS;

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
    ChangeKind { entity: "guardian", zh: "家长", en: "guardian", ops: &[("create", "新建", "added"), ("update", "修改", "changed")] },
    ChangeKind { entity: "import", zh: "导入", en: "import", ops: &[("commit", "导入", "imported")] },
    ChangeKind {
        entity: "lead",
        zh: "潜客",
        en: "lead",
        ops: &[("create", "登记", "recorded"), ("update", "修改", "changed"), ("set_status", "改状态", "status changed"), ("follow_up", "跟进", "followed up"), ("convert", "转为会员", "converted to a member")],
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
    ChangeKind { entity: "timetable_slot", zh: "课表时段", en: "timetable slot", ops: &[("create", "新建", "added"), ("deactivate", "停用", "stopped")] },
    ChangeKind {
        entity: "trial_request",
        zh: "试课",
        en: "trial class",
        ops: &[("create", "登记试课", "booked"), ("approved", "批准", "approved"), ("declined", "不批准", "declined"), ("attended", "到课", "attended"), ("missed", "未到", "missed")],
    },
];

fn kind(entity: &str) -> Option<&'static ChangeKind> {
    CHANGES.iter().find(|k| k.entity == entity)
}

/// Whether `entity`/`op` is a declared kind of change.
pub fn declared(entity: &str, op: &str) -> bool {
    kind(entity).is_some_and(|k| k.ops.iter().any(|o| o.0 == op))
}

/// "会员 · 登记申请" / "member: applied" — what staff activity shows for a kind of change.
pub fn change_label(entity: &str, op: &str, lang: crate::Lang) -> String {
    match kind(entity) {
        Some(k) => {
            let what = lang.pick(k.zh, k.en);
            match k.ops.iter().find(|o| o.0 == op) {
                Some(o) => match lang {
                    crate::Lang::ZhCn => format!("{what} · {}", o.1),
                    crate::Lang::En => format!("{what}: {}", o.2),
                },
                None => format!("{what} · {op}"),
            }
        }
        None => format!("{entity} · {op}"),
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ChangeEntry {
    pub seq: i64,
    pub op_id: String,
    pub at: String,
    pub staff_id: Option<String>,
    pub staff_name: Option<String>,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub subject_id: Option<String>,
    #[ts(type = "Record<string, unknown>")]
    pub payload: serde_json::Value,
}

impl Core {
    /// The newest `limit` entries, newest first (manager only: it is staff supervision).
    pub fn change_log_tail(&self, session: &Session, limit: i64) -> Result<Vec<ChangeEntry>> {
        session.require(Action::ViewStaffReports)?;
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT l.seq, l.op_id, l.at, l.staff_id, s.display_name, l.entity, l.entity_id, l.op, l.subject_id, l.payload
                 FROM change_log l LEFT JOIN staff s ON s.id = l.staff_id ORDER BY l.seq DESC LIMIT ?1",
            )?;
            let rows = stmt
                .query_map([limit.clamp(1, 10_000)], |r| {
                    let payload: String = r.get(9)?;
                    Ok(ChangeEntry {
                        seq: r.get(0)?,
                        op_id: r.get(1)?,
                        at: r.get(2)?,
                        staff_id: r.get(3)?,
                        staff_name: r.get(4)?,
                        entity: r.get(5)?,
                        entity_id: r.get(6)?,
                        op: r.get(7)?,
                        subject_id: r.get(8)?,
                        payload: serde_json::from_str(&payload).unwrap_or_default(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }
}

/// Staff activity 员工工作: what each staff member did in a period (counted by kind of
/// change), and the changes themselves — for one staff member, or one record's own
/// history when `entity_id` is given.
#[derive(Debug, Clone, serde::Deserialize, TS)]
#[ts(export)]
pub struct ActivityFilter {
    /// Business dates in the centre's time zone, inclusive.
    pub from_date: String,
    pub to_date: String,
    #[serde(default)]
    #[ts(optional)]
    pub staff_id: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub entity_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ActivityCount {
    pub staff_id: Option<String>,
    pub staff_name: Option<String>,
    pub entity: String,
    pub op: String,
    /// The kind of change in words (`change_label`), in the desk's language.
    pub label: String,
    pub count: i64,
}

/// One change, shaped like a timeline line (so the UI words it the same way).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ActivityEntry {
    pub seq: i64,
    pub at: String,
    pub staff_name: Option<String>,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub label: String,
    pub subject_id: Option<String>,
    #[ts(type = "Record<string, unknown>")]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct StaffActivity {
    pub counts: Vec<ActivityCount>,
    /// Newest first, at most ACTIVITY_LIMIT.
    pub entries: Vec<ActivityEntry>,
    pub total: i64,
}

pub const ACTIVITY_LIMIT: i64 = 500;

impl Core {
    pub fn staff_activity(&self, session: &Session, filter: &ActivityFilter, lang: crate::Lang) -> Result<StaffActivity> {
        session.require(Action::ViewStaffReports)?;
        let (from, to) = crate::validate::date_range(&filter.from_date, &filter.to_date)?;
        // The centre's days as UTC instants: [from 00:00, to+1 00:00).
        let tz = self.timezone();
        let text = crate::db::instant_text;
        let (start_at, end_at) = (crate::db::day_start(tz, from), crate::db::day_start(tz, to + chrono::Duration::days(1)));
        // Whole UTC hours inside the period are counted from `activity_hours` (migration
        // 0012); the odd minutes at either end (a centre whose offset is not whole hours)
        // from the log itself.
        let hour = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H").to_string();
        let floor = |t: chrono::DateTime<chrono::Utc>| {
            use chrono::{DurationRound, TimeDelta};
            t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
        };
        let first_full = if floor(start_at) == start_at { start_at } else { floor(start_at) + chrono::Duration::hours(1) };
        let last_full = floor(end_at).max(first_full);
        let (start, end) = (text(start_at), text(end_at));
        let (full_from, full_to) = (text(first_full), text(last_full));
        let (hour_from, hour_to) = (hour(first_full), hour(last_full));
        let staff = filter.staff_id.clone().filter(|s| !s.is_empty());
        let entity_id = filter.entity_id.clone().filter(|s| !s.is_empty());
        self.read(|c| {
            let scope = "l.at >= ?1 AND l.at < ?2 AND (?3 IS NULL OR l.staff_id = ?3) AND (?4 IS NULL OR l.entity_id = ?4 OR l.subject_id = ?4)";
            let counted = if entity_id.is_some() {
                format!("SELECT COALESCE(l.staff_id, '') AS staff_id, l.entity, l.op, COUNT(*) AS n FROM change_log l WHERE {scope} GROUP BY 1, 2, 3")
            } else {
                "SELECT staff_id, entity, op, n FROM activity_hours WHERE hour >= ?5 AND hour < ?6 AND (?3 IS NULL OR staff_id = ?3)
                 UNION ALL SELECT COALESCE(l.staff_id, ''), l.entity, l.op, 1 FROM change_log l WHERE l.at >= ?1 AND l.at < ?7 AND (?3 IS NULL OR l.staff_id = ?3)
                 UNION ALL SELECT COALESCE(l.staff_id, ''), l.entity, l.op, 1 FROM change_log l WHERE l.at >= ?8 AND l.at < ?2 AND (?3 IS NULL OR l.staff_id = ?3)"
                    .to_string()
            };
            let args: [&dyn rusqlite::ToSql; 8] = [&start, &end, &staff, &entity_id, &hour_from, &hour_to, &full_from, &full_to];
            let mut stmt = c.prepare(&format!(
                "SELECT NULLIF(g.staff_id, ''), s.display_name, g.entity, g.op, g.n
                 FROM (SELECT staff_id, entity, op, SUM(n) AS n FROM ({counted}) GROUP BY 1, 2, 3) g LEFT JOIN staff s ON s.id = g.staff_id
                 ORDER BY 2, 5 DESC"
            ))?;
            let counts: Vec<ActivityCount> = stmt
                .query_map(rusqlite::params_from_iter(if entity_id.is_some() { &args[..4] } else { &args[..] }), |r| {
                    {
                        let (entity, op): (String, String) = (r.get(2)?, r.get(3)?);
                        Ok(ActivityCount { staff_id: r.get(0)?, staff_name: r.get(1)?, label: change_label(&entity, &op, lang), entity, op, count: r.get(4)? })
                    }
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt = c.prepare(&format!(
                "SELECT l.seq, l.at, s.display_name, l.entity, l.entity_id, l.op, l.subject_id, l.payload
                 FROM change_log l LEFT JOIN staff s ON s.id = l.staff_id WHERE {scope} ORDER BY l.at DESC, l.seq DESC LIMIT ?5"
            ))?;
            let entries: Vec<ActivityEntry> = stmt
                .query_map(rusqlite::params![start, end, staff, entity_id, ACTIVITY_LIMIT], |r| {
                    let payload: String = r.get(7)?;
                    let data = serde_json::from_str::<serde_json::Value>(&payload).ok().and_then(|v| v.get("data").cloned()).unwrap_or_default();
                    {
                        let (entity, op): (String, String) = (r.get(3)?, r.get(5)?);
                        Ok(ActivityEntry { seq: r.get(0)?, at: r.get(1)?, staff_name: r.get(2)?, label: change_label(&entity, &op, lang), entity, entity_id: r.get(4)?, op, subject_id: r.get(6)?, data })
                    }
                })?
                .collect::<rusqlite::Result<_>>()?;
            let total = counts.iter().map(|x| x.count).sum();
            Ok(StaffActivity { counts, entries, total })
        })
    }
}
