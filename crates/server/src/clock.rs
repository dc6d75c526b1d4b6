//! The server's clock: the system clock, unless the process was started with
//! `--clock INSTANT` (or a test set a start), in which case it starts there and runs on
//! at the real rate — the same rule as the desk's `OffsetClock`, so the end-to-end
//! suite and the server tests run at a fixed instant and never read the machine's date.

use chrono::{DateTime, Utc};
use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<(DateTime<Utc>, Instant)> = OnceLock::new();

/// Starts the clock at `at` (the first call wins: one clock per process).
pub fn start_at(at: DateTime<Utc>) {
    let _ = START.set((at, Instant::now()));
}

pub fn now() -> DateTime<Utc> {
    match START.get() {
        Some((at, since)) => *at + chrono::Duration::from_std(since.elapsed()).unwrap_or_default(),
        None => Utc::now(),
    }
}

/// `now()` as the text the store keeps (`…Z`, milliseconds).
pub fn now_text() -> String {
    now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
