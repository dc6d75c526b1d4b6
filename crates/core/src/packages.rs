//! Course packages 课程套餐: by lesson count (课时包) or by term (月卡/季卡/年卡).
//! Only the manager edits them; a package once sold is archived, never deleted, and
//! contracts keep their own copy of what was sold.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{CoreError, Field, Result, Rule};
use crate::money::Money;
use crate::validate;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Package {
    pub id: String,
    pub name: String,
    /// `lessons` or `term`.
    #[ts(as = "crate::vocab::PackageKind")]
    pub kind: String,
    pub lessons: Option<i64>,
    pub validity_days: Option<i64>,
    pub term_months: Option<i64>,
    pub price: Money,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct PackageInput {
    pub name: String,
    #[ts(as = "crate::vocab::PackageKind")]
    pub kind: String,
    pub lessons: Option<i64>,
    pub validity_days: Option<i64>,
    pub term_months: Option<i64>,
    pub price: String,
}

const COLUMNS: &str = "id, name, kind, lessons, validity_days, term_months, price, archived, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Package> {
    Ok(Package {
        id: r.get("id")?,
        name: r.get("name")?,
        kind: r.get("kind")?,
        lessons: r.get("lessons")?,
        validity_days: r.get("validity_days")?,
        term_months: r.get("term_months")?,
        price: r.get("price")?,
        archived: r.get("archived")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

pub(crate) fn load(c: &Connection, id: &str) -> Result<Package> {
    c.query_row(&format!("SELECT {COLUMNS} FROM packages WHERE id = ?1"), [id], from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Package))
}

struct Checked {
    name: String,
    kind: &'static str,
    lessons: Option<i64>,
    validity_days: Option<i64>,
    term_months: Option<i64>,
    price: Money,
}

fn check(input: &PackageInput) -> Result<Checked> {
    let name = validate::required_text(Field::PackageName, &input.name, 30)?;
    let price = validate::non_negative_money(Field::Price, &input.price)?;
    match input.kind.as_str() {
        "lessons" => {
            let lessons = input.lessons.ok_or(CoreError::invalid(Field::Lessons, Rule::Required))?;
            let validity = input.validity_days.ok_or(CoreError::invalid(Field::ValidityDays, Rule::Required))?;
            Ok(Checked {
                name,
                kind: "lessons",
                lessons: Some(validate::int_in(Field::Lessons, lessons, 1, 1000)?),
                validity_days: Some(validate::int_in(Field::ValidityDays, validity, 1, 3660)?),
                term_months: None,
                price,
            })
        }
        "term" => {
            let months = input.term_months.ok_or(CoreError::invalid(Field::TermMonths, Rule::Required))?;
            Ok(Checked { name, kind: "term", lessons: None, validity_days: None, term_months: Some(validate::int_in(Field::TermMonths, months, 1, 60)?), price })
        }
        _ => Err(CoreError::invalid(Field::PackageKind, Rule::OneOf { allowed: vec!["lessons".into(), "term".into()] })),
    }
}

impl Core {
    pub fn package_list(&self, session: &Session, include_archived: bool) -> Result<Vec<Package>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM packages WHERE (?1 OR archived = 0) ORDER BY archived, kind, price"
            ))?;
            let rows = stmt.query_map([include_archived], from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    pub fn package_create(&self, session: &Session, input: PackageInput) -> Result<Package> {
        session.require(Action::EditPackages)?;
        let p = check(&input)?;
        self.write(session, |w| {
            let id = crate::new_id();
            w.execute(
                "INSERT INTO packages (id, name, kind, lessons, validity_days, term_months, price, archived, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?8)",
                params![id, p.name, p.kind, p.lessons, p.validity_days, p.term_months, p.price, w.now_text()],
            )?;
            let pkg = load(w, &id)?;
            w.log("package", &id, "create", None, &pkg)?;
            Ok(pkg)
        })
    }

    /// Changes a package for future sales; contracts already sold keep their terms.
    pub fn package_update(&self, session: &Session, package_id: &str, input: PackageInput) -> Result<Package> {
        session.require(Action::EditPackages)?;
        let p = check(&input)?;
        self.write(session, |w| {
            load(w, package_id)?;
            w.execute(
                "UPDATE packages SET name = ?2, kind = ?3, lessons = ?4, validity_days = ?5, term_months = ?6, price = ?7, updated_at = ?8 WHERE id = ?1",
                params![package_id, p.name, p.kind, p.lessons, p.validity_days, p.term_months, p.price, w.now_text()],
            )?;
            let pkg = load(w, package_id)?;
            w.log("package", package_id, "update", None, &pkg)?;
            Ok(pkg)
        })
    }

    pub fn package_set_archived(&self, session: &Session, package_id: &str, archived: bool) -> Result<Package> {
        session.require(Action::EditPackages)?;
        self.write(session, |w| {
            load(w, package_id)?;
            w.execute(
                "UPDATE packages SET archived = ?2, updated_at = ?3 WHERE id = ?1",
                params![package_id, archived, w.now_text()],
            )?;
            let pkg = load(w, package_id)?;
            w.log("package", package_id, if archived { "archive" } else { "unarchive" }, None, &pkg)?;
            Ok(pkg)
        })
    }
}
