//! Centre-wide settings (name, member-number prefix, time zone, lead sources, the points
//! rules and the referral reward table).

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{CoreError, Field, Result, Rule};
use crate::validate;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct Settings {
    pub centre_name: String,
    pub member_no_prefix: String,
    pub timezone: String,
    /// Lead source channels offered in the lead form (walk-in, phone, referral, …).
    pub lead_sources: Vec<String>,
    /// How many daily and manual backups to keep.
    #[serde(default = "default_keep")]
    pub backup_keep: i64,
    /// Points earned per whole yuan paid (courses and goods); 0 turns it off.
    #[serde(default = "default_points_per_yuan")]
    pub points_per_yuan: i64,
    /// Points earned per lesson attended; 0 turns it off.
    #[serde(default = "default_points_per_attendance")]
    pub points_per_attendance: i64,
    /// Referral rewards 转介绍奖励: points for each referrer up the chain when a referred
    /// member's first contract is paid in full — `[level 1, level 2, …]`; empty turns it off.
    /// See `referrals.rs`.
    #[serde(default = "default_referral_rewards")]
    pub referral_rewards: Vec<i64>,
    /// The desk locks itself after this many minutes without a key or a click (a shared
    /// front-desk PC): the screen stays as it was, the staff member's password opens it.
    #[serde(default = "default_idle_lock_minutes")]
    pub idle_lock_minutes: i64,
}

pub const DEFAULT_IDLE_LOCK_MINUTES: i64 = 15;
pub const MAX_IDLE_LOCK_MINUTES: i64 = 240;

fn default_idle_lock_minutes() -> i64 {
    DEFAULT_IDLE_LOCK_MINUTES
}

/// At most this many levels up the chain are rewarded.
pub const MAX_REFERRAL_LEVELS: usize = 5;

fn default_referral_rewards() -> Vec<i64> {
    vec![200, 50]
}

fn default_points_per_yuan() -> i64 {
    1
}

fn default_points_per_attendance() -> i64 {
    5
}

fn default_keep() -> i64 {
    crate::backup::DEFAULT_KEEP
}

pub const DEFAULT_LEAD_SOURCES: [&str; 7] = ["上门", "电话", "转介绍", "网络", "地推活动", "大众点评", "公众号"];

pub(crate) fn get(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub(crate) fn put(w: &mut WriteTx, key: &str, value: &str) -> Result<()> {
    w.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    w.log("setting", key, "put", None, &serde_json::json!({ "key": key, "value": value }))
}

pub(crate) fn load(c: &Connection) -> Result<Settings> {
    let lead_sources = get(c, "lead_sources")?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| DEFAULT_LEAD_SOURCES.iter().map(|s| s.to_string()).collect());
    Ok(Settings {
        centre_name: get(c, "centre_name")?.unwrap_or_default(),
        member_no_prefix: get(c, "member_no_prefix")?.unwrap_or_else(|| "M".into()),
        timezone: get(c, "timezone")?.unwrap_or_else(|| "Asia/Shanghai".into()),
        lead_sources,
        backup_keep: get(c, "backup_keep")?.and_then(|v| v.parse().ok()).unwrap_or(crate::backup::DEFAULT_KEEP),
        points_per_yuan: get(c, "points_per_yuan")?.and_then(|v| v.parse().ok()).unwrap_or_else(default_points_per_yuan),
        points_per_attendance: get(c, "points_per_attendance")?.and_then(|v| v.parse().ok()).unwrap_or_else(default_points_per_attendance),
        referral_rewards: get(c, "referral_rewards")?.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_else(default_referral_rewards),
        idle_lock_minutes: get(c, "idle_lock_minutes")?.and_then(|v| v.parse().ok()).unwrap_or_else(default_idle_lock_minutes),
    })
}

impl Core {
    pub fn settings(&self) -> Result<Settings> {
        self.read(load)
    }

    pub fn settings_update(&self, session: &Session, input: Settings) -> Result<Settings> {
        session.require(Action::EditSettings)?;
        let centre = validate::required_text(Field::CentreName, &input.centre_name, 40)?;
        let prefix = validate::optional_text(Field::MemberNoPrefix, &input.member_no_prefix, 6)?;
        if !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CoreError::invalid(Field::MemberNoPrefix, Rule::UsernameFormat));
        }
        if input.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(CoreError::invalid(Field::Timezone, Rule::OneOf { allowed: vec!["Asia/Shanghai".into(), "Asia/Hong_Kong".into(), "…".into()] }));
        }
        let mut sources = vec![];
        for s in &input.lead_sources {
            let s = validate::optional_text(Field::Source, s, 12)?;
            if !s.is_empty() && !sources.contains(&s) {
                sources.push(s);
            }
        }
        if sources.is_empty() {
            return Err(CoreError::invalid(Field::Source, Rule::Required));
        }
        if !(1..=365).contains(&input.backup_keep) {
            return Err(CoreError::invalid(Field::BackupKeep, Rule::IntRange { min: 1, max: 365 }));
        }
        validate::int_in(Field::Points, input.points_per_yuan, 0, 100)?;
        validate::int_in(Field::Points, input.points_per_attendance, 0, 1000)?;
        if input.referral_rewards.len() > MAX_REFERRAL_LEVELS {
            return Err(CoreError::invalid(Field::ReferralRewards, Rule::TooMany { max: MAX_REFERRAL_LEVELS }));
        }
        for points in &input.referral_rewards {
            validate::int_in(Field::ReferralRewards, *points, 0, 100_000)?;
        }
        validate::int_in(Field::IdleLockMinutes, input.idle_lock_minutes, 1, MAX_IDLE_LOCK_MINUTES)?;
        let out = self.write(session, |w| {
            let old = load(w)?;
            if old.centre_name != centre {
                put(w, "centre_name", &centre)?;
            }
            if old.member_no_prefix != prefix {
                put(w, "member_no_prefix", &prefix)?;
            }
            if old.timezone != input.timezone {
                put(w, "timezone", &input.timezone)?;
            }
            if old.lead_sources != sources {
                put(w, "lead_sources", &serde_json::to_string(&sources).unwrap_or_default())?;
            }
            if old.backup_keep != input.backup_keep {
                put(w, "backup_keep", &input.backup_keep.to_string())?;
            }
            if old.points_per_yuan != input.points_per_yuan {
                put(w, "points_per_yuan", &input.points_per_yuan.to_string())?;
            }
            if old.points_per_attendance != input.points_per_attendance {
                put(w, "points_per_attendance", &input.points_per_attendance.to_string())?;
            }
            if old.idle_lock_minutes != input.idle_lock_minutes {
                put(w, "idle_lock_minutes", &input.idle_lock_minutes.to_string())?;
            }
            if old.referral_rewards != input.referral_rewards {
                put(w, "referral_rewards", &serde_json::to_string(&input.referral_rewards).unwrap_or_default())?;
            }
            load(w)
        })?;
        self.reload_timezone()?;
        Ok(out)
    }
}
