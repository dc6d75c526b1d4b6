//! The demo centre: a year of realistic front-desk history written through the same
//! service API the app uses, with a manual clock walking from a year ago to today.
//! Names follow real surname frequencies (fixtures/demo/), phones are valid-format
//! and unique. Deterministic for a given seed.

use crate::attendance::{LeaveInput, MarkInput, RollCallInput};
use crate::auth::{FirstRun, NewStaff, Role, Session};
use crate::timetable::{ClassGroupInput, ClosureInput, RoomInput, SessionFilter, SlotInput};
use crate::contracts::{EnrolInput, RefundInput, RefundRule};
use crate::db::{Clock, Core, ManualClock};
use crate::error::{CoreError, Result};
use crate::leads::{ConvertInput, FollowUpInput, LeadInput};
use crate::members::{GuardianInput, GuardianLinkInput, MemberApplication, MemberApproval};
use crate::packages::PackageInput;
use crate::payments::PaymentInput;
use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

pub const DEMO_PASSWORD: &str = "demo1234";
pub const DEMO_CENTRE: &str = "飞跃跆拳道馆（示范）";

const SURNAMES: &str = include_str!("../../../fixtures/demo/surnames.tsv");
const GIVEN_CHILDREN: &str = include_str!("../../../fixtures/demo/given-children.txt");
const GIVEN_MOTHERS: &str = include_str!("../../../fixtures/demo/given-mothers.txt");
const GIVEN_FATHERS: &str = include_str!("../../../fixtures/demo/given-fathers.txt");
const SCHOOLS: &str = include_str!("../../../fixtures/demo/schools.txt");
const HOLIDAYS: &str = include_str!("../../../fixtures/calendar/cn-holidays-2026.tsv");

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub members: usize,
    pub seed: u64,
    /// The instant the history ends: nothing is written after it, so a desk opened at
    /// that instant never shows a record from its future. Its business date (in the
    /// demo centre's zone, Asia/Shanghai) is the demo's "today".
    pub until: chrono::DateTime<Utc>,
}

impl DemoOptions {
    /// A history that ends at `until`.
    pub fn ending(members: usize, seed: u64, until: chrono::DateTime<Utc>) -> DemoOptions {
        DemoOptions { members, seed, until }
    }

    /// A history through the whole of `today` (its last instant in the centre's zone).
    pub fn through_day(members: usize, seed: u64, today: NaiveDate) -> DemoOptions {
        let end = crate::db::day_start(chrono_tz::Asia::Shanghai, today + Duration::days(1)) - Duration::seconds(1);
        DemoOptions { members, seed, until: end }
    }

    pub fn today(&self) -> NaiveDate {
        self.until.with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct DemoSummary {
    pub members: usize,
    pub leads: usize,
    pub contracts: usize,
    pub payments: usize,
    pub sessions: usize,
    pub roll_calls: usize,
}

#[derive(Clone, Copy)]
enum Pool {
    Child,
    Mother,
    Father,
}

/// Picks names and phone numbers the way a real centre's records look.
pub struct People {
    rng: StdRng,
    surnames: Vec<(String, u32)>,
    surname_total: u32,
    children: Vec<char>,
    mothers: Vec<char>,
    fathers: Vec<char>,
    phones: HashSet<String>,
}

impl People {
    pub fn new(seed: u64) -> People {
        let surnames: Vec<(String, u32)> = data_lines(SURNAMES)
            .filter_map(|l| {
                let (s, w) = l.split_once('\t')?;
                Some((s.to_string(), w.trim().parse().ok()?))
            })
            .collect();
        People {
            rng: StdRng::seed_from_u64(seed),
            surname_total: surnames.iter().map(|s| s.1).sum(),
            surnames,
            children: data_lines(GIVEN_CHILDREN).flat_map(str::chars).collect(),
            mothers: data_lines(GIVEN_MOTHERS).flat_map(str::chars).collect(),
            fathers: data_lines(GIVEN_FATHERS).flat_map(str::chars).collect(),
            phones: HashSet::new(),
        }
    }

    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    pub fn surname(&mut self) -> String {
        let mut pick = self.rng.gen_range(0..self.surname_total);
        for (s, w) in &self.surnames {
            if pick < *w {
                return s.clone();
            }
            pick -= w;
        }
        "王".into()
    }

    fn given(&mut self, pool: Pool) -> String {
        let pool = match pool {
            Pool::Child => &self.children,
            Pool::Mother => &self.mothers,
            Pool::Father => &self.fathers,
        };
        let len = if self.rng.gen_range(0..100) < 75 { 2 } else { 1 };
        (0..len).map(|_| pool[self.rng.gen_range(0..pool.len())]).collect()
    }

    pub fn child_name(&mut self, surname: &str) -> String {
        format!("{surname}{}", self.given(Pool::Child))
    }

    /// A parent's name that fits the relation: a mother's (妈妈) or a father's (爸爸)
    /// given name, from the characters each is commonly given.
    pub fn parent_name(&mut self, surname: &str, mother: bool) -> String {
        format!("{surname}{}", self.given(if mother { Pool::Mother } else { Pool::Father }))
    }

    /// 爸爸 for a name given from the fathers' characters, else 妈妈.
    pub fn relation_of(&self, name: &str) -> &'static str {
        if name.chars().skip(1).any(|c| self.fathers.contains(&c)) { "爸爸" } else { "妈妈" }
    }

    /// An adult contact of unknown relation (a lead's).
    pub fn adult_name(&mut self, surname: &str) -> String {
        let mother = self.rng.gen_range(0..100) < 60;
        self.parent_name(surname, mother)
    }

    /// A unique, valid-format mainland mobile number.
    pub fn phone(&mut self) -> String {
        const PREFIXES: [&str; 24] = [
            "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157", "158",
            "159", "166", "176", "177", "180", "186", "188", "199",
        ];
        loop {
            let p = format!("{}{:08}", PREFIXES[self.rng.gen_range(0..PREFIXES.len())], self.rng.gen_range(0..100_000_000u32));
            if self.phones.insert(p.clone()) {
                return p;
            }
        }
    }
}

enum Event {
    NewMember(usize),
    Balance { contract_id: String, amount: String },
    RenewCheck { member_id: String, contract_id: String },
    Refund { contract_id: String },
    NewLead(usize),
    LeadStep { lead_id: String, step: u32 },
    RollCall { session_id: String, coach_id: String },
    /// A child who stopped coming leaves their class (the desk takes them off the roll).
    LeaveClass { member_id: String },
}

struct Demo<'a> {
    core: &'a Core,
    clock: &'a ManualClock,
    people: People,
    admin: Session,
    clerk: Session,
    consultants: Vec<Session>,
    coaches: Vec<Session>,
    /// Class groups by level, youngest first: (group id, minimum age).
    groups: Vec<(String, i64)>,
    packages: Vec<(String, u32, i64)>,
    schools: Vec<String>,
    members: Vec<(String, String, String, &'static str)>, // id, guardian id, surname, the guardian's relation
    queue: BTreeMap<(NaiveDate, u64), Event>,
    next_seq: u64,
    summary: DemoSummary,
    today: NaiveDate,
    /// The end of the history: events of today later than this are not written.
    until: chrono::DateTime<Utc>,
    /// Each member's newest contract, and the contracts already renewed: a lesson
    /// package used up triggers the renewal talk before its end date does.
    latest_contract: HashMap<String, String>,
    renewed: HashSet<String>,
    renewal_asked: HashSet<String>,
}

/// How many members the first-run screen's demo centre has: enough for every screen and
/// report to show something real, few enough to be made while the clerk waits.
pub const FIRST_RUN_MEMBERS: usize = 120;

/// What "start with the demo" made, and whom to log in as.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct DemoStarted {
    pub summary: DemoSummary,
    pub centre_name: String,
    pub username: String,
    pub password: String,
}

impl Core {
    /// The first-run screen's other choice: instead of an empty centre, a demo centre
    /// whose year of history ends now. Only on an empty database (nobody set up yet).
    /// The history is written through a second connection with the demo's own walking
    /// clock (see `generate`); this core then reloads what it caches (the time zone).
    pub fn first_run_with_demo(&self) -> Result<DemoStarted> {
        if !self.needs_first_run()? {
            return Err(CoreError::Conflict(crate::error::Conflict::AlreadySetUp));
        }
        let summary = generate(self.path(), &DemoOptions::ending(FIRST_RUN_MEMBERS, 7, self.now()))?;
        self.reload_timezone()?;
        Ok(DemoStarted { summary, centre_name: DEMO_CENTRE.into(), username: "admin".into(), password: DEMO_PASSWORD.into() })
    }
}

/// Creates the demo centre in a new database at `path`.
pub fn generate(path: &Path, opts: &DemoOptions) -> Result<DemoSummary> {
    let today = opts.today();
    let start = today - Duration::days(365);
    let clock = ManualClock::new(at(start, 0));
    let core = Core::open_with_clock(path, clock.clone())?;
    if !core.needs_first_run()? {
        return Err(CoreError::Conflict(crate::error::Conflict::AlreadySetUp));
    }
    let admin = core.first_run(FirstRun {
        centre_name: DEMO_CENTRE.into(),
        username: "admin".into(),
        display_name: "王校长".into(),
        password: DEMO_PASSWORD.into(),
    })?;
    for (username, display, role) in [
        ("qiantai", "李娜", Role::Clerk),
        ("guwen1", "张敏", Role::Consultant),
        ("guwen2", "刘洋", Role::Consultant),
        ("jiaolian1", "陈刚", Role::Coach),
        ("jiaolian2", "赵磊", Role::Coach),
    ] {
        core.staff_create(&admin, NewStaff { username: username.into(), display_name: display.into(), role, password: DEMO_PASSWORD.into() })?;
    }
    let clerk = core.login("qiantai", DEMO_PASSWORD)?;
    let consultants = vec![core.login("guwen1", DEMO_PASSWORD)?, core.login("guwen2", DEMO_PASSWORD)?];
    let coaches = vec![core.login("jiaolian1", DEMO_PASSWORD)?, core.login("jiaolian2", DEMO_PASSWORD)?];
    let groups = timetable(&core, &admin, &coaches, start, today)?;
    let mut packages = vec![];
    for (name, kind, lessons, validity, months, price, weight) in [
        ("48课时包", "lessons", Some(48), Some(365), None, "4800", 40),
        ("24课时包", "lessons", Some(24), Some(180), None, "2580", 20),
        ("96课时包", "lessons", Some(96), Some(730), None, "8800", 8),
        ("体验课8课时", "lessons", Some(8), Some(60), None, "399", 7),
        ("月卡", "term", None, None, Some(1), "680", 10),
        ("季卡", "term", None, None, Some(3), "1880", 10),
        ("年卡", "term", None, None, Some(12), "6800", 5),
    ] {
        let p = core.package_create(
            &admin,
            PackageInput { name: name.into(), kind: kind.into(), lessons, validity_days: validity, term_months: months, price: price.into() },
        )?;
        packages.push((p.id, weight, p.price.fen()));
    }
    // The desk's shelf: water and belts can be had for points, the sparring gear cannot.
    for (name, category, price, points, stock) in [
        ("矿泉水", "饮料", "2", Some(30), 48),
        ("道服", "服装", "180", Some(2000), 20),
        ("腰带", "服装", "30", Some(300), 40),
        ("护具套装", "装备", "260", None, 10),
    ] {
        let g = core.goods_create(&admin, crate::goods::GoodsInput { name: name.into(), category: category.into(), price: price.into(), points_price: points })?;
        core.goods_stock(&admin, crate::goods::StockInput { goods_id: g.id, kind: "purchase".into(), quantity: stock, reason: String::new() })?;
    }
    // Member tiers from the first day, so the year's payments move members up as they pay.
    // The platinum families' named owner is the manager.
    let mut tiers = demo_tiers();
    if let Some(top) = tiers.tiers.last_mut() {
        top.owner_id = Some(admin.staff_id.clone());
    }
    core.tier_config_update(&admin, tiers)?;
    let mut demo = Demo {
        core: &core,
        clock: &clock,
        people: People::new(opts.seed),
        admin,
        clerk,
        consultants,
        coaches,
        groups,
        packages,
        schools: data_lines(SCHOOLS).map(str::to_string).collect(),
        members: vec![],
        queue: BTreeMap::new(),
        next_seq: 0,
        summary: DemoSummary::default(),
        today,
        until: opts.until,
        latest_contract: HashMap::new(),
        renewed: HashSet::new(),
        renewal_asked: HashSet::new(),
    };
    for i in 0..opts.members {
        let day = start + Duration::days((i as i64 * 365) / opts.members.max(1) as i64);
        demo.schedule(day, Event::NewMember(i));
    }
    let leads = opts.members / 2;
    for j in 0..leads {
        let day = start + Duration::days((j as i64 * 365) / leads.max(1) as i64);
        demo.schedule(day, Event::NewLead(j));
    }
    // Roll call for every class held before today (today's are left for the desk).
    let held = core.session_list(&demo.admin, SessionFilter { from_date: start.to_string(), to_date: (today - Duration::days(1)).to_string(), ..Default::default() })?;
    for s in held.into_iter().filter(|s| s.status == "scheduled") {
        let day = NaiveDate::parse_from_str(&s.date, "%Y-%m-%d").unwrap_or(start);
        demo.schedule(day, Event::RollCall { session_id: s.id, coach_id: s.coach_id });
    }
    demo.summary.sessions = core.session_list(&demo.admin, SessionFilter { from_date: start.to_string(), to_date: (today + Duration::days(28)).to_string(), ..Default::default() })?.len();
    demo.run()?;
    demo.shop_and_cash()?;
    demo.upcoming_leave()?;
    // Today's evaluation, as the desk's scheduled run would do it: the period has moved
    // on since each member's last payment.
    clock.set(opts.until);
    core.tiers_evaluate(&demo.admin)?;
    core.plan_visits()?;
    core.churn_scan()?;
    Ok(demo.summary)
}

/// Bronze / silver / gold / platinum by money paid over the last 12 months, the two
/// upper tiers with a birthday wish; care plans: holiday greetings from silver up, a
/// return visit every 8 weeks for gold and every 4 for platinum.
pub fn demo_tiers() -> crate::tiers::TierConfig {
    let tier = |zh: &str, en: &str, threshold: &str, discount: &str, wish_zh: &str, wish_en: &str| crate::tiers::TierDef {
        name_zh: zh.into(),
        name_en: en.into(),
        threshold: threshold.into(),
        discount_percent: discount.into(),
        birthday_zh: wish_zh.into(),
        birthday_en: wish_en.into(),
        holiday_greetings: zh != "铜卡",
        visit_days: match zh {
            "金卡" => 56,
            "铂金卡" => 28,
            _ => 0,
        },
        owner_id: None,
    };
    crate::tiers::TierConfig {
        basis: "spend".into(),
        period_months: 12,
        tiers: vec![
            tier("铜卡", "Bronze", "1000", "0", "", ""),
            tier("银卡", "Silver", "4000", "2", "", ""),
            tier("金卡", "Gold", "8000", "5", "金卡会员本月到店可领取生日礼物一份。", "As a Gold member, collect a birthday gift at the desk this month."),
            tier(
                "铂金卡",
                "Platinum",
                "12000",
                "8",
                "铂金卡会员本月可预约一节免费私教课，并到店领取生日礼物一份。",
                "As a Platinum member, book a free private lesson this month and collect a birthday gift at the desk.",
            ),
        ],
    }
}

/// Two rooms, eight class groups over four levels, a base timetable, the year's public holidays,
/// and the dated sessions from a year ago to four weeks ahead.
fn timetable(core: &Core, admin: &Session, coaches: &[Session], start: NaiveDate, today: NaiveDate) -> Result<Vec<(String, i64)>> {
    let big = core.room_create(admin, RoomInput { name: "一号道馆".into(), capacity: 40 })?.id;
    let small = core.room_create(admin, RoomInput { name: "二号道馆".into(), capacity: 30 })?.id;
    let mut groups = vec![];
    // Two parallel classes for the busy levels, as a centre of ~300 children runs them;
    // no coach or room is double-booked. (name, level, minimum age, coach, room,
    // capacity, [(weekday, start, end)])
    type Plan<'a> = (&'a str, &'a str, i64, usize, &'a String, i64, &'a [(i64, &'a str, &'a str)]);
    let plan: [Plan; 8] = [
        ("幼儿启蒙A班", "白带", 4, 1, &small, 30, &[(2, "17:00", "18:00"), (6, "09:00", "10:00")]),
        ("幼儿启蒙B班", "白带", 4, 0, &small, 30, &[(4, "17:00", "18:00"), (7, "10:00", "11:00")]),
        ("少儿初级A班", "白黄带", 6, 0, &big, 40, &[(1, "18:00", "19:30"), (3, "18:00", "19:30"), (6, "10:30", "12:00")]),
        ("少儿初级B班", "白黄带", 6, 1, &big, 40, &[(4, "18:00", "19:30"), (6, "14:00", "15:30")]),
        ("少儿中级A班", "绿蓝带", 8, 1, &big, 40, &[(2, "18:30", "20:00"), (7, "09:30", "11:00")]),
        ("少儿中级B班", "绿蓝带", 8, 1, &small, 30, &[(1, "18:00", "19:30"), (3, "18:00", "19:30"), (6, "15:45", "17:15")]),
        ("少儿中级C班", "绿蓝带", 8, 1, &big, 40, &[(5, "17:00", "18:30"), (7, "14:00", "15:30")]),
        ("竞技提高班", "红黑带", 11, 0, &small, 30, &[(5, "18:30", "20:30"), (7, "14:00", "16:00")]),
    ];
    for (name, level, min_age, coach, room, capacity, slots) in plan {
        let g = core.group_create(admin, ClassGroupInput { name: name.into(), course: "跆拳道".into(), level: level.into(), coach_id: Some(coaches[coach].staff_id.clone()), capacity })?;
        for (weekday, from, to) in slots {
            core.slot_create(admin, SlotInput { season_id: None, weekday: *weekday, start_time: (*from).into(), end_time: (*to).into(), room_id: room.clone(), coach_id: coaches[coach].staff_id.clone(), group_id: g.id.clone() })?;
        }
        groups.push((g.id, min_age));
    }
    for line in data_lines(HOLIDAYS) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() == 3 {
            core.closure_create(admin, ClosureInput { name: f[0].into(), from_date: f[1].into(), to_date: f[2].into(), notify: false })?;
        }
    }
    let end = today + Duration::days(28);
    let mut from = start;
    while from <= end {
        let to = (from + Duration::days(180)).min(end);
        core.sessions_generate(admin, &from.to_string(), &to.to_string())?;
        from = to + Duration::days(1);
    }
    Ok(groups)
}

/// `day` at local 09:00 (UTC+8) plus `minutes`.
fn at(day: NaiveDate, minutes: i64) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(NaiveTime::from_hms_opt(1, 0, 0).unwrap_or_default())) + Duration::minutes(minutes)
}

impl Demo<'_> {
    fn schedule(&mut self, day: NaiveDate, e: Event) {
        if day <= self.today {
            self.next_seq += 1;
            self.queue.insert((day, self.next_seq), e);
        }
    }

    /// Moves the clock to `t` for the next event, unless `t` is after the end of the
    /// history (then the event does not happen: the demo never writes the future).
    fn clock_to(&self, t: chrono::DateTime<Utc>) -> bool {
        if t > self.until {
            return false;
        }
        self.clock.set(t);
        true
    }

    /// Moves the clock on by `by` within the history, or says the history has ended.
    fn clock_on(&self, by: Duration) -> bool {
        self.clock_to(self.clock.now() + by)
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.people.rng().gen_range(0..100) < percent
    }

    fn run(&mut self) -> Result<()> {
        let mut current_day = None;
        let mut minute = 0;
        while let Some(((day, _), event)) = self.queue.pop_first() {
            if current_day != Some(day) {
                current_day = Some(day);
                minute = 0;
                // The desk's daily run at opening: contracts that ended overnight make
                // their members 已过期 (the status rule), as the app does every hour.
                if self.clock_to(at(day, -60)) {
                    self.core.member_status_sweep()?;
                    self.core.plan_visits()?;
                    self.return_visits(day)?;
                }
            }
            // Events of a day spread over opening hours 09:00–20:00.
            minute = (minute + self.people.rng().gen_range(1..20)).min(660);
            if !self.clock_to(at(day, minute)) {
                continue;
            }
            match event {
                Event::NewMember(i) => self.new_member(i, day)?,
                Event::Balance { contract_id, amount } => {
                    if self.core.contract_get(&self.clerk, &contract_id)?.contract.status != "active" {
                        continue;
                    }
                    let method = self.method();
                    let input = PaymentInput { contract_id, amount, method, note: String::new() };
                    self.core.payment_take(&self.clerk, input, crate::Lang::ZhCn)?;
                    self.summary.payments += 1;
                }
                Event::Refund { contract_id } => {
                    let input = RefundInput { rule: RefundRule::Days, method: "wechat".into(), reason: "搬家，无法继续上课".into() };
                    self.core.contract_refund(&self.admin, &contract_id, input)?;
                }
                Event::RenewCheck { member_id, contract_id } => {
                    if self.renewed.contains(&contract_id) || self.core.contract_get(&self.clerk, &contract_id)?.contract.status != "active" {
                        continue;
                    }
                    // Most families renew when the desk reminds them (the renewal rate of a
                    // healthy centre); a few let it lapse.
                    if self.chance(75) {
                        self.renewed.insert(contract_id.clone());
                        self.enrol(&member_id, Some(contract_id), day)?;
                    } else if self.chance(85) {
                        // Most who do not renew stop coming: once the contract ends the
                        // member is 已过期 by itself (the status rule), and some weeks
                        // later the desk takes them off their class. The rest keep coming
                        // for a while and show on the roll call as "no lessons left — renew".
                        let when = day + Duration::days(self.people.rng().gen_range(21..42));
                        self.schedule(when, Event::LeaveClass { member_id });
                    }
                }
                Event::NewLead(j) => self.new_lead(j, day)?,
                Event::LeadStep { lead_id, step } => self.lead_step(&lead_id, step, day)?,
                Event::RollCall { session_id, coach_id } => self.roll_call(&session_id, &coach_id, day)?,
                Event::LeaveClass { member_id } => {
                    let lapsed = self.core.member_get(&self.clerk, &member_id)?.member.status == "expired";
                    for g in self.groups.clone() {
                        if let Some(gm) = self.core.group_members(&self.clerk, &g.0, Some(day.to_string()))?.into_iter().find(|gm| gm.member_id == member_id) {
                            if lapsed {
                                self.core.group_remove_member(&self.clerk, &gm.id, Some(day.to_string()))?;
                            }
                        }
                    }
                }
            }
        }
        // A few corrections, as in any real ledger.
        let recent = self.core.payments_recent(&self.admin, 40)?;
        if let Some(p) = recent.iter().find(|p| p.payment.kind == "payment" && !p.payment.reversed) {
            self.core.payment_reverse(&self.admin, &p.payment.id, "金额录错，已重新收款")?;
        }
        self.feedback()?;
        self.call_backs()
    }

    /// Leave already asked for the coming week: yesterday evening one family of each class
    /// of five or more phoned or messaged the desk, so every roll call from today on (the
    /// desk's and the coach's phone) has a child on leave to show, whatever the seed.
    fn upcoming_leave(&mut self) -> Result<()> {
        let today = self.today;
        if !self.clock_to(at(today - Duration::days(1), 600)) {
            return Ok(());
        }
        let coming = self.core.session_list(&self.admin, SessionFilter { from_date: today.to_string(), to_date: (today + Duration::days(6)).to_string(), ..Default::default() })?;
        for s in coming.into_iter().filter(|s| s.status == "scheduled") {
            let roster = self.core.roster(&self.clerk, &s.id)?;
            let kids: Vec<String> = roster.entries.into_iter().filter(|e| e.expected && !e.on_leave).filter_map(|e| e.member_id).collect();
            // A class of a few is often all there.
            if kids.len() < 5 {
                continue;
            }
            let member_id = kids[self.people.rng().gen_range(0..kids.len())].clone();
            let via = if self.chance(50) { "phone" } else { "wechat" };
            let input = LeaveInput { member_id, session_ids: vec![s.id], via: via.into(), note: "家里有事".into() };
            self.core.leave_request(&self.clerk, input)?;
        }
        Ok(())
    }

    /// Families the front desk agreed to call back: a few days ago the clerk spoke to three
    /// of them and set the next visit for yesterday, today and later this week, so the
    /// desk's home screen always has its own visits due, one overdue (whatever the seed).
    fn call_backs(&mut self) -> Result<()> {
        let today = self.today;
        if !self.clock_to(at(today - Duration::days(4), 120)) {
            return Ok(());
        }
        let current: Vec<String> = self
            .core
            .member_list(&self.clerk, crate::members::MemberFilter { status: Some("active".into()), limit: 3, ..Default::default() })?
            .rows
            .into_iter()
            .map(|m| m.id)
            .collect();
        for (member_id, days) in current.iter().zip([-1, 0, 2]) {
            let input = crate::visits::VisitInput {
                channel: "phone".into(),
                content: "家长这周出差，约好改天再打电话".into(),
                mood: "neutral".into(),
                next_step: "再打电话问孩子的上课情况".into(),
                next_visit: Some((today + Duration::days(days)).to_string()),
                ..Default::default()
            };
            self.core.visit_record(&self.clerk, member_id, input)?;
        }
        Ok(())
    }

    /// The visits due before `day` that their owners make at opening: most within a day or
    /// two, a few left overdue (the home screen shows them).
    fn return_visits(&mut self, day: NaiveDate) -> Result<()> {
        const SAID: [(&str, &str, &str, Option<i64>); 5] = [
            ("happy", "家长说孩子很喜欢上课，回家会主动练习", "", Some(5)),
            ("happy", "孩子自信多了，家长很满意教练", "下次考级前再联系", Some(5)),
            ("neutral", "家长觉得进度一般，希望多些一对一指导", "请教练课后多关注", Some(4)),
            ("neutral", "最近功课多，周末班时间有点紧", "建议调到周六上午班", None),
            ("unhappy", "家长反映上课人多，孩子练习机会少", "店长跟进，考虑分班", Some(2)),
        ];
        let due = self.core.visits_due(&self.admin, crate::Lang::ZhCn, 1000)?;
        for plan in due.into_iter().filter(|p| p.due_date.as_str() < day.to_string().as_str()) {
            if !self.chance(60) {
                continue;
            }
            let who = self
                .consultants
                .iter()
                .find(|c| Some(&c.staff_id) == plan.assignee_id.as_ref())
                .cloned()
                .unwrap_or_else(|| if plan.assignee_role.as_deref() == Some("manager") { self.admin.clone() } else { self.clerk.clone() });
            let (mood, content, next_step, score) = SAID[self.people.rng().gen_range(0..SAID.len())];
            let input = crate::visits::VisitInput {
                channel: if self.chance(70) { "phone".into() } else { "wechat".into() },
                content: content.into(),
                mood: mood.into(),
                next_step: next_step.into(),
                satisfaction: score.filter(|_| self.chance(50)),
                plan_id: Some(plan.id.clone()),
                next_visit: None,
            };
            match self.core.visit_record(&who, &plan.member_id, input) {
                // Answered already by a visit made a moment ago for another plan.
                Err(CoreError::Conflict(crate::error::Conflict::VisitPlanClosed)) => {}
                other => drop(other?),
            }
        }
        Ok(())
    }

    /// What families said over the last months: suggestions with votes, complaints closed,
    /// under way and one overdue (it shows on the manager's home screen), and CSAT/NPS
    /// answers after the term so the satisfaction results have something to show.
    fn feedback(&mut self) -> Result<()> {
        use crate::feedback::{ComplaintInput, ConfirmInput, ScoreInput, StepInput, SuggestionInput, VoteInput, STEPS};
        if self.members.len() < 12 {
            return Ok(());
        }
        let today = self.today;
        let member = |d: &mut Self, i: usize| d.members[(i * 7 + 3) % d.members.len()].0.clone();
        self.clock.set(at(today - Duration::days(40), 60));
        for (i, (body, public)) in [("希望周末增加一节晚班课", true), ("前台能否提供饮用热水", true), ("建议家长等候区加几把椅子", false)].into_iter().enumerate() {
            let by = member(self, i);
            let sg = self.core.suggestion_create(&self.clerk, SuggestionInput { body: body.into(), member_id: Some(by), guardian_id: None, author_name: String::new(), public })?;
            for v in 0..(6 - i * 2) {
                let voter = member(self, 20 + v + i * 10);
                let vote = if v % 4 == 3 { -1 } else { 1 };
                self.core.suggestion_vote(&self.clerk, VoteInput { suggestion_id: sg.id.clone(), member_id: voter, vote })?;
            }
        }
        let coach = self.coaches[0].staff_id.clone();
        // (days ago, member index, category, about the coach, body, severity, steps done, closed)
        let cases = [
            (30, 1, "coach", true, "教练上课时接电话，孩子们等了十分钟", "serious", 5, true),
            (20, 2, "facility", false, "更衣室的柜子锁坏了", "minor", 5, true),
            (9, 3, "class", false, "同一个班的孩子年龄差太大，进度跟不上", "serious", 1, false),
            (3, 4, "staff", false, "续费时前台没有说明赠课的有效期", "minor", 2, false),
        ];
        for (ago, i, category, about_coach, body, severity, steps, closed) in cases {
            self.clock.set(at(today - Duration::days(ago), 120));
            let input = ComplaintInput {
                member_id: Some(member(self, 40 + i)),
                guardian_id: None,
                category: category.into(),
                about_staff_id: about_coach.then(|| coach.clone()),
                group_id: None,
                body: body.into(),
                severity: severity.into(),
                handler_id: None,
                deadline: None,
            };
            let handler = if about_coach { self.admin.clone() } else { self.clerk.clone() };
            let k = self.core.complaint_create(&handler, input)?;
            for (n, kind) in STEPS.iter().take(steps).enumerate() {
                self.clock.set(at(today - Duration::days(ago) + Duration::days(n as i64 / 2), 180 + n as i64 * 30));
                self.core.complaint_step(&handler, StepInput { complaint_id: k.id.clone(), kind: kind.to_string(), notes: format!("已与家长沟通（{}）", crate::feedback::step_label(kind, crate::Lang::ZhCn)) })?;
            }
            if closed {
                self.core.complaint_confirm(&handler, ConfirmInput { complaint_id: k.id, resolution: "已整改并向家长致歉，赠送一节课".into(), confirmed: true, note: "家长表示满意".into() })?;
            }
        }
        // After the term: CSAT 1–5 and NPS 0–10 from a few dozen families per class group
        // (entered by the clerk yesterday evening).
        self.clock.set(at(today - Duration::days(1), 600));
        let groups: Vec<String> = self.groups.iter().map(|g| g.0.clone()).collect();
        for n in 0..36 {
            // In the months before this one, so this month's results are the desk's own.
            let day = today - Duration::days(i64::from(chrono::Datelike::day(&today)) + (n as i64 % 4) * 30);
            let group = groups[n % groups.len()].clone();
            let roll = self.people.rng().gen_range(0..10);
            let (kind, score) = if n % 2 == 0 { ("nps", [10, 10, 9, 9, 9, 8, 7, 6, 10, 4][roll]) } else { ("csat", [5, 5, 4, 4, 5, 3, 4, 5, 2, 4][roll]) };
            let input = ScoreInput {
                member_id: member(self, 60 + n),
                kind: kind.into(),
                score,
                occasion: "term".into(),
                group_id: Some(group),
                coach_id: None,
                comment: String::new(),
                date: Some(day.to_string()),
            };
            self.core.satisfaction_record(&self.clerk, input)?;
        }
        Ok(())
    }

    /// The coach takes roll call: most come, a few are late or absent, some asked for
    /// leave beforehand, and now and then a comment for the parents.
    fn roll_call(&mut self, session_id: &str, coach_id: &str, day: NaiveDate) -> Result<()> {
        let coach = self.coaches.iter().find(|c| c.staff_id == coach_id).cloned().unwrap_or_else(|| self.admin.clone());
        let roster = self.core.roster(&coach, session_id)?;
        // The coach takes roll call at the start of the class (notices say real times),
        // then the day's clock goes on where it was.
        let resume = self.clock.now();
        let (starts, _) = crate::attendance::session_window(&roster.session, chrono_tz::Asia::Shanghai);
        self.clock.set(starts + Duration::minutes(self.people.rng().gen_range(0..10)));
        let _ = day;
        let mut marks = vec![];
        for e in roster.entries {
            let Some(member_id) = e.member_id else { continue };
            if e.lessons_remaining.is_some_and(|n| n <= 2) {
                // The desk raises renewal when a lesson package is nearly used up.
                let latest = self.latest_contract.get(&member_id).cloned();
                if let Some(contract_id) = latest.filter(|k| self.renewal_asked.insert(k.clone())) {
                    let when = day + Duration::days(self.people.rng().gen_range(0..7));
                    self.schedule(when, Event::RenewCheck { member_id: member_id.clone(), contract_id });
                }
            }
            let roll = self.people.rng().gen_range(0..100);
            if e.on_leave {
                marks.push(MarkInput { member_id, mark: "leave".into(), ..Default::default() });
                continue;
            }
            if roll < 3 {
                // Asked for leave by phone; recorded by the desk.
                self.core.leave_request(&self.clerk, LeaveInput { member_id: member_id.clone(), session_ids: vec![session_id.into()], via: "phone".into(), note: String::new() })?;
                marks.push(MarkInput { member_id, mark: "leave".into(), ..Default::default() });
                continue;
            }
            let mark = match roll {
                3..=8 => "absent",
                9..=13 => "late",
                _ => "present",
            };
            let comment = if mark != "absent" && self.chance(6) {
                ["动作标准，继续保持", "横踢进步明显", "上课有些分心，请家长多鼓励", "体能很好，可以准备考级"][self.people.rng().gen_range(0..4)].into()
            } else {
                String::new()
            };
            marks.push(MarkInput { member_id, mark: mark.into(), comment, ..Default::default() });
        }
        self.core.roll_call(&coach, session_id, RollCallInput { marks, ..Default::default() })?;
        self.summary.roll_calls += 1;
        self.clock.set(resume);
        Ok(())
    }

    /// The last week at the shelf and the cash box: goods sold at the desk (cash, WeChat,
    /// points), a partial return, a cancelled sale not yet handed over, and each evening
    /// the manager counting the cash each staff member hands in — the system's figure,
    /// except one day the clerk is ¥10 short, and one hand-in recorded twice and voided.
    /// Today's cash is not handed in yet.
    fn shop_and_cash(&mut self) -> Result<()> {
        use crate::goods::{ReturnInput, SaleInput};
        let goods = self.core.goods_list(&self.admin, false)?;
        let find = |name: &str| goods.iter().find(|g| g.name == name).cloned();
        let (Some(water), Some(belt), Some(suit)) = (find("矿泉水"), find("腰带"), find("道服")) else {
            return Ok(());
        };
        let mut buyer = None;
        for (id, ..) in self.members.iter().rev().take(40) {
            if self.core.points_account(&self.admin, id)?.balance >= 300 && self.core.member_get(&self.admin, id)?.member.merged_into.is_none() {
                buyer = Some(id.clone());
                break;
            }
        }
        let sell = |who: &Session, g: &str, quantity: i64, member: Option<&String>, method: &str, delivered: bool| {
            self.core.goods_sell(who, SaleInput { goods_id: g.into(), quantity, member_id: member.cloned(), method: method.into(), delivered, note: String::new() })
        };
        for back in (0..=6).rev() {
            let day = self.today - Duration::days(back);
            // Today's evening sales happen only if the history reaches them.
            if !self.clock_to(at(day, 600 + (6 - back) * 3)) {
                break;
            }
            let first = sell(&self.clerk, &water.id, 2 + back % 3, None, "cash", true)?;
            if !self.clock_on(Duration::minutes(5)) {
                break;
            }
            sell(&self.clerk, &belt.id, 1, buyer.as_ref(), "wechat", true)?;
            if back % 2 == 0 && self.clock_on(Duration::minutes(5)) {
                sell(&self.consultants[0], &water.id, 2, None, "cash", true)?;
            }
            if back == 3 {
                // A uniform paid in cash: the evening the clerk comes up ¥10 short.
                self.clock.advance(Duration::minutes(5));
                sell(&self.clerk, &suit.id, 1, None, "cash", true)?;
                if let Some(m) = &buyer {
                    self.clock.advance(Duration::minutes(5));
                    sell(&self.clerk, &water.id, 1, Some(m), "points", true)?;
                }
            }
            if back == 4 {
                // A walk-in brings back one bottle of three: paid back in cash by the clerk.
                self.clock.advance(Duration::minutes(20));
                self.core.goods_return(&self.clerk, ReturnInput { sale_id: first.id.clone(), quantity: 1, reason: "多买了一瓶".into() })?;
            }
            if back == 2 {
                // A belt sold for later collection, then called off before it was handed over.
                self.clock.advance(Duration::minutes(5));
                let pending = sell(&self.clerk, &belt.id, 1, buyer.as_ref(), "cash", false)?;
                self.clock.advance(Duration::minutes(30));
                self.core.goods_return(&self.clerk, ReturnInput { sale_id: pending.id, quantity: 1, reason: "家长改选尺码".into() })?;
            }
            if back == 0 {
                break; // today's cash is handed in tonight
            }
            self.clock.set(at(day, 700));
            let report = self.core.cash_report(&self.admin, &crate::cash::CashFilter { from_date: day.to_string(), to_date: day.to_string(), by: "day".into(), staff_id: None })?;
            for row in report.rows {
                let short = if back == 3 && row.staff_id == self.clerk.staff_id { 1000 } else { 0 };
                let fen = (row.net.fen() - short).max(0);
                let amount = crate::money::Money::from_fen(fen).to_string();
                let input = crate::cash::HandinInput { staff_id: row.staff_id.clone(), business_date: day.to_string(), amount, received_by: None, note: String::new() };
                self.core.cash_handin_record(&self.admin, input.clone())?;
                if back == 5 && row.staff_id == self.clerk.staff_id {
                    let twice = self.core.cash_handin_record(&self.admin, input)?;
                    self.core.cash_handin_void(&self.admin, &twice.id, "重复登记")?;
                }
            }
        }
        Ok(())
    }

    fn method(&mut self) -> String {
        let r = self.people.rng().gen_range(0..100);
        match r {
            0..=49 => "wechat",
            50..=69 => "alipay",
            70..=84 => "cash",
            85..=94 => "card",
            _ => "transfer",
        }
        .into()
    }

    fn consultant(&mut self) -> Session {
        let i = self.people.rng().gen_range(0..self.consultants.len());
        self.consultants[i].clone()
    }

    fn new_member(&mut self, _i: usize, day: NaiveDate) -> Result<()> {
        let sibling = !self.members.is_empty() && self.chance(8);
        let (surname, guardian_id, relation) = if sibling {
            let k = self.people.rng().gen_range(0..self.members.len());
            (self.members[k].2.clone(), Some(self.members[k].1.clone()), self.members[k].3)
        } else {
            (self.people.surname(), None, "")
        };
        let name = self.people.child_name(&surname);
        let gender = if self.chance(55) { "M" } else { "F" };
        let referred_by = if !self.members.is_empty() && self.chance(10) {
            let k = self.people.rng().gen_range(0..self.members.len());
            Some(self.members[k].0.clone())
        } else {
            None
        };
        let mother = guardian_id.is_none() && self.chance(70);
        let relation = if guardian_id.is_some() { relation } else if mother { "妈妈" } else { "爸爸" };
        let guardian = if guardian_id.is_none() {
            let gsurname = if mother { self.people.surname() } else { surname.clone() };
            Some(GuardianInput {
                name: self.people.parent_name(&gsurname, mother),
                relation: relation.into(),
                phone: self.people.phone(),
                wechat: String::new(),
            })
        } else {
            None
        };
        let m = self.core.member_apply(&self.clerk, MemberApplication { name, gender: gender.into(), guardian, referred_by, notes: String::new() })?;
        if let Some(gid) = &guardian_id {
            self.core.guardian_link(
                &self.clerk,
                &m.id,
                GuardianLinkInput { existing_guardian_id: Some(gid.clone()), new_guardian: None, relation: relation.into(), is_primary: true },
            )?;
        }
        let detail = self.core.member_get(&self.clerk, &m.id)?;
        let gid = detail.guardians.first().map(|g| g.guardian.id.clone()).unwrap_or_default();
        self.summary.members += 1;
        self.members.push((m.id.clone(), gid, surname, relation));
        // Most applications are approved on the spot; a few wait at the desk.
        if day > self.today - Duration::days(3) && self.chance(50) {
            return Ok(());
        }
        self.approve_and_enrol(&m.id, day)
    }

    fn approve_and_enrol(&mut self, member_id: &str, day: NaiveDate) -> Result<()> {
        let age_days = self.people.rng().gen_range(4 * 365..12 * 365);
        let school = self.schools[self.people.rng().gen_range(0..self.schools.len())].clone();
        self.core.member_approve(
            &self.clerk,
            member_id,
            MemberApproval { birthday: (day - Duration::days(age_days)).to_string(), school, course_interest: "跆拳道".into() },
        )?;
        let age = age_days / 365;
        // The level by age, then whichever of its classes has room (the fuller one last);
        // the centre fills a class to 90 % of its capacity (a few places for trials and
        // families coming back), so a child whose level is full joins the nearest level
        // with a place, or waits without a class.
        let level = self.groups.iter().rev().find(|g| age >= g.1).map_or(self.groups[0].1, |g| g.1);
        let sizes: HashMap<String, (i64, i64)> =
            self.core.group_list(&self.clerk)?.into_iter().map(|g| (g.id, (g.size, g.capacity))).collect();
        let mut choices: Vec<(i64, i64, String)> = self
            .groups
            .iter()
            .map(|g| {
                let (size, capacity) = sizes.get(&g.0).copied().unwrap_or((0, 0));
                ((g.1 - level).abs(), size * 100 / capacity.max(1), g.0.clone())
            })
            .filter(|c| sizes.get(&c.2).is_some_and(|(size, capacity)| size * 10 < capacity * 9))
            .collect();
        choices.sort();
        if let Some((_, _, group)) = choices.into_iter().next() {
            self.core.group_add_member(&self.clerk, &group, member_id, Some(day.to_string()), false)?;
        }
        self.enrol(member_id, None, day)?;
        if self.chance(4) {
            self.core.member_set_status(&self.clerk, member_id, "paused")?;
        }
        Ok(())
    }

    fn enrol(&mut self, member_id: &str, renewal_of: Option<String>, day: NaiveDate) -> Result<()> {
        let total: u32 = self.packages.iter().map(|p| p.1).sum();
        let mut pick = self.people.rng().gen_range(0..total);
        let (mut package_id, mut price_fen) = (self.packages[0].0.clone(), self.packages[0].2);
        for (id, w, price) in &self.packages {
            if pick < *w {
                (package_id, price_fen) = (id.clone(), *price);
                break;
            }
            pick -= w;
        }
        // Discounts of ¥100–500 on the larger packages, never more than a tenth.
        let discount_fen = (self.people.rng().gen_range(1..=5) * 10_000).min(price_fen / 1000 * 100);
        let discount = if self.chance(30) && discount_fen > 0 { crate::Money::from_fen(discount_fen).to_string() } else { String::new() };
        let consultant = self.consultant();
        let k = self.core.contract_enrol(
            &consultant,
            EnrolInput {
                member_id: member_id.into(),
                package_id,
                discount,
                start_date: None,
                consultant_id: Some(consultant.staff_id.clone()),
                renewal_of,
                notes: String::new(),
            },
        )?;
        self.summary.contracts += 1;
        self.latest_contract.insert(member_id.to_string(), k.contract.id.clone());
        let due = k.contract.amount_due;
        let partial = self.chance(20);
        let first = if partial { crate::Money::from_fen((due.fen() / 200) * 100) } else { due };
        if first.is_positive() {
            let method = self.method();
            self.core.payment_take(&self.clerk, PaymentInput { contract_id: k.contract.id.clone(), amount: first.to_string(), method, note: String::new() }, crate::Lang::ZhCn)?;
            self.summary.payments += 1;
        }
        if partial && self.chance(75) {
            let later = day + Duration::days(self.people.rng().gen_range(7..30));
            self.schedule(later, Event::Balance { contract_id: k.contract.id.clone(), amount: (due - first).to_string() });
        }
        // Refund a very few within the first month.
        if self.chance(1) {
            self.schedule(day + Duration::days(20), Event::Refund { contract_id: k.contract.id.clone() });
        }
        let end = NaiveDate::parse_from_str(&k.contract.end_date, "%Y-%m-%d").unwrap_or(day);
        self.schedule(end - Duration::days(14), Event::RenewCheck { member_id: member_id.into(), contract_id: k.contract.id });
        Ok(())
    }

    fn new_lead(&mut self, _j: usize, day: NaiveDate) -> Result<()> {
        let sources = self.core.settings()?.lead_sources;
        let source = sources[self.people.rng().gen_range(0..sources.len())].clone();
        let surname = self.people.surname();
        let name = self.people.child_name(&surname);
        let contact = self.people.adult_name(&surname);
        let consultant = self.consultant();
        let lead = self.core.lead_create(
            &consultant,
            LeadInput {
                name,
                contact_name: contact,
                phone: self.people.phone(),
                wechat: String::new(),
                gender: Some(if self.chance(55) { "M" } else { "F" }.into()),
                birthday: None,
                source,
                consultant_id: Some(consultant.staff_id.clone()),
                man_money: self.chance(60),
                man_authority: self.chance(70),
                man_need: self.chance(80),
                needs: ["想锻炼身体", "孩子胆小，想练自信", "周末班", "离家近", "考级"][self.people.rng().gen_range(0..5)].into(),
                notes: String::new(),
                next_follow_up: Some((day + Duration::days(2)).to_string()),
            },
        )?;
        self.summary.leads += 1;
        self.schedule(day + Duration::days(2), Event::LeadStep { lead_id: lead.id, step: 1 });
        Ok(())
    }

    fn lead_step(&mut self, lead_id: &str, step: u32, day: NaiveDate) -> Result<()> {
        let consultant = self.consultant();
        let roll = self.people.rng().gen_range(0..100);
        let next = day + Duration::days(self.people.rng().gen_range(2..10));
        let (content, status) = match step {
            1 => ("电话沟通，家长有兴趣，约周六到店参观", Some("visit_booked")),
            2 => ("家长带孩子到店参观，介绍了课程", Some("visited")),
            3 => ("孩子参加试听课，表现积极", Some("trial")),
            _ => ("跟进报名意向", None),
        };
        // A lead not won after five contacts is closed as lost, as a consultant would.
        if (step >= 2 && roll < 20) || step >= 6 {
            let reason = if step >= 6 { "多次跟进未回复" } else { ["价格太高", "时间不合适", "选择了其他机构", "孩子不感兴趣"][roll as usize % 4] };
            self.core.lead_set_status(&consultant, lead_id, "lost", reason)?;
            return Ok(());
        }
        if step >= 4 && roll < 60 {
            let contact = self.core.lead_get(&consultant, lead_id)?.lead.contact_name;
            let relation = self.people.relation_of(&contact);
            let m = self.core.lead_convert(&consultant, lead_id, ConvertInput { gender: String::new(), relation: relation.into() })?;
            let detail = self.core.member_get(&consultant, &m.id)?;
            let gid = detail.guardians.first().map(|g| g.guardian.id.clone()).unwrap_or_default();
            self.members.push((m.id.clone(), gid, m.name.chars().next().map(String::from).unwrap_or_default(), relation));
            self.summary.members += 1;
            return self.approve_and_enrol(&m.id, day);
        }
        let channel = if step == 1 { "phone" } else { "visit" };
        self.core.lead_follow_up(&consultant, lead_id, FollowUpInput { channel: channel.into(), content: content.into(), next_follow_up: Some(next.to_string()) })?;
        if let Some(s) = status {
            self.core.lead_set_status(&consultant, lead_id, s, "")?;
        }
        self.schedule(next, Event::LeadStep { lead_id: lead_id.into(), step: step + 1 });
        Ok(())
    }
}
