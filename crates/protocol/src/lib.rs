//! The wire between a centre's desk and `centredesk-server`, declared once and used by
//! both ends (the desk's pusher in `centredesk-core::sync`, the server's `http.rs`):
//!
//! - [`sync`]: protocol v1's requests, answers and error bodies, with the log-epoch rule
//!   that makes a restored desk safe;
//! - [`changes`]: every kind of change a desk's log can hold (entity and op names, with
//!   their labels), which the desk refuses to write undeclared and head office folds;
//! - [`requests`]: the one envelope for what a coach's phone or a parent asks the desk
//!   to do (`{request_id, kind, payload}`) and the answer it keeps for each;
//! - [`phone`]: what the desk's phone page shows a coach;
//! - [`portal`]: what a desk publishes for parents and the inbox of what they ask;
//! - the payload versions below.
//!
//! Nothing here knows about a UI struct: what a desk logs is the row as the core stores
//! it, and `crates/core/tests/payload_keys.rs` holds each entity's payload keys to a
//! golden file so a renamed field can never silently change the durable format.

pub mod changes;
pub mod phone;
pub mod portal;
pub mod requests;
pub mod sync;

/// The version of the change-log payloads (`{"v": …, "data": …}`) a desk writes now.
pub const PAYLOAD_VERSION: u64 = 1;

/// The payload versions a server folds: the current one and the one before it, so a
/// centre that has not updated yet keeps syncing; anything else is refused with 426.
pub const PAYLOAD_VERSIONS: std::ops::RangeInclusive<u64> = 1..=PAYLOAD_VERSION;
