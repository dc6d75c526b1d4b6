//! The PostgreSQL store for a real head office (`--database-url postgres://…`): the same
//! tables and the same push transaction as [`crate::sqlite`], with rows as JSONB.
//! One connection behind a mutex: pushes serialise per server, as on SQLite, which keeps
//! `acked_through_seq` checks simple (the row lock below makes it safe across servers).
//! A push is a few statements over arrays, whatever its size: per-op statements cost a
//! network round trip each (100,000 ops took 80 s that way, 4× the target).

use crate::fold::{effects, net_effects, Effect};
use crate::store::{
    is_global_id, lockout_ms, CentreInfo, Device, DeviceInfo, InboxRow, LoginThrottle, Op, PortalSession, Posted, PushError, PushOutcome, Role, Store,
    StoreError, User, FAILURES_FORGOTTEN_MS, PORTAL_SCHEMA, PORTAL_SESSIONS_LISTED, PORTAL_SESSION_COLUMNS, SEEN_EVERY_MS,
};
use postgres::config::SslMode;
use postgres::{Client, NoTls};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
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
ALTER TABLE devices ADD COLUMN IF NOT EXISTS epoch TEXT;
CREATE TABLE IF NOT EXISTS ops_superseded (
    device_id     BIGINT NOT NULL REFERENCES devices(id),
    epoch         TEXT,
    seq           BIGINT NOT NULL,
    op_id         TEXT NOT NULL,
    entity        TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    op            TEXT NOT NULL,
    payload       JSONB NOT NULL,
    superseded_at TEXT NOT NULL
);
";

/// Later changes to the schema, in order, each in one transaction (under an advisory
/// lock, so two servers starting together apply it once) with its number recorded in
/// `schema_migrations`. Only ever appended to; the same list as `sqlite.rs`.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "accounts: head-office administrators and centre accounts",
        "ALTER TABLE users ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT false;
         ALTER TABLE users ADD COLUMN centre_id BIGINT REFERENCES centres(id);
         -- Every account before this release read every centre: they stay administrators.
         UPDATE users SET is_admin = true;",
    ),
    (
        2,
        "devices: revocation",
        "ALTER TABLE devices ADD COLUMN revoked_at TEXT;
         ALTER TABLE devices ADD COLUMN revoked_by BIGINT REFERENCES users(id);",
    ),
    (
        3,
        "wrong passwords per username",
        "CREATE TABLE login_failures (
             username        TEXT PRIMARY KEY,
             failures        BIGINT NOT NULL,
             last_failure_ms BIGINT NOT NULL,
             locked_until_ms BIGINT NOT NULL DEFAULT 0
         );",
    ),
    (4, "the parents' portal", PORTAL_SCHEMA),
    (5, "the parents' portal: sessions a parent can list", PORTAL_SESSIONS_LISTED),
];

/// Any number, so that two servers on one database take the same lock.
const MIGRATION_LOCK: i64 = 0x43_44_5f_6d_69_67;

fn migrate(client: &mut Client) -> Result<(), StoreError> {
    for (version, name, sql) in MIGRATIONS {
        let mut tx = client.transaction().map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(backend)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            .map_err(backend)?;
        let done = tx.query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[version]).map_err(backend)?.is_some();
        if !done {
            // Dropping `tx` on an error rolls the whole migration back (DDL included).
            tx.batch_execute(sql)
                .map_err(|e| StoreError::Backend(format!("schema migration {version} ({name}) failed, nothing of it applied: {}", describe(&e))))?;
            tx.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", &[version, name, &now()]).map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
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

const DEVICE_INFO: &str = "SELECT d.id, c.code, d.name, u.username,
        to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), d.last_push_at, d.acked_through_seq, d.revoked_at
     FROM devices d JOIN centres c ON c.id = d.centre_id LEFT JOIN users u ON u.id = d.registered_by";

fn device_info_row(r: &postgres::Row) -> DeviceInfo {
    DeviceInfo {
        id: r.get(0),
        centre: r.get(1),
        name: r.get(2),
        registered_by: r.get(3),
        registered_at: r.get(4),
        last_push_at: r.get(5),
        acked_through_seq: r.get(6),
        revoked_at: r.get(7),
    }
}

/// The error with its causes (the driver's own text is only its kind: "db error").
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text += &format!(": {s}");
        source = s.source();
    }
    text
}

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
        return StoreError::Exists(describe(&e));
    }
    StoreError::Backend(describe(&e))
}

impl From<postgres::Error> for PushError {
    fn from(e: postgres::Error) -> Self {
        PushError::Store(backend(e))
    }
}

fn now() -> String {
    crate::clock::now_text()
}

impl PgStore {
    /// Connects (TLS as the URL's `sslmode` says, see [`PgStore::connect_with`]) and
    /// creates or migrates the tables. Call outside an async context.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect_with(url, None)
    }

    /// `sslmode` in the URL (`postgres://…?sslmode=require`, or `sslmode=…` in a
    /// key=value string), as libpq names it, over rustls (no OpenSSL):
    ///
    /// - `disable`: plain TCP;
    /// - `prefer` (the default): TLS when the server offers it, plain when it does not;
    ///   the certificate is not checked (as libpq's `prefer`: against eavesdropping, not
    ///   against an impostor);
    /// - `require`: TLS or no connection, and the server's certificate must be valid for
    ///   the host, issued by a public CA (webpki roots) or, given `ca_file` (PEM), by that
    ///   CA alone — stricter than libpq's `require`, like its `verify-full`.
    pub fn connect_with(url: &str, ca_file: Option<&std::path::Path>) -> Result<PgStore, StoreError> {
        let config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| StoreError::Backend(format!("the PostgreSQL URL is not valid: {}", describe(&e))))?;
        let mode = config.get_ssl_mode();
        let connected = match mode {
            SslMode::Disable => config.connect(NoTls),
            SslMode::Prefer => config.connect(crate::pg_tls::unverified()),
            _ => config.connect(crate::pg_tls::verified(ca_file)?),
        };
        let mut client = connected.map_err(|e| {
            let mode = match mode {
                SslMode::Disable => "sslmode=disable",
                SslMode::Prefer => "sslmode=prefer",
                _ => "sslmode=require",
            };
            StoreError::Backend(format!("cannot connect to PostgreSQL ({mode}): {}", describe(&e)))
        })?;
        client.batch_execute(SCHEMA).map_err(backend)?;
        migrate(&mut client)?;
        Ok(PgStore { client: std::mem::ManuallyDrop::new(Mutex::new(client)) })
    }

    /// Whether this connection is encrypted (PostgreSQL's own view, `pg_stat_ssl`).
    pub fn encrypted(&self) -> Result<bool, StoreError> {
        let row = self.client().query_one("SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)", &[]).map_err(backend)?;
        Ok(row.get(0))
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for PgStore {
    fn add_account(&self, username: &str, password_hash: &str, centre_id: Option<i64>) -> Result<(), StoreError> {
        self.client()
            .execute(
                "INSERT INTO users (username, password_hash, is_admin, centre_id) VALUES ($1, $2, $3, $4)",
                &[&username, &password_hash, &centre_id.is_none(), &centre_id],
            )
            .map_err(|e| match backend(e) {
                StoreError::Exists(_) => StoreError::Exists(format!("user {username}")),
                e => e,
            })?;
        Ok(())
    }

    fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = self
            .client()
            .query_opt(
                "SELECT u.id, u.username, u.password_hash, u.is_admin, c.id, c.code FROM users u LEFT JOIN centres c ON c.id = u.centre_id WHERE u.username = $1",
                &[&username],
            )
            .map_err(backend)?;
        Ok(row.map(|r| {
            let centre = r.get::<_, Option<i64>>(4).zip(r.get::<_, Option<String>>(5));
            User { id: r.get(0), username: r.get(1), password_hash: r.get(2), role: role(r.get(3), centre) }
        }))
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = self
            .client()
            .query("SELECT u.id, u.username, u.is_admin, c.id, c.code FROM users u LEFT JOIN centres c ON c.id = u.centre_id ORDER BY u.username COLLATE \"C\"", &[])
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| {
                let centre = r.get::<_, Option<i64>>(3).zip(r.get::<_, Option<String>>(4));
                User { id: r.get(0), username: r.get(1), password_hash: String::new(), role: role(r.get(2), centre) }
            })
            .collect())
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
                "INSERT INTO devices (centre_id, name, token_hash, registered_by, created_at) VALUES ($1, $2, $3, $4, $5::text::timestamptz) RETURNING id",
                &[&centre_id, &name, &token_hash, &user_id, &now()],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>, StoreError> {
        let row = self
            .client()
            .query_opt(
                "SELECT d.id, d.centre_id, c.code, d.acked_through_seq, d.epoch, d.revoked_at IS NOT NULL
                 FROM devices d JOIN centres c ON c.id = d.centre_id WHERE d.token_hash = $1",
                &[&token_hash],
            )
            .map_err(backend)?;
        Ok(row.map(|r| Device { id: r.get(0), centre_id: r.get(1), centre_code: r.get(2), acked_through_seq: r.get(3), epoch: r.get(4), revoked: r.get(5) }))
    }

    fn devices(&self, centre_id: Option<i64>) -> Result<Vec<DeviceInfo>, StoreError> {
        let rows = self
            .client()
            .query(&format!("{DEVICE_INFO} WHERE $1::bigint IS NULL OR d.centre_id = $1 ORDER BY d.id"), &[&centre_id])
            .map_err(backend)?;
        Ok(rows.iter().map(device_info_row).collect())
    }

    fn device_info(&self, id: i64) -> Result<Option<DeviceInfo>, StoreError> {
        Ok(self.client().query_opt(&format!("{DEVICE_INFO} WHERE d.id = $1"), &[&id]).map_err(backend)?.as_ref().map(device_info_row))
    }

    fn revoke_device(&self, id: i64, by_user: Option<i64>) -> Result<Option<DeviceInfo>, StoreError> {
        let mut client = self.client();
        client
            .execute("UPDATE devices SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL", &[&id, &now(), &by_user])
            .map_err(backend)?;
        Ok(client.query_opt(&format!("{DEVICE_INFO} WHERE d.id = $1"), &[&id]).map_err(backend)?.as_ref().map(device_info_row))
    }

    fn login_throttle(&self, username: &str, now_ms: i64) -> Result<LoginThrottle, StoreError> {
        let row = self
            .client()
            .query_opt("SELECT failures, locked_until_ms, last_failure_ms FROM login_failures WHERE username = $1", &[&username])
            .map_err(backend)?;
        Ok(match row.map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1), r.get::<_, i64>(2))) {
            Some((failures, locked_until_ms, last)) if last >= now_ms.saturating_sub(FAILURES_FORGOTTEN_MS) => LoginThrottle { failures, locked_until_ms },
            _ => LoginThrottle::default(),
        })
    }

    fn login_failed(&self, username: &str, now_ms: i64) -> Result<LoginThrottle, StoreError> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(backend)?;
        // Old failures are forgotten (this username's too: it counts from 1 again).
        tx.execute("DELETE FROM login_failures WHERE last_failure_ms < $1", &[&now_ms.saturating_sub(FAILURES_FORGOTTEN_MS)]).map_err(backend)?;
        let failures: i64 = tx
            .query_one(
                "INSERT INTO login_failures (username, failures, last_failure_ms) VALUES ($1, 1, $2)
                 ON CONFLICT (username) DO UPDATE SET failures = login_failures.failures + 1, last_failure_ms = excluded.last_failure_ms
                 RETURNING failures",
                &[&username, &now_ms],
            )
            .map_err(backend)?
            .get(0);
        let lock = lockout_ms(failures);
        let locked_until_ms = if lock > 0 { now_ms.saturating_add(lock) } else { 0 };
        tx.execute("UPDATE login_failures SET locked_until_ms = $2 WHERE username = $1", &[&username, &locked_until_ms]).map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(LoginThrottle { failures, locked_until_ms })
    }

    fn login_succeeded(&self, username: &str) -> Result<(), StoreError> {
        self.client().execute("DELETE FROM login_failures WHERE username = $1", &[&username]).map_err(backend)?;
        Ok(())
    }

    /// The same transaction as SQLite's, written in bulk: a handful of statements per push
    /// (arrays through `unnest`), not a round trip per op and effect.
    fn push(&self, device: &Device, epoch: Option<&str>, rebase: bool, ops: &[Op]) -> Result<PushOutcome, PushError> {
        let mut client = self.client();
        let mut tx = client.transaction()?;
        // FOR UPDATE: two servers on one database still apply a device's ops one push at a time.
        let row = tx.query_one("SELECT acked_through_seq, epoch, revoked_at IS NOT NULL FROM devices WHERE id = $1 FOR UPDATE", &[&device.id])?;
        let (mut acked, current): (i64, Option<String>) = (row.get(0), row.get(1));
        if row.get::<_, bool>(2) {
            return Err(PushError::Revoked);
        }
        let mut out = PushOutcome { acked_through_seq: acked, applied: 0, duplicates: 0, rebased: false };
        let Some(first) = ops.first() else { return Ok(out) };
        let received = now();
        if rebase {
            // The protocol's epoch rule: the old stream aside, the centre's rows rebuilt.
            if first.seq != 1 || epoch.is_none() {
                return Err(PushError::Epoch);
            }
            // Every stream of the centre goes (an earlier registration's too).
            tx.execute(
                "INSERT INTO ops_superseded (device_id, epoch, seq, op_id, entity, entity_id, op, payload, superseded_at)
                 SELECT o.device_id, d.epoch, o.seq, o.op_id, o.entity, o.entity_id, o.op, o.payload, $2
                 FROM ops o JOIN devices d ON d.id = o.device_id WHERE d.centre_id = $1",
                &[&device.centre_id, &received],
            )?;
            tx.execute("DELETE FROM ops WHERE device_id IN (SELECT id FROM devices WHERE centre_id = $1)", &[&device.centre_id])?;
            tx.execute("DELETE FROM rows WHERE centre_id = $1", &[&device.centre_id])?;
            tx.execute("UPDATE devices SET acked_through_seq = 0 WHERE centre_id = $1", &[&device.centre_id])?;
            tx.execute("UPDATE devices SET epoch = $2 WHERE id = $1", &[&device.id, &epoch])?;
            acked = 0;
            out.rebased = true;
        } else {
            match (epoch, current.as_deref()) {
                (Some(sent), Some(held)) if sent != held => return Err(PushError::Epoch),
                // A body without an epoch is a desk from before the rule (or a replay of
                // one): its seqs and op ids are still checked against the stream.
                (Some(sent), None) => {
                    tx.execute("UPDATE devices SET epoch = $2 WHERE id = $1", &[&device.id, &sent])?;
                }
                _ => {}
            }
        }
        out.acked_through_seq = acked;
        if first.seq > acked + 1 {
            return Err(PushError::Gap { expected: acked + 1 });
        }
        // Seqs are consecutive: the ops already acknowledged are a prefix of the batch, and
        // each must be the op stored under its seq.
        let resent = ops.iter().take_while(|op| op.seq <= acked).count();
        if resent > 0 {
            let known: HashMap<i64, String> = tx
                .query("SELECT seq, op_id FROM ops WHERE device_id = $1 AND seq BETWEEN $2 AND $3", &[&device.id, &first.seq, &ops[resent - 1].seq])?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            if let Some(op) = ops[..resent].iter().find(|op| known.get(&op.seq) != Some(&op.op_id)) {
                return Err(PushError::Diverged { seq: op.seq });
            }
            out.duplicates = resent;
        }
        let new = &ops[resent..];
        if let Some(last) = new.last() {
            let effects: Vec<(i64, Effect)> = new.iter().flat_map(|op| effects(&op.entity, &op.entity_id, &op.op, op.data()).into_iter().map(|e| (op.seq, e))).collect();
            // A UUID row already held by another centre: the whole batch is refused (the
            // first such effect in op order is named).
            let (entities, ids): (Vec<&str>, Vec<&str>) = effects.iter().map(|(_, e)| e.key()).filter(|(_, id)| is_global_id(id)).unzip();
            if !ids.is_empty() {
                let taken: HashSet<(String, String)> = tx
                    .query(
                        "SELECT DISTINCT r.entity, r.entity_id FROM rows r JOIN unnest($2::text[], $3::text[]) AS k(entity, entity_id)
                         ON r.entity = k.entity AND r.entity_id = k.entity_id WHERE r.centre_id <> $1",
                        &[&device.centre_id, &entities, &ids],
                    )?
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                if let Some((_, e)) = effects.iter().find(|(_, e)| taken.contains(&(e.key().0.to_string(), e.key().1.to_string()))) {
                    return Err(PushError::Forbidden { entity: e.key().0.into(), entity_id: e.key().1.into() });
                }
            }
            let col = |f: fn(&Op) -> &str| new.iter().map(f).collect::<Vec<&str>>();
            let seqs: Vec<i64> = new.iter().map(|op| op.seq).collect();
            let staff: Vec<Option<&str>> = new.iter().map(|op| op.staff_id.as_deref()).collect();
            let subjects: Vec<Option<&str>> = new.iter().map(|op| op.subject_id.as_deref()).collect();
            let payloads: Vec<&Value> = new.iter().map(|op| &op.payload).collect();
            tx.execute(
                "INSERT INTO ops (device_id, seq, op_id, at, staff_id, entity, entity_id, op, subject_id, payload, received_at)
                 SELECT $1::bigint, t.*, $11::text FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[]) AS t
                 ON CONFLICT (device_id, seq) DO NOTHING",
                &[
                    &device.id,
                    &seqs,
                    &col(|op| &op.op_id),
                    &col(|op| &op.at),
                    &staff,
                    &col(|op| &op.entity),
                    &col(|op| &op.entity_id),
                    &col(|op| &op.op),
                    &subjects,
                    &payloads,
                    &received,
                ],
            )?;
            let net = net_effects(effects);
            if !net.upserts.is_empty() {
                let (entities, ids): (Vec<&str>, Vec<&str>) = net.upserts.iter().map(|u| (u.0.as_str(), u.1.as_str())).unzip();
                let (data, seqs): (Vec<&Value>, Vec<i64>) = net.upserts.iter().map(|u| (&u.2, u.3)).unzip();
                tx.execute(
                    "INSERT INTO rows (centre_id, entity, entity_id, data, seq)
                     SELECT $1::bigint, u.* FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::bigint[]) AS u
                     ON CONFLICT (centre_id, entity, entity_id) DO UPDATE SET data = excluded.data, seq = excluded.seq",
                    &[&device.centre_id, &entities, &ids, &data, &seqs],
                )?;
            }
            if !net.deletes.is_empty() {
                let (entities, ids): (Vec<&str>, Vec<&str>) = net.deletes.iter().map(|d| (d.0.as_str(), d.1.as_str())).unzip();
                tx.execute(
                    "DELETE FROM rows r USING unnest($2::text[], $3::text[]) AS d(entity, entity_id)
                     WHERE r.centre_id = $1 AND r.entity = d.entity AND r.entity_id = d.entity_id",
                    &[&device.centre_id, &entities, &ids],
                )?;
            }
            if !net.patches.is_empty() {
                let (entities, ids): (Vec<&str>, Vec<&str>) = net.patches.iter().map(|p| (p.0.as_str(), p.1.as_str())).unzip();
                let fields: Vec<Value> = net.patches.iter().map(|p| Value::Object(p.2.clone())).collect();
                let seqs: Vec<i64> = net.patches.iter().map(|p| p.3).collect();
                // `||` sets top-level fields, as jsonb_set of each one would.
                tx.execute(
                    "UPDATE rows r SET data = r.data || p.fields, seq = p.seq
                     FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::bigint[]) AS p(entity, entity_id, fields, seq)
                     WHERE r.centre_id = $1 AND r.entity = p.entity AND r.entity_id = p.entity_id",
                    &[&device.centre_id, &entities, &ids, &fields, &seqs],
                )?;
            }
            out.applied = new.len();
            out.acked_through_seq = last.seq;
        }
        tx.execute("UPDATE devices SET acked_through_seq = $2, last_push_at = $3 WHERE id = $1", &[&device.id, &out.acked_through_seq, &received])?;
        tx.commit()?;
        Ok(out)
    }

    fn op_id_at(&self, device_id: i64, seq: i64) -> Result<Option<String>, StoreError> {
        Ok(self.client().query_opt("SELECT op_id FROM ops WHERE device_id = $1 AND seq = $2", &[&device_id, &seq]).map_err(backend)?.map(|r| r.get(0)))
    }

    fn centres(&self) -> Result<Vec<CentreInfo>, StoreError> {
        let rows = self
            .client()
            .query(
                "SELECT c.code, c.name, COUNT(d.id) FILTER (WHERE d.revoked_at IS NULL), MAX(d.last_push_at), COALESCE(MAX(d.acked_through_seq), 0)
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

    fn row(&self, centre_id: i64, entity: &str, entity_id: &str) -> Result<Option<Value>, StoreError> {
        let row = self
            .client()
            .query_opt("SELECT data FROM rows WHERE centre_id = $1 AND entity = $2 AND entity_id = $3", &[&centre_id, &entity, &entity_id])
            .map_err(backend)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn portal_publish(&self, centre_id: i64, epoch: &str, seq: i64, docs: &[(String, String)], now: &str) -> Result<(usize, usize), StoreError> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(backend)?;
        let stmt = tx
            .prepare(
                "INSERT INTO portal_docs (centre_id, doc_key, epoch, seq, body, stored_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (centre_id, doc_key) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq, body = excluded.body, stored_at = excluded.stored_at
                 WHERE portal_docs.epoch <> excluded.epoch OR (portal_docs.seq <= excluded.seq AND portal_docs.body <> excluded.body)",
            )
            .map_err(backend)?;
        let mut stored = 0;
        for (key, body) in docs {
            stored += tx.execute(&stmt, &[&centre_id, key, &epoch, &seq, body, &now]).map_err(backend)? as usize;
        }
        tx.execute("INSERT INTO portal_desks (centre_id, seen_at) VALUES ($1, $2) ON CONFLICT (centre_id) DO UPDATE SET seen_at = excluded.seen_at", &[&centre_id, &now])
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok((stored, docs.len() - stored))
    }

    fn portal_doc(&self, centre_id: i64, key: &str) -> Result<Option<String>, StoreError> {
        let row = self.client().query_opt("SELECT body FROM portal_docs WHERE centre_id = $1 AND doc_key = $2", &[&centre_id, &key]).map_err(backend)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn portal_desk_seen(&self, centre_id: i64, now: Option<&str>) -> Result<Option<String>, StoreError> {
        let mut client = self.client();
        if let Some(now) = now {
            client
                .execute("INSERT INTO portal_desks (centre_id, seen_at) VALUES ($1, $2) ON CONFLICT (centre_id) DO UPDATE SET seen_at = excluded.seen_at", &[&centre_id, &now])
                .map_err(backend)?;
        }
        let row = client.query_opt("SELECT seen_at FROM portal_desks WHERE centre_id = $1", &[&centre_id]).map_err(backend)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn portal_post(&self, centre_id: i64, guardian_id: &str, request_id: &str, body_sha256: &str, body: &str, now: &str) -> Result<Posted, StoreError> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(backend)?;
        // One numbering at a time per centre, across servers on one database.
        tx.execute("SELECT id FROM centres WHERE id = $1 FOR UPDATE", &[&centre_id]).map_err(backend)?;
        let seen = tx
            .query_opt("SELECT number, guardian_id, body_sha256 FROM portal_inbox WHERE centre_id = $1 AND request_id = $2", &[&centre_id, &request_id])
            .map_err(backend)?;
        if let Some(r) = seen {
            let (n, g, h): (i64, String, String) = (r.get(0), r.get(1), r.get(2));
            return Ok(if g == guardian_id && h == body_sha256 { Posted::Again(n) } else { Posted::Reused });
        }
        let n: i64 = tx.query_one("SELECT COALESCE(MAX(number), 0) + 1 FROM portal_inbox WHERE centre_id = $1", &[&centre_id]).map_err(backend)?.get(0);
        tx.execute(
            "INSERT INTO portal_inbox (centre_id, number, request_id, guardian_id, body_sha256, body, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&centre_id, &n, &request_id, &guardian_id, &body_sha256, &body, &now],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(Posted::New(n))
    }

    fn portal_inbox(&self, centre_id: i64, after: i64, limit: usize) -> Result<Vec<InboxRow>, StoreError> {
        let rows = self
            .client()
            .query(
                "SELECT number, request_id, guardian_id, body, received_at FROM portal_inbox WHERE centre_id = $1 AND number > $2 ORDER BY number LIMIT $3",
                &[&centre_id, &after, &(limit as i64)],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(inbox_row).collect())
    }

    fn portal_requests_of(&self, centre_id: i64, guardian_id: &str, limit: usize) -> Result<Vec<InboxRow>, StoreError> {
        let rows = self
            .client()
            .query(
                "SELECT number, request_id, guardian_id, body, received_at FROM portal_inbox WHERE centre_id = $1 AND guardian_id = $2 ORDER BY number DESC LIMIT $3",
                &[&centre_id, &guardian_id, &(limit as i64)],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(inbox_row).collect())
    }

    fn portal_session_create(&self, s: &PortalSession) -> Result<(), StoreError> {
        self.client()
            .execute(
                &format!("INSERT INTO portal_sessions ({PORTAL_SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                &[&s.token_hash, &s.centre_id, &s.guardian_id, &s.invite_hash, &s.created_ms, &s.revoked_ms, &s.device, &s.seen_ms],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn portal_session(&self, token_hash: &str) -> Result<Option<PortalSession>, StoreError> {
        let row = self
            .client()
            .query_opt(&format!("SELECT {PORTAL_SESSION_COLUMNS} FROM portal_sessions WHERE token_hash = $1"), &[&token_hash])
            .map_err(backend)?;
        Ok(row.as_ref().map(portal_session_row))
    }

    fn portal_session_revoke(&self, token_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        self.client().execute("UPDATE portal_sessions SET revoked_ms = $2 WHERE token_hash = $1 AND revoked_ms IS NULL", &[&token_hash, &now_ms]).map_err(backend)?;
        Ok(())
    }

    fn portal_sessions_of(&self, centre_id: i64, guardian_id: &str) -> Result<Vec<PortalSession>, StoreError> {
        let rows = self
            .client()
            .query(
                &format!("SELECT {PORTAL_SESSION_COLUMNS} FROM portal_sessions WHERE centre_id = $1 AND guardian_id = $2 AND revoked_ms IS NULL ORDER BY created_ms DESC, token_hash"),
                &[&centre_id, &guardian_id],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(portal_session_row).collect())
    }

    fn portal_session_seen(&self, token_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        self.client()
            .execute(
                "UPDATE portal_sessions SET seen_ms = $2 WHERE token_hash = $1 AND (seen_ms IS NULL OR seen_ms <= $2::BIGINT - $3::BIGINT)",
                &[&token_hash, &now_ms, &SEEN_EVERY_MS],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn portal_forget(&self, centre_id: i64, guardian_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(backend)?;
        tx.execute("UPDATE portal_sessions SET revoked_ms = $3 WHERE centre_id = $1 AND guardian_id = $2 AND revoked_ms IS NULL", &[&centre_id, &guardian_id, &now_ms])
            .map_err(backend)?;
        tx.execute("DELETE FROM portal_consents WHERE centre_id = $1 AND guardian_id = $2", &[&centre_id, &guardian_id]).map_err(backend)?;
        tx.execute("DELETE FROM portal_docs WHERE centre_id = $1 AND doc_key = $2", &[&centre_id, &format!("guardian:{guardian_id}")]).map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(())
    }

    fn portal_consent(&self, centre_id: i64, guardian_id: &str) -> Result<Option<(i64, bool)>, StoreError> {
        let row = self
            .client()
            .query_opt("SELECT version, accepted FROM portal_consents WHERE centre_id = $1 AND guardian_id = $2", &[&centre_id, &guardian_id])
            .map_err(backend)?;
        Ok(row.map(|r| (r.get(0), r.get::<_, i64>(1) != 0)))
    }

    fn portal_consent_set(&self, centre_id: i64, guardian_id: &str, version: i64, accepted: bool, now: &str) -> Result<(), StoreError> {
        self.client()
            .execute(
                "INSERT INTO portal_consents (centre_id, guardian_id, version, accepted, at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (centre_id, guardian_id) DO UPDATE SET version = excluded.version, accepted = excluded.accepted, at = excluded.at",
                &[&centre_id, &guardian_id, &version, &(accepted as i64), &now],
            )
            .map_err(backend)?;
        Ok(())
    }
}

fn inbox_row(r: &postgres::Row) -> InboxRow {
    InboxRow { number: r.get(0), request_id: r.get(1), guardian_id: r.get(2), body: r.get(3), received_at: r.get(4) }
}

fn portal_session_row(r: &postgres::Row) -> PortalSession {
    PortalSession {
        token_hash: r.get("token_hash"),
        centre_id: r.get("centre_id"),
        guardian_id: r.get("guardian_id"),
        invite_hash: r.get("invite_hash"),
        created_ms: r.get("created_ms"),
        revoked_ms: r.get("revoked_ms"),
        device: r.get("device"),
        seen_ms: r.get("seen_ms"),
    }
}
