//! A real centre on a real SQLite file in a temp dir, with a clock the test controls.
#![allow(dead_code)]

use centredesk_core::auth::{FirstRun, NewStaff};
use centredesk_core::members::{GuardianInput, Member, MemberApplication, MemberApproval};
use centredesk_core::packages::{Package, PackageInput};
use centredesk_core::{Core, ManualClock, Role, Session};
use chrono::{TimeZone, Utc};
use std::sync::Arc;

pub struct Centre {
    pub core: Core,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    pub admin: Session,
    pub clerk: Session,
    pub coach: Session,
    pub consultant: Session,
}

pub const PASSWORD: &str = "secret-123";

/// 2026-11-25 10:00 in Beijing.
/// A demo centre's file in a fresh folder: `members` families with `seed`, its history
/// generated through `today` (a fixed day, never the machine's). Keep the folder alive.
pub fn demo_file(members: usize, seed: u64, today: chrono::NaiveDate) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    centredesk_core::demo::generate(&path, &centredesk_core::demo::DemoOptions::through_day(members, seed, today)).unwrap();
    (dir, path)
}

pub fn test_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
}

pub fn centre() -> Centre {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(test_now());
    let core = Core::open_with_clock(&dir.path().join("centre.db"), clock.clone()).unwrap();
    let admin = core
        .first_run(FirstRun { centre_name: "测试跆拳道馆".into(), username: "admin".into(), display_name: "王校长".into(), password: PASSWORD.into() })
        .unwrap();
    let make = |username: &str, display: &str, role: Role| {
        core.staff_create(&admin, NewStaff { username: username.into(), display_name: display.into(), role, password: PASSWORD.into() }).unwrap();
        core.login(username, PASSWORD).unwrap()
    };
    let clerk = make("clerk", "李娜", Role::Clerk);
    let coach = make("coach", "陈刚", Role::Coach);
    let consultant = make("consultant", "张敏", Role::Consultant);
    Centre { core, clock, dir, admin, clerk, coach, consultant }
}

impl Centre {
    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("centre.db")
    }

    /// A second, independent connection to the file, to look at what was stored.
    pub fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db_path()).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.raw().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Moves the clock to a few minutes into a class, as a coach taking roll call would be
    /// (roll call opens 30 minutes before a class; notices say the time the child came).
    pub fn to_class(&self, session_id: &str) {
        let (date, start): (String, String) =
            self.raw().query_row("SELECT date, start_time FROM class_sessions WHERE id = ?1", [session_id], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        let local = chrono::NaiveDateTime::parse_from_str(&format!("{date} {start}"), "%Y-%m-%d %H:%M").unwrap();
        let at = chrono::TimeZone::from_local_datetime(&chrono_tz::Asia::Shanghai, &local).unwrap().with_timezone(&Utc);
        self.clock.set(at + chrono::Duration::minutes(5));
    }

    /// A class taught by the coach 17:00–18:00 every `weekday` (1 = Monday), its sessions
    /// generated from `from` to `to`: the class group's id.
    pub fn weekly_class(&self, name: &str, weekday: i64, from: &str, to: &str) -> String {
        use centredesk_core::timetable::{ClassGroupInput, RoomInput, SlotInput};
        let room = self.core.room_create(&self.admin, RoomInput { name: format!("{name}教室"), capacity: 40 }).unwrap().id;
        let group = self
            .core
            .group_create(&self.admin, ClassGroupInput { name: name.into(), course: "跆拳道".into(), level: "白带".into(), coach_id: Some(self.coach.staff_id.clone()), capacity: 30 })
            .unwrap()
            .id;
        let slot = SlotInput { season_id: None, weekday, start_time: "17:00".into(), end_time: "18:00".into(), room_id: room, coach_id: self.coach.staff_id.clone(), group_id: group.clone() };
        self.core.slot_create(&self.admin, slot).unwrap();
        self.core.sessions_generate(&self.admin, from, to).unwrap();
        group
    }

    pub fn log_len(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM change_log")
    }

    /// A snapshot of every business table, to prove a failed call changed nothing.
    pub fn snapshot(&self) -> Vec<(String, i64)> {
        let tables = [
            "change_log", "staff", "settings", "counters", "members", "guardians", "member_guardians", "leads", "lead_follow_ups",
            "packages", "contracts", "contract_pauses", "payments", "search_doc",
        ];
        tables.iter().map(|t| (t.to_string(), self.count(&format!("SELECT COUNT(*) FROM {t}")))).collect()
    }

    pub fn member(&self, name: &str, phone: &str) -> Member {
        self.member_referred(name, phone, None)
    }

    /// An approved member whose guardian has `phone`, referred by `referred_by` if given.
    pub fn member_referred(&self, name: &str, phone: &str, referred_by: Option<&str>) -> Member {
        let m = self
            .core
            .member_apply(
                &self.clerk,
                MemberApplication {
                    name: name.into(),
                    gender: "M".into(),
                    guardian: Some(GuardianInput { name: "家长".into(), relation: "妈妈".into(), phone: phone.into(), wechat: String::new() }),
                    referred_by: referred_by.map(String::from),
                    notes: String::new(),
                },
            )
            .unwrap();
        self.core
            .member_approve(&self.clerk, &m.id, MemberApproval { birthday: "2017-03-07".into(), school: "实验小学".into(), course_interest: String::new() })
            .unwrap()
    }

    pub fn lesson_package(&self, lessons: i64, price: &str) -> Package {
        self.core
            .package_create(
                &self.admin,
                PackageInput { name: format!("{lessons}课时包"), kind: "lessons".into(), lessons: Some(lessons), validity_days: Some(365), term_months: None, price: price.into() },
            )
            .unwrap()
    }

    pub fn term_package(&self, months: i64, price: &str) -> Package {
        self.core
            .package_create(
                &self.admin,
                PackageInput { name: format!("{months}个月卡"), kind: "term".into(), lessons: None, validity_days: None, term_months: Some(months), price: price.into() },
            )
            .unwrap()
    }
}

/// The table of a CSV the desk wrote for people (after the BOM, if any): its footer line
/// — the version that wrote it — is checked and left off, as a reader of the data would.
pub fn csv_table(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes)).expect("UTF-8");
    let (table, footer) = centredesk_core::export::strip_footer(text);
    let footer = footer.unwrap_or_else(|| panic!("no footer line in {text:?}"));
    assert!(footer.starts_with(&format!("CentreDesk {} · ", centredesk_core::VERSION)), "{footer}");
    format!("{table}\r\n")
}
