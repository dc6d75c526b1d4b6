//! Import 导入 of members (with their guardians) and leads from CSV: how a centre moving
//! in brings the lists it kept in Excel. The manager's (`Action::ImportData`).
//!
//! - **Encoding**: a UTF-8 BOM, or UTF-16 by its BOM (Excel's "Unicode text"), is
//!   believed; otherwise valid UTF-8 is UTF-8 and anything else is decoded as GB18030
//!   (what Chinese Excel and WPS save as "CSV"; a superset of GBK and GB2312). Cells are
//!   split on commas, or on tabs when the header line has more tabs than commas.
//! - **Columns** are guessed from Chinese or English headers (姓名/学员姓名/name,
//!   家长电话/手机/phone …, see `ALIASES`); an explicit mapping (column index → field, or
//!   no field to ignore the column) overrides the guess for the columns it names, and
//!   takes the field away from any guessed column.
//! - **Preview** ([`Core::import_preview`]) writes nothing; **commit**
//!   ([`Core::import_commit`]) checks the file again inside one write transaction and
//!   imports every accepted row in it (all or nothing), each created row logged through
//!   the normal write path, plus one `import/commit` entry summing up the file.
//! - **Nothing is silently dropped**: every non-blank line after the header is a row of
//!   the report, `accepted`, `merged` (with the record it matched) or `rejected` (with
//!   every reason, in zh-CN and en, from the same messages the forms show). Blank lines
//!   (Excel's trailing `,,,,`) are counted in `blank_lines`.
//! - **Members**: a row with a birthday is approved at once with the next member number
//!   (the desk approves as soon as it has the birthday, and a centre moving in has been
//!   teaching these children already); a row without one becomes an applicant 待审核, to
//!   be completed and approved at the desk. Gender and name are required as at the desk.
//!   A guardian is created when the row has a guardian name, phone or WeChat: the phone
//!   is then required (a guardian is reached by phone), the relation defaults to 家长
//!   and the name to the one of the guardian the centre (or an earlier row) already has
//!   with that phone, else to the child's name + relation (王小明妈妈). A guardian with
//!   the same name and phone is reused, so brothers and sisters share one.
//! - **Duplicates** (members): the same guardian phone and child name, or the same
//!   name and birthday, as a member already in the database or an earlier row of the
//!   file → `merged`, not created again. When the merged row brings a guardian phone
//!   the child does not have yet (the second parent's row), that guardian is linked to
//!   the child on commit (`links_guardian`).
//! - **Leads** become `new` leads without a consultant; the source must be one of the
//!   centre's lead sources (settings), as in the form. Duplicates: the same name and
//!   phone (or WeChat when there is no phone) as a lead in the database or an earlier row.
//! - Cells are trimmed; the `'` an export puts before `=`, `+`, `-`, `@` and Excel's
//!   `="…"` text guard are taken off.

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{CoreError, Field, Lang, Result, Rule};
use crate::leads::{self, LeadInput};
use crate::members;
use crate::validate;
use chrono::NaiveDate;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use ts_rs::TS;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ImportKind {
    Members,
    Leads,
}

impl ImportKind {
    pub fn parse(s: &str) -> Option<ImportKind> {
        match s.trim() {
            "members" | "member" => Some(ImportKind::Members),
            "leads" | "lead" => Some(ImportKind::Leads),
            _ => None,
        }
    }

    /// The fields a column of this kind of file may hold.
    pub fn fields(self) -> &'static [ImportField] {
        use ImportField::*;
        match self {
            ImportKind::Members => &[Name, Gender, Birthday, GuardianName, Relation, Phone, Wechat, School, CourseInterest, Notes],
            ImportKind::Leads => &[Name, ContactName, Phone, Wechat, Gender, Birthday, Source, Needs, NextFollowUp, Notes],
        }
    }
}

/// The field a column holds. For members `phone` and `wechat` are the guardian's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ImportField {
    Name,
    Gender,
    Birthday,
    School,
    CourseInterest,
    Notes,
    GuardianName,
    Relation,
    Phone,
    Wechat,
    ContactName,
    Source,
    Needs,
    NextFollowUp,
}

impl ImportField {
    pub const ALL: [ImportField; 14] = [
        ImportField::Name,
        ImportField::Gender,
        ImportField::Birthday,
        ImportField::School,
        ImportField::CourseInterest,
        ImportField::Notes,
        ImportField::GuardianName,
        ImportField::Relation,
        ImportField::Phone,
        ImportField::Wechat,
        ImportField::ContactName,
        ImportField::Source,
        ImportField::Needs,
        ImportField::NextFollowUp,
    ];

    pub fn as_str(self) -> &'static str {
        use ImportField::*;
        match self {
            Name => "name",
            Gender => "gender",
            Birthday => "birthday",
            School => "school",
            CourseInterest => "course_interest",
            Notes => "notes",
            GuardianName => "guardian_name",
            Relation => "relation",
            Phone => "phone",
            Wechat => "wechat",
            ContactName => "contact_name",
            Source => "source",
            Needs => "needs",
            NextFollowUp => "next_follow_up",
        }
    }

    pub fn parse(s: &str) -> Option<ImportField> {
        ImportField::ALL.into_iter().find(|f| f.as_str() == s.trim())
    }

    /// The form field whose label and rules this column uses.
    pub fn form_field(self, kind: ImportKind) -> Field {
        use ImportField::*;
        match self {
            Name => Field::Name,
            Gender => Field::Gender,
            Birthday => Field::Birthday,
            School => Field::School,
            CourseInterest => Field::CourseInterest,
            Notes => Field::Notes,
            GuardianName => Field::GuardianName,
            Relation => Field::Relation,
            Phone if kind == ImportKind::Members => Field::GuardianPhone,
            Phone => Field::Phone,
            Wechat => Field::Wechat,
            ContactName => Field::ContactName,
            Source => Field::Source,
            Needs => Field::Needs,
            NextFollowUp => Field::NextFollowUp,
        }
    }

    pub fn label(self, kind: ImportKind, lang: Lang) -> String {
        self.form_field(kind).label(lang)
    }
}

/// One column of an explicit mapping: `field: null` ignores the column.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ColumnMapping {
    /// 0-based column index.
    pub column: usize,
    pub field: Option<ImportField>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RowStatus {
    Accepted,
    Merged,
    Rejected,
}

/// A reason (a rule broken, or why a row was merged) in both languages.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ImportMessage {
    pub code: String,
    pub field: Option<Field>,
    pub zh: String,
    pub en: String,
}

impl ImportMessage {
    fn from_error(e: &CoreError) -> ImportMessage {
        ImportMessage { code: e.code(), field: e.field(), zh: e.message(Lang::ZhCn), en: e.message(Lang::En) }
    }

    pub fn text(&self, lang: Lang) -> &str {
        match lang {
            Lang::ZhCn => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// A row's values as they will be stored (normalised where valid, as given otherwise).
/// Members use the guardian fields; leads use contact, source, needs and next follow-up.
#[derive(Debug, Clone, Serialize, TS, Default, PartialEq)]
#[ts(export)]
pub struct ImportValues {
    pub name: String,
    /// `M`, `F` or empty.
    pub gender: String,
    /// `YYYY-MM-DD` or empty.
    pub birthday: String,
    pub school: String,
    pub course_interest: String,
    pub notes: String,
    pub guardian_name: String,
    pub relation: String,
    pub phone: String,
    pub wechat: String,
    pub contact_name: String,
    pub source: String,
    pub needs: String,
    pub next_follow_up: String,
}

/// The record a merged row is the same as.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ImportMatch {
    /// The member or lead; empty in a preview when it is an earlier row of the file.
    pub id: Option<String>,
    pub name: String,
    pub member_no: Option<String>,
    /// The earlier line of this file it repeats.
    pub line: Option<i64>,
    /// `phone_and_name`, `name_and_birthday` or `wechat_and_name`.
    pub by: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ImportRow {
    /// Line of the file where the row starts (the header is line 1).
    pub line: i64,
    pub status: RowStatus,
    pub values: ImportValues,
    /// Why it was rejected (every rule broken) or merged.
    pub reasons: Vec<ImportMessage>,
    pub matched: Option<ImportMatch>,
    /// A merged member row whose guardian phone is new for the child: linked on commit.
    pub links_guardian: bool,
    /// After a commit: the member or lead created, or the one a merged row matched.
    pub record_id: Option<String>,
    /// After a commit: the member number given (a member row with a birthday).
    pub member_no: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ImportPreview {
    pub kind: ImportKind,
    /// `UTF-8`, `UTF-8 (BOM)`, `UTF-16LE`, `UTF-16BE` or `GB18030`.
    pub encoding: String,
    /// `,` or a tab.
    pub delimiter: String,
    pub headers: Vec<String>,
    /// The guess from the headers, one entry per column.
    pub guessed: Vec<Option<ImportField>>,
    /// The mapping used (the guess with the explicit mapping applied).
    pub mapping: Vec<Option<ImportField>>,
    pub rows: Vec<ImportRow>,
    pub accepted: i64,
    pub merged: i64,
    pub rejected: i64,
    /// Lines with no value in any cell (not rows).
    pub blank_lines: i64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ImportReport {
    #[serde(flatten)]
    pub preview: ImportPreview,
    /// Members or leads created.
    pub created: i64,
    /// Of the members created, those approved with a member number.
    pub approved: i64,
    /// Guardians linked to a child who was already there (merged rows).
    pub guardians_linked: i64,
}

// ---------------------------------------------------------------------------------
// Reading the file

/// The largest file an import reads: a centre's 20,000 members with guardians and notes
/// are ~3 MB as CSV, so this leaves room and keeps a wrong file (a video, a database)
/// from being read into memory whole, decoded and parsed.
pub const MAX_FILE_BYTES: usize = 20 << 20;
/// Data rows in one import (it is one transaction, and its preview one screen list).
pub const MAX_ROWS: usize = 50_000;
/// Columns: a member sheet has ~15; exports with every column ~40.
pub const MAX_COLUMNS: usize = 200;
/// Characters in one cell: the longest field (notes) takes 500.
pub const MAX_CELL_CHARS: usize = 2_000;

struct Table {
    encoding: &'static str,
    delimiter: u8,
    headers: Vec<String>,
    /// (line, cells)
    rows: Vec<(i64, Vec<String>)>,
    blank_lines: i64,
}

/// The text of the file and the encoding it was read in.
pub fn decode(bytes: &[u8]) -> (String, &'static str) {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return (String::from_utf8_lossy(rest).into_owned(), "UTF-8 (BOM)");
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let (text, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(rest);
        return (text.into_owned(), "UTF-16LE");
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let (text, _) = encoding_rs::UTF_16BE.decode_without_bom_handling(rest);
        return (text.into_owned(), "UTF-16BE");
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), "UTF-8"),
        Err(_) => {
            let (text, _) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            (text.into_owned(), "GB18030")
        }
    }
}

/// A cell as typed: trimmed, without the guards exports and Excel put around text.
fn clean_cell(raw: &str) -> String {
    let v = raw.trim();
    // Excel's ="0138…" keeps a long number as text.
    let v = match v.strip_prefix("=\"").and_then(|x| x.strip_suffix('"')) {
        Some(inner) => inner,
        None => v,
    };
    // Our own export neutralises formula starts with a leading '.
    let v = match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => v,
    };
    v.trim().to_string()
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}')
}

/// A Chinese name padded for alignment in Excel (`王　明`, `王 明`) → `王明`; other names
/// are left to the name rule.
fn tidy_name(name: &str) -> String {
    let has_space = name.chars().any(char::is_whitespace);
    if has_space && name.chars().filter(|c| !c.is_whitespace()).all(|c| is_han(c) || c == '·') {
        name.chars().filter(|c| !c.is_whitespace()).collect()
    } else {
        name.to_string()
    }
}

fn read_table(bytes: &[u8]) -> Result<Table> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(CoreError::invalid(Field::ImportFile, Rule::FileTooLarge { max_mb: MAX_FILE_BYTES >> 20 }));
    }
    let (text, encoding) = decode(bytes);
    // A list the desk exported comes back with its footer line: not a row.
    let (table_text, _) = crate::export::strip_footer(&text);
    let text = table_text.to_string();
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut headers: Option<Vec<String>> = None;
    let mut rows = vec![];
    let mut blank_lines = 0;
    let mut record = csv::ByteRecord::new();
    // Line numbers from byte offsets (the reader's own count differs with CRLF files).
    let (mut counted_to, mut newlines) = (0usize, 0i64);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(newlines + 1, |p| p.line() as i64);
                return Err(CoreError::invalid(Field::ImportFile, Rule::Unreadable { line }));
            }
        }
        let mut start = record.position().map(|p| p.byte() as usize).unwrap_or(counted_to).clamp(counted_to, text.len());
        while matches!(text.as_bytes().get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        newlines += text.as_bytes()[counted_to..start].iter().filter(|b| **b == b'\n').count() as i64;
        counted_to = start;
        let line = newlines + 1;
        if record.len() > MAX_COLUMNS {
            return Err(CoreError::invalid(Field::ImportFile, Rule::TooManyColumns { max: MAX_COLUMNS }));
        }
        // Bytes bound characters from above: only a long cell needs counting.
        if record.iter().any(|c| c.len() > MAX_CELL_CHARS && String::from_utf8_lossy(c).chars().count() > MAX_CELL_CHARS) {
            return Err(CoreError::invalid(Field::ImportFile, Rule::CellTooLong { line, max: MAX_CELL_CHARS }));
        }
        let cells: Vec<String> = record.iter().map(|c| clean_cell(&String::from_utf8_lossy(c))).collect();
        let blank = cells.iter().all(|c| c.is_empty());
        match &headers {
            None if blank => {}
            None => headers = Some(cells),
            Some(_) if blank => blank_lines += 1,
            Some(_) if rows.len() == MAX_ROWS => return Err(CoreError::invalid(Field::ImportFile, Rule::TooManyRows { max: MAX_ROWS })),
            Some(_) => rows.push((line, cells)),
        }
    }
    let headers = headers.ok_or(CoreError::invalid(Field::ImportFile, Rule::Required))?;
    Ok(Table { encoding, delimiter, headers, rows, blank_lines })
}

// ---------------------------------------------------------------------------------
// Guessing the columns

/// Header spellings (after [`header_key`]) → field. For leads, the guardian's name is
/// the contact and the course interest is the need.
const ALIASES: &[(ImportField, &[&str])] = &[
    (ImportField::Name, &[
        "姓名", "学员姓名", "学员", "学生姓名", "学生", "孩子姓名", "孩子", "小孩姓名", "幼儿姓名", "儿童姓名", "会员姓名", "会员", "名字",
        "客户姓名", "客户", "name", "studentname", "student", "childname", "child", "fullname", "membername", "leadname",
    ]),
    (ImportField::Gender, &["性别", "学员性别", "gender", "sex"]),
    (ImportField::Birthday, &["生日", "出生日期", "出生年月日", "出生年月", "学员生日", "birthday", "birthdate", "dateofbirth", "dob"]),
    (ImportField::GuardianName, &[
        "家长", "家长姓名", "监护人", "监护人姓名", "联系人", "联系人姓名", "父母", "父母姓名", "guardian", "guardianname", "parent", "parentname",
        "contact", "contactname",
    ]),
    (ImportField::Relation, &["关系", "与学员关系", "家长关系", "与孩子关系", "亲属关系", "称谓", "relation", "relationship"]),
    (ImportField::Phone, &[
        "电话", "手机", "手机号", "手机号码", "联系电话", "联系方式", "家长电话", "家长手机", "家长手机号", "电话号码", "监护人电话", "联系人电话",
        "phone", "mobile", "tel", "telephone", "phonenumber", "mobilephone", "guardianphone", "parentphone", "cell", "cellphone",
    ]),
    (ImportField::Wechat, &["微信", "微信号", "家长微信", "wechat", "wechatid", "weixin", "wx"]),
    (ImportField::School, &["学校", "就读学校", "所在学校", "school"]),
    (ImportField::CourseInterest, &["意向课程", "课程", "报名课程", "课程意向", "course", "courseinterest", "interest"]),
    (ImportField::Notes, &["备注", "说明", "备注信息", "notes", "note", "remarks", "remark", "comments", "comment", "memo"]),
    (ImportField::Source, &["来源", "来源渠道", "渠道", "客户来源", "线索来源", "source", "channel", "leadsource"]),
    (ImportField::Needs, &["需求", "客户需求", "意向", "needs", "need", "requirements", "requirement"]),
    (ImportField::NextFollowUp, &["下次跟进", "下次跟进日期", "下次跟进时间", "跟进日期", "nextfollowup", "followup", "nextfollowupdate"]),
];

/// Words a longer header may contain, tried in order when no spelling matched exactly.
const CONTAINS: &[(ImportField, &[&str])] = &[
    (ImportField::Phone, &["电话", "手机", "phone", "mobile"]),
    (ImportField::Birthday, &["生日", "出生", "birth"]),
    (ImportField::Wechat, &["微信", "wechat"]),
    (ImportField::Gender, &["性别", "gender"]),
    (ImportField::NextFollowUp, &["跟进", "followup"]),
    (ImportField::Notes, &["备注", "note"]),
    (ImportField::Relation, &["关系", "relation"]),
    (ImportField::GuardianName, &["家长", "监护人", "联系人", "guardian", "parent", "contact"]),
    (ImportField::Source, &["来源", "渠道", "source"]),
    (ImportField::School, &["学校", "school"]),
    (ImportField::Needs, &["需求"]),
    (ImportField::CourseInterest, &["课程", "course"]),
    (ImportField::Name, &["姓名", "name"]),
];

/// A header reduced for matching: half-width, lower case, without spaces, punctuation
/// and bracketed remarks (`手机号（必填）` → `手机号`).
fn header_key(h: &str) -> String {
    let folded = validate::fold_full_width(h).to_lowercase();
    let mut out = String::new();
    let mut depth = 0usize;
    for c in folded.chars() {
        match c {
            '(' | '[' | '【' | '〔' => depth += 1,
            ')' | ']' | '】' | '〕' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// The field a spelling means in this kind of file.
fn for_kind(field: ImportField, kind: ImportKind) -> Option<ImportField> {
    use ImportField::*;
    let f = match (kind, field) {
        (ImportKind::Leads, GuardianName) => ContactName,
        (ImportKind::Leads, CourseInterest) => Needs,
        (ImportKind::Members, ContactName) => GuardianName,
        (k, f) => {
            return k.fields().contains(&f).then_some(f);
        }
    };
    Some(f)
}

fn guess_one(header: &str, kind: ImportKind) -> Option<ImportField> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    let exact = ALIASES.iter().find(|(_, names)| names.contains(&key.as_str())).map(|(f, _)| *f);
    let field = exact.or_else(|| CONTAINS.iter().find(|(_, words)| words.iter().any(|w| key.contains(w))).map(|(f, _)| *f))?;
    for_kind(field, kind)
}

/// One field per column from the headers; a field goes to the first column that names it.
pub fn guess_mapping(headers: &[String], kind: ImportKind) -> Vec<Option<ImportField>> {
    let mut taken = HashSet::new();
    headers
        .iter()
        .map(|h| guess_one(h, kind).filter(|f| taken.insert(*f)))
        .collect()
}

fn apply_mapping(kind: ImportKind, guessed: &[Option<ImportField>], explicit: Option<&[ColumnMapping]>) -> Result<Vec<Option<ImportField>>> {
    let mut out = guessed.to_vec();
    let Some(explicit) = explicit else { return Ok(out) };
    for m in explicit {
        if m.column >= out.len() {
            let max = out.len() as i64;
            return Err(CoreError::invalid(Field::Column, Rule::IntRange { min: 1, max }));
        }
        if let Some(f) = m.field {
            if !kind.fields().contains(&f) {
                let allowed = kind.fields().iter().map(|f| f.as_str().to_string()).collect();
                return Err(CoreError::invalid(Field::Column, Rule::OneOf { allowed }));
            }
        }
    }
    for m in explicit {
        if let Some(f) = m.field {
            for slot in out.iter_mut() {
                if *slot == Some(f) {
                    *slot = None;
                }
            }
        }
        out[m.column] = m.field;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------
// Checking the rows

/// What a row will do on commit.
#[derive(Clone)]
enum Plan {
    Skip,
    CreateMember { guardian: bool },
    CreateLead,
    /// The same as `target`; `link`: its guardian is linked to that member.
    Merged { target: Target, link: bool },
}

/// The record a merged row belongs to.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Target {
    Existing { id: String, name: String, member_no: Option<String> },
    /// The row at this index of the report (created earlier in the same commit).
    Row(usize),
}

struct Checked {
    rows: Vec<ImportRow>,
    plans: Vec<Plan>,
}

/// What the database already holds, read once.
#[derive(Default)]
struct Known {
    /// key → member or lead
    by_key: HashMap<String, Target>,
    /// member id → guardian phones
    phones: HashMap<String, HashSet<String>>,
    /// phone → the name of the first guardian with it
    guardian_names: HashMap<String, String>,
}

fn key_phone_name(phone: &str, name: &str) -> String {
    format!("p\u{1}{phone}\u{1}{name}")
}
fn key_name_birthday(name: &str, birthday: &str) -> String {
    format!("b\u{1}{name}\u{1}{birthday}")
}
fn key_wechat_name(wechat: &str, name: &str) -> String {
    format!("w\u{1}{wechat}\u{1}{name}")
}

fn load_known(c: &Connection, kind: ImportKind) -> Result<Known> {
    let mut known = Known::default();
    match kind {
        ImportKind::Members => {
            let mut stmt = c.prepare(
                "SELECT g.phone, m.id, m.name, m.member_no FROM member_guardians mg
                 JOIN guardians g ON g.id = mg.guardian_id JOIN members m ON m.id = mg.member_id
                 ORDER BY m.created_at, mg.created_at",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?)))?;
            for row in rows {
                let (phone, id, name, member_no) = row?;
                known.phones.entry(id.clone()).or_default().insert(phone.clone());
                known.by_key.entry(key_phone_name(&phone, &name)).or_insert(Target::Existing { id, name, member_no });
            }
            let mut stmt = c.prepare("SELECT phone, name FROM guardians ORDER BY created_at")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
                let (phone, name) = row?;
                known.guardian_names.entry(phone).or_insert(name);
            }
            let mut stmt = c.prepare("SELECT id, name, member_no, birthday FROM members WHERE birthday IS NOT NULL ORDER BY created_at")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, String>(3)?)))?;
            for row in rows {
                let (id, name, member_no, birthday) = row?;
                known.by_key.entry(key_name_birthday(&name, &birthday)).or_insert(Target::Existing { id, name, member_no });
            }
        }
        ImportKind::Leads => {
            let mut stmt = c.prepare("SELECT id, name, phone, wechat FROM leads ORDER BY created_at")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)))?;
            for row in rows {
                let (id, name, phone, wechat) = row?;
                let target = Target::Existing { id, name: name.clone(), member_no: None };
                if !phone.is_empty() {
                    known.by_key.entry(key_phone_name(&phone, &name)).or_insert(target.clone());
                }
                if !wechat.is_empty() {
                    known.by_key.entry(key_wechat_name(&wechat, &name)).or_insert(target);
                }
            }
        }
    }
    Ok(known)
}

/// Collects the errors of one row's fields.
struct Errors(Vec<ImportMessage>);

impl Errors {
    fn take<T>(&mut self, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(ImportMessage::from_error(&e));
                None
            }
        }
    }
}

fn cell<'a>(cells: &'a [String], mapping: &[Option<ImportField>], field: ImportField) -> &'a str {
    mapping
        .iter()
        .position(|m| *m == Some(field))
        .and_then(|i| cells.get(i))
        .map(String::as_str)
        .unwrap_or("")
}

/// The values, the errors, whether the row has a guardian, and whether the file named them.
fn check_member(cells: &[String], mapping: &[Option<ImportField>], today: NaiveDate) -> (ImportValues, Errors, bool, bool) {
    use ImportField as F;
    let get = |f| cell(cells, mapping, f).to_string();
    let mut v = ImportValues {
        name: get(F::Name),
        gender: get(F::Gender),
        birthday: get(F::Birthday),
        school: get(F::School),
        course_interest: get(F::CourseInterest),
        notes: get(F::Notes),
        guardian_name: get(F::GuardianName),
        relation: get(F::Relation),
        phone: get(F::Phone),
        wechat: get(F::Wechat),
        ..Default::default()
    };
    v.name = tidy_name(&v.name);
    v.guardian_name = tidy_name(&v.guardian_name);
    let mut e = Errors(vec![]);
    let name = e.take(validate::person_name(Field::Name, &v.name));
    if let Some(n) = &name {
        v.name = n.clone();
    }
    if let Some(g) = e.take(validate::gender(Field::Gender, &v.gender)) {
        v.gender = g.to_string();
    }
    if let Some(b) = e.take(validate::birthday(&Some(v.birthday.clone()), today)) {
        v.birthday = b.map(|d| d.to_string()).unwrap_or_default();
    }
    if let Some(s) = e.take(validate::optional_text(Field::School, &v.school, 40)) {
        v.school = s;
    }
    if let Some(s) = e.take(validate::optional_text(Field::CourseInterest, &v.course_interest, 60)) {
        v.course_interest = s;
    }
    if let Some(s) = e.take(validate::optional_text(Field::Notes, &v.notes, 500)) {
        v.notes = s;
    }
    let guardian = !(v.guardian_name.is_empty() && v.phone.is_empty() && v.wechat.is_empty());
    let named = !v.guardian_name.is_empty();
    if guardian {
        if let Some(p) = e.take(validate::mobile(Field::GuardianPhone, &v.phone)) {
            v.phone = p;
        }
        if v.relation.is_empty() {
            v.relation = "家长".into();
        } else if let Some(r) = e.take(validate::required_text(Field::Relation, &v.relation, 10)) {
            v.relation = r;
        }
        if v.guardian_name.is_empty() {
            if let Some(n) = &name {
                v.guardian_name = format!("{n}{}", v.relation);
            }
        }
        if !v.guardian_name.is_empty() {
            if let Some(g) = e.take(validate::person_name(Field::GuardianName, &v.guardian_name)) {
                v.guardian_name = g;
            }
        }
        if let Some(w) = e.take(validate::optional_text(Field::Wechat, &v.wechat, 40)) {
            v.wechat = w;
        }
    }
    (v, e, guardian, named)
}

fn check_lead(c: &Connection, cells: &[String], mapping: &[Option<ImportField>], today: NaiveDate) -> (ImportValues, Errors) {
    use ImportField as F;
    let get = |f| cell(cells, mapping, f).to_string();
    let mut v = ImportValues {
        name: get(F::Name),
        contact_name: get(F::ContactName),
        phone: get(F::Phone),
        wechat: get(F::Wechat),
        gender: get(F::Gender),
        birthday: get(F::Birthday),
        source: get(F::Source),
        needs: get(F::Needs),
        next_follow_up: get(F::NextFollowUp),
        notes: get(F::Notes),
        ..Default::default()
    };
    v.name = tidy_name(&v.name);
    v.contact_name = tidy_name(&v.contact_name);
    let mut e = Errors(vec![]);
    if let Some(n) = e.take(validate::person_name(Field::Name, &v.name)) {
        v.name = n;
    }
    if !v.contact_name.is_empty() {
        if let Some(n) = e.take(validate::person_name(Field::ContactName, &v.contact_name)) {
            v.contact_name = n;
        }
    }
    let phone = e.take(validate::optional_mobile(Field::Phone, &v.phone));
    if let Some(p) = &phone {
        v.phone = p.clone();
    }
    let wechat = e.take(validate::optional_text(Field::Wechat, &v.wechat, 40));
    if let Some(w) = &wechat {
        v.wechat = w.clone();
    }
    if phone.as_deref() == Some("") && wechat.as_deref() == Some("") {
        e.0.push(ImportMessage::from_error(&CoreError::invalid(Field::Phone, Rule::PhoneOrWechat)));
    }
    if !v.gender.is_empty() {
        if let Some(g) = e.take(validate::gender(Field::Gender, &v.gender)) {
            v.gender = g.to_string();
        }
    }
    if let Some(b) = e.take(validate::birthday(&Some(v.birthday.clone()), today)) {
        v.birthday = b.map(|d| d.to_string()).unwrap_or_default();
    }
    if let Some(s) = e.take(leads::check_source(c, &v.source)) {
        v.source = s;
    }
    if let Some(s) = e.take(validate::optional_text(Field::Needs, &v.needs, 300)) {
        v.needs = s;
    }
    if let Some(d) = e.take(validate::optional_date(Field::NextFollowUp, &Some(v.next_follow_up.clone()))) {
        v.next_follow_up = d.map(|d| d.to_string()).unwrap_or_default();
    }
    if let Some(s) = e.take(validate::optional_text(Field::Notes, &v.notes, 500)) {
        v.notes = s;
    }
    (v, e)
}

fn merged_message(kind: ImportKind, target: &Target, by: &str, rows: &[ImportRow], linked_phone: Option<&str>) -> ImportMessage {
    let (who_zh, who_en) = match target {
        Target::Existing { name, member_no, .. } => match kind {
            ImportKind::Members => match member_no {
                Some(no) => (format!("已有会员 {no} {name}"), format!("existing member {no} {name}")),
                None => (format!("已有待审核会员 {name}"), format!("existing applicant {name}")),
            },
            ImportKind::Leads => (format!("已有潜在客户 {name}"), format!("existing lead {name}")),
        },
        Target::Row(i) => {
            let line = rows.get(*i).map(|r| r.line).unwrap_or(0);
            (format!("第 {line} 行"), format!("line {line}"))
        }
    };
    let (why_zh, why_en) = match by {
        "phone_and_name" if kind == ImportKind::Members => ("家长电话和姓名相同", "same guardian phone and name"),
        "phone_and_name" => ("电话和姓名相同", "same phone and name"),
        "wechat_and_name" => ("微信号和姓名相同", "same WeChat ID and name"),
        _ => ("姓名和出生日期相同", "same name and birthday"),
    };
    let (mut zh, mut en) = (format!("与{who_zh}重复（{why_zh}），不重复创建"), format!("Same as {who_en} ({why_en}); not created again"));
    if let Some(p) = linked_phone {
        zh.push_str(&format!("；新的家长电话 {p} 关联到该学员"));
        en.push_str(&format!("; the new guardian phone {p} is linked to the child"));
    }
    ImportMessage { code: "import.merged".into(), field: None, zh, en }
}

fn check_rows(c: &Connection, kind: ImportKind, table: &Table, mapping: &[Option<ImportField>], today: NaiveDate) -> Result<Checked> {
    let mut known = load_known(c, kind)?;
    // Guardian phones each target will have after the commit.
    let mut phones: HashMap<Target, HashSet<String>> = HashMap::new();
    let mut rows: Vec<ImportRow> = Vec::with_capacity(table.rows.len());
    let mut plans = Vec::with_capacity(table.rows.len());
    for (line, cells) in &table.rows {
        let (values, errors, guardian, named) = match kind {
            ImportKind::Members => check_member(cells, mapping, today),
            ImportKind::Leads => {
                let (v, e) = check_lead(c, cells, mapping, today);
                (v, e, false, true)
            }
        };
        let mut row = ImportRow {
            line: *line,
            status: RowStatus::Rejected,
            values,
            reasons: errors.0,
            matched: None,
            links_guardian: false,
            record_id: None,
            member_no: None,
        };
        if !row.reasons.is_empty() {
            rows.push(row);
            plans.push(Plan::Skip);
            continue;
        }
        // A guardian the file does not name is the one the centre already has with that phone.
        if guardian && !named {
            if let Some(n) = known.guardian_names.get(&row.values.phone) {
                row.values.guardian_name = n.clone();
            }
        }
        let v = row.values.clone();
        if guardian {
            known.guardian_names.entry(v.phone.clone()).or_insert_with(|| v.guardian_name.clone());
        }
        let mut keys: Vec<(String, &'static str)> = vec![];
        match kind {
            ImportKind::Members => {
                if !v.phone.is_empty() {
                    keys.push((key_phone_name(&v.phone, &v.name), "phone_and_name"));
                }
                if !v.birthday.is_empty() {
                    keys.push((key_name_birthday(&v.name, &v.birthday), "name_and_birthday"));
                }
            }
            ImportKind::Leads => {
                if !v.phone.is_empty() {
                    keys.push((key_phone_name(&v.phone, &v.name), "phone_and_name"));
                }
                if !v.wechat.is_empty() {
                    keys.push((key_wechat_name(&v.wechat, &v.name), "wechat_and_name"));
                }
            }
        }
        let found = keys.iter().find_map(|(k, by)| known.by_key.get(k).map(|t| (t.clone(), *by)));
        let index = rows.len();
        let target = match found {
            Some((target, by)) => {
                let mut link = None;
                if kind == ImportKind::Members && guardian {
                    let have = phones.entry(target.clone()).or_insert_with(|| match &target {
                        Target::Existing { id, .. } => known.phones.get(id).cloned().unwrap_or_default(),
                        Target::Row(_) => HashSet::new(),
                    });
                    if have.insert(v.phone.clone()) {
                        link = Some(v.phone.clone());
                    }
                }
                row.reasons.push(merged_message(kind, &target, by, &rows, link.as_deref()));
                row.matched = Some(match &target {
                    Target::Existing { id, name, member_no } => {
                        ImportMatch { id: Some(id.clone()), name: name.clone(), member_no: member_no.clone(), line: None, by: by.into() }
                    }
                    Target::Row(i) => ImportMatch {
                        id: None,
                        name: rows.get(*i).map(|r| r.values.name.clone()).unwrap_or_default(),
                        member_no: None,
                        line: rows.get(*i).map(|r| r.line),
                        by: by.into(),
                    },
                });
                row.status = RowStatus::Merged;
                row.links_guardian = link.is_some();
                plans.push(Plan::Merged { target: target.clone(), link: link.is_some() });
                target
            }
            None => {
                row.status = RowStatus::Accepted;
                let target = Target::Row(index);
                if guardian {
                    phones.entry(target.clone()).or_default().insert(v.phone.clone());
                }
                plans.push(match kind {
                    ImportKind::Members => Plan::CreateMember { guardian },
                    ImportKind::Leads => Plan::CreateLead,
                });
                target
            }
        };
        // Later rows that repeat this one, by any of its keys, are merged into it.
        for (k, _) in keys {
            known.by_key.entry(k).or_insert_with(|| target.clone());
        }
        rows.push(row);
    }
    Ok(Checked { rows, plans })
}

fn preview_of(kind: ImportKind, table: &Table, guessed: Vec<Option<ImportField>>, mapping: Vec<Option<ImportField>>, rows: Vec<ImportRow>) -> ImportPreview {
    let count = |s: RowStatus| rows.iter().filter(|r| r.status == s).count() as i64;
    ImportPreview {
        kind,
        encoding: table.encoding.to_string(),
        delimiter: (table.delimiter as char).to_string(),
        headers: table.headers.clone(),
        guessed,
        mapping,
        accepted: count(RowStatus::Accepted),
        merged: count(RowStatus::Merged),
        rejected: count(RowStatus::Rejected),
        blank_lines: table.blank_lines,
        rows,
    }
}

/// One field (or none) per column.
type Mapping = Vec<Option<ImportField>>;

/// The file read, the guessed mapping and the one to use.
fn prepare(kind: ImportKind, bytes: &[u8], mapping: Option<&[ColumnMapping]>) -> Result<(Table, Mapping, Mapping)> {
    let table = read_table(bytes)?;
    let guessed = guess_mapping(&table.headers, kind);
    let used = apply_mapping(kind, &guessed, mapping)?;
    Ok((table, guessed, used))
}

// ---------------------------------------------------------------------------------
// Writing

struct Counts {
    created: i64,
    approved: i64,
    linked: i64,
}

fn commit_rows(w: &mut WriteTx, session: &Session, rows: &mut [ImportRow], plans: &[Plan]) -> Result<Counts> {
    let mut counts = Counts { created: 0, approved: 0, linked: 0 };
    for i in 0..rows.len() {
        let v = rows[i].values.clone();
        match &plans[i] {
            Plan::Skip => {}
            Plan::CreateMember { guardian } => {
                let id = members::insert_member(w, &v.name, &v.gender, None, &v.notes, None, None)?;
                let mut member_no = None;
                match validate::parse_date(&v.birthday) {
                    Some(birthday) => {
                        member_no = members::approve(w, &id, birthday, &v.school, &v.course_interest)?.member_no;
                        counts.approved += 1;
                    }
                    None if !v.school.is_empty() || !v.course_interest.is_empty() => {
                        members::set_school_and_interest(w, &id, &v.school, &v.course_interest)?;
                    }
                    None => {}
                }
                if *guardian {
                    let gid = members::insert_guardian(w, &v.guardian_name, &v.phone, &v.wechat)?;
                    members::link_guardian(w, &id, &gid, &v.relation, true)?;
                }
                counts.created += 1;
                rows[i].record_id = Some(id);
                rows[i].member_no = member_no;
            }
            Plan::CreateLead => {
                let input = LeadInput {
                    name: v.name.clone(),
                    contact_name: v.contact_name.clone(),
                    phone: v.phone.clone(),
                    wechat: v.wechat.clone(),
                    gender: Some(v.gender.clone()),
                    birthday: Some(v.birthday.clone()),
                    source: v.source.clone(),
                    consultant_id: None,
                    man_money: false,
                    man_authority: false,
                    man_need: false,
                    needs: v.needs.clone(),
                    notes: v.notes.clone(),
                    next_follow_up: Some(v.next_follow_up.clone()),
                };
                let lead = leads::create(w, session, &input)?;
                counts.created += 1;
                rows[i].record_id = Some(lead.id);
            }
            Plan::Merged { target, link } => {
                let member_id = match target {
                    Target::Existing { id, .. } => Some(id.clone()),
                    Target::Row(j) => rows.get(*j).and_then(|r| r.record_id.clone()),
                }
                .ok_or_else(|| CoreError::Internal("import: merged row before its record".into()))?;
                if *link {
                    let gid = members::insert_guardian(w, &v.guardian_name, &v.phone, &v.wechat)?;
                    let linked: bool = w.query_row(
                        "SELECT EXISTS(SELECT 1 FROM member_guardians WHERE member_id = ?1 AND guardian_id = ?2)",
                        [&member_id, &gid],
                        |r| r.get(0),
                    )?;
                    if !linked {
                        members::link_guardian(w, &member_id, &gid, &v.relation, false)?;
                        counts.linked += 1;
                    }
                }
                if let Some(m) = rows[i].matched.as_mut() {
                    m.id = Some(member_id.clone());
                }
                rows[i].record_id = Some(member_id);
            }
        }
    }
    Ok(counts)
}

impl Core {
    /// Reads and checks a file without writing anything: encoding, columns, and what
    /// each row would do.
    pub fn import_preview(&self, session: &Session, kind: ImportKind, bytes: &[u8], mapping: Option<&[ColumnMapping]>) -> Result<ImportPreview> {
        session.require(Action::ImportData)?;
        let (table, guessed, used) = prepare(kind, bytes, mapping)?;
        let today = self.today();
        let checked = self.read(|c| check_rows(c, kind, &table, &used, today))?;
        Ok(preview_of(kind, &table, guessed, used, checked.rows))
    }

    /// Imports every accepted row (and links the new guardians of merged ones) in one
    /// transaction: all or nothing. The report has every row of the file.
    pub fn import_commit(&self, session: &Session, kind: ImportKind, bytes: &[u8], mapping: Option<&[ColumnMapping]>) -> Result<ImportReport> {
        session.require(Action::ImportData)?;
        let (table, guessed, used) = prepare(kind, bytes, mapping)?;
        let (rows, counts) = self.write(session, |w| {
            let today = w.today();
            let Checked { mut rows, plans } = check_rows(w, kind, &table, &used, today)?;
            let counts = commit_rows(w, session, &mut rows, &plans)?;
            if counts.created + counts.linked > 0 {
                let id = crate::new_id();
                let summary = serde_json::json!({
                    "kind": kind,
                    "encoding": table.encoding,
                    "rows": rows.len(),
                    "accepted": rows.iter().filter(|r| r.status == RowStatus::Accepted).count(),
                    "merged": rows.iter().filter(|r| r.status == RowStatus::Merged).count(),
                    "rejected": rows.iter().filter(|r| r.status == RowStatus::Rejected).count(),
                    "created": counts.created,
                    "approved": counts.approved,
                    "guardians_linked": counts.linked,
                });
                w.log("import", &id, "commit", None, &summary)?;
            }
            Ok((rows, counts))
        })?;
        Ok(ImportReport {
            preview: preview_of(kind, &table, guessed, used, rows),
            created: counts.created,
            approved: counts.approved,
            guardians_linked: counts.linked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(headers: &[&str], kind: ImportKind) -> Vec<Option<ImportField>> {
        guess_mapping(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>(), kind)
    }

    #[test]
    fn headers_in_chinese_and_english_are_recognised() {
        use ImportField::*;
        assert_eq!(
            guess(&["学员姓名", "性别", "出生日期", "家长姓名", "关系", "家长电话", "微信", "就读学校", "备注"], ImportKind::Members),
            vec![Some(Name), Some(Gender), Some(Birthday), Some(GuardianName), Some(Relation), Some(Phone), Some(Wechat), Some(School), Some(Notes)]
        );
        assert_eq!(
            guess(&["Name", "Gender", "Date of birth", "Parent name", "Relationship", "Mobile Phone", "WeChat ID", "School", "Remarks"], ImportKind::Members),
            vec![Some(Name), Some(Gender), Some(Birthday), Some(GuardianName), Some(Relation), Some(Phone), Some(Wechat), Some(School), Some(Notes)]
        );
        assert_eq!(
            guess(&["*姓名", "手机号（必填）", "来源渠道", "需求", "联系人", "下次跟进日期", "序号"], ImportKind::Leads),
            vec![Some(Name), Some(Phone), Some(Source), Some(Needs), Some(ContactName), Some(NextFollowUp), None]
        );
        // A second phone column is left for the clerk to map; a leads-only field is not guessed for members.
        assert_eq!(guess(&["姓名", "电话", "手机", "来源"], ImportKind::Members), vec![Some(Name), Some(Phone), None, None]);
    }

    #[test]
    fn encodings() {
        let text = "姓名,电话\n王小明,13800000000\n";
        assert_eq!(decode(text.as_bytes()), (text.to_string(), "UTF-8"));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode(&bom), (text.to_string(), "UTF-8 (BOM)"));
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        assert_eq!(decode(&gb), (text.to_string(), "GB18030"));
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&utf16), (text.to_string(), "UTF-16LE"));
    }

    #[test]
    fn padded_chinese_names_are_closed_up() {
        assert_eq!(tidy_name("王\u{3000}明"), "王明");
        assert_eq!(tidy_name("王 明"), "王明");
        assert_eq!(tidy_name("Tom Li"), "Tom Li");
        assert_eq!(tidy_name("王小明"), "王小明");
        assert_eq!(tidy_name("迪丽热巴 · 迪力木拉提"), "迪丽热巴·迪力木拉提");
    }

    #[test]
    fn cell_guards_are_removed() {
        assert_eq!(clean_cell(" '+86 138 0000 0000 "), "+86 138 0000 0000");
        assert_eq!(clean_cell("=\"13800000000\""), "13800000000");
        assert_eq!(clean_cell("'abc"), "'abc");
    }
}
