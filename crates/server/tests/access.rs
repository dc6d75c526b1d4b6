//! Who may do what at head office: administrators reach every centre, a centre's account
//! only its own; existing accounts become administrators when the store is migrated
//! (all of a migration or none of it); devices are listed and revoked, and a revoked
//! device's token is refused at its next status and push. The real server on port 0 on
//! both stores, the real pusher, the real binary for the commands.

use crate::common::*;
use centredesk_core::sync::SyncError;
use centredesk_server::auth::hash_password;
use centredesk_server::store::Role;
use centredesk_server::{SqliteStore, Store};
use serde_json::{json, Value};
use std::process::Command;

const A_MANAGER: &str = "a_manager";
const A_PASSWORD: &str = "centre-a-password";

fn register_raw(server: &Server, user: &str, password: &str, centre: &str) -> (u16, Value) {
    let body = json!({"username": user, "password": password, "centre": centre, "device_name": "前台"});
    post(&format!("{}/api/v1/devices/register", server.url), None, &[], body.to_string().as_bytes())
}

fn revoke_raw(server: &Server, auth: &str, id: i64) -> (u16, Value) {
    let r = ureq::post(&format!("{}/api/v1/devices/{id}/revoke", server.url)).set("Authorization", auth).set("Content-Type", "application/json").send_string("{}");
    match r {
        Ok(r) => (r.status(), serde_json::from_str(&r.into_string().unwrap()).unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, serde_json::from_str(&r.into_string().unwrap()).unwrap_or(Value::Null)),
        Err(e) => panic!("{e}"),
    }
}

fn roles(backend: Backend) {
    let server = Server::start_on(backend);
    let a_id = server.add_centre("A");
    server.add_centre("B");
    server.store.add_account(A_MANAGER, &hash_password(A_PASSWORD), Some(a_id)).unwrap();
    assert_eq!(server.store.user(A_MANAGER).unwrap().unwrap().role, Role::Centre { id: a_id, code: "A".into() }, "{backend:?}");
    assert_eq!(server.store.user(HO_USER).unwrap().unwrap().role, Role::Admin, "{backend:?}");

    // A centre's account registers its own centre's desk only.
    let (s, v) = register_raw(&server, A_MANAGER, A_PASSWORD, "B");
    assert_eq!((s, v["code"].as_str()), (403, Some("not_your_centre")), "{backend:?}: {v}");
    assert!(v["message"].as_str().unwrap().contains("belongs to centre A"), "{v}");
    assert!(server.store.devices(None).unwrap().is_empty(), "{backend:?}: nothing registered");
    // Even for a centre that does not exist: the refusal comes first and tells nothing.
    assert_eq!(register_raw(&server, A_MANAGER, A_PASSWORD, "NOPE").0, 403);
    let a = demo_centre(6, 41);
    // The desk says so in words, in both languages.
    let refused = a.core.sync_register(&a.admin, &server.url, "B", A_MANAGER, A_PASSWORD, "前台电脑").unwrap_err();
    assert!(matches!(refused, SyncError::NotYourCentre(_)), "{backend:?}: {refused:?}");
    assert!(refused.message(centredesk_core::Lang::ZhCn).contains("另一个校区"), "{refused:?}");
    assert!(refused.message(centredesk_core::Lang::En).contains("another centre"), "{refused:?}");
    a.core.sync_register(&a.admin, &server.url, "A", A_MANAGER, A_PASSWORD, "前台电脑").unwrap();
    a.core.sync_now(&a.admin).unwrap();
    assert_eq!(server.rows(a_id), a.fold(), "{backend:?}");
    // The administrator registers any centre's.
    let b = demo_centre(4, 42);
    b.register(&server, "B");
    b.core.sync_now(&b.admin).unwrap();

    // A centre's account reads its own centre only.
    let mine = basic_as(A_MANAGER, A_PASSWORD);
    let (s, list) = get(&format!("{}/api/v1/centres", server.url), Some(&mine));
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect::<Vec<_>>(), ["A"], "{backend:?}");
    assert_eq!(get(&format!("{}/api/v1/centres/A/members", server.url), Some(&mine)).0, 200);
    assert_eq!(get(&format!("{}/api/v1/centres/A/contracts", server.url), Some(&mine)).0, 200);
    for path in ["/api/v1/centres/B/members", "/api/v1/centres/B/contracts", "/api/v1/reports/monthly?centre=B", "/api/v1/devices?centre=B", "/api/v1/centres/NOPE/members"] {
        let (s, v) = get(&format!("{}{path}", server.url), Some(&mine));
        assert_eq!((s, v["code"].as_str()), (403, Some("not_your_centre")), "{backend:?} {path}: {v}");
    }
    let (s, report) = get(&format!("{}/api/v1/reports/monthly", server.url), Some(&mine));
    assert_eq!(s, 200);
    let report = report.as_array().unwrap();
    assert!(!report.is_empty() && report.iter().all(|r| r["centre"] == "A"), "{backend:?}: its own centre's figures only");
    let (s, v) = get(&format!("{}/", server.url), Some(&mine));
    assert_eq!((s, v["code"].as_str()), (403, Some("admin_only")), "{backend:?}: the overview is an administrator's");
    let (s, devices) = get(&format!("{}/api/v1/devices", server.url), Some(&mine));
    assert_eq!(s, 200);
    assert_eq!(devices.as_array().unwrap().iter().map(|d| d["centre"].as_str().unwrap()).collect::<Vec<_>>(), ["A"], "{backend:?}");
    assert_eq!(devices[0]["registered_by"], A_MANAGER);

    // The administrator reads everything.
    let admin = basic();
    assert_eq!(get(&format!("{}/api/v1/centres", server.url), Some(&admin)).1.as_array().unwrap().len(), 2);
    assert_eq!(get_text(&format!("{}/", server.url), &admin).0, 200);
    let (_, report) = get(&format!("{}/api/v1/reports/monthly", server.url), Some(&admin));
    let report = report.as_array().unwrap();
    assert!(report.iter().any(|r| r["centre"] == "A") && report.iter().any(|r| r["centre"] == "B"), "{backend:?}");
    assert_eq!(get(&format!("{}/api/v1/devices?centre=B", server.url), Some(&admin)).1.as_array().unwrap().len(), 1);
    assert_eq!(get(&format!("{}/api/v1/centres/NOPE/members", server.url), Some(&admin)).0, 404);
}

#[test]
fn a_centre_account_registers_and_reads_only_its_own_centre_an_administrator_every_centre() {
    roles(Backend::Sqlite);
}

#[test]
fn a_centre_account_registers_and_reads_only_its_own_centre_on_postgres() {
    if pg_base().is_none() {
        eprintln!("CENTREDESK_TEST_PG is not set: skipped (run scripts/with-postgres.sh)");
        return;
    }
    roles(Backend::Postgres);
}

fn revocation(backend: Backend) {
    let server = Server::start_on(backend);
    let a_id = server.add_centre("A");
    let b_id = server.add_centre("B");
    server.store.add_account(A_MANAGER, &hash_password(A_PASSWORD), Some(a_id)).unwrap();
    let a = demo_centre(5, 51);
    let b = demo_centre(5, 52);
    a.register(&server, "A");
    b.register(&server, "B");
    a.core.sync_now(&a.admin).unwrap();
    b.core.sync_now(&b.admin).unwrap();

    let admin = basic();
    let (s, list) = get(&format!("{}/api/v1/devices", server.url), Some(&admin));
    assert_eq!(s, 200, "{backend:?}");
    let list: Vec<centredesk_protocol::sync::DeviceInfo> = serde_json::from_value(list).unwrap();
    assert_eq!(list.iter().map(|d| (d.centre.as_str(), d.registered_by.as_deref(), d.revoked_at.is_none())).collect::<Vec<_>>(), [("A", Some(HO_USER), true), ("B", Some(HO_USER), true)]);
    assert_eq!(list[0].acked_through_seq, a.log_len(), "{backend:?}");
    assert!(list[0].registered_at.starts_with("2026-11-20T"), "{backend:?}: on the server's clock: {}", list[0].registered_at);
    let (a_dev, b_dev) = (list[0].id, list[1].id);
    let (_, csv) = get_text(&format!("{}/api/v1/devices?format=csv", server.url), &admin);
    assert!(csv.starts_with("\u{feff}id,centre,name,registered_by"), "{csv}");

    // A centre's account revokes its own centre's devices only, and only as JSON.
    let mine = basic_as(A_MANAGER, A_PASSWORD);
    let (s, v) = revoke_raw(&server, &mine, b_dev);
    assert_eq!((s, v["code"].as_str()), (403, Some("not_your_centre")), "{backend:?}: {v}");
    let form = ureq::post(&format!("{}/api/v1/devices/{a_dev}/revoke", server.url))
        .set("Authorization", &mine)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string("x=1");
    assert!(matches!(form, Err(ureq::Error::Status(415, _))), "{backend:?}: a cross-site form cannot revoke");
    assert_eq!(revoke_raw(&server, &mine, 999_999).0, 404);
    assert!(server.store.devices(None).unwrap().iter().all(|d| d.revoked_at.is_none()), "{backend:?}: nothing revoked yet");
    let (s, v) = revoke_raw(&server, &mine, a_dev);
    assert_eq!(s, 200, "{backend:?}: {v}");
    let revoked_at = v["revoked_at"].as_str().expect("revoked").to_string();
    // Again: harmless, the first time kept.
    assert_eq!(revoke_raw(&server, &admin, a_dev).1["revoked_at"], revoked_at.as_str());

    // The revoked desk's next status and push are refused; nothing it sends lands.
    let before = server.rows(a_id);
    let token = a.token();
    let (s, v) = get(&format!("{}/api/v1/sync/status", server.url), Some(&format!("Bearer {token}")));
    assert_eq!((s, v["code"].as_str()), (401, Some("device_revoked")), "{backend:?}: {v}");
    let (s, v) = post(&format!("{}/api/v1/sync/push", server.url), Some(&token), &[], &push_body_for(a.core.path(), &a.ops(1, 3)));
    assert_eq!((s, v["code"].as_str()), (401, Some("device_revoked")), "{backend:?}: {v}");
    let m: String = a.raw().query_row("SELECT id FROM members WHERE status <> 'left' LIMIT 1", [], |r| r.get(0)).unwrap();
    a.core.member_set_status(&a.admin, &m, "left").unwrap();
    let refused = a.core.sync_now(&a.admin).unwrap_err();
    assert!(matches!(refused, SyncError::Revoked), "{backend:?}: {refused:?}");
    assert!(refused.message(centredesk_core::Lang::ZhCn).contains("重新登记"), "{backend:?}: the desk is told in words to register again");
    assert!(!refused.is_transient(), "a revoked desk waits for a person, it does not retry");
    assert_eq!(server.rows(a_id), before, "{backend:?}");
    // The other centre's desk is untouched; the centres list counts active devices.
    b.core.sync_now(&b.admin).unwrap();
    assert_eq!(server.rows(b_id), b.fold());
    let centres = server.store.centres().unwrap();
    assert_eq!(centres.iter().map(|c| (c.code.as_str(), c.devices)).collect::<Vec<_>>(), [("A", 0), ("B", 1)], "{backend:?}");
    // Registered again (by its manager), the desk is a new device and catches up.
    a.core.sync_register(&a.admin, &server.url, "A", A_MANAGER, A_PASSWORD, "前台电脑").unwrap();
    a.core.sync_now(&a.admin).unwrap();
    assert_eq!(server.rows(a_id), a.fold(), "{backend:?}");
}

#[test]
fn devices_are_listed_and_a_revoked_device_is_refused_at_its_next_status_and_push() {
    revocation(Backend::Sqlite);
}

#[test]
fn devices_are_listed_and_a_revoked_device_is_refused_on_postgres() {
    if pg_base().is_none() {
        eprintln!("CENTREDESK_TEST_PG is not set: skipped (run scripts/with-postgres.sh)");
        return;
    }
    revocation(Backend::Postgres);
}

/// The tables as the release before accounts and revocation made them (the columns the
/// migrations add are not there), with an account, a centre and a device in them.
const OLD_SQLITE: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE centres (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE devices (
    id INTEGER PRIMARY KEY, centre_id INTEGER NOT NULL REFERENCES centres(id), name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    registered_by INTEGER NOT NULL REFERENCES users(id), created_at TEXT NOT NULL, acked_through_seq INTEGER NOT NULL DEFAULT 0,
    last_push_at TEXT, epoch TEXT);
";

const OLD_PG: &str = "
CREATE TABLE users (id BIGSERIAL PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE centres (id BIGSERIAL PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE devices (
    id BIGSERIAL PRIMARY KEY, centre_id BIGINT NOT NULL REFERENCES centres(id), name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    registered_by BIGINT NOT NULL REFERENCES users(id), created_at TIMESTAMPTZ NOT NULL DEFAULT now(), acked_through_seq BIGINT NOT NULL DEFAULT 0,
    last_push_at TEXT, epoch TEXT);
";

fn old_rows(hash: &str) -> String {
    format!(
        "INSERT INTO users (username, password_hash, created_at) VALUES ('old_admin', '{hash}', '2025-01-01T00:00:00Z');
         INSERT INTO centres (code, name, created_at) VALUES ('SH01', '上海一校', '2025-01-01T00:00:00Z');
         INSERT INTO devices (centre_id, name, token_hash, registered_by, created_at) VALUES (1, '前台', 'old-token-hash', 1, '2025-01-01T00:00:00Z');"
    )
}

fn fresh_pg_database() -> String {
    let base = pg_base().expect("CENTREDESK_TEST_PG");
    let name = format!("m_{}", &centredesk_server::auth::new_token()[..16]);
    postgres::Client::connect(&format!("{base}/postgres"), postgres::NoTls).unwrap().batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    format!("{base}/{name}")
}

/// Opens the migrated store and checks what the migration made of the old rows.
fn check_migrated(store: &dyn Store, what: &str) {
    let user = store.user("old_admin").unwrap().expect("kept");
    assert_eq!(user.role, Role::Admin, "{what}: an account from before centre accounts reads every centre");
    assert!(centredesk_server::auth::verify_password("old-password", &user.password_hash), "{what}: its password kept");
    let device = store.device_by_token("old-token-hash").unwrap().expect("kept");
    assert!(!device.revoked, "{what}: existing devices are not revoked");
    let devices = store.devices(None).unwrap();
    assert_eq!((devices.len(), devices[0].registered_by.as_deref()), (1, Some("old_admin")), "{what}");
}

#[test]
fn existing_users_become_administrators_when_the_sqlite_store_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("centredesk-server.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(OLD_SQLITE).unwrap();
    conn.execute_batch(&old_rows(&hash_password("old-password"))).unwrap();
    drop(conn);
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    check_migrated(&store, "SQLite");
    drop(store);
    // Opening again applies nothing twice.
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    check_migrated(&store, "SQLite reopened");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let versions: Vec<i64> = conn.prepare("SELECT version FROM schema_migrations ORDER BY version").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5], "every migration applied once, the portal's (4, 5) included");
}

#[test]
fn existing_users_become_administrators_when_the_postgres_store_is_migrated() {
    if pg_base().is_none() {
        eprintln!("CENTREDESK_TEST_PG is not set: skipped (run scripts/with-postgres.sh)");
        return;
    }
    let url = fresh_pg_database();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client.batch_execute(OLD_PG).unwrap();
    client.batch_execute(&old_rows(&hash_password("old-password"))).unwrap();
    let store = centredesk_server::PgStore::connect(&url).unwrap();
    check_migrated(&store, "PostgreSQL");
    drop(store);
    let store = centredesk_server::PgStore::connect(&url).unwrap();
    check_migrated(&store, "PostgreSQL reopened");
    let versions: Vec<i64> = client.query("SELECT version FROM schema_migrations ORDER BY version", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5], "every migration applied once, the portal's (4, 5) included");
}

/// A migration that fails half-way (its second statement meets a column that is already
/// there) leaves nothing of its first statement behind and is not recorded.
#[test]
fn a_migration_that_fails_applies_nothing_of_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("centredesk-server.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(OLD_SQLITE).unwrap();
    conn.execute_batch("ALTER TABLE users ADD COLUMN centre_id INTEGER").unwrap();
    conn.execute_batch(&old_rows(&hash_password("old-password"))).unwrap();
    drop(conn);
    let err = SqliteStore::open_dir(dir.path()).err().expect("the migration fails");
    assert!(err.to_string().contains("schema migration 1"), "{err}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let has_admin: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM pragma_table_info('users') WHERE name = 'is_admin')", [], |r| r.get(0)).unwrap();
    assert!(!has_admin, "the migration's first statement was rolled back");
    let recorded: i64 = conn.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0)).unwrap();
    assert_eq!(recorded, 0);

    if pg_base().is_some() {
        let url = fresh_pg_database();
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.batch_execute(OLD_PG).unwrap();
        client.batch_execute("ALTER TABLE users ADD COLUMN centre_id BIGINT").unwrap();
        let err = centredesk_server::PgStore::connect(&url).err().expect("the migration fails");
        assert!(err.to_string().contains("schema migration 1"), "{err}");
        let has_admin: bool = client
            .query_one("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'is_admin')", &[])
            .unwrap()
            .get(0);
        assert!(!has_admin, "PostgreSQL: the migration's first statement was rolled back");
        // The record table is made in the migration's transaction: rolled back with it.
        let recorded: Option<String> = client.query_one("SELECT to_regclass('schema_migrations')::text", &[]).unwrap().get(0);
        if recorded.is_some() {
            assert_eq!(client.query_one("SELECT COUNT(*) FROM schema_migrations", &[]).unwrap().get::<_, i64>(0), 0);
        }
    }
}

fn cli(data: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_centredesk-server"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("CENTREDESK_SERVER_PASSWORD", "a-long-password")
        .env_remove("CENTREDESK_DATABASE_URL")
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_commands_add_administrators_and_centre_accounts_and_list_and_revoke_devices() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ho");
    assert!(cli(&data, &["centre", "add", "SH01", "--name", "上海一校"]).0);
    let (ok, out) = cli(&data, &["user", "add", "zongbu"]);
    assert!(ok && out.contains("administrator"), "{out}");
    let (ok, out) = cli(&data, &["user", "add", "sh01_manager", "--centre", "SH01"]);
    assert!(ok && out.contains("centre SH01"), "{out}");
    let (ok, out) = cli(&data, &["user", "add", "ghost", "--centre", "NOPE"]);
    assert!(!ok && out.contains("there is no centre NOPE"), "{out}");
    let (_, out) = cli(&data, &["user", "list"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["sh01_manager\tcentre SH01", "zongbu\tadministrator"]);

    let store = SqliteStore::open_dir(&data).unwrap();
    let sh01 = store.centre_id("SH01").unwrap().unwrap();
    let manager = store.user("sh01_manager").unwrap().unwrap();
    assert_eq!(manager.role, Role::Centre { id: sh01, code: "SH01".into() });
    let id = store.add_device(sh01, manager.id, "前台电脑", "some-token-hash").unwrap();
    drop(store);
    let (_, out) = cli(&data, &["device", "list", "--centre", "SH01"]);
    assert!(out.starts_with(&format!("{id}\tSH01\t前台电脑\tby sh01_manager\t")) && out.trim_end().ends_with("active"), "{out}");
    let (ok, out) = cli(&data, &["device", "revoke", &id.to_string()]);
    assert!(ok && out.contains("revoked"), "{out}");
    let (_, out) = cli(&data, &["device", "list"]);
    assert!(out.contains("\trevoked "), "{out}");
    let (ok, out) = cli(&data, &["device", "revoke", "999"]);
    assert!(!ok && out.contains("there is no device 999"), "{out}");
    let store = SqliteStore::open_dir(&data).unwrap();
    assert!(store.device_by_token("some-token-hash").unwrap().unwrap().revoked);
}
