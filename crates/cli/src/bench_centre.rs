//! A generated centre for the report and export benchmarks: years of front-desk history
//! (members with guardians, leads and their follow-ups, contracts, payments, the dated
//! timetable, roll calls with the lessons they consume and the notices they queue) at a
//! size the service API could not write in reasonable time.
//!
//! Staff, packages, rooms, class groups and the weekly timetable are made through the
//! service API on a fresh database (`Core::open`, migrations applied). Everything after
//! is written with direct SQL, foreign keys on, walking the calendar day by day the way
//! the demo does, and following the service layer's rules: member numbers in approval
//! order, receipts and contract numbers from the same counters, lessons taken from the
//! valid contract that expires first, a notice per guardian for each arrival and coach
//! comment, points earned by payments and lessons attended, and a change-log row (gap-free `seq`, UUIDv7 `op_id`, `{"v":1,"data":…}` with
//! the same fields the module logs) for every change, by the staff member who made it.
//! Rows are inserted as created and brought to their final state (member status, lessons
//! used, lead status, group end dates) at the end. Search documents are not built: no
//! report reads them.

use centredesk_core::auth::{FirstRun, NewStaff, Role};
use centredesk_core::contracts::end_date_for;
use centredesk_core::demo::People;
use centredesk_core::packages::PackageInput;
use centredesk_core::timetable::{ClassGroupInput, RoomInput, SlotInput};
use centredesk_core::{Core, CoreError, ManualClock, Money};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const BENCH_USER: &str = "bench";
pub const BENCH_PASSWORD: &str = "bench-password";
const CENTRE: &str = "基准测试馆";
/// The settings' defaults (`points_per_yuan`, `points_per_attendance`).
const POINTS_PER_YUAN: i64 = 1;
const POINTS_PER_ATTENDANCE: i64 = 5;

pub struct Spec {
    pub members: usize,
    pub years: u32,
    /// Each room holds 22 class groups (weekday pairs, Wednesday and weekend classes) with
    /// a weekday and a weekend coach.
    pub rooms: usize,
    /// Share of contracts renewed when the desk raises it (the demo's is 75).
    pub renew_percent: u32,
    /// Stop the history once this many attendance rows exist (the export benchmark).
    pub attendance_cap: Option<usize>,
    pub seed: u64,
}

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub from: String,
    /// The day after the last one written: the dataset's "today".
    pub today: String,
    pub staff: usize,
    pub members: usize,
    pub guardians: usize,
    pub leads: usize,
    pub follow_ups: usize,
    pub contracts: usize,
    pub payments: usize,
    pub sessions: usize,
    pub attendance: usize,
    pub notices: usize,
    pub leave_requests: usize,
    pub change_log: usize,
    pub seconds: f64,
}

impl Summary {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("from", self.from.clone()),
            ("today", self.today.clone()),
            ("staff", self.staff.to_string()),
            ("members", self.members.to_string()),
            ("guardians", self.guardians.to_string()),
            ("leads", self.leads.to_string()),
            ("follow_ups", self.follow_ups.to_string()),
            ("contracts", self.contracts.to_string()),
            ("payments", self.payments.to_string()),
            ("sessions", self.sessions.to_string()),
            ("attendance", self.attendance.to_string()),
            ("notices", self.notices.to_string()),
            ("leave_requests", self.leave_requests.to_string()),
            ("change_log", self.change_log.to_string()),
            ("seconds", format!("{:.1}", self.seconds)),
        ]
    }

    pub fn line(&self) -> String {
        format!(
            "{} → {}: {} members, {} guardians, {} leads ({} follow-ups), {} contracts, {} payments, {} sessions, {} attendance rows, {} notices, {} change-log rows",
            self.from, self.today, self.members, self.guardians, self.leads, self.follow_ups, self.contracts, self.payments, self.sessions, self.attendance, self.notices, self.change_log
        )
    }

    fn sidecar(path: &Path) -> PathBuf {
        let mut p = path.as_os_str().to_owned();
        p.push(".summary");
        PathBuf::from(p)
    }

    pub fn load(path: &Path) -> Option<Summary> {
        let text = std::fs::read_to_string(Summary::sidecar(path)).ok()?;
        let mut s = Summary::default();
        for line in text.lines() {
            let (k, v) = line.split_once('=')?;
            let n = || v.parse::<usize>().unwrap_or(0);
            match k {
                "from" => s.from = v.into(),
                "today" => s.today = v.into(),
                "staff" => s.staff = n(),
                "members" => s.members = n(),
                "guardians" => s.guardians = n(),
                "leads" => s.leads = n(),
                "follow_ups" => s.follow_ups = n(),
                "contracts" => s.contracts = n(),
                "payments" => s.payments = n(),
                "sessions" => s.sessions = n(),
                "attendance" => s.attendance = n(),
                "notices" => s.notices = n(),
                "leave_requests" => s.leave_requests = n(),
                "change_log" => s.change_log = n(),
                "seconds" => s.seconds = v.parse().unwrap_or(0.0),
                _ => {}
            }
        }
        (!s.today.is_empty()).then_some(s)
    }
}

/// The dataset at `path`, generated first when it (or its summary) is missing.
pub fn ensure(path: &Path, spec: &Spec) -> Result<Summary, CoreError> {
    if path.exists() {
        if let Some(s) = Summary::load(path) {
            return Ok(s);
        }
    }
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    for p in [path.to_path_buf(), tmp.clone()] {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CoreError::Internal(e.to_string()))?;
    }
    let summary = generate(&tmp, spec)?;
    std::fs::rename(&tmp, path).map_err(|e| CoreError::Internal(e.to_string()))?;
    let text: String = summary.fields().iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(Summary::sidecar(path), text).map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(summary)
}

/// The centre's "today" for a dataset, as a clock for `Core::open_with_clock`: the
/// reports' default ranges (last 7, 28, 365 days) then cover the generated history
/// whenever the benchmark runs.
pub fn clock_at(today: &str) -> std::sync::Arc<ManualClock> {
    let day = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_default();
    // 15:00 in Asia/Shanghai.
    ManualClock::new(Utc.from_utc_datetime(&day.and_hms_opt(7, 0, 0).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------------

const LEVELS: [(&str, &str); 4] = [("幼儿启蒙", "白带"), ("少儿初级", "白黄带"), ("少儿中级", "绿蓝带"), ("竞技提高", "红黑带")];
const WEEKDAY_TIMES: [(&str, &str); 4] = [("16:30", "17:30"), ("17:40", "18:40"), ("18:50", "19:50"), ("20:00", "21:00")];
const WEEKEND_TIMES: [(&str, &str); 5] = [("08:30", "10:00"), ("10:10", "11:40"), ("13:30", "15:00"), ("15:10", "16:40"), ("16:50", "18:20")];
const SCHOOLS: [&str; 12] = [
    "实验小学", "第一小学", "第二小学", "育才小学", "外国语学校", "师范附小", "人民路小学", "阳光幼儿园", "启明幼儿园", "新华小学", "光明小学", "滨江小学",
];
const COMMENTS: [&str; 4] = ["动作标准，继续保持", "横踢进步明显", "上课有些分心，请家长多鼓励", "体能很好，可以准备考级"];
const NEEDS: [&str; 5] = ["想锻炼身体", "孩子胆小，想练自信", "周末班", "离家近", "考级"];
const LOST: [&str; 4] = ["价格太高", "时间不合适", "选择了其他机构", "孩子不感兴趣"];
/// Spring Festival: the centre closes from New Year's Eve for a week.
const SPRING_FESTIVAL: [&str; 10] =
    ["2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29", "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13"];

struct Staff {
    id: String,
    name: String,
}

struct Pkg {
    id: String,
    name: String,
    kind: &'static str,
    lessons: Option<i64>,
    validity: Option<i64>,
    months: Option<i64>,
    price: i64,
    weight: u32,
}

struct Group {
    id: String,
    name: String,
    roster: Vec<u32>,
}

struct SlotT {
    id: String,
    weekday: u32,
    start: &'static str,
    end: &'static str,
    start_min: u32,
    room: String,
    room_name: String,
    coach: usize,
    group: usize,
}

struct Sess {
    id: String,
    slot: u32,
    day: u32,
}

struct Guardian {
    id: String,
    name: String,
    phone: String,
}

struct Mem {
    id: String,
    name: String,
    surname: String,
    gender: &'static str,
    birthday: Option<String>,
    school: &'static str,
    member_no: Option<u32>,
    status: &'static str,
    referred_by: Option<u32>,
    lead: Option<u32>,
    approved_at: Option<String>,
    created_at: String,
    updated_at: String,
    guardians: Vec<u32>,
    gm: Option<u32>,
    contracts: Vec<u32>,
    level: usize,
    dropped: bool,
    absent_streak: u8,
    keep_coming: u8,
}

struct Gm {
    id: String,
    group: u32,
    member: u32,
    start: u32,
    end: Option<u32>,
}

struct Con {
    id: String,
    no: u32,
    member: u32,
    pkg: usize,
    discount: i64,
    consultant: usize,
    start: i64,
    end: i64,
    total: Option<i64>,
    used: i64,
    status: &'static str,
    renewal_of: Option<u32>,
    created_at: String,
    updated_at: String,
    paid: i64,
    asked: bool,
    decided: bool,
}

struct Lead {
    id: String,
    name: String,
    contact: String,
    phone: String,
    gender: &'static str,
    source: usize,
    consultant: usize,
    money: bool,
    authority: bool,
    need: bool,
    needs: &'static str,
    status: &'static str,
    lost_reason: &'static str,
    next: Option<i64>,
    converted: Option<u32>,
    created_at: String,
    updated_at: String,
}

#[derive(Clone, Copy)]
enum Step {
    Follow { stage: u8, next: i64 },
    Lost(&'static str),
    Convert,
}

struct LeadPlan {
    day: i64,
    steps: Vec<(i64, Step)>,
}

enum Ev {
    WalkIn,
    LeadNew(u32),
    LeadStep(u32, u8),
    Balance(u32, i64),
    Refund(u32),
    Renew(u32),
    Leave(u32, u32),
    RollCall(u32),
}

struct Now {
    day: i64,
    minute: u32,
    ms: i64,
    text: String,
    hhmm: String,
}

struct Gen {
    conn: Connection,
    rng: StdRng,
    people: People,
    spec_renew: u32,
    cap: Option<usize>,
    start: NaiveDate,
    days: i64,
    base_ms: i64,
    dates: Vec<String>,
    now: Now,
    seq: i64,
    staff: Vec<Staff>,
    clerks: Vec<usize>,
    consultants: Vec<usize>,
    pkgs: Vec<Pkg>,
    sources: Vec<String>,
    prefix: String,
    groups: Vec<Group>,
    by_level: Vec<Vec<usize>>,
    slots: Vec<SlotT>,
    sessions: Vec<Sess>,
    by_day: Vec<Vec<u32>>,
    closed: Vec<bool>,
    batch_from: i64,
    guardians: Vec<Guardian>,
    members: Vec<Mem>,
    gms: Vec<Gm>,
    contracts: Vec<Con>,
    leads: Vec<Lead>,
    plans: Vec<LeadPlan>,
    /// The lead each plan became.
    plan_lead: Vec<u32>,
    leaves: std::collections::HashSet<(u32, u32)>,
    queue: Vec<Vec<(u32, Ev)>>,
    member_no: u32,
    receipt_no: u32,
    contract_no: u32,
    stop: bool,
    summary: Summary,
}

fn esc(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A change-log payload `{"data":{…},"v":1}` with the data's keys in the order
/// serde_json writes them (sorted).
struct Payload {
    out: String,
    first: bool,
}

impl Payload {
    fn new() -> Payload {
        let mut out = String::with_capacity(768);
        out.push_str("{\"data\":{");
        Payload { out, first: true }
    }
    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
        &mut self.out
    }
    fn s(mut self, k: &str, v: &str) -> Payload {
        esc(self.key(k), v);
        self
    }
    fn os(mut self, k: &str, v: Option<&str>) -> Payload {
        match v {
            Some(v) => esc(self.key(k), v),
            None => self.key(k).push_str("null"),
        }
        self
    }
    fn i(mut self, k: &str, v: i64) -> Payload {
        let o = self.key(k);
        o.push_str(&v.to_string());
        self
    }
    fn oi(mut self, k: &str, v: Option<i64>) -> Payload {
        match v {
            Some(v) => self.i(k, v),
            None => {
                self.key(k).push_str("null");
                self
            }
        }
    }
    fn b(mut self, k: &str, v: bool) -> Payload {
        self.key(k).push_str(if v { "true" } else { "false" });
        self
    }
    fn raw(mut self, k: &str, v: &str) -> Payload {
        self.key(k).push_str(v);
        self
    }
    fn done(mut self) -> String {
        self.out.push_str("},\"v\":1}");
        self.out
    }
}

fn money(fen: i64) -> String {
    Money::from_fen(fen).to_string()
}

fn minutes(hhmm: &str) -> u32 {
    let (h, m) = hhmm.split_once(':').unwrap_or(("0", "0"));
    h.parse::<u32>().unwrap_or(0) * 60 + m.parse::<u32>().unwrap_or(0)
}

pub fn generate(path: &Path, spec: &Spec) -> Result<Summary, CoreError> {
    let started = Instant::now();
    let today = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    let start = today.checked_sub_months(chrono::Months::new(12 * spec.years)).unwrap_or(today);
    let days = (today - start).num_days();
    // Staff, packages, rooms, groups and the weekly timetable through the service API,
    // a week before the history starts.
    let setup_day = start - chrono::Duration::days(7);
    let clock = ManualClock::new(Utc.from_utc_datetime(&setup_day.and_hms_opt(1, 0, 0).unwrap_or_default()));
    let core = Core::open_with_clock(path, clock)?;
    let admin = core.first_run(FirstRun { centre_name: CENTRE.into(), username: BENCH_USER.into(), display_name: "王校长".into(), password: BENCH_PASSWORD.into() })?;
    let mut staff = vec![Staff { id: admin.staff_id.clone(), name: admin.display_name.clone() }];
    let mut people = People::new(spec.seed);
    let add_staff = |username: String, display: String, role: Role, staff: &mut Vec<Staff>| -> Result<usize, CoreError> {
        let s = core.staff_create(&admin, NewStaff { username, display_name: display.clone(), role, password: BENCH_PASSWORD.into() })?;
        staff.push(Staff { id: s.id, name: display });
        Ok(staff.len() - 1)
    };
    let mut clerks = vec![];
    for (i, n) in ["李娜", "王芳", "刘婷"].iter().enumerate() {
        clerks.push(add_staff(format!("qiantai{}", i + 1), n.to_string(), Role::Clerk, &mut staff)?);
    }
    let mut consultants = vec![];
    for (i, n) in ["张敏", "刘洋", "陈静", "杨帆", "赵倩", "黄磊"].iter().enumerate() {
        consultants.push(add_staff(format!("guwen{}", i + 1), n.to_string(), Role::Consultant, &mut staff)?);
    }
    let mut coaches = vec![];
    for i in 0..spec.rooms * 2 {
        let surname = people.surname();
        let name = people.adult_name(&surname);
        coaches.push(add_staff(format!("jiaolian{}", i + 1), name, Role::Coach, &mut staff)?);
    }
    let mut pkgs = vec![];
    for (name, kind, lessons, validity, months, price, weight) in [
        ("48课时包", "lessons", Some(48), Some(365), None, "4800", 40),
        ("24课时包", "lessons", Some(24), Some(180), None, "2580", 20),
        ("96课时包", "lessons", Some(96), Some(730), None, "8800", 8),
        ("体验课8课时", "lessons", Some(8), Some(60), None, "399", 7),
        ("月卡", "term", None, None, Some(1), "680", 10),
        ("季卡", "term", None, None, Some(3), "1880", 10),
        ("年卡", "term", None, None, Some(12), "6800", 5),
    ] {
        let p = core.package_create(&admin, PackageInput { name: name.into(), kind: kind.into(), lessons, validity_days: validity, term_months: months, price: price.into() })?;
        pkgs.push(Pkg { id: p.id, name: name.into(), kind, lessons, validity, months, price: p.price.fen(), weight });
    }
    let mut groups = vec![];
    let mut by_level = vec![vec![]; LEVELS.len()];
    let mut slots = vec![];
    let mut per_level = [0usize; 4];
    for r in 0..spec.rooms {
        let room_name = format!("{}号道馆", r + 1);
        let room = core.room_create(&admin, RoomInput { name: room_name.clone(), capacity: 40 })?.id;
        let mut plan: Vec<(Vec<u32>, (&'static str, &'static str), usize)> = vec![];
        for t in WEEKDAY_TIMES {
            plan.push((vec![1, 4], t, coaches[2 * r]));
            plan.push((vec![2, 5], t, coaches[2 * r]));
            plan.push((vec![3], t, coaches[2 * r]));
        }
        for t in WEEKEND_TIMES {
            plan.push((vec![6], t, coaches[2 * r + 1]));
            plan.push((vec![7], t, coaches[2 * r + 1]));
        }
        for (weekdays, (from, to), coach) in plan {
            // Ages 4–12 spread evenly: 4–5 beginners, 6–7 juniors, 8–10 intermediate, 11–12 advanced.
            let age = 4 + groups.len() % 9;
            let level = match age {
                4 | 5 => 0,
                6 | 7 => 1,
                8..=10 => 2,
                _ => 3,
            };
            per_level[level] += 1;
            let name = format!("{}{}班", LEVELS[level].0, per_level[level]);
            let g = core.group_create(&admin, ClassGroupInput { name: name.clone(), course: "跆拳道".into(), level: LEVELS[level].1.into(), coach_id: Some(staff[coach].id.clone()), capacity: 30 })?;
            for wd in weekdays {
                let s = core.slot_create(
                    &admin,
                    SlotInput { season_id: None, weekday: wd as i64, start_time: from.into(), end_time: to.into(), room_id: room.clone(), coach_id: staff[coach].id.clone(), group_id: g.id.clone() },
                )?;
                slots.push(SlotT { id: s.id, weekday: wd, start: from, end: to, start_min: minutes(from), room: room.clone(), room_name: room_name.clone(), coach, group: groups.len() });
            }
            by_level[level].push(groups.len());
            groups.push(Group { id: g.id, name, roster: vec![] });
        }
    }
    let settings = core.settings()?;
    let sources = settings.lead_sources.clone();
    let prefix = if settings.member_no_prefix.is_empty() { "M".to_string() } else { settings.member_no_prefix.clone() };
    drop(core);

    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "MEMORY")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -6_000_000)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Secondary indexes are built once at the end (a sort) instead of row by row; the
    // same CREATE INDEX statements, so the schema ends exactly as the migrations left it.
    // Those of `contracts` stay: the `contract_ends` triggers look renewals up by
    // `renewal_of` on every contract written, which without its index is a scan of the
    // table each time — quadratic, hours at 100,000 members.
    let indexes: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name <> 'contracts' ORDER BY rowid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, _) in &indexes {
        conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    }
    let seq: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM change_log", [], |r| r.get(0))?;
    let base_ms = {
        let local = start.and_hms_opt(0, 0, 0).unwrap_or_default();
        chrono_tz::Asia::Shanghai.from_local_datetime(&local).earliest().map(|t| t.timestamp_millis()).unwrap_or(0)
    };
    let horizon = days + 800;
    let dates: Vec<String> = (0..horizon).map(|d| (start + chrono::Duration::days(d)).to_string()).collect();
    let mut closed = vec![false; (days + 40) as usize];
    let mut g = Gen {
        conn,
        rng: StdRng::seed_from_u64(spec.seed ^ 0x5eed),
        people,
        spec_renew: spec.renew_percent,
        cap: spec.attendance_cap,
        start,
        days,
        base_ms,
        dates,
        now: Now { day: 0, minute: 0, ms: 0, text: String::new(), hhmm: String::new() },
        seq,
        staff,
        clerks,
        consultants,
        pkgs,
        sources,
        prefix,
        groups,
        by_level,
        slots,
        sessions: vec![],
        by_day: vec![vec![]; (days + 40) as usize],
        closed: vec![],
        batch_from: 0,
        guardians: vec![],
        members: vec![],
        gms: vec![],
        contracts: vec![],
        leads: vec![],
        plans: vec![],
        plan_lead: vec![],
        leaves: Default::default(),
        queue: (0..days).map(|_| vec![]).collect(),
        member_no: 0,
        receipt_no: 0,
        contract_no: 0,
        stop: false,
        summary: Summary { from: start.to_string(), staff: 0, ..Default::default() },
    };
    g.summary.staff = g.staff.len();
    g.conn.execute_batch("BEGIN")?;
    // Closures for the Spring Festival weeks, entered by the manager before the history.
    g.set_now(0, 8 * 60);
    for cny in SPRING_FESTIVAL {
        let Ok(day) = NaiveDate::parse_from_str(cny, "%Y-%m-%d") else { continue };
        let (from, to) = (day - chrono::Duration::days(1), day + chrono::Duration::days(5));
        if to < start || from > today + chrono::Duration::days(40) {
            continue;
        }
        let id = g.uuid();
        let (f, t) = (from.to_string(), to.to_string());
        g.conn.prepare_cached("INSERT INTO closures (id, name, from_date, to_date, created_at) VALUES (?1, '春节', ?2, ?3, ?4)")?.execute(params![id, f, t, g.now.text])?;
        let p = Payload::new().s("from_date", &f).s("id", &id).s("name", "春节").s("to_date", &t).done();
        g.log("closure", &id, "create", None, 0, &p)?;
        for d in (from - start).num_days()..=(to - start).num_days() {
            if d >= 0 && (d as usize) < closed.len() {
                closed[d as usize] = true;
            }
        }
    }
    g.closed = closed;
    g.plan(spec.members)?;
    g.run()?;
    g.finish()?;
    let t = Instant::now();
    for (_, sql) in &indexes {
        g.conn.execute_batch(sql)?;
    }
    g.conn.execute_batch("COMMIT")?;
    eprintln!("  indexes built in {:.0}s", t.elapsed().as_secs_f64());
    g.conn.pragma_update(None, "journal_mode", "WAL")?;
    let mut s = g.summary.clone();
    let count = |t: &str| -> Result<usize, CoreError> { Ok(g.conn.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get::<_, i64>(0))? as usize) };
    s.members = count("members")?;
    s.guardians = count("guardians")?;
    s.leads = count("leads")?;
    s.follow_ups = count("lead_follow_ups")?;
    s.contracts = count("contracts")?;
    s.payments = count("payments")?;
    s.sessions = count("class_sessions")?;
    s.attendance = count("attendance")?;
    s.notices = count("notices")?;
    s.leave_requests = count("leave_requests")?;
    s.change_log = count("change_log")?;
    drop(g);
    s.seconds = started.elapsed().as_secs_f64();
    Ok(s)
}

impl Gen {
    fn date(&self, day: i64) -> &str {
        &self.dates[day.clamp(0, self.dates.len() as i64 - 1) as usize]
    }

    fn set_now(&mut self, day: i64, minute: u32) {
        let sec = self.rng.gen_range(0..60i64);
        let milli = self.rng.gen_range(0..1000i64);
        let ms = self.base_ms + day * 86_400_000 + minute as i64 * 60_000 + sec * 1000 + milli;
        let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        self.now = Now { day, minute, ms, text: at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), hhmm: format!("{:02}:{:02}", minute / 60, minute % 60) };
    }

    /// A UUIDv7 for a row made now.
    fn uuid(&mut self) -> String {
        let ms = self.now.ms as u64;
        let a: u16 = self.rng.gen::<u16>() & 0x0fff;
        let b: u16 = (self.rng.gen::<u16>() & 0x3fff) | 0x8000;
        let c: u64 = self.rng.gen::<u64>() & 0xffff_ffff_ffff;
        format!("{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}", ms >> 16, ms & 0xffff, a, b, c)
    }

    fn log(&mut self, entity: &str, entity_id: &str, op: &str, subject: Option<&str>, staff: usize, payload: &str) -> Result<(), CoreError> {
        self.seq += 1;
        let op_id = self.uuid();
        self.conn
            .prepare_cached(
                "INSERT INTO change_log (seq, op_id, at, staff_id, entity, entity_id, op, subject_id, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![self.seq, op_id, self.now.text, self.staff[staff].id, entity, entity_id, op, subject, payload])?;
        Ok(())
    }

    fn schedule(&mut self, day: i64, minute: u32, ev: Ev) {
        if day >= 0 && day < self.days {
            self.queue[day as usize].push((minute, ev));
        }
    }

    fn desk_minute(&mut self) -> u32 {
        self.rng.gen_range(9 * 60..20 * 60)
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.rng.gen_range(0..v.len())]
    }

    /// Growth over the years (the centre gets busier) and the seasons (summer holidays
    /// busy, Spring Festival quiet).
    fn weights(&self) -> Vec<f64> {
        (0..self.days)
            .map(|d| {
                let month = (self.start + chrono::Duration::days(d)).month();
                let season = match month {
                    7 | 8 => 1.5,
                    9 => 1.2,
                    1 | 2 => 0.7,
                    _ => 1.0,
                };
                (0.35 + 1.3 * d as f64 / self.days as f64) * season
            })
            .collect()
    }

    /// `n` days spread by the weights, in order.
    fn spread(&self, n: usize, weights: &[f64]) -> Vec<i64> {
        let total: f64 = weights.iter().sum();
        let mut out = Vec::with_capacity(n);
        let (mut acc, mut day) = (0.0, 0usize);
        for i in 0..n {
            let target = (i as f64 + 0.5) / n as f64 * total;
            while day + 1 < weights.len() && acc + weights[day] < target {
                acc += weights[day];
                day += 1;
            }
            out.push(day as i64);
        }
        out
    }

    /// Leads and what will become of them (as the demo's consultants work them), then as
    /// many walk-ins as make the member count exact.
    fn plan(&mut self, members: usize) -> Result<(), CoreError> {
        let weights = self.weights();
        let n_leads = members / 2;
        let mut converts = 0;
        for day in self.spread(n_leads, &weights) {
            let mut steps = vec![];
            let mut at = day + 2;
            for step in 1..=6u8 {
                if at >= self.days {
                    break;
                }
                let roll = self.rng.gen_range(0..100);
                if (step >= 2 && roll < 20) || step >= 6 {
                    steps.push((at, Step::Lost(if step >= 6 { "多次跟进未回复" } else { LOST[roll as usize % 4] })));
                    break;
                }
                if step >= 4 && roll < 60 {
                    steps.push((at, Step::Convert));
                    converts += 1;
                    break;
                }
                let next = at + self.rng.gen_range(2..10);
                steps.push((at, Step::Follow { stage: step, next }));
                // One follow-up in ten is a few days late (overdue on the list).
                at = next + if self.chance(10) { self.rng.gen_range(1..6) } else { 0 };
            }
            self.plans.push(LeadPlan { day, steps });
        }
        self.plan_lead = vec![u32::MAX; self.plans.len()];
        for i in 0..self.plans.len() {
            let m = self.desk_minute();
            self.schedule(self.plans[i].day, m, Ev::LeadNew(i as u32));
        }
        for day in self.spread(members.saturating_sub(converts), &weights) {
            let m = self.desk_minute();
            self.schedule(day, m, Ev::WalkIn);
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), CoreError> {
        let t0 = Instant::now();
        for day in 0..self.days {
            let mut events = std::mem::take(&mut self.queue[day as usize]);
            if day >= self.batch_from - 14 && self.batch_from <= self.days + 28 {
                self.set_now(day, 8 * 60 + 30);
                self.batch()?;
            }
            let todays = self.by_day[day as usize].clone();
            for sid in todays {
                let s = &self.sessions[sid as usize];
                let slot = &self.slots[s.slot as usize];
                let (start_min, group) = (slot.start_min, slot.group);
                let roster = self.groups[group].roster.clone();
                for m in roster {
                    if !self.members[m as usize].dropped && self.chance(3) {
                        let minute = self.rng.gen_range(8 * 60..start_min.saturating_sub(30).max(8 * 60 + 1));
                        events.push((minute, Ev::Leave(sid, m)));
                    }
                }
                let minute = start_min + self.rng.gen_range(2..15);
                events.push((minute, Ev::RollCall(sid)));
            }
            events.sort_by_key(|e| e.0);
            for (minute, ev) in events {
                self.set_now(day, minute);
                match ev {
                    Ev::WalkIn => self.walk_in()?,
                    Ev::LeadNew(l) => self.lead_new(l)?,
                    Ev::LeadStep(l, i) => self.lead_step(l, i)?,
                    Ev::Balance(k, amount) => {
                        if self.contracts[k as usize].status == "active" {
                            let clerk = self.pick(&self.clerks.clone());
                            let method = self.method();
                            self.payment(k, "payment", amount, method, clerk, None, "")?;
                        }
                    }
                    Ev::Refund(k) => self.refund(k)?,
                    Ev::Renew(k) => self.renew_check(k)?,
                    Ev::Leave(sid, m) => self.leave(sid, m)?,
                    Ev::RollCall(sid) => self.roll_call(sid)?,
                }
                if self.stop {
                    self.days = day + 1;
                    return Ok(());
                }
            }
            if day % 180 == 179 {
                eprintln!("  {} … {} members, {} attendance rows, {} log rows ({:.0}s)", self.date(day), self.members.len(), self.summary.attendance, self.seq, t0.elapsed().as_secs_f64());
            }
        }
        Ok(())
    }

    /// The manager generates the next quarter's dated sessions two weeks ahead.
    fn batch(&mut self) -> Result<(), CoreError> {
        let from = self.batch_from;
        let to = (from + 91).min(self.days + 29);
        for day in from..to {
            if self.closed.get(day as usize).copied().unwrap_or(false) {
                continue;
            }
            let weekday = (self.start + chrono::Duration::days(day)).weekday().number_from_monday();
            for si in 0..self.slots.len() {
                if self.slots[si].weekday != weekday {
                    continue;
                }
                let id = self.uuid();
                let slot = &self.slots[si];
                let date = self.dates[day as usize].clone();
                let grp = &self.groups[slot.group];
                self.conn
                    .prepare_cached(
                        "INSERT INTO class_sessions (id, slot_id, origin_date, group_id, date, start_time, end_time, room_id, coach_id, status, is_override, note, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?6, ?7, ?8, 'scheduled', 0, '', ?9, ?9)",
                    )?
                    .execute(params![id, slot.id, date, grp.id, slot.start, slot.end, slot.room, self.staff[slot.coach].id, self.now.text])?;
                let p = Payload::new()
                    .s("coach_id", &self.staff[slot.coach].id)
                    .s("coach_name", &self.staff[slot.coach].name)
                    .s("date", &date)
                    .s("end_time", slot.end)
                    .s("group_id", &grp.id)
                    .s("group_name", &grp.name)
                    .s("id", &id)
                    .b("is_override", false)
                    .s("note", "")
                    .s("room_id", &slot.room)
                    .s("room_name", &slot.room_name)
                    .s("slot_id", &slot.id)
                    .s("start_time", slot.start)
                    .s("status", "scheduled")
                    .done();
                self.log("class_session", &id, "create", None, 0, &p)?;
                self.sessions.push(Sess { id, slot: si as u32, day: day as u32 });
                if (day as usize) < self.by_day.len() {
                    self.by_day[day as usize].push(self.sessions.len() as u32 - 1);
                }
            }
        }
        self.batch_from = to;
        Ok(())
    }

    fn member_payload(&self, m: u32) -> String {
        let x = &self.members[m as usize];
        let no = x.member_no.map(|n| format!("{}{:05}", self.prefix, n));
        let lead = x.lead.map(|l| self.leads[l as usize].id.as_str());
        let referred = x.referred_by.map(|r| self.members[r as usize].id.as_str());
        Payload::new()
            .os("approved_at", x.approved_at.as_deref())
            .os("birthday", x.birthday.as_deref())
            .s("course_interest", if x.member_no.is_some() { "跆拳道" } else { "" })
            .s("created_at", &x.created_at)
            .s("gender", x.gender)
            .s("id", &x.id)
            .os("lead_id", lead)
            .os("member_no", no.as_deref())
            .raw("merged_into", "null")
            .s("name", &x.name)
            .s("notes", "")
            .s("rank", "")
            .os("referred_by", referred)
            .s("school", x.school)
            .s("status", x.status)
            .raw("tags", "[]")
            .s("updated_at", &x.updated_at)
            .done()
    }

    fn contract_payload(&self, k: u32) -> String {
        let c = &self.contracts[k as usize];
        let p = &self.pkgs[c.pkg];
        Payload::new()
            .s("amount_due", &money(p.price - c.discount))
            .s("consultant_id", &self.staff[c.consultant].id)
            .s("contract_no", &format!("C{:06}", c.no))
            .s("created_at", &c.created_at)
            .s("discount", &money(c.discount))
            .s("end_date", self.date(c.end))
            .s("id", &c.id)
            .s("kind", p.kind)
            .oi("lessons_total", c.total)
            .i("lessons_used", c.used)
            .s("list_price", &money(p.price))
            .s("member_id", &self.members[c.member as usize].id)
            .s("notes", "")
            .s("package_id", &p.id)
            .s("package_name", &p.name)
            .os("renewal_of", c.renewal_of.map(|r| self.contracts[r as usize].id.as_str()))
            .s("start_date", self.date(c.start))
            .s("status", c.status)
            .s("updated_at", &c.updated_at)
            .done()
    }

    fn lead_payload(&self, l: u32) -> String {
        let x = &self.leads[l as usize];
        let next = x.next.map(|d| self.date(d).to_string());
        Payload::new()
            .raw("birthday", "null")
            .s("consultant_id", &self.staff[x.consultant].id)
            .s("contact_name", &x.contact)
            .os("converted_member_id", x.converted.map(|m| self.members[m as usize].id.as_str()))
            .s("created_at", &x.created_at)
            .s("gender", x.gender)
            .s("id", &x.id)
            .s("lost_reason", x.lost_reason)
            .b("man_authority", x.authority)
            .b("man_money", x.money)
            .b("man_need", x.need)
            .s("name", &x.name)
            .s("needs", x.needs)
            .os("next_follow_up", next.as_deref())
            .s("notes", "")
            .s("phone", &x.phone)
            .s("source", &self.sources[x.source])
            .s("status", x.status)
            .s("updated_at", &x.updated_at)
            .s("wechat", "")
            .done()
    }

    fn log_member(&mut self, m: u32, op: &str, staff: usize) -> Result<(), CoreError> {
        let p = self.member_payload(m);
        let id = self.members[m as usize].id.clone();
        self.log("member", &id, op, Some(&id), staff, &p)
    }

    fn log_contract(&mut self, k: u32, op: &str, staff: usize) -> Result<(), CoreError> {
        let p = self.contract_payload(k);
        let (id, member) = (self.contracts[k as usize].id.clone(), self.members[self.contracts[k as usize].member as usize].id.clone());
        self.log("contract", &id, op, Some(&member), staff, &p)
    }

    fn log_lead(&mut self, l: u32, op: &str, staff: usize) -> Result<(), CoreError> {
        let p = self.lead_payload(l);
        let id = self.leads[l as usize].id.clone();
        self.log("lead", &id, op, Some(&id), staff, &p)
    }

    fn insert_member(&mut self, name: String, surname: String, gender: &'static str, referred_by: Option<u32>, lead: Option<u32>, staff: usize) -> Result<u32, CoreError> {
        let id = self.uuid();
        let referred = referred_by.map(|r| self.members[r as usize].id.clone());
        let lead_id = lead.map(|l| self.leads[l as usize].id.clone());
        self.conn
            .prepare_cached(
                "INSERT INTO members (id, name, gender, birthday, notes, status, referred_by, lead_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, NULL, '', 'applicant', ?4, ?5, ?6, ?6)",
            )?
            .execute(params![id, name, gender, referred, lead_id, self.now.text])?;
        self.members.push(Mem {
            id,
            name,
            surname,
            gender,
            birthday: None,
            school: "",
            member_no: None,
            status: "applicant",
            referred_by,
            lead,
            approved_at: None,
            created_at: self.now.text.clone(),
            updated_at: self.now.text.clone(),
            guardians: vec![],
            gm: None,
            contracts: vec![],
            level: 0,
            dropped: false,
            absent_streak: 0,
            keep_coming: 0,
        });
        let m = self.members.len() as u32 - 1;
        self.log_member(m, "apply", staff)?;
        Ok(m)
    }

    fn insert_guardian(&mut self, name: String, phone: String, staff: usize) -> Result<u32, CoreError> {
        let id = self.uuid();
        self.conn
            .prepare_cached("INSERT INTO guardians (id, name, phone, wechat, created_at, updated_at) VALUES (?1, ?2, ?3, '', ?4, ?4)")?
            .execute(params![id, name, phone, self.now.text])?;
        let p = Payload::new().s("created_at", &self.now.text).s("id", &id).s("name", &name).s("phone", &phone).s("updated_at", &self.now.text).s("wechat", "").done();
        self.log("guardian", &id, "create", None, staff, &p)?;
        self.guardians.push(Guardian { id, name, phone });
        Ok(self.guardians.len() as u32 - 1)
    }

    fn link(&mut self, m: u32, gid: u32, relation: &str, primary: bool, staff: usize) -> Result<(), CoreError> {
        let id = self.uuid();
        let (mid, g) = (self.members[m as usize].id.clone(), &self.guardians[gid as usize]);
        let (g_id, g_name, g_phone) = (g.id.clone(), g.name.clone(), g.phone.clone());
        self.conn
            .prepare_cached("INSERT INTO member_guardians (id, member_id, guardian_id, relation, is_primary, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
            .execute(params![id, mid, g_id, relation, primary, self.now.text])?;
        let p = Payload::new()
            .s("guardian_id", &g_id)
            .s("guardian_name", &g_name)
            .s("guardian_phone", &g_phone)
            .b("is_primary", primary)
            .s("member_id", &mid)
            .s("relation", relation)
            .done();
        self.log("member_guardian", &id, "link", Some(&mid), staff, &p)?;
        self.members[m as usize].guardians.push(gid);
        Ok(())
    }

    fn walk_in(&mut self) -> Result<(), CoreError> {
        let clerk = self.pick(&self.clerks.clone());
        let sibling = if !self.members.is_empty() && self.chance(8) {
            let k = self.rng.gen_range(self.members.len().saturating_sub(3000)..self.members.len());
            self.members[k].guardians.first().map(|g| (self.members[k].surname.clone(), *g))
        } else {
            None
        };
        let surname = sibling.as_ref().map(|s| s.0.clone()).unwrap_or_else(|| self.people.surname());
        let name = self.people.child_name(&surname);
        let gender = if self.chance(55) { "M" } else { "F" };
        let referred = if !self.members.is_empty() && self.chance(10) { Some(self.rng.gen_range(0..self.members.len()) as u32) } else { None };
        let m = self.insert_member(name, surname.clone(), gender, referred, None, clerk)?;
        match sibling {
            Some((_, gid)) => self.link(m, gid, "妈妈", true, clerk)?,
            None => {
                let mother = self.chance(70);
                let gsurname = if mother { self.people.surname() } else { surname.clone() };
                let (gname, phone) = (self.people.adult_name(&gsurname), self.people.phone());
                let gid = self.insert_guardian(gname, phone, clerk)?;
                self.link(m, gid, if mother { "妈妈" } else { "爸爸" }, true, clerk)?;
                // Some families give both parents' numbers.
                if self.chance(15) {
                    let other = if mother { surname.clone() } else { self.people.surname() };
                    let (gname, phone) = (self.people.adult_name(&other), self.people.phone());
                    let gid = self.insert_guardian(gname, phone, clerk)?;
                    self.link(m, gid, if mother { "爸爸" } else { "妈妈" }, false, clerk)?;
                }
            }
        }
        // Most applications are approved on the spot; a few wait at the desk.
        if self.now.day > self.days - 4 && self.chance(50) {
            return Ok(());
        }
        let consultant = self.pick(&self.consultants.clone());
        self.approve_and_enrol(m, clerk, consultant)
    }

    fn approve_and_enrol(&mut self, m: u32, clerk: usize, consultant: usize) -> Result<(), CoreError> {
        let age_days = self.rng.gen_range(4 * 365..13 * 365 - 1);
        let school = self.pick(&SCHOOLS);
        let birthday = (self.start + chrono::Duration::days(self.now.day - age_days)).to_string();
        self.member_no += 1;
        let no = self.member_no;
        let now = self.now.text.clone();
        {
            let x = &mut self.members[m as usize];
            x.birthday = Some(birthday);
            x.school = school;
            x.member_no = Some(no);
            x.status = "active";
            x.approved_at = Some(now.clone());
            x.updated_at = now;
            let age = age_days / 365;
            x.level = match age {
                0..=5 => 0,
                6 | 7 => 1,
                8..=10 => 2,
                _ => 3,
            };
        }
        self.log_member(m, "approve", clerk)?;
        self.join_group(m, clerk)?;
        self.enrol(m, None, consultant)
    }

    fn join_group(&mut self, m: u32, staff: usize) -> Result<(), CoreError> {
        let level = self.members[m as usize].level;
        let group = *self.by_level[level].iter().min_by_key(|g| self.groups[**g].roster.len()).unwrap_or(&0);
        let id = self.uuid();
        let date = self.date(self.now.day).to_string();
        let (gid, mid) = (self.groups[group].id.clone(), self.members[m as usize].id.clone());
        self.conn
            .prepare_cached("INSERT INTO group_members (id, group_id, member_id, start_date, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![id, gid, mid, date, self.now.text])?;
        self.gms.push(Gm { id, group: group as u32, member: m, start: self.now.day as u32, end: None });
        let gm = self.gms.len() as u32 - 1;
        self.members[m as usize].gm = Some(gm);
        self.members[m as usize].absent_streak = 0;
        self.groups[group].roster.push(m);
        self.log_gm(gm, "join", staff)
    }

    fn log_gm(&mut self, gm: u32, op: &str, staff: usize) -> Result<(), CoreError> {
        let x = &self.gms[gm as usize];
        let mem = &self.members[x.member as usize];
        let no = mem.member_no.map(|n| format!("{}{:05}", self.prefix, n));
        let end = x.end.map(|d| self.date(d as i64).to_string());
        let p = Payload::new()
            .os("end_date", end.as_deref())
            .s("group_id", &self.groups[x.group as usize].id)
            .s("id", &x.id)
            .s("member_id", &mem.id)
            .s("member_name", &mem.name)
            .os("member_no", no.as_deref())
            .s("start_date", self.date(x.start as i64))
            .done();
        let (id, mid) = (x.id.clone(), mem.id.clone());
        self.log("group_member", &id, op, Some(&mid), staff, &p)
    }

    fn leave_group(&mut self, m: u32, staff: usize) -> Result<(), CoreError> {
        let Some(gm) = self.members[m as usize].gm.take() else { return Ok(()) };
        let x = &mut self.gms[gm as usize];
        x.end = Some(((self.now.day - 1).max(x.start as i64)) as u32);
        let group = x.group as usize;
        self.groups[group].roster.retain(|k| *k != m);
        self.log_gm(gm, "leave", staff)
    }

    fn set_status(&mut self, m: u32, status: &'static str, staff: usize) -> Result<(), CoreError> {
        if self.members[m as usize].status == status {
            return Ok(());
        }
        self.members[m as usize].status = status;
        self.members[m as usize].updated_at = self.now.text.clone();
        self.log_member(m, "set_status", staff)
    }

    fn method(&mut self) -> &'static str {
        match self.rng.gen_range(0..100) {
            0..=49 => "wechat",
            50..=69 => "alipay",
            70..=84 => "cash",
            85..=94 => "card",
            _ => "transfer",
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn payment(&mut self, k: u32, kind: &str, amount: i64, method: &str, staff: usize, reverses: Option<(String, String)>, reason: &str) -> Result<String, CoreError> {
        let id = self.uuid();
        self.receipt_no += 1;
        let receipt = format!("R{:06}", self.receipt_no);
        let (cid, member) = (self.contracts[k as usize].id.clone(), self.members[self.contracts[k as usize].member as usize].id.clone());
        let date = self.date(self.now.day).to_string();
        let reverses_id = reverses.as_ref().map(|r| r.0.clone());
        self.conn
            .prepare_cached(
                "INSERT INTO payments (id, receipt_no, member_id, contract_id, kind, amount, method, reverses_id, reason, staff_id, taken_at, business_date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![id, receipt, member, cid, kind, amount, method, reverses_id, reason, self.staff[staff].id, self.now.text, date])?;
        let p = Payload::new()
            .s("amount", &money(amount))
            .s("business_date", &date)
            .s("contract_id", &cid)
            .s("id", &id)
            .s("kind", kind)
            .s("member_id", &member)
            .s("method", method)
            .s("reason", reason)
            .s("receipt_no", &receipt)
            .b("reversed", false)
            .os("reverses_id", reverses_id.as_deref())
            .s("staff_id", &self.staff[staff].id)
            .s("staff_name", &self.staff[staff].name)
            .s("taken_at", &self.now.text)
            .done();
        self.log("payment", &id, kind, Some(&member), staff, &p)?;
        let m = self.contracts[k as usize].member;
        if kind == "payment" {
            self.points(m, amount / 100 * POINTS_PER_YUAN, "payment", &id, staff)?;
        }
        if kind != "refund" {
            self.contracts[k as usize].paid += amount;
        }
        // Now and then a payment keyed wrongly is reversed by the manager and taken again.
        if kind == "payment" && self.rng.gen_range(0..1000) < 3 {
            let (day, minute) = (self.now.day, self.now.minute + 3);
            self.set_now(day, minute);
            self.points(m, -(amount / 100 * POINTS_PER_YUAN), "reversal", &id, 0)?;
            self.payment(k, "reversal", -amount, method, 0, Some((id.clone(), receipt)), "金额录错，已重新收款")?;
            let other = self.method();
            self.payment(k, "payment", amount, other, staff, None, "")?;
        }
        Ok(id)
    }

    fn enrol(&mut self, m: u32, renewal_of: Option<u32>, consultant: usize) -> Result<(), CoreError> {
        let total: u32 = self.pkgs.iter().map(|p| p.weight).sum();
        let mut pick = self.rng.gen_range(0..total);
        let mut pkg = 0;
        for (i, p) in self.pkgs.iter().enumerate() {
            if pick < p.weight {
                pkg = i;
                break;
            }
            pick -= p.weight;
        }
        let price = self.pkgs[pkg].price;
        let discount_fen = (self.rng.gen_range(1..=5) * 10_000).min(price / 1000 * 100);
        let discount = if self.chance(30) && discount_fen > 0 { discount_fen } else { 0 };
        let today = self.now.day;
        // A term renewal follows on from the term it renews; a lesson package starts today.
        let start = match renewal_of {
            Some(prev) => {
                let p = &self.contracts[prev as usize];
                let used_up = p.total.is_some_and(|t| p.used >= t);
                if self.pkgs[pkg].kind == "term" && p.status == "active" && !used_up { (p.end + 1).max(today) } else { today }
            }
            None => today,
        };
        let start_date = self.start + chrono::Duration::days(start);
        let end = (end_date_for(self.pkgs[pkg].kind, start_date, self.pkgs[pkg].validity, self.pkgs[pkg].months) - self.start).num_days();
        let id = self.uuid();
        self.contract_no += 1;
        let no = self.contract_no;
        let p = &self.pkgs[pkg];
        self.conn
            .prepare_cached(
                "INSERT INTO contracts (id, contract_no, member_id, package_id, package_name, kind, list_price, discount, amount_due,
                    consultant_id, start_date, end_date, lessons_total, lessons_used, status, renewal_of, notes, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, 'active', ?14, '', ?15, ?15)",
            )?
            .execute(params![
                id,
                format!("C{no:06}"),
                self.members[m as usize].id,
                p.id,
                p.name,
                p.kind,
                p.price,
                discount,
                p.price - discount,
                self.staff[consultant].id,
                self.date(start),
                self.date(end),
                p.lessons,
                renewal_of.map(|r| self.contracts[r as usize].id.clone()),
                self.now.text
            ])?;
        self.contracts.push(Con {
            id,
            no,
            member: m,
            pkg,
            discount,
            consultant,
            start,
            end,
            total: p.lessons,
            used: 0,
            status: "active",
            renewal_of,
            created_at: self.now.text.clone(),
            updated_at: self.now.text.clone(),
            paid: 0,
            asked: false,
            decided: false,
        });
        let k = self.contracts.len() as u32 - 1;
        self.members[m as usize].contracts.push(k);
        self.log_contract(k, if renewal_of.is_some() { "renew" } else { "enrol" }, consultant)?;
        if matches!(self.members[m as usize].status, "expired" | "left") {
            self.set_status(m, "active", consultant)?;
        }
        self.members[m as usize].dropped = false;
        self.members[m as usize].keep_coming = 0;
        // Paid in full, or half now and (mostly) the rest within a month.
        let due = price - discount;
        let partial = self.chance(20);
        let first = if partial { (due / 200) * 100 } else { due };
        let clerk = self.pick(&self.clerks.clone());
        if first > 0 {
            let method = self.method();
            self.payment(k, "payment", first, method, clerk, None, "")?;
        }
        if partial && self.chance(75) {
            let later = today + self.rng.gen_range(7..30);
            let m = self.desk_minute();
            self.schedule(later, m, Ev::Balance(k, due - first));
        }
        if self.chance(1) {
            let m = self.desk_minute();
            self.schedule(today + 20, m, Ev::Refund(k));
        }
        let m = self.desk_minute();
        self.schedule(end - 14, m, Ev::Renew(k));
        Ok(())
    }

    fn valid_contract(&self, m: u32, day: i64) -> Option<u32> {
        self.members[m as usize]
            .contracts
            .iter()
            .copied()
            .filter(|k| {
                let c = &self.contracts[*k as usize];
                c.status == "active" && c.start <= day && c.end >= day && c.total.is_none_or(|t| c.used < t)
            })
            .min_by_key(|k| {
                let c = &self.contracts[*k as usize];
                (c.end, c.start, c.no)
            })
    }

    fn refund(&mut self, k: u32) -> Result<(), CoreError> {
        if self.contracts[k as usize].status != "active" {
            return Ok(());
        }
        let c = &self.contracts[k as usize];
        let due = self.pkgs[c.pkg].price - c.discount;
        let (used, total) = ((self.now.day - c.start + 1).max(0), c.end - c.start + 1);
        let used_value = (due * used + total / 2) / total.max(1);
        let refund = c.paid - used_value;
        if refund <= 0 {
            return Ok(());
        }
        let reason = format!("搬家，无法继续上课｜按剩余天数退费：实付 ¥{} − 已用 {used}/{total} 天 × 应付 ¥{}（¥{}）= 应退 ¥{}", money(c.paid), money(due), money(used_value), money(refund));
        self.payment(k, "refund", -refund, "wechat", 0, None, &reason)?;
        self.contracts[k as usize].status = "refunded";
        self.contracts[k as usize].updated_at = self.now.text.clone();
        self.log_contract(k, "refund", 0)?;
        let m = self.contracts[k as usize].member;
        if self.valid_contract(m, self.now.day).is_none() {
            let clerk = self.pick(&self.clerks.clone());
            self.leave_group(m, clerk)?;
            self.set_status(m, "left", 0)?;
        }
        Ok(())
    }

    /// The desk raises renewal: most renew; of those who do not, most are marked expired
    /// and the rest keep coming for a few lessons without a valid contract.
    fn renew_check(&mut self, k: u32) -> Result<(), CoreError> {
        let c = &self.contracts[k as usize];
        if c.decided || c.status != "active" {
            return Ok(());
        }
        let m = c.member;
        self.contracts[k as usize].decided = true;
        let clerk = self.pick(&self.clerks.clone());
        let p = if self.members[m as usize].dropped { 10 } else { self.spec_renew };
        if self.chance(p) {
            let consultant = self.pick(&self.consultants.clone());
            if self.members[m as usize].gm.is_none() {
                self.join_group(m, clerk)?;
            }
            self.enrol(m, Some(k), consultant)
        } else if self.chance(85) {
            self.set_status(m, "expired", clerk)
        } else {
            self.members[m as usize].keep_coming = 3;
            Ok(())
        }
    }

    fn leave(&mut self, sid: u32, m: u32) -> Result<(), CoreError> {
        let clerk = self.pick(&self.clerks.clone());
        let id = self.uuid();
        let (sess, mid) = (self.sessions[sid as usize].id.clone(), self.members[m as usize].id.clone());
        self.conn
            .prepare_cached("INSERT INTO leave_requests (id, member_id, session_id, asked_at, asked_by, via, note) VALUES (?1, ?2, ?3, ?4, ?5, 'phone', '')")?
            .execute(params![id, mid, sess, self.now.text, self.staff[clerk].id])?;
        let p = Payload::new()
            .s("asked_at", &self.now.text)
            .s("asked_by", &self.staff[clerk].id)
            .s("id", &id)
            .s("member_id", &mid)
            .s("note", "")
            .s("session_id", &sess)
            .s("via", "phone")
            .done();
        self.log("leave_request", &id, "create", Some(&mid), clerk, &p)?;
        self.leaves.insert((sid, m));
        Ok(())
    }

    fn notices(&mut self, m: u32, sid: &str, kind: &str, text: &str, coach: usize) -> Result<(), CoreError> {
        let guardians = self.members[m as usize].guardians.clone();
        let mid = self.members[m as usize].id.clone();
        for g in guardians {
            let id = self.uuid();
            let (gid, name, phone) = {
                let x = &self.guardians[g as usize];
                (x.id.clone(), x.name.clone(), x.phone.clone())
            };
            self.conn
                .prepare_cached(
                    "INSERT INTO notices (id, kind, member_id, lead_id, guardian_id, recipient_name, recipient_phone, session_id, text, status, created_at)
                     VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7, ?8, 'queued', ?9)",
                )?
                .execute(params![id, kind, mid, gid, name, phone, sid, text, self.now.text])?;
            let p = Payload::new()
                .s("created_at", &self.now.text)
                .s("guardian_id", &gid)
                .s("id", &id)
                .s("kind", kind)
                .raw("lead_id", "null")
                .s("member_id", &mid)
                .s("recipient_name", &name)
                .s("recipient_phone", &phone)
                .s("session_id", sid)
                .s("status", "queued")
                .s("text", text)
                .done();
            self.log("notice", &id, "queue", Some(&mid), coach, &p)?;
            self.summary.notices += 1;
        }
        Ok(())
    }

    /// A points-ledger entry (what `points::add` writes) for a payment or a lesson
    /// attended at the centre's default rates, or taking one back.
    fn points(&mut self, m: u32, delta: i64, kind: &str, ref_id: &str, staff: usize) -> Result<(), CoreError> {
        if delta == 0 {
            return Ok(());
        }
        let id = self.uuid();
        let mid = self.members[m as usize].id.clone();
        let date = self.date(self.now.day).to_string();
        self.conn
            .prepare_cached(
                "INSERT INTO points_ledger (id, member_id, delta, kind, reason, ref_id, staff_id, at, business_date) VALUES (?1, ?2, ?3, ?4, '', ?5, ?6, ?7, ?8)",
            )?
            .execute(params![id, mid, delta, kind, ref_id, self.staff[staff].id, self.now.text, date])?;
        let p = Payload::new()
            .s("at", &self.now.text)
            .s("business_date", &date)
            .i("delta", delta)
            .s("id", &id)
            .s("kind", kind)
            .s("member_id", &mid)
            .s("reason", "")
            .s("ref_id", ref_id)
            .s("staff_name", &self.staff[staff].name)
            .done();
        self.log("points", &id, kind, Some(&mid), staff, &p)
    }

    /// The coach's roll call: one transaction's worth of marks, lessons, notices and log
    /// rows, as `Core::roll_call` writes them.
    fn roll_call(&mut self, sid: u32) -> Result<(), CoreError> {
        let (slot, day) = {
            let s = &self.sessions[sid as usize];
            (s.slot as usize, s.day as i64)
        };
        let (group, coach) = (self.slots[slot].group, self.slots[slot].coach);
        let roster = self.groups[group].roster.clone();
        let sess_id = self.sessions[sid as usize].id.clone();
        let date = self.date(day).to_string();
        let (group_name, start, end, room_name) =
            (self.groups[group].name.clone(), self.slots[slot].start, self.slots[slot].end, self.slots[slot].room_name.clone());
        let mut lapsed = vec![];
        for m in roster {
            if self.cap.is_some_and(|c| self.summary.attendance >= c) {
                self.stop = true;
                break;
            }
            let on_leave = self.leaves.remove(&(sid, m));
            let valid = self.valid_contract(m, day);
            let x = &self.members[m as usize];
            if valid.is_none() && x.keep_coming == 0 {
                // Lapsed: the desk takes them off the class list.
                lapsed.push(m);
                continue;
            }
            let mark = if on_leave {
                "leave"
            } else if x.dropped {
                "absent"
            } else {
                match self.rng.gen_range(0..100) {
                    0..=5 => "absent",
                    6..=10 => "late",
                    _ => "present",
                }
            };
            if mark == "absent" {
                let x = &mut self.members[m as usize];
                x.absent_streak += 1;
                if x.dropped && x.absent_streak >= 3 {
                    lapsed.push(m);
                }
            } else {
                self.members[m as usize].absent_streak = 0;
            }
            let comment = if mark != "absent" && mark != "leave" && self.chance(6) { self.pick(&COMMENTS) } else { "" };
            let attended = matches!(mark, "present" | "late");
            let (contract, consumed, no_contract) = if attended {
                match valid {
                    Some(k) if self.contracts[k as usize].total.is_some() => {
                        let c = &mut self.contracts[k as usize];
                        c.used += 1;
                        c.updated_at = self.now.text.clone();
                        let left = c.total.unwrap_or(0) - c.used;
                        self.log_contract(k, "consume_lesson", coach)?;
                        if left <= 2 && !self.contracts[k as usize].asked {
                            self.contracts[k as usize].asked = true;
                            let (when, minute) = (day + self.rng.gen_range(0..7), self.desk_minute());
                            self.schedule(when, minute, Ev::Renew(k));
                        }
                        (Some(k), true, false)
                    }
                    Some(k) => (Some(k), false, false),
                    None => {
                        let x = &mut self.members[m as usize];
                        x.keep_coming = x.keep_coming.saturating_sub(1);
                        (None, false, true)
                    }
                }
            } else {
                (None, false, false)
            };
            let id = self.uuid();
            let cid = contract.map(|k| self.contracts[k as usize].id.clone());
            let mid = self.members[m as usize].id.clone();
            self.conn
                .prepare_cached(
                    "INSERT INTO attendance (id, session_id, member_id, mark, contract_id, consumed, no_contract, comment, marked_by, marked_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![id, sess_id, mid, mark, cid, consumed, no_contract, comment, self.staff[coach].id, self.now.text])?;
            self.summary.attendance += 1;
            let p = Payload::new()
                .s("comment", comment)
                .b("consumed", consumed)
                .os("contract_id", cid.as_deref())
                .s("date", &date)
                .s("group_name", &group_name)
                .s("id", &id)
                .s("mark", mark)
                .s("member_id", &mid)
                .b("no_contract", no_contract)
                .s("session_id", &sess_id)
                .done();
            self.log("attendance", &id, "mark", Some(&mid), coach, &p)?;
            if attended {
                self.points(m, POINTS_PER_ATTENDANCE, "attendance", &id, coach)?;
            }
            let name = self.members[m as usize].name.clone();
            if attended {
                let text = format!("【{CENTRE}】家长您好，{name}已于 {} 到馆，参加「{group_name}」（{start}–{end}，{room_name}）。", self.now.hhmm);
                self.notices(m, &sess_id, "arrival", &text, coach)?;
            }
            if !comment.is_empty() {
                let text = format!("【{CENTRE}】{name} {date} 课堂点评（{}教练）：{comment}", self.staff[coach].name);
                self.notices(m, &sess_id, "comment", &text, coach)?;
            }
            // A few children stop coming partway through a package.
            if attended && self.rng.gen_range(0..1000) < 3 {
                self.members[m as usize].dropped = true;
            }
        }
        if !lapsed.is_empty() {
            let clerk = self.pick(&self.clerks.clone());
            for m in lapsed {
                self.leave_group(m, clerk)?;
            }
        }
        Ok(())
    }

    fn lead_new(&mut self, plan: u32) -> Result<(), CoreError> {
        let l = self.leads.len() as u32;
        self.plan_lead[plan as usize] = l;
        let consultant = self.pick(&self.consultants.clone());
        let surname = self.people.surname();
        let (name, contact, phone) = (self.people.child_name(&surname), self.people.adult_name(&surname), self.people.phone());
        let id = self.uuid();
        let source = self.rng.gen_range(0..self.sources.len());
        let lead = Lead {
            id,
            name,
            contact,
            phone,
            gender: if self.chance(55) { "M" } else { "F" },
            source,
            consultant,
            money: self.chance(60),
            authority: self.chance(70),
            need: self.chance(80),
            needs: self.pick(&NEEDS),
            status: "new",
            lost_reason: "",
            next: Some(self.now.day + 2),
            converted: None,
            created_at: self.now.text.clone(),
            updated_at: self.now.text.clone(),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO leads (id, name, contact_name, phone, wechat, gender, birthday, source, consultant_id, man_money, man_authority, man_need,
                    needs, notes, status, lost_reason, next_follow_up, converted_member_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, '', ?5, NULL, ?6, ?7, ?8, ?9, ?10, ?11, '', 'new', '', ?12, NULL, ?13, ?13)",
            )?
            .execute(params![
                lead.id,
                lead.name,
                lead.contact,
                lead.phone,
                lead.gender,
                self.sources[source],
                self.staff[consultant].id,
                lead.money,
                lead.authority,
                lead.need,
                lead.needs,
                self.date(self.now.day + 2),
                lead.created_at
            ])?;
        self.leads.push(lead);
        self.log_lead(l, "create", consultant)?;
        for i in 0..self.plans[plan as usize].steps.len() {
            let day = self.plans[plan as usize].steps[i].0;
            let m = self.desk_minute();
            self.schedule(day, m, Ev::LeadStep(plan, i as u8));
        }
        Ok(())
    }

    fn lead_step(&mut self, plan: u32, i: u8) -> Result<(), CoreError> {
        let step = self.plans[plan as usize].steps[i as usize].1;
        let l = self.plan_lead[plan as usize];
        let consultant = self.leads[l as usize].consultant;
        match step {
            Step::Follow { stage, next } => {
                let (content, status) = match stage {
                    1 => ("电话沟通，家长有兴趣，约周六到店参观", Some("visit_booked")),
                    2 => ("家长带孩子到店参观，介绍了课程", Some("visited")),
                    3 => ("孩子参加试听课，表现积极", Some("trial")),
                    _ => ("跟进报名意向", None),
                };
                let channel = if stage == 1 { "phone" } else { "visit" };
                let id = self.uuid();
                let (lid, next_date) = (self.leads[l as usize].id.clone(), self.date(next).to_string());
                self.conn
                    .prepare_cached("INSERT INTO lead_follow_ups (id, lead_id, staff_id, at, channel, content, next_follow_up) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
                    .execute(params![id, lid, self.staff[consultant].id, self.now.text, channel, content, next_date])?;
                let p = Payload::new()
                    .s("at", &self.now.text)
                    .s("channel", channel)
                    .s("content", content)
                    .s("id", &id)
                    .s("lead_id", &lid)
                    .s("next_follow_up", &next_date)
                    .s("staff_id", &self.staff[consultant].id)
                    .s("staff_name", &self.staff[consultant].name)
                    .done();
                self.log("lead_follow_up", &id, "create", Some(&lid), consultant, &p)?;
                let x = &mut self.leads[l as usize];
                if x.status == "new" {
                    x.status = "contacted";
                }
                x.next = Some(next);
                x.updated_at = self.now.text.clone();
                self.log_lead(l, "follow_up", consultant)?;
                if let Some(s) = status {
                    if self.leads[l as usize].status != s {
                        self.leads[l as usize].status = s;
                        self.log_lead(l, "set_status", consultant)?;
                    }
                }
            }
            Step::Lost(reason) => {
                let x = &mut self.leads[l as usize];
                x.status = "lost";
                x.lost_reason = reason;
                x.updated_at = self.now.text.clone();
                self.log_lead(l, "set_status", consultant)?;
            }
            Step::Convert => {
                let (name, gender, contact, phone) = {
                    let x = &self.leads[l as usize];
                    (x.name.clone(), x.gender, x.contact.clone(), x.phone.clone())
                };
                let surname: String = name.chars().next().map(String::from).unwrap_or_default();
                let m = self.insert_member(name, surname, gender, None, Some(l), consultant)?;
                let gid = self.insert_guardian(contact, phone, consultant)?;
                self.link(m, gid, "妈妈", true, consultant)?;
                let x = &mut self.leads[l as usize];
                x.status = "enrolled";
                x.converted = Some(m);
                x.next = None;
                x.updated_at = self.now.text.clone();
                self.log_lead(l, "convert", consultant)?;
                let clerk = self.pick(&self.clerks.clone());
                self.approve_and_enrol(m, clerk, consultant)?;
            }
        }
        Ok(())
    }

    /// Rows to their final state, and the counters where the service would carry on.
    fn finish(&mut self) -> Result<(), CoreError> {
        for i in 0..self.members.len() {
            let x = &self.members[i];
            let no = x.member_no.map(|n| format!("{}{:05}", self.prefix, n));
            self.conn
                .prepare_cached("UPDATE members SET member_no = ?2, birthday = ?3, school = ?4, course_interest = ?5, status = ?6, approved_at = ?7, updated_at = ?8 WHERE id = ?1")?
                .execute(params![x.id, no, x.birthday, x.school, if no.is_some() { "跆拳道" } else { "" }, x.status, x.approved_at, x.updated_at])?;
        }
        for x in &self.contracts {
            self.conn
                .prepare_cached("UPDATE contracts SET lessons_used = ?2, status = ?3, updated_at = ?4 WHERE id = ?1")?
                .execute(params![x.id, x.used, x.status, x.updated_at])?;
        }
        for x in &self.leads {
            let next = x.next.map(|d| self.date(d).to_string());
            let converted = x.converted.map(|m| self.members[m as usize].id.clone());
            self.conn
                .prepare_cached("UPDATE leads SET status = ?2, lost_reason = ?3, next_follow_up = ?4, converted_member_id = ?5, updated_at = ?6 WHERE id = ?1")?
                .execute(params![x.id, x.status, x.lost_reason, next, converted, x.updated_at])?;
        }
        for x in &self.gms {
            if let Some(end) = x.end {
                self.conn.prepare_cached("UPDATE group_members SET end_date = ?2 WHERE id = ?1")?.execute(params![x.id, self.date(end as i64)])?;
            }
        }
        for (name, value) in [("member_no", self.member_no), ("receipt_no", self.receipt_no), ("contract_no", self.contract_no)] {
            self.conn.execute(
                "INSERT INTO counters (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                params![name, value],
            )?;
        }
        self.summary.today = self.date(self.days).to_string();
        Ok(())
    }
}

