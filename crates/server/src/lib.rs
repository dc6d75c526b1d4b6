//! `centredesk-server`: head office's side of sync. Centres push their change log;
//! the server stores every op, folds it into per-centre rows (see [`fold`]) and serves
//! consolidated reads. The protocol is in [`http`]; storage is behind [`store::Store`]
//! (SQLite embedded, PostgreSQL for a real head office).

pub mod auth;
pub mod clock;
pub mod fold;
pub mod http;
pub mod pg;
pub mod reports;
pub mod sqlite;
pub mod store;

pub use http::{router, serve, AppState};
pub use pg::PgStore;
pub use sqlite::SqliteStore;
pub use store::Store;

/// Payload versions this server folds: the current one and the one before it (a centre
/// that has not updated yet keeps syncing); anything else answers 426.
pub const PAYLOAD_VERSIONS: std::ops::RangeInclusive<u64> = 1..=1;
