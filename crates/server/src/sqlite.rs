//! The embedded store: one SQLite file in the data directory (`--data DIR`), one
//! writer connection behind a mutex (pushes are short transactions; head office is one
//! process).

use crate::fold::{effects, Effect};
use crate::store::{
    is_global_id, lockout_ms, CentreInfo, Device, DeviceInfo, InboxRow, LoginThrottle, Op, PortalSession, Posted, PushError, PushOutcome, Role, Store,
    StoreError, User, FAILURES_FORGOTTEN_MS, PORTAL_SCHEMA, PORTAL_SESSIONS_LISTED, PORTAL_SESSION_COLUMNS, SEEN_EVERY_MS,
};
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

/// Later changes to the schema, applied in order when the store opens, each in one
/// transaction with its number recorded in `schema_migrations` (all of it or none).
/// Only ever appended to: a released migration is never edited. `pg.rs` has the same list.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "accounts: head-office administrators and centre accounts",
        "ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE users ADD COLUMN centre_id INTEGER REFERENCES centres(id);
         -- Every account before this release read every centre: they stay administrators.
         UPDATE users SET is_admin = 1;",
    ),
    (
        2,
        "devices: revocation",
        "ALTER TABLE devices ADD COLUMN revoked_at TEXT;
         ALTER TABLE devices ADD COLUMN revoked_by INTEGER REFERENCES users(id);",
    ),
    (
        3,
        "wrong passwords per username",
        "CREATE TABLE login_failures (
             username        TEXT PRIMARY KEY,
             failures        INTEGER NOT NULL,
             last_failure_ms INTEGER NOT NULL,
             locked_until_ms INTEGER NOT NULL DEFAULT 0
         );",
    ),
    (4, "the parents' portal", PORTAL_SCHEMA),
    (5, "the parents' portal: sessions a parent can list", PORTAL_SESSIONS_LISTED),
];

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")?;
    for (version, name, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| r.get(0))?;
        if !done {
            // Dropping `tx` on an error rolls the whole migration back.
            tx.execute_batch(sql).map_err(|e| StoreError::Backend(format!("schema migration {version} ({name}) failed, nothing of it applied: {e}")))?;
            tx.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)", params![version, name, now()])?;
        }
        tx.commit()?;
    }
    Ok(())
}

fn role(is_admin: bool, centre: Option<(i64, String)>) -> Role {
    match (is_admin, centre) {
        (true, _) => Role::Admin,
        (false, Some((id, code))) => Role::Centre { id, code },
        (false, None) => Role::None,
    }
}

const DEVICE_INFO: &str = "SELECT d.id, c.code, d.name, u.username, d.created_at, d.last_push_at, d.acked_through_seq, d.revoked_at
     FROM devices d JOIN centres c ON c.id = d.centre_id LEFT JOIN users u ON u.id = d.registered_by";

fn device_info_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceInfo> {
    Ok(DeviceInfo {
        id: r.get(0)?,
        centre: r.get(1)?,
        name: r.get(2)?,
        registered_by: r.get(3)?,
        registered_at: r.get(4)?,
        last_push_at: r.get(5)?,
        acked_through_seq: r.get(6)?,
        revoked_at: r.get(7)?,
    })
}

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
        let mut conn = conn;
        migrate(&mut conn)?;
        Ok(SqliteStore { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for SqliteStore {
    fn add_account(&self, username: &str, password_hash: &str, centre_id: Option<i64>) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO users (username, password_hash, created_at, is_admin, centre_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![username, password_hash, now(), centre_id.is_none(), centre_id],
            )
            .map_err(|e| match StoreError::from(e) {
                StoreError::Exists(_) => StoreError::Exists(format!("user {username}")),
                e => e,
            })?;
        Ok(())
    }

    fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT u.id, u.username, u.password_hash, u.is_admin, c.id, c.code FROM users u LEFT JOIN centres c ON c.id = u.centre_id WHERE u.username = ?1",
                [username],
                |r| {
                    let centre = match (r.get::<_, Option<i64>>(4)?, r.get::<_, Option<String>>(5)?) {
                        (Some(id), Some(code)) => Some((id, code)),
                        _ => None,
                    };
                    Ok(User { id: r.get(0)?, username: r.get(1)?, password_hash: r.get(2)?, role: role(r.get(3)?, centre) })
                },
            )
            .optional()?)
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT u.id, u.username, u.is_admin, c.id, c.code FROM users u LEFT JOIN centres c ON c.id = u.centre_id ORDER BY u.username")?;
        let users = stmt
            .query_map([], |r| {
                let centre = match (r.get::<_, Option<i64>>(3)?, r.get::<_, Option<String>>(4)?) {
                    (Some(id), Some(code)) => Some((id, code)),
                    _ => None,
                };
                Ok(User { id: r.get(0)?, username: r.get(1)?, password_hash: String::new(), role: role(r.get(2)?, centre) })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(users)
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
                "SELECT d.id, d.centre_id, c.code, d.acked_through_seq, d.epoch, d.revoked_at IS NOT NULL
                 FROM devices d JOIN centres c ON c.id = d.centre_id WHERE d.token_hash = ?1",
                [token_hash],
                |r| {
                    Ok(Device { id: r.get(0)?, centre_id: r.get(1)?, centre_code: r.get(2)?, acked_through_seq: r.get(3)?, epoch: r.get(4)?, revoked: r.get(5)? })
                },
            )
            .optional()?)
    }

    fn devices(&self, centre_id: Option<i64>) -> Result<Vec<DeviceInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{DEVICE_INFO} WHERE ?1 IS NULL OR d.centre_id = ?1 ORDER BY d.id"))?;
        let devices = stmt.query_map([centre_id], device_info_row)?.collect::<rusqlite::Result<_>>()?;
        Ok(devices)
    }

    fn device_info(&self, id: i64) -> Result<Option<DeviceInfo>, StoreError> {
        Ok(self.conn().query_row(&format!("{DEVICE_INFO} WHERE d.id = ?1"), [id], device_info_row).optional()?)
    }

    fn revoke_device(&self, id: i64, by_user: Option<i64>) -> Result<Option<DeviceInfo>, StoreError> {
        let conn = self.conn();
        conn.execute("UPDATE devices SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL", params![id, now(), by_user])?;
        Ok(conn.query_row(&format!("{DEVICE_INFO} WHERE d.id = ?1"), [id], device_info_row).optional()?)
    }

    fn login_throttle(&self, username: &str, now_ms: i64) -> Result<LoginThrottle, StoreError> {
        let row: Option<(i64, i64, i64)> = self
            .conn()
            .query_row("SELECT failures, locked_until_ms, last_failure_ms FROM login_failures WHERE username = ?1", [username], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        Ok(match row {
            Some((failures, locked_until_ms, last)) if last >= now_ms.saturating_sub(FAILURES_FORGOTTEN_MS) => LoginThrottle { failures, locked_until_ms },
            _ => LoginThrottle::default(),
        })
    }

    fn login_failed(&self, username: &str, now_ms: i64) -> Result<LoginThrottle, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Old failures are forgotten (this username's too: it counts from 1 again).
        tx.execute("DELETE FROM login_failures WHERE last_failure_ms < ?1", [now_ms.saturating_sub(FAILURES_FORGOTTEN_MS)])?;
        let failures: i64 = tx.query_row(
            "INSERT INTO login_failures (username, failures, last_failure_ms) VALUES (?1, 1, ?2)
             ON CONFLICT (username) DO UPDATE SET failures = failures + 1, last_failure_ms = excluded.last_failure_ms
             RETURNING failures",
            params![username, now_ms],
            |r| r.get(0),
        )?;
        let lock = lockout_ms(failures);
        let locked_until_ms = if lock > 0 { now_ms.saturating_add(lock) } else { 0 };
        tx.execute("UPDATE login_failures SET locked_until_ms = ?2 WHERE username = ?1", params![username, locked_until_ms])?;
        tx.commit()?;
        Ok(LoginThrottle { failures, locked_until_ms })
    }

    fn login_succeeded(&self, username: &str) -> Result<(), StoreError> {
        self.conn().execute("DELETE FROM login_failures WHERE username = ?1", [username])?;
        Ok(())
    }

    fn push(&self, device: &Device, epoch: Option<&str>, rebase: bool, ops: &[Op]) -> Result<PushOutcome, PushError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read under the write lock: the token lookup's value may be stale.
        let (mut acked, current, revoked): (i64, Option<String>, bool) = tx.query_row(
            "SELECT acked_through_seq, epoch, revoked_at IS NOT NULL FROM devices WHERE id = ?1",
            [device.id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if revoked {
            return Err(PushError::Revoked);
        }
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
            "SELECT c.code, c.name, COUNT(CASE WHEN d.revoked_at IS NULL THEN d.id END), MAX(d.last_push_at), COALESCE(MAX(d.acked_through_seq), 0)
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

    fn row(&self, centre_id: i64, entity: &str, entity_id: &str) -> Result<Option<Value>, StoreError> {
        let conn = self.conn();
        let data: Option<String> = conn
            .prepare_cached("SELECT data FROM rows WHERE centre_id = ?1 AND entity = ?2 AND entity_id = ?3")?
            .query_row(params![centre_id, entity, entity_id], |r| r.get(0))
            .optional()?;
        Ok(data.map(|d| serde_json::from_str(&d).unwrap_or(Value::Null)))
    }

    fn portal_publish(&self, centre_id: i64, epoch: &str, seq: i64, docs: &[(String, String)], now: &str) -> Result<(usize, usize), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut stored = 0;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO portal_docs (centre_id, doc_key, epoch, seq, body, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (centre_id, doc_key) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq, body = excluded.body, stored_at = excluded.stored_at
                 WHERE portal_docs.epoch <> excluded.epoch OR (portal_docs.seq <= excluded.seq AND portal_docs.body <> excluded.body)",
            )?;
            for (key, body) in docs {
                stored += stmt.execute(params![centre_id, key, epoch, seq, body, now])?;
            }
        }
        tx.execute("INSERT INTO portal_desks (centre_id, seen_at) VALUES (?1, ?2) ON CONFLICT (centre_id) DO UPDATE SET seen_at = excluded.seen_at", params![centre_id, now])?;
        tx.commit()?;
        Ok((stored, docs.len() - stored))
    }

    fn portal_doc(&self, centre_id: i64, key: &str) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        let body = conn.prepare_cached("SELECT body FROM portal_docs WHERE centre_id = ?1 AND doc_key = ?2")?.query_row(params![centre_id, key], |r| r.get(0)).optional()?;
        Ok(body)
    }

    fn portal_desk_seen(&self, centre_id: i64, now: Option<&str>) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        if let Some(now) = now {
            conn.execute("INSERT INTO portal_desks (centre_id, seen_at) VALUES (?1, ?2) ON CONFLICT (centre_id) DO UPDATE SET seen_at = excluded.seen_at", params![centre_id, now])?;
        }
        Ok(conn.query_row("SELECT seen_at FROM portal_desks WHERE centre_id = ?1", [centre_id], |r| r.get(0)).optional()?)
    }

    fn portal_post(&self, centre_id: i64, guardian_id: &str, request_id: &str, body_sha256: &str, body: &str, now: &str) -> Result<Posted, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seen: Option<(i64, String, String)> = tx
            .query_row(
                "SELECT number, guardian_id, body_sha256 FROM portal_inbox WHERE centre_id = ?1 AND request_id = ?2",
                params![centre_id, request_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((n, g, h)) = seen {
            return Ok(if g == guardian_id && h == body_sha256 { Posted::Again(n) } else { Posted::Reused });
        }
        let n: i64 = tx.query_row("SELECT COALESCE(MAX(number), 0) + 1 FROM portal_inbox WHERE centre_id = ?1", [centre_id], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO portal_inbox (centre_id, number, request_id, guardian_id, body_sha256, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![centre_id, n, request_id, guardian_id, body_sha256, body, now],
        )?;
        tx.commit()?;
        Ok(Posted::New(n))
    }

    fn portal_inbox(&self, centre_id: i64, after: i64, limit: usize) -> Result<Vec<InboxRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT number, request_id, guardian_id, body, received_at FROM portal_inbox WHERE centre_id = ?1 AND number > ?2 ORDER BY number LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![centre_id, after, limit as i64], inbox_row)?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn portal_requests_of(&self, centre_id: i64, guardian_id: &str, limit: usize) -> Result<Vec<InboxRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT number, request_id, guardian_id, body, received_at FROM portal_inbox WHERE centre_id = ?1 AND guardian_id = ?2 ORDER BY number DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![centre_id, guardian_id, limit as i64], inbox_row)?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn portal_session_create(&self, s: &PortalSession) -> Result<(), StoreError> {
        self.conn().execute(
            &format!("INSERT INTO portal_sessions ({PORTAL_SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![s.token_hash, s.centre_id, s.guardian_id, s.invite_hash, s.created_ms, s.revoked_ms, s.device, s.seen_ms],
        )?;
        Ok(())
    }

    fn portal_session(&self, token_hash: &str) -> Result<Option<PortalSession>, StoreError> {
        let conn = self.conn();
        let session = conn
            .prepare_cached(&format!("SELECT {PORTAL_SESSION_COLUMNS} FROM portal_sessions WHERE token_hash = ?1"))?
            .query_row([token_hash], portal_session_row)
            .optional()?;
        Ok(session)
    }

    fn portal_session_revoke(&self, token_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        self.conn().execute("UPDATE portal_sessions SET revoked_ms = ?2 WHERE token_hash = ?1 AND revoked_ms IS NULL", params![token_hash, now_ms])?;
        Ok(())
    }

    fn portal_sessions_of(&self, centre_id: i64, guardian_id: &str) -> Result<Vec<PortalSession>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {PORTAL_SESSION_COLUMNS} FROM portal_sessions WHERE centre_id = ?1 AND guardian_id = ?2 AND revoked_ms IS NULL ORDER BY created_ms DESC, token_hash"
        ))?;
        let rows = stmt.query_map(params![centre_id, guardian_id], portal_session_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn portal_session_seen(&self, token_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE portal_sessions SET seen_ms = ?2 WHERE token_hash = ?1 AND (seen_ms IS NULL OR seen_ms <= ?2 - ?3)",
            params![token_hash, now_ms, SEEN_EVERY_MS],
        )?;
        Ok(())
    }

    fn portal_forget(&self, centre_id: i64, guardian_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("UPDATE portal_sessions SET revoked_ms = ?3 WHERE centre_id = ?1 AND guardian_id = ?2 AND revoked_ms IS NULL", params![centre_id, guardian_id, now_ms])?;
        tx.execute("DELETE FROM portal_consents WHERE centre_id = ?1 AND guardian_id = ?2", params![centre_id, guardian_id])?;
        tx.execute("DELETE FROM portal_docs WHERE centre_id = ?1 AND doc_key = ?2", params![centre_id, format!("guardian:{guardian_id}")])?;
        tx.commit()?;
        Ok(())
    }

    fn portal_consent(&self, centre_id: i64, guardian_id: &str) -> Result<Option<(i64, bool)>, StoreError> {
        let conn = self.conn();
        Ok(conn
            .query_row("SELECT version, accepted FROM portal_consents WHERE centre_id = ?1 AND guardian_id = ?2", params![centre_id, guardian_id], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? != 0))
            })
            .optional()?)
    }

    fn portal_consent_set(&self, centre_id: i64, guardian_id: &str, version: i64, accepted: bool, now: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO portal_consents (centre_id, guardian_id, version, accepted, at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (centre_id, guardian_id) DO UPDATE SET version = excluded.version, accepted = excluded.accepted, at = excluded.at",
            params![centre_id, guardian_id, version, accepted as i64, now],
        )?;
        Ok(())
    }
}

fn inbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InboxRow> {
    Ok(InboxRow { number: r.get(0)?, request_id: r.get(1)?, guardian_id: r.get(2)?, body: r.get(3)?, received_at: r.get(4)? })
}

fn portal_session_row(r: &rusqlite::Row) -> rusqlite::Result<PortalSession> {
    Ok(PortalSession {
        token_hash: r.get("token_hash")?,
        centre_id: r.get("centre_id")?,
        guardian_id: r.get("guardian_id")?,
        invite_hash: r.get("invite_hash")?,
        created_ms: r.get("created_ms")?,
        revoked_ms: r.get("revoked_ms")?,
        device: r.get("device")?,
        seen_ms: r.get("seen_ms")?,
    })
}
