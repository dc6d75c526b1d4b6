//! Staff accounts, login, and the permission table. Permissions are checked here, in
//! the core, by every service call; the UI only hides what it cannot do anyway.

use crate::db::Core;
use crate::error::{AuthFailure, Conflict, CoreError, Field, Lang, Result, Rule};
use crate::validate;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Role {
    Manager,
    Clerk,
    Coach,
    Consultant,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Manager, Role::Clerk, Role::Coach, Role::Consultant];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Clerk => "clerk",
            Role::Coach => "coach",
            Role::Consultant => "consultant",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Everything a staff member may or may not do. The session carries the ones its role
/// may (`Session::actions`), so the UI shows a button by asking the same table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Action {
    ViewMembers,
    EditMembers,
    ViewLeads,
    EditLeads,
    EditPackages,
    EditContracts,
    RefundContracts,
    TakePayments,
    ReversePayments,
    ManageStaff,
    EditSettings,
    ViewStaffReports,
    ManageTimetable,
    TakeRollCall,
    RecordLeave,
    RequestTrials,
    DecideTrials,
    /// CSV exports of whole lists (every family's personal data leaves the program).
    ExportData,
    /// CSV imports of members and leads (a whole list enters at once, as the manager's).
    ImportData,
    /// Backups, restore and exporting the whole database.
    ManageBackups,
    /// The manager's analysis screens (revenue, renewals, attendance, sales …).
    ViewReports,
    /// Merging two member records that are the same child (moves contracts, attendance,
    /// guardians… from one to the other; not undoable by the desk).
    MergeMembers,
    /// Selling goods to a member or a walk-in, and handing them over (desk and coaches).
    SellGoods,
    /// Items, prices and stock in / adjustments.
    ManageGoods,
    /// Manual points awards and deductions.
    AwardPoints,
    /// Sending a notice again or marking one as passed on by hand (the desk's outbox).
    SendNotices,
    /// Recording suggestions, votes, complaints (and the steps of one's own) and
    /// satisfaction scores: any staff member.
    RecordFeedback,
    /// Handling steps on a complaint someone else handles, and reassigning it.
    HandleAnyComplaint,
    /// Taking goods back against a sale (or cancelling one not handed over) and paying
    /// back: the desk (manager, clerk, consultant), not coaches, who hold no cash drawer.
    ReturnGoods,
    /// Recording and voiding cash hand-ins 交款 (the manager receives the cash).
    ReconcileCash,
    /// Recording return visits 回访 with members' families: any staff member.
    RecordVisits,
    /// The churn-warning worklist 流失预警 and acting on it (the desk's, not coaches').
    WorkChurnList,
    /// One message to the families of a class, a tier, a tag, a status or a report's list.
    MessageGroups,
}

impl Action {
    pub const ALL: [Action; 33] = [Action::ViewMembers, Action::EditMembers, Action::ViewLeads, Action::EditLeads, Action::EditPackages, Action::EditContracts, Action::RefundContracts, Action::TakePayments, Action::ReversePayments, Action::ManageStaff, Action::EditSettings, Action::ViewStaffReports, Action::ManageTimetable, Action::TakeRollCall, Action::RecordLeave, Action::RequestTrials, Action::DecideTrials, Action::ExportData, Action::ImportData, Action::ManageBackups, Action::ViewReports, Action::MergeMembers, Action::SellGoods, Action::ManageGoods, Action::AwardPoints, Action::SendNotices, Action::RecordFeedback, Action::HandleAnyComplaint, Action::ReturnGoods, Action::ReconcileCash, Action::RecordVisits, Action::WorkChurnList, Action::MessageGroups];

    pub fn label(self, lang: Lang) -> String {
        use Action::*;
        let (zh, en) = match self {
            ViewMembers => ("查看会员", "view members"),
            EditMembers => ("登记或修改会员", "register or edit members"),
            ViewLeads => ("查看潜在客户", "view leads"),
            EditLeads => ("登记或跟进潜在客户", "record or follow up leads"),
            EditPackages => ("修改课程套餐和价格", "change packages and prices"),
            EditContracts => ("办理报名、续费或停课", "enrol, renew or pause contracts"),
            RefundContracts => ("办理退费", "refund contracts"),
            TakePayments => ("收款", "take payments"),
            ReversePayments => ("冲正缴费记录", "reverse payments"),
            ManageStaff => ("管理员工账号", "manage staff accounts"),
            EditSettings => ("修改系统设置", "change settings"),
            ViewStaffReports => ("查看员工工作记录", "see staff reports"),
            ManageTimetable => ("编排课表", "change the timetable"),
            TakeRollCall => ("点名", "take roll call"),
            RecordLeave => ("登记请假", "record leave"),
            RequestTrials => ("登记试课", "book trial classes"),
            DecideTrials => ("审批试课", "approve or decline trial classes"),
            ExportData => ("导出数据", "export data"),
            ImportData => ("导入数据", "import data"),
            ManageBackups => ("备份和恢复数据", "back up and restore data"),
            ViewReports => ("查看经营报表", "see the reports"),
            MergeMembers => ("合并重复会员", "merge duplicate members"),
            SellGoods => ("销售物品", "sell goods"),
            ManageGoods => ("管理物品和库存", "manage goods and stock"),
            AwardPoints => ("手动调整积分", "award or deduct points"),
            SendNotices => ("重发通知", "resend notices"),
            RecordFeedback => ("登记意见、投诉和满意度", "record suggestions, complaints and satisfaction"),
            HandleAnyComplaint => ("处理他人负责的投诉", "handle complaints assigned to others"),
            ReturnGoods => ("办理退货", "take goods back"),
            ReconcileCash => ("登记交款", "record cash hand-ins"),
            RecordVisits => ("登记回访", "record return visits"),
            WorkChurnList => ("处理流失预警", "work the churn-warning list"),
            MessageGroups => ("群发消息", "message a group of families"),
        };
        match lang {
            Lang::ZhCn => zh.into(),
            Lang::En => en.into(),
        }
    }
}

/// The permission table. A clerk cannot change prices, reverse payments or see staff
/// reports; a coach cannot take payments; only the manager refunds and manages staff.
/// Coaches take roll call and decide trial classes (for their own sessions).
pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Manager => true,
        Role::Clerk => matches!(
            action,
            ViewMembers | EditMembers | ViewLeads | EditLeads | EditContracts | TakePayments | TakeRollCall | RecordLeave | RequestTrials | SellGoods | ReturnGoods | SendNotices | RecordFeedback | RecordVisits | WorkChurnList | MessageGroups
        ),
        Role::Consultant => matches!(
            action,
            ViewMembers | EditMembers | ViewLeads | EditLeads | EditContracts | TakePayments | RecordLeave | RequestTrials | SellGoods | ReturnGoods | SendNotices | RecordFeedback | RecordVisits | WorkChurnList
        ),
        Role::Coach => matches!(action, ViewMembers | TakeRollCall | RecordLeave | DecideTrials | SellGoods | RecordFeedback | RecordVisits),
    }
}

/// The logged-in staff member on whose behalf the core acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Session {
    pub staff_id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// What this role may do (the permission table, `allowed`): the UI's buttons ask it.
    pub actions: Vec<Action>,
}

impl Session {
    pub fn new(staff_id: String, username: String, display_name: String, role: Role) -> Session {
        let actions = Action::ALL.into_iter().filter(|a| allowed(role, *a)).collect();
        Session { staff_id, username, display_name, role, actions }
    }

    pub fn require(&self, action: Action) -> Result<()> {
        if allowed(self.role, action) {
            Ok(())
        } else {
            Err(CoreError::Forbidden(action))
        }
    }
    pub fn can(&self, action: Action) -> bool {
        allowed(self.role, action)
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Staff {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct FirstRun {
    pub centre_name: String,
    pub username: String,
    pub display_name: String,
    pub password: String,
}

const STAFF_COLUMNS: &str = "id, username, display_name, role, active, created_at";

fn staff_from_row(r: &Row) -> rusqlite::Result<Staff> {
    let role: String = r.get("role")?;
    Ok(Staff {
        id: r.get("id")?,
        username: r.get("username")?,
        display_name: r.get("display_name")?,
        role: Role::parse(&role).unwrap_or(Role::Clerk),
        active: r.get("active")?,
        created_at: r.get("created_at")?,
    })
}

pub const MIN_PASSWORD_LEN: usize = 8;

/// Wrong passwords allowed in a row before each further one costs a wait.
pub const FREE_LOGIN_FAILURES: u32 = 5;
/// The longest wait after wrong passwords (the delay doubles from 1 s up to this).
pub const MAX_LOGIN_DELAY_SECS: i64 = 15 * 60;

/// Wrong passwords in a row for one username, and when the next try is allowed.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoginFailures {
    count: u32,
    retry_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The wait after the `count`-th wrong password in a row: none for the first five,
/// then 1 s, 2 s, 4 s, … up to `MAX_LOGIN_DELAY_SECS`.
pub fn login_delay_secs(count: u32) -> i64 {
    if count < FREE_LOGIN_FAILURES {
        return 0;
    }
    let doublings = (count - FREE_LOGIN_FAILURES).min(20);
    (1i64 << doublings).min(MAX_LOGIN_DELAY_SECS)
}

/// Refuses a session whose staff member was disabled (or removed) since logging in.
pub(crate) fn require_session_staff(c: &rusqlite::Connection, staff_id: &str) -> Result<()> {
    let active: Option<bool> = c.query_row("SELECT active FROM staff WHERE id = ?1", [staff_id], |r| r.get(0)).optional()?;
    match active {
        Some(true) => Ok(()),
        _ => Err(CoreError::Auth(AuthFailure::AccountDisabled)),
    }
}

/// Refuses, as an error on `field`, an id that is not an active staff member.
pub(crate) fn require_active_staff(c: &rusqlite::Connection, id: &str, field: Field) -> Result<()> {
    let ok: bool = c.query_row("SELECT EXISTS(SELECT 1 FROM staff WHERE id = ?1 AND active = 1)", [id], |r| r.get(0))?;
    if ok { Ok(()) } else { Err(CoreError::invalid(field, Rule::Unknown)) }
}

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

fn check_new_staff(input: &NewStaff) -> Result<(String, String)> {
    let username = input.username.trim().to_string();
    let valid = (2..=32).contains(&username.chars().count())
        && username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(CoreError::invalid(Field::Username, Rule::UsernameFormat));
    }
    let display = validate::required_text(Field::DisplayName, &input.display_name, 20)?;
    if input.password.chars().count() < MIN_PASSWORD_LEN {
        return Err(CoreError::invalid(Field::Password, Rule::PasswordTooShort { min: MIN_PASSWORD_LEN }));
    }
    Ok((username, display))
}

impl Core {
    /// True until the first manager account exists.
    pub fn needs_first_run(&self) -> Result<bool> {
        self.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM staff", [], |r| r.get::<_, i64>(0))? == 0))
    }

    /// First run: names the centre and creates the manager, who is logged in.
    pub fn first_run(&self, input: FirstRun) -> Result<Session> {
        let centre = validate::required_text(Field::CentreName, &input.centre_name, 40)?;
        let new = NewStaff {
            username: input.username,
            display_name: input.display_name,
            role: Role::Manager,
            password: input.password,
        };
        let (username, display) = check_new_staff(&new)?;
        let hash = hash_password(&new.password)?;
        let id = crate::new_id();
        self.write_as(Some(id.clone()), |w| {
            let existing: i64 = w.query_row("SELECT COUNT(*) FROM staff", [], |r| r.get(0))?;
            if existing > 0 {
                return Err(CoreError::Conflict(Conflict::AlreadySetUp));
            }
            let now = w.now_text();
            w.execute(
                "INSERT INTO staff (id, username, display_name, role, password_hash, active, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 'manager', ?4, 1, ?5, ?5)",
                params![id, username, display, hash, now],
            )?;
            let staff = w.query_row(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = ?1"), [&id], staff_from_row)?;
            w.log("staff", &id, "create", None, &staff)?;
            crate::settings::put(w, "centre_name", &centre)?;
            Ok(())
        })?;
        Ok(Session::new(id, username, display, Role::Manager))
    }

    /// Logs in. After `FREE_LOGIN_FAILURES` wrong passwords in a row for a username, each
    /// further try must wait (`login_delay_secs`); while it waits no password is checked,
    /// so guessing costs time even with the right one. A success clears the count.
    pub fn login(&self, username: &str, password: &str) -> Result<Session> {
        let key = username.trim().to_lowercase();
        let now = self.now();
        if let Some(retry_at) = self.login_failures.lock().unwrap_or_else(|p| p.into_inner()).get(&key).and_then(|f| f.retry_at) {
            if retry_at > now {
                let secs = ((retry_at - now).num_milliseconds() + 999).div_euclid(1000);
                return Err(CoreError::Auth(AuthFailure::TooManyAttempts { retry_after_secs: secs }));
            }
        }
        let out = self.check_password(username, password);
        let mut failures = self.login_failures.lock().unwrap_or_else(|p| p.into_inner());
        match &out {
            Err(CoreError::Auth(AuthFailure::BadCredentials)) => {
                let f = failures.entry(key).or_default();
                f.count = f.count.saturating_add(1);
                let delay = login_delay_secs(f.count);
                f.retry_at = (delay > 0).then(|| now + chrono::Duration::seconds(delay));
            }
            Ok(_) => {
                failures.remove(&key);
            }
            Err(_) => {}
        }
        out
    }

    /// Refuses a session whose staff member has been disabled since logging in: the
    /// shell (and any other front) asks before every call, so an open session ends at
    /// its next call, not at its next login. Writes check it again in their transaction.
    pub fn session_check(&self, session: &Session) -> Result<()> {
        self.read(|c| require_session_staff(c, &session.staff_id))
    }

    fn check_password(&self, username: &str, password: &str) -> Result<Session> {
        let row = self.read(|c| {
            Ok(c.query_row(
                "SELECT id, username, display_name, role, active, password_hash FROM staff WHERE username = ?1",
                [username.trim()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                },
            )
            .optional()?)
        })?;
        // Verify even when the user is unknown so timing does not reveal usernames.
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1111111111111111111111111111111111111111111";
        let (id, username, display_name, role, active, hash) = match row {
            Some(r) => r,
            None => {
                verify_password(password, DUMMY);
                return Err(CoreError::Auth(AuthFailure::BadCredentials));
            }
        };
        if !verify_password(password, &hash) {
            return Err(CoreError::Auth(AuthFailure::BadCredentials));
        }
        if !active {
            return Err(CoreError::Auth(AuthFailure::AccountDisabled));
        }
        Ok(Session::new(id, username, display_name, Role::parse(&role).unwrap_or(Role::Clerk)))
    }

    pub fn staff_list(&self, session: &Session) -> Result<Vec<Staff>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut stmt = c.prepare(&format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY role, display_name"))?;
            let rows = stmt.query_map([], staff_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    pub fn staff_create(&self, session: &Session, input: NewStaff) -> Result<Staff> {
        session.require(Action::ManageStaff)?;
        let (username, display) = check_new_staff(&input)?;
        let hash = hash_password(&input.password)?;
        self.write(session, |w| {
            let taken: bool = w.query_row("SELECT EXISTS(SELECT 1 FROM staff WHERE username = ?1)", [&username], |r| r.get(0))?;
            if taken {
                return Err(CoreError::Conflict(Conflict::UsernameTaken));
            }
            let id = crate::new_id();
            let now = w.now_text();
            w.execute(
                "INSERT INTO staff (id, username, display_name, role, password_hash, active, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)",
                params![id, username, display, input.role.as_str(), hash, now],
            )?;
            let staff = w.query_row(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = ?1"), [&id], staff_from_row)?;
            w.log("staff", &id, "create", None, &staff)?;
            Ok(staff)
        })
    }

    /// Disables or re-enables an account; history stays attributed to it.
    pub fn staff_set_active(&self, session: &Session, staff_id: &str, active: bool) -> Result<Staff> {
        session.require(Action::ManageStaff)?;
        self.write(session, |w| {
            let staff = w
                .query_row(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = ?1"), [staff_id], staff_from_row)
                .optional()?
                .ok_or(CoreError::NotFound(Field::Staff))?;
            if !active && staff.role == Role::Manager {
                let managers: i64 = w.query_row(
                    "SELECT COUNT(*) FROM staff WHERE role = 'manager' AND active = 1 AND id <> ?1",
                    [staff_id],
                    |r| r.get(0),
                )?;
                if managers == 0 {
                    return Err(CoreError::Conflict(Conflict::LastManager));
                }
            }
            w.execute(
                "UPDATE staff SET active = ?2, updated_at = ?3 WHERE id = ?1",
                params![staff_id, active, w.now_text()],
            )?;
            let staff = w.query_row(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = ?1"), [staff_id], staff_from_row)?;
            w.log("staff", staff_id, if active { "enable" } else { "disable" }, None, &staff)?;
            Ok(staff)
        })
    }

    pub fn change_password(&self, session: &Session, old_password: &str, new_password: &str) -> Result<()> {
        self.login(&session.username, old_password)?;
        if new_password.chars().count() < MIN_PASSWORD_LEN {
            return Err(CoreError::invalid(Field::Password, Rule::PasswordTooShort { min: MIN_PASSWORD_LEN }));
        }
        let hash = hash_password(new_password)?;
        self.write(session, |w| {
            w.execute(
                "UPDATE staff SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                params![session.staff_id, hash, w.now_text()],
            )?;
            // The hash itself never enters the log (it is synced to head office).
            w.log("staff", &session.staff_id, "change_password", None, &serde_json::json!({}))?;
            Ok(())
        })
    }
}
