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

/// One server's clock: [`now`], plus an offset that only tests move (so a test can let
/// a lockout run out without sleeping and without touching the process's clock, which
/// other servers in the same test process share).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_ms: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        now() + chrono::Duration::milliseconds(self.ahead_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// [`Clock::now`] as the text the store keeps.
    pub fn now_text(&self) -> String {
        self.now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    /// Milliseconds since the Unix epoch (what the store keeps for lockouts).
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Moves this server's clock forward (tests).
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ahead_ms.fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }
}
