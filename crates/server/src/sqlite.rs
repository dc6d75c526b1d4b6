//! The embedded store: one SQLite file in the data directory (`--data DIR`), one
//! writer connection behind a mutex (pushes are short transactions; head office is one
//! process).

use crate::fold::{effects, Effect};
use crate::store::{is_global_id, CentreInfo, Device, Op, PushError, PushOutcome, Store, StoreError};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS centres (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- token_hash: sha256 of a random 256-bit token; the token itself is never stored.
CREATE TABLE IF NOT EXISTS devices (
    id                INTEGER PRIMARY KEY,
    centre_id         INTEGER NOT NULL REFERENCES centres(id),
    name              TEXT NOT NULL,
    token_hash        TEXT NOT NULL UNIQUE,
    registered_by     INTEGER NOT NULL REFERENCES users(id),
    created_at        TEXT NOT NULL,
    acked_through_seq INTEGER NOT NULL DEFAULT 0,
    last_push_at      TEXT
);
-- Every op received, as sent: the fold can always be recomputed from here.
CREATE TABLE IF NOT EXISTS ops (
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    seq         INTEGER NOT NULL,
    op_id       TEXT NOT NULL,
    at          TEXT NOT NULL,
    staff_id    TEXT,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL,
    subject_id  TEXT,
    payload     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX IF NOT EXISTS ops_op_id ON ops(op_id);
-- The fold of the ops (see fold.rs): each centre's rows as they now stand.
CREATE TABLE IF NOT EXISTS rows (
    centre_id INTEGER NOT NULL REFERENCES centres(id),
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    data      TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (centre_id, entity, entity_id)
);
CREATE INDEX IF NOT EXISTS rows_entity_id ON rows(entity, entity_id);
-- A device's stream set aside by a rebase (its desk's log was rewound and sent again):
-- kept for the record, never folded.
CREATE TABLE IF NOT EXISTS ops_superseded (
    device_id     INTEGER NOT NULL REFERENCES devices(id),
    epoch         TEXT,
    seq           INTEGER NOT NULL,
    op_id         TEXT NOT NULL,
    entity        TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    op            TEXT NOT NULL,
    payload       TEXT NOT NULL,
    superseded_at TEXT NOT NULL
);
";

/// Columns added after the first release (a store made by an older server opens).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[("devices", "epoch", "TEXT")];

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn now() -> String {
    crate::clock::now_text()
}

impl SqliteStore {
    pub fn open_dir(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", dir.display())))?;
        SqliteStore::open(&dir.join("centredesk-server.db"))
    }

    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        for (table, column, ty) in ADDED_COLUMNS {
            let has: bool = conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1)"), [column], |r| r.get(0))?;
            if !has {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
            }
        }
        Ok(SqliteStore { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for SqliteStore {
    fn add_user(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("INSERT INTO users (username, password_hash, created_at) VALUES (?1, ?2, ?3)", params![username, password_hash, now()])
            .map_err(|e| match StoreError::from(e) {
                StoreError::Exists(_) => StoreError::Exists(format!("user {username}")),
                e => e,
            })?;
        Ok(())
    }

    fn user(&self, username: &str) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT id, password_hash FROM users WHERE username = ?1", [username], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn add_centre(&self, code: &str, name: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("INSERT INTO centres (code, name, created_at) VALUES (?1, ?2, ?3)", params![code, name, now()])
            .map_err(|e| match StoreError::from(e) {
                StoreError::Exists(_) => StoreError::Exists(format!("centre {code}")),
                e => e,
            })?;
        Ok(())
    }

    fn centre_id(&self, code: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn().query_row("SELECT id FROM centres WHERE code = ?1", [code], |r| r.get(0)).optional()?)
    }

    fn add_device(&self, centre_id: i64, user_id: i64, name: &str, token_hash: &str) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO devices (centre_id, name, token_hash, registered_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![centre_id, name, token_hash, user_id, now()],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT d.id, d.centre_id, c.code, d.acked_through_seq, d.epoch FROM devices d JOIN centres c ON c.id = d.centre_id WHERE d.token_hash = ?1",
                [token_hash],
                |r| Ok(Device { id: r.get(0)?, centre_id: r.get(1)?, centre_code: r.get(2)?, acked_through_seq: r.get(3)?, epoch: r.get(4)? }),
            )
            .optional()?)
    }

    fn push(&self, device: &Device, epoch: Option<&str>, rebase: bool, ops: &[Op]) -> Result<PushOutcome, PushError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read under the write lock: the token lookup's value may be stale.
        let (mut acked, current): (i64, Option<String>) =
            tx.query_row("SELECT acked_through_seq, epoch FROM devices WHERE id = ?1", [device.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut out = PushOutcome { acked_through_seq: acked, applied: 0, duplicates: 0, rebased: false };
        let Some(first) = ops.first() else { return Ok(out) };
        let received = now();
        if rebase {
            // The desk's log was rewound and comes again from seq 1: its old stream is set
            // aside and the centre's rows are rebuilt from the new one alone.
            if first.seq != 1 || epoch.is_none() {
                return Err(PushError::Epoch);
            }
            // Every stream of the centre goes (an earlier registration's too): the new one
            // is the desk's whole truth.
            tx.execute(
                "INSERT INTO ops_superseded (device_id, epoch, seq, op_id, entity, entity_id, op, payload, superseded_at)
                 SELECT o.device_id, d.epoch, o.seq, o.op_id, o.entity, o.entity_id, o.op, o.payload, ?2
                 FROM ops o JOIN devices d ON d.id = o.device_id WHERE d.centre_id = ?1",
                params![device.centre_id, received],
            )?;
            tx.execute("DELETE FROM ops WHERE device_id IN (SELECT id FROM devices WHERE centre_id = ?1)", [device.centre_id])?;
            tx.execute("DELETE FROM rows WHERE centre_id = ?1", [device.centre_id])?;
            tx.execute("UPDATE devices SET acked_through_seq = 0 WHERE centre_id = ?1", [device.centre_id])?;
            tx.execute("UPDATE devices SET epoch = ?2 WHERE id = ?1", params![device.id, epoch])?;
            acked = 0;
            out.rebased = true;
        } else {
            match (epoch, current.as_deref()) {
                (Some(sent), Some(held)) if sent != held => return Err(PushError::Epoch),
                // A body without an epoch is a desk from before the rule (or a replay of
                // one): its seqs and op ids are still checked against the stream.
                // A device without an epoch (new, or from before the rule) adopts the first one sent.
                (Some(sent), None) => {
                    tx.execute("UPDATE devices SET epoch = ?2 WHERE id = ?1", params![device.id, sent])?;
                }
                _ => {}
            }
        }
        out.acked_through_seq = acked;
        if first.seq > acked + 1 {
            return Err(PushError::Gap { expected: acked + 1 });
        }
        for op in ops {
            if op.seq <= acked {
                let known: Option<String> = tx
                    .prepare_cached("SELECT op_id FROM ops WHERE device_id = ?1 AND seq = ?2")?
                    .query_row(params![device.id, op.seq], |r| r.get(0))
                    .optional()?;
                if known.as_deref() != Some(op.op_id.as_str()) {
                    return Err(PushError::Diverged { seq: op.seq });
                }
                out.duplicates += 1;
                continue;
            }
            let effects = effects(&op.entity, &op.entity_id, &op.op, op.data());
            for e in &effects {
                let (entity, id) = match e {
                    Effect::Upsert { entity, id, .. } | Effect::Delete { entity, id } | Effect::Patch { entity, id, .. } => (entity, id),
                };
                if is_global_id(id) {
                    let other: Option<i64> = tx
                        .prepare_cached("SELECT centre_id FROM rows WHERE entity = ?1 AND entity_id = ?2 AND centre_id <> ?3 LIMIT 1")?
                        .query_row(params![entity, id, device.centre_id], |r| r.get(0))
                        .optional()?;
                    if other.is_some() {
                        return Err(PushError::Forbidden { entity: entity.clone(), entity_id: id.clone() });
                    }
                }
            }
            tx.prepare_cached(
                "INSERT INTO ops (device_id, seq, op_id, at, staff_id, entity, entity_id, op, subject_id, payload, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (device_id, seq) DO NOTHING",
            )?
            .execute(params![device.id, op.seq, op.op_id, op.at, op.staff_id, op.entity, op.entity_id, op.op, op.subject_id, op.payload.to_string(), received])?;
            for e in effects {
                match e {
                    Effect::Upsert { entity, id, data } => {
                        tx.prepare_cached(
                            "INSERT INTO rows (centre_id, entity, entity_id, data, seq) VALUES (?1, ?2, ?3, ?4, ?5)
                             ON CONFLICT (centre_id, entity, entity_id) DO UPDATE SET data = excluded.data, seq = excluded.seq",
                        )?
                        .execute(params![device.centre_id, entity, id, data.to_string(), op.seq])?;
                    }
                    Effect::Delete { entity, id } => {
                        tx.prepare_cached("DELETE FROM rows WHERE centre_id = ?1 AND entity = ?2 AND entity_id = ?3")?.execute(params![device.centre_id, entity, id])?;
                    }
                    Effect::Patch { entity, id, field, value } => {
                        let path = format!("$.{field}");
                        tx.prepare_cached(
                            "UPDATE rows SET data = json_set(data, ?4, json(?5)), seq = ?6 WHERE centre_id = ?1 AND entity = ?2 AND entity_id = ?3",
                        )?
                        .execute(params![device.centre_id, entity, id, path, value.to_string(), op.seq])?;
                    }
                }
            }
            out.applied += 1;
            out.acked_through_seq = op.seq;
        }
        tx.execute(
            "UPDATE devices SET acked_through_seq = ?2, last_push_at = ?3 WHERE id = ?1",
            params![device.id, out.acked_through_seq, received],
        )?;
        tx.commit()?;
        Ok(out)
    }

    fn op_id_at(&self, device_id: i64, seq: i64) -> Result<Option<String>, StoreError> {
        Ok(self.conn().query_row("SELECT op_id FROM ops WHERE device_id = ?1 AND seq = ?2", params![device_id, seq], |r| r.get(0)).optional()?)
    }

    fn centres(&self) -> Result<Vec<CentreInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT c.code, c.name, COUNT(d.id), MAX(d.last_push_at), COALESCE(MAX(d.acked_through_seq), 0)
             FROM centres c LEFT JOIN devices d ON d.centre_id = c.id GROUP BY c.id ORDER BY c.code",
        )?;
        let rows = stmt
            .query_map([], |r| Ok(CentreInfo { code: r.get(0)?, name: r.get(1)?, devices: r.get(2)?, last_push_at: r.get(3)?, acked_through_seq: r.get(4)? }))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn rows(&self, centre_id: i64, entity: &str) -> Result<Vec<(String, Value)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT entity_id, data FROM rows WHERE centre_id = ?1 AND entity = ?2 ORDER BY entity_id")?;
        let rows = stmt
            .query_map(params![centre_id, entity], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .map(|r| r.map(|(id, data)| (id, serde_json::from_str(&data).unwrap_or(Value::Null))))
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn all_rows(&self, centre_id: i64) -> Result<Vec<((String, String), Value)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT entity, entity_id, data FROM rows WHERE centre_id = ?1 ORDER BY entity, entity_id")?;
        let rows = stmt
            .query_map([centre_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
            .map(|r| r.map(|(e, id, data)| ((e, id), serde_json::from_str(&data).unwrap_or(Value::Null))))
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}
