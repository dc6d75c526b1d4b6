//! The PostgreSQL store for a real head office (`--database-url postgres://…`): the same
//! tables and the same push transaction as [`crate::sqlite`], with rows as JSONB.
//! One connection behind a mutex: pushes serialise per server, as on SQLite, which keeps
//! `acked_through_seq` checks simple (the row lock below makes it safe across servers).

use crate::fold::{effects, Effect};
use crate::store::{is_global_id, CentreInfo, Device, Op, PushError, PushOutcome, Store, StoreError};
use postgres::{Client, NoTls};
use serde_json::Value;
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS centres (
    id         BIGSERIAL PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS devices (
    id                BIGSERIAL PRIMARY KEY,
    centre_id         BIGINT NOT NULL REFERENCES centres(id),
    name              TEXT NOT NULL,
    token_hash        TEXT NOT NULL UNIQUE,
    registered_by     BIGINT NOT NULL REFERENCES users(id),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    acked_through_seq BIGINT NOT NULL DEFAULT 0,
    last_push_at      TEXT
);
CREATE TABLE IF NOT EXISTS ops (
    device_id   BIGINT NOT NULL REFERENCES devices(id),
    seq         BIGINT NOT NULL,
    op_id       TEXT NOT NULL,
    at          TEXT NOT NULL,
    staff_id    TEXT,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL,
    subject_id  TEXT,
    payload     JSONB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX IF NOT EXISTS ops_op_id ON ops(op_id);
CREATE TABLE IF NOT EXISTS rows (
    centre_id BIGINT NOT NULL REFERENCES centres(id),
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    data      JSONB NOT NULL,
    seq       BIGINT NOT NULL,
    PRIMARY KEY (centre_id, entity, entity_id)
);
CREATE INDEX IF NOT EXISTS rows_entity_id ON rows(entity, entity_id);
";

pub struct PgStore {
    /// Dropped on a thread of its own (see `Drop`).
    client: std::mem::ManuallyDrop<Mutex<Client>>,
}

/// The sync `postgres::Client` owns a tokio runtime, and dropping a runtime inside an
/// async context panics — which is where the server's state is dropped at shutdown.
impl Drop for PgStore {
    fn drop(&mut self) {
        // SAFETY: taken once, here, and never used again.
        let client = unsafe { std::mem::ManuallyDrop::take(&mut self.client) };
        let _ = std::thread::spawn(move || drop(client)).join();
    }
}

fn backend(e: postgres::Error) -> StoreError {
    if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
        return StoreError::Exists(e.to_string());
    }
    StoreError::Backend(e.to_string())
}

impl From<postgres::Error> for PushError {
    fn from(e: postgres::Error) -> Self {
        PushError::Store(backend(e))
    }
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl PgStore {
    /// Connects and creates the tables if needed. Call outside an async context.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let mut client = Client::connect(url, NoTls).map_err(backend)?;
        client.batch_execute(SCHEMA).map_err(backend)?;
        Ok(PgStore { client: std::mem::ManuallyDrop::new(Mutex::new(client)) })
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for PgStore {
    fn add_user(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        self.client()
            .execute("INSERT INTO users (username, password_hash) VALUES ($1, $2)", &[&username, &password_hash])
            .map_err(|e| match backend(e) {
                StoreError::Exists(_) => StoreError::Exists(format!("user {username}")),
                e => e,
            })?;
        Ok(())
    }

    fn user(&self, username: &str) -> Result<Option<(i64, String)>, StoreError> {
        let row = self.client().query_opt("SELECT id, password_hash FROM users WHERE username = $1", &[&username]).map_err(backend)?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    fn add_centre(&self, code: &str, name: &str) -> Result<(), StoreError> {
        self.client().execute("INSERT INTO centres (code, name) VALUES ($1, $2)", &[&code, &name]).map_err(|e| match backend(e) {
            StoreError::Exists(_) => StoreError::Exists(format!("centre {code}")),
            e => e,
        })?;
        Ok(())
    }

    fn centre_id(&self, code: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.client().query_opt("SELECT id FROM centres WHERE code = $1", &[&code]).map_err(backend)?.map(|r| r.get(0)))
    }

    fn add_device(&self, centre_id: i64, user_id: i64, name: &str, token_hash: &str) -> Result<i64, StoreError> {
        let row = self
            .client()
            .query_one(
                "INSERT INTO devices (centre_id, name, token_hash, registered_by) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&centre_id, &name, &token_hash, &user_id],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>, StoreError> {
        let row = self
            .client()
            .query_opt(
                "SELECT d.id, d.centre_id, c.code, d.acked_through_seq FROM devices d JOIN centres c ON c.id = d.centre_id WHERE d.token_hash = $1",
                &[&token_hash],
            )
            .map_err(backend)?;
        Ok(row.map(|r| Device { id: r.get(0), centre_id: r.get(1), centre_code: r.get(2), acked_through_seq: r.get(3) }))
    }

    fn push(&self, device: &Device, ops: &[Op]) -> Result<PushOutcome, PushError> {
        let mut client = self.client();
        let mut tx = client.transaction()?;
        // FOR UPDATE: two servers on one database still apply a device's ops one push at a time.
        let acked: i64 = tx.query_one("SELECT acked_through_seq FROM devices WHERE id = $1 FOR UPDATE", &[&device.id])?.get(0);
        let mut out = PushOutcome { acked_through_seq: acked, applied: 0, duplicates: 0 };
        let Some(first) = ops.first() else { return Ok(out) };
        if first.seq > acked + 1 {
            return Err(PushError::Gap { expected: acked + 1 });
        }
        let received = now();
        for op in ops {
            if op.seq <= acked {
                let known: Option<String> =
                    tx.query_opt("SELECT op_id FROM ops WHERE device_id = $1 AND seq = $2", &[&device.id, &op.seq])?.map(|r| r.get(0));
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
                    let other = tx.query_opt(
                        "SELECT centre_id FROM rows WHERE entity = $1 AND entity_id = $2 AND centre_id <> $3 LIMIT 1",
                        &[entity, id, &device.centre_id],
                    )?;
                    if other.is_some() {
                        return Err(PushError::Forbidden { entity: entity.clone(), entity_id: id.clone() });
                    }
                }
            }
            tx.execute(
                "INSERT INTO ops (device_id, seq, op_id, at, staff_id, entity, entity_id, op, subject_id, payload, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (device_id, seq) DO NOTHING",
                &[&device.id, &op.seq, &op.op_id, &op.at, &op.staff_id, &op.entity, &op.entity_id, &op.op, &op.subject_id, &op.payload, &received],
            )?;
            for e in effects {
                match e {
                    Effect::Upsert { entity, id, data } => {
                        tx.execute(
                            "INSERT INTO rows (centre_id, entity, entity_id, data, seq) VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (centre_id, entity, entity_id) DO UPDATE SET data = excluded.data, seq = excluded.seq",
                            &[&device.centre_id, &entity, &id, &data, &op.seq],
                        )?;
                    }
                    Effect::Delete { entity, id } => {
                        tx.execute("DELETE FROM rows WHERE centre_id = $1 AND entity = $2 AND entity_id = $3", &[&device.centre_id, &entity, &id])?;
                    }
                    Effect::Patch { entity, id, field, value } => {
                        tx.execute(
                            "UPDATE rows SET data = jsonb_set(data, ARRAY[$4::text], $5), seq = $6 WHERE centre_id = $1 AND entity = $2 AND entity_id = $3",
                            &[&device.centre_id, &entity, &id, &field, &value, &op.seq],
                        )?;
                    }
                }
            }
            out.applied += 1;
            out.acked_through_seq = op.seq;
        }
        tx.execute("UPDATE devices SET acked_through_seq = $2, last_push_at = $3 WHERE id = $1", &[&device.id, &out.acked_through_seq, &received])?;
        tx.commit()?;
        Ok(out)
    }

    fn centres(&self) -> Result<Vec<CentreInfo>, StoreError> {
        let rows = self
            .client()
            .query(
                "SELECT c.code, c.name, COUNT(d.id), MAX(d.last_push_at), COALESCE(MAX(d.acked_through_seq), 0)
                 FROM centres c LEFT JOIN devices d ON d.centre_id = c.id GROUP BY c.id ORDER BY c.code",
                &[],
            )
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| CentreInfo { code: r.get(0), name: r.get(1), devices: r.get(2), last_push_at: r.get(3), acked_through_seq: r.get(4) })
            .collect())
    }

    fn rows(&self, centre_id: i64, entity: &str) -> Result<Vec<(String, Value)>, StoreError> {
        let rows = self
            .client()
            .query("SELECT entity_id, data FROM rows WHERE centre_id = $1 AND entity = $2 ORDER BY entity_id COLLATE \"C\"", &[&centre_id, &entity])
            .map_err(backend)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn all_rows(&self, centre_id: i64) -> Result<Vec<((String, String), Value)>, StoreError> {
        let rows = self
            .client()
            .query("SELECT entity, entity_id, data FROM rows WHERE centre_id = $1 ORDER BY entity COLLATE \"C\", entity_id COLLATE \"C\"", &[&centre_id])
            .map_err(backend)?;
        Ok(rows.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))).collect())
    }
}
