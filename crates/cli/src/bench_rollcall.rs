//! Write benchmark: a class of 40 saved in one go (marks, lessons deducted, notices
//! queued to two guardians each, change log), against the same roll call saved one
//! student at a time (one transaction per click), and payments taken one by one (a
//! receipt each); every figure under the shipped `synchronous=FULL` next to the same
//! writes under `NORMAL` (alternating, same file, same run) to show what durability
//! costs.

use centredesk_core::attendance::{MarkInput, RollCallInput};
use centredesk_core::auth::FirstRun;
use centredesk_core::contracts::EnrolInput;
use centredesk_core::demo::People;
use centredesk_core::payments::PaymentInput;
use centredesk_core::members::{GuardianInput, GuardianLinkInput, MemberApplication, MemberApproval};
use centredesk_core::packages::PackageInput;
use centredesk_core::timetable::{ClassGroupInput, RoomInput, SessionFilter, SlotInput};
use centredesk_core::{Core, CoreError, Lang};
use std::time::{Duration, Instant};

/// A benchmark centre: classes of `students` (two guardians each, a 200-lesson package)
/// taught by the manager, one per `(name, weekdays)` (at most 15), with sessions for the
/// `weeks` weeks before today.
pub(crate) struct BenchCentre {
    pub core: Core,
    pub admin: centredesk_core::Session,
    /// Each class group with its members.
    pub groups: Vec<(String, Vec<String>)>,
    pub contracts: Vec<String>,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
}

pub(crate) const BENCH_USER: &str = "bench";
pub(crate) const BENCH_PASSWORD: &str = "bench-password";

pub(crate) fn centre(path: &std::path::Path, students: usize, classes: &[(&str, [i64; 2])], weeks: usize) -> Result<BenchCentre, CoreError> {
    let _ = std::fs::remove_file(path);
    let core = Core::open(path)?;
    let admin = core.first_run(FirstRun { centre_name: "基准测试馆".into(), username: BENCH_USER.into(), display_name: "基准".into(), password: BENCH_PASSWORD.into() })?;
    let room = core.room_create(&admin, RoomInput { name: "道馆".into(), capacity: 60 })?.id;
    let pkg = core.package_create(&admin, PackageInput { name: "200课时包".into(), kind: "lessons".into(), lessons: Some(200), validity_days: Some(3650), term_months: None, price: "9999".into() })?.id;
    let mut groups = vec![];
    let mut contracts = vec![];
    let mut people = People::new(40);
    // One hour each from 08:00, so no class takes another's room or coach.
    for (i, (n, weekdays)) in classes.iter().enumerate() {
        let (start, end) = (format!("{:02}:00", 8 + i), format!("{:02}:00", 9 + i));
        let group = core.group_create(&admin, ClassGroupInput { name: n.to_string(), course: String::new(), level: String::new(), coach_id: Some(admin.staff_id.clone()), capacity: students as i64 })?.id;
        for weekday in weekdays {
            core.slot_create(&admin, SlotInput { season_id: None, weekday: *weekday, start_time: start.clone(), end_time: end.clone(), room_id: room.clone(), coach_id: admin.staff_id.clone(), group_id: group.clone() })?;
        }
        let mut members = vec![];
        for _ in 0..students {
            let surname = people.surname();
            let guardian = GuardianInput { name: people.adult_name(&surname), relation: "妈妈".into(), phone: people.phone(), wechat: String::new() };
            let m = core.member_apply(&admin, MemberApplication { name: people.child_name(&surname), gender: "F".into(), guardian: Some(guardian), referred_by: None, notes: String::new() })?;
            core.guardian_link(&admin, &m.id, GuardianLinkInput {
                existing_guardian_id: None,
                new_guardian: Some(GuardianInput { name: people.adult_name(&surname), relation: "爸爸".into(), phone: people.phone(), wechat: String::new() }),
                relation: "爸爸".into(),
                is_primary: false,
            })?;
            core.member_approve(&admin, &m.id, MemberApproval { birthday: "2016-01-01".into(), school: String::new(), course_interest: String::new() })?;
            let contract = core.contract_enrol(&admin, EnrolInput { member_id: m.id.clone(), package_id: pkg.clone(), discount: String::new(), start_date: Some("2020-01-01".into()), consultant_id: None, renewal_of: None, notes: String::new() })?;
            contracts.push(contract.contract.id);
            core.group_add_member(&admin, &group, &m.id, Some("2020-01-01".into()), true)?;
            members.push(m.id);
        }
        groups.push((group, members));
    }
    // Past sessions: a roll call is refused before its class has begun.
    let to = core.today() - chrono::Duration::days(1);
    let from = to - chrono::Duration::days(7 * weeks as i64);
    core.sessions_generate(&admin, &from.to_string(), &to.to_string())?;
    Ok(BenchCentre { core, admin, groups, contracts, from, to })
}

/// The marks a benchmark class gets: one in twenty late, one in twenty absent, a comment
/// for one in eight.
pub(crate) fn marks_for(members: &[String]) -> Vec<MarkInput> {
    members
        .iter()
        .enumerate()
        .map(|(i, id)| MarkInput {
            member_id: id.clone(),
            mark: match i % 20 { 0 => "late", 1 => "absent", _ => "present" }.into(),
            comment: if i % 8 == 0 { "动作标准，继续保持".into() } else { String::new() }, ..Default::default() })
        .collect()
}

pub fn run(students: usize, sessions: usize) -> Result<(), CoreError> {
    let dir = std::env::temp_dir().join(format!("centredesk-bench-rollcall-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| CoreError::Internal(e.to_string()))?;
    // Two classes of `students`: one saved in one go, the other one student at a time.
    // Two lessons a week each, so a year holds both settings' sessions.
    let BenchCentre { core, admin, groups, contracts, from, to } = centre(&dir.join("rollcall.db"), students, &[("一次保存班", [1, 3]), ("逐个保存班", [2, 4])], sessions)?;
    // [FULL, NORMAL] for each kind; sessions alternate between the two settings.
    let mut at_once: [Vec<Duration>; 2] = Default::default();
    let mut one_by_one: [Vec<Duration>; 2] = Default::default();
    let mut payments: [Vec<Duration>; 2] = Default::default();
    let mut notices = 0;
    for (k, (group, members)) in groups.iter().enumerate() {
        let list = core.session_list(&admin, SessionFilter { from_date: from.to_string(), to_date: to.to_string(), group_id: Some(group.clone()), ..Default::default() })?;
        for (j, s) in list.iter().take(2 * sessions).enumerate() {
            let relaxed = j % 2;
            core.benchmark_relax_durability(relaxed == 1)?;
            let marks = marks_for(members);
            let t = Instant::now();
            if k == 0 {
                notices += core.roll_call(&admin, &s.id, RollCallInput { marks, trials: vec![], ..Default::default() })?.notices_queued;
                at_once[relaxed].push(t.elapsed());
            } else {
                for m in marks {
                    core.roll_call(&admin, &s.id, RollCallInput { marks: vec![m], trials: vec![], ..Default::default() })?;
                }
                one_by_one[relaxed].push(t.elapsed());
            }
        }
    }
    for (j, contract_id) in contracts.iter().cycle().take(4 * sessions).enumerate() {
        let relaxed = j % 2;
        core.benchmark_relax_durability(relaxed == 1)?;
        let t = Instant::now();
        core.payment_take(&admin, PaymentInput { contract_id: contract_id.clone(), amount: "100".into(), method: "wechat".into(), note: String::new() }, Lang::ZhCn)?;
        payments[relaxed].push(t.elapsed());
    }
    core.benchmark_relax_durability(false)?;
    for v in at_once.iter_mut().chain(one_by_one.iter_mut()).chain(payments.iter_mut()) {
        v.sort();
    }
    let pct = |v: &[Duration], p: usize| v[((v.len() * p) / 100).min(v.len() - 1)];
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    println!(
        "write benchmark: {students} students × {} sessions each way and setting ({} notices per save), {} payments per setting",
        at_once[0].len(),
        notices / (at_once[0].len() + at_once[1].len()).max(1) as i64,
        payments[0].len()
    );
    println!("{:<34} {:>10} {:>10} {:>12} {:>12}", "", "FULL p50", "FULL p99", "NORMAL p50", "NORMAL p99");
    for (name, v) in [("roll call, one save", &at_once), ("roll call, one student at a time", &one_by_one), ("one payment (receipt)", &payments)] {
        println!("{:<34} {:>10} {:>10} {:>12} {:>12}", name, ms(pct(&v[0], 50)), ms(pct(&v[0], 99)), ms(pct(&v[1], 50)), ms(pct(&v[1], 99)));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
