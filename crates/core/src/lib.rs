//! CentreDesk core: every rule of the centre lives here. The desktop shell, the CLI
//! and the tests all call this crate's service API (methods on [`Core`]); it never
//! depends on tauri. See ARCHITECTURE.md at the repository root for the map.

/// "`?1` and every record merged into it" (SQL, a parenthesised list of member ids): the
/// rows of a merged duplicate — payments, points, referrals — count for the record kept.
/// A macro so `concat!` can build constant queries with it. Declared once here.
macro_rules! self_and_merged {
    () => {
        "(SELECT ?1 UNION SELECT id FROM members WHERE merged_into = ?1)"
    };
}

pub mod analysis;
pub mod arrears;
pub mod attendance;
pub mod audit;
pub mod auth;
pub mod cash;
pub mod churn;
pub mod check;
pub mod backup;
pub mod contracts;
pub mod db;
pub mod demo;
pub mod devices;
pub mod duplicates;
pub mod error;
pub mod export;
pub mod feedback;
pub mod goods;
pub mod handover;
pub mod history;
pub mod home;
pub mod import;
pub mod leads;
pub mod members;
pub mod money;
pub mod notify;
pub mod packages;
pub mod payments;
pub mod phone;
pub mod points;
pub mod portal;
pub mod print;
pub mod referrals;
pub mod renewals;
pub mod reports;
pub mod requests;
pub mod scorecard;
pub mod search;
pub mod settings;
pub mod sync;
pub mod tiers;
pub mod timetable;
pub mod token_store;
pub mod upkeep;
pub mod validate;
pub mod visits;
pub mod vocab;

pub use auth::{Role, Session};
pub use db::{Clock, Core, Integrity, ManualClock, OffsetClock, SystemClock};
pub use error::{CoreError, ErrorDto, Lang, Result};
pub use money::Money;

/// This build's version (the workspace's), shown in the window and printed on every PDF.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How the files the desk writes start the line that names the build that wrote them
/// (the PDF foot, the CSV footer); `export::strip_footer` knows a footer by it.
pub(crate) const MADE_BY: &str = "CentreDesk ";

/// "CentreDesk 0.1.0 · 打印于 2026-12-03 09:30": the build, what it did, and when (the
/// centre's local minute, `Core::local_minute`).
pub(crate) fn made_by(done: &str, local_minute: &str) -> String {
    format!("{MADE_BY}{VERSION} · {done} {local_minute}")
}

/// A new UUIDv7: time-ordered, unique across devices, so rows can sync.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Where the database lives when no `--db` or `CENTREDESK_DB` is given: the OS data
/// directory (`%APPDATA%` on Windows, `~/Library/Application Support` on macOS,
/// `$XDG_DATA_HOME` or `~/.local/share` elsewhere).
pub fn default_db_path() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("CENTREDESK_DB") {
        if !p.is_empty() {
            return p.into();
        }
    }
    let base = if cfg!(windows) {
        std::env::var_os("APPDATA").map(std::path::PathBuf::from)
    } else if cfg!(target_os = "macos") {
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join("Library/Application Support"))
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/share")))
    };
    base.unwrap_or_else(|| ".".into()).join("CentreDesk").join("centredesk.db")
}
