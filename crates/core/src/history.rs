//! The desk's line of history, as head-office sync sees it: the log epoch (one per line
//! of history — the first push, each restored backup, each log found rewound) and the
//! number counters, which never go back.
//!
//! A restore (or a power cut that lost the newest commits) rewinds the change log and the
//! counters with it. The log is then pushed again from seq 1 under a new epoch (see
//! `centredesk_protocol::sync`), and the counters are raised past every number that was
//! issued before — the data kept aside before a restore, and what head office has seen —
//! so a receipt, member or contract number that left the desk is never issued twice.

use crate::db::{Core, WriteTx};
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;

/// The epoch the log is in now (the last one started), if any.
pub fn current_epoch(c: &Connection) -> Result<Option<String>> {
    Ok(c.query_row("SELECT epoch FROM sync_epochs ORDER BY first_seq DESC, rowid DESC LIMIT 1", [], |r| r.get(0)).optional()?)
}

/// Every counter's value (`receipt_no` → 123 …).
pub fn counters(c: &Connection) -> Result<BTreeMap<String, i64>> {
    let mut stmt = c.prepare("SELECT name, value FROM counters")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Starts a new epoch in this transaction (logged, so it is the first op of the stream it
/// names); returns it.
pub(crate) fn start_epoch(w: &mut WriteTx, reason: &str) -> Result<String> {
    let epoch = crate::new_id();
    let first_seq: i64 = w.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM change_log", [], |r| r.get(0))?;
    w.execute(
        "INSERT INTO sync_epochs (epoch, started_at, reason, first_seq) VALUES (?1, ?2, ?3, ?4)",
        params![epoch, w.now_text(), reason, first_seq],
    )?;
    w.log("sync_epoch", &epoch, "start", None, &serde_json::json!({ "epoch": epoch, "reason": reason, "first_seq": first_seq, "started_at": w.now_text() }))?;
    Ok(epoch)
}

/// Raises each counter to at least the given value (never lowers one); logged per
/// counter raised. Returns how many were raised.
pub(crate) fn raise_counters(w: &mut WriteTx, at_least: &BTreeMap<String, i64>) -> Result<usize> {
    let mut raised = 0;
    for (name, value) in at_least {
        let current: i64 = w.query_row("SELECT COALESCE((SELECT value FROM counters WHERE name = ?1), 0)", [name], |r| r.get(0))?;
        if *value > current {
            w.execute(
                "INSERT INTO counters (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                params![name, value],
            )?;
            w.log("counter", name, "raise", None, &serde_json::json!({ "name": name, "from": current, "to": value }))?;
            raised += 1;
        }
    }
    Ok(raised)
}

impl Core {
    /// The current epoch, starting the first one if the log has none yet.
    pub(crate) fn epoch_or_first(&self) -> Result<String> {
        if let Some(e) = self.read(current_epoch)? {
            return Ok(e);
        }
        self.write_as(None, |w| match current_epoch(w)? {
            Some(e) => Ok(e),
            None => start_epoch(w, "first"),
        })
    }

    /// A rewound log was found: raise the counters past `numbers` and start a new epoch.
    pub(crate) fn start_over(&self, reason: &str, numbers: &BTreeMap<String, i64>) -> Result<String> {
        self.write_as(None, |w| {
            raise_counters(w, numbers)?;
            start_epoch(w, reason)
        })
    }
}
