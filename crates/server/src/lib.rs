//! `centredesk-server`: head office's side of sync. Centres push their change log;
//! the server stores every op, folds it into per-centre rows (see [`fold`]) and serves
//! consolidated reads. The protocol is in [`http`]; storage is behind [`store::Store`]
//! (SQLite embedded, PostgreSQL for a real head office).

pub mod auth;
pub mod bench;
pub mod clock;
pub mod fold;
pub mod http;
pub mod pg;
pub mod pg_tls;
pub mod portal;
pub mod reports;
pub mod sqlite;
pub mod store;

pub use http::{router, router_with, serve, serve_with, AppState, Limits, Options, PeerIp};
pub use pg::PgStore;
pub use sqlite::SqliteStore;
pub use store::Store;

/// Payload versions this server folds (declared in the protocol crate).
pub use centredesk_protocol::PAYLOAD_VERSIONS;
