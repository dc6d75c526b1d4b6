//! The device token in the OS keyring, for real, on Linux: each scenario runs in a child
//! process of this test binary with a D-Bus session of its own, so the user's keyring and
//! session are never touched.
//!
//! - No secret service reachable (`DBUS_SESSION_BUS_ADDRESS` pointing at nothing): the
//!   token goes to the user-only file and the desk pushes with it.
//! - A real Secret Service (`dbus-run-session` + `gnome-keyring-daemon --unlock`, its
//!   keyrings in a temporary `XDG_DATA_HOME`): the token goes to the keyring and not to a
//!   file, is read back from the keyring, pushes; an older version's token file is still
//!   read and moves into the keyring at the next registration; re-registering drops the
//!   previous entry; two databases never share one.
//! - The same Secret Service with its keyring locked, or with no keyring yet (both need a
//!   prompt, and there is no display): registration falls back to the file, in time.
#![cfg(target_os = "linux")]


use centredesk_core::sync::{self, SyncError};
use centredesk_core::token_store::{self, TokenStore};
use crate::common::*;
use std::path::Path;
use std::process::Command;

/// Set in the child: the scenario to run (the ignored tests do nothing without it).
const CHILD: &str = "CENTREDESK_KEYRING_SCENARIO";
const TEST_SERVICE: &str = "CentreDesk sync (test)";

fn child(scenario: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    // The test's full name in the one integration binary (tests/main.rs): `keyring::…`.
    let name = format!("{}::{scenario}", module_path!().split_once("::").map_or(module_path!(), |(_, m)| m));
    cmd.args([name.as_str(), "--exact", "--ignored", "--nocapture", "--test-threads=1"]).env(CHILD, scenario).env_remove("CENTREDESK_TOKEN_STORE");
    cmd
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
    // The filter must have found the scenario (a renamed one would pass silently otherwise).
    assert!(text.contains("1 passed"), "{what} did not run its scenario:\n{text}");
}

fn is_child(scenario: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(scenario)
}

fn token_key(db: &Path) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(sync::settings_path(db)).unwrap()).unwrap();
    v.get("token_key").and_then(|k| k.as_str()).map(String::from)
}

fn push_all(c: &Centre) {
    let report = c.core.sync_now(&c.admin).unwrap();
    assert_eq!(report.acked_through_seq, c.log_len());
    assert_eq!(c.core.sync_state().unwrap().ops_waiting, 0);
}

#[test]
fn without_a_secret_service_the_token_goes_to_the_user_only_file() {
    let mut cmd = child("scenario_no_secret_service");
    let dir = tempfile::tempdir().unwrap();
    cmd.env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", dir.path().join("no-bus").display()));
    cmd.env("XDG_RUNTIME_DIR", dir.path());
    run(cmd, "the scenario without a secret service");
}

#[test]
#[ignore = "run by without_a_secret_service_the_token_goes_to_the_user_only_file in a child process"]
fn scenario_no_secret_service() {
    if !is_child("scenario_no_secret_service") {
        return;
    }
    let server = Server::start();
    server.add_centre("SH01");
    let c = demo_centre(2, 7);
    token_store::set_keyring_service(Some(TEST_SERVICE));
    assert!(token_store::keyring_get("anything", false).is_err(), "this session must have no secret service");

    c.register(&server, "SH01");
    let path = sync::token_path(c.core.path());
    assert!(path.exists(), "the token falls back to the file");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o077, 0, "the token file is the user's alone");
    }
    assert_eq!(token_key(c.core.path()), None, "no keyring entry is claimed");
    let (token, store) = sync::device_token(c.core.path()).unwrap().unwrap();
    assert_eq!(store, TokenStore::File);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), token);
    assert_eq!(c.core.sync_state().unwrap().token_store, Some(TokenStore::File));
    push_all(&c);
}

/// `dbus-run-session` with gnome-keyring's Secret Service started by `start` (a shell
/// line), its keyrings in a temporary home, no display (no prompt can be answered), then
/// this binary's `scenario`.
fn in_private_session(start: &str, scenario: &str) -> (Command, tempfile::TempDir) {
    for tool in ["dbus-run-session", "gnome-keyring-daemon"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().map(|o| o.status.success()).unwrap_or(false);
        assert!(found, "{tool} is missing: scripts/setup.sh installs the Debian packages dbus and gnome-keyring");
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    let runtime = home.join("run");
    std::fs::create_dir(&runtime).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let args: Vec<String> = child(scenario).get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut cmd = Command::new("dbus-run-session");
    cmd.args(["--", "sh", "-c", &format!("{start} && exec \"$@\""), "sh"])
        .arg(exe)
        .args(args)
        .env(CHILD, scenario)
        .env_remove("CENTREDESK_TOKEN_STORE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_RUNTIME_DIR", &runtime);
    (cmd, dir)
}

#[test]
fn a_real_secret_service_keeps_the_token_and_older_token_files_still_work() {
    // The login keyring created and unlocked with a throwaway password in the temporary home.
    let (cmd, _home) = in_private_session("printf test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null", "scenario_secret_service");
    run(cmd, "the scenario with gnome-keyring");
}

#[test]
fn a_locked_keyring_falls_back_to_the_file() {
    // The login keyring exists but is locked again: storing needs an unlock prompt nobody can answer.
    let (cmd, _home) = in_private_session(
        "printf test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
         && dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
            org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null",
        "scenario_refused",
    );
    run(cmd, "the scenario with a locked gnome-keyring");
}

#[test]
fn a_secret_service_without_a_keyring_falls_back_to_the_file() {
    // The daemon runs with no keyring at all: creating one needs a prompt nobody can answer.
    let (cmd, _home) = in_private_session("gnome-keyring-daemon --start --components=secrets >/dev/null", "scenario_refused");
    run(cmd, "the scenario with gnome-keyring and no keyring");
}

#[test]
#[ignore = "run by the two tests above in a child process"]
fn scenario_refused() {
    if !is_child("scenario_refused") {
        return;
    }
    let server = Server::start();
    server.add_centre("SH01");
    let c = demo_centre(2, 21);
    token_store::set_keyring_service(Some(TEST_SERVICE));
    let started = std::time::Instant::now();
    c.register(&server, "SH01");
    assert!(started.elapsed() < 3 * token_store::KEYRING_TIMEOUT, "registration waited {:?}", started.elapsed());
    assert_eq!(token_key(c.core.path()), None, "the locked keyring did not take the token");
    assert!(sync::token_path(c.core.path()).exists());
    assert_eq!(sync::device_token(c.core.path()).unwrap().unwrap().1, TokenStore::File);
    push_all(&c);
}

#[test]
#[ignore = "run by a_real_secret_service_keeps_the_token_and_older_token_files_still_work in a child process"]
fn scenario_secret_service() {
    if !is_child("scenario_secret_service") {
        return;
    }
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
    assert!(!address.is_empty(), "dbus-run-session sets the private bus");
    let server = Server::start();
    server.add_centre("SH01");
    server.add_centre("BJ01");
    let a = demo_centre(2, 11);
    let b = demo_centre(2, 12);
    token_store::set_keyring_service(Some(TEST_SERVICE));

    // Registration puts the token in the keyring, and nowhere on disk.
    a.register(&server, "SH01");
    let key = token_key(a.core.path()).expect("the keyring took the token");
    assert!(!sync::token_path(a.core.path()).exists(), "no token file when the keyring holds it");
    let (token, store) = sync::device_token(a.core.path()).unwrap().unwrap();
    assert_eq!(store, TokenStore::Keyring);
    token_store::forget_cached();
    assert_eq!(token_store::keyring_get(&key, false).unwrap().as_deref(), Some(token.as_str()), "read back from the secret service itself");
    let settings = std::fs::read_to_string(sync::settings_path(a.core.path())).unwrap();
    assert!(!settings.contains(&token), "the token is not in the settings file");
    assert_eq!(a.core.sync_state().unwrap().token_store, Some(TokenStore::Keyring));
    token_store::forget_cached();
    push_all(&a);

    // Another database on the same PC has an entry of its own.
    b.register(&server, "BJ01");
    let key_b = token_key(b.core.path()).unwrap();
    assert_ne!(key, key_b);
    let token_b = sync::device_token(b.core.path()).unwrap().unwrap().0;
    assert_ne!(token, token_b);
    token_store::forget_cached();
    push_all(&b);
    assert_eq!(sync::device_token(a.core.path()).unwrap().unwrap().0, token, "registering B left A's token alone");

    // Re-registering A replaces its entry and removes the previous one.
    a.register(&server, "SH01");
    let key2 = token_key(a.core.path()).unwrap();
    assert_ne!(key, key2);
    assert_eq!(token_store::keyring_get(&key, false).unwrap(), None, "the previous registration's entry is gone");
    let token2 = sync::device_token(a.core.path()).unwrap().unwrap().0;
    assert_ne!(token, token2);
    push_all(&a);

    // An older version's desk: the token in the user-only file, no key in sync.json.
    let old = demo_centre(2, 13);
    token_store::set_keyring_service(None);
    old.register(&server, "SH01");
    token_store::set_keyring_service(Some(TEST_SERVICE));
    assert_eq!(token_key(old.core.path()), None);
    let old_token = std::fs::read_to_string(sync::token_path(old.core.path())).unwrap();
    assert_eq!(sync::device_token(old.core.path()).unwrap(), Some((old_token.clone(), TokenStore::File)), "an older token file is still read");
    assert_eq!(old.core.sync_state().unwrap().token_store, Some(TokenStore::File));
    push_all(&old);
    // The next registration moves it into the keyring and removes the file.
    old.register(&server, "SH01");
    assert!(token_key(old.core.path()).is_some());
    assert!(!sync::token_path(old.core.path()).exists(), "the older token file is removed once the keyring holds the new token");
    assert_eq!(sync::device_token(old.core.path()).unwrap().unwrap().1, TokenStore::Keyring);
    push_all(&old);

    // A token in the keyring that is gone, with no file: not registered, said plainly.
    token_store::forget_cached();
    token_store::keyring_delete(&key2).unwrap();
    assert_eq!(sync::device_token(a.core.path()).unwrap(), None);
    assert!(matches!(a.core.sync_now(&a.admin).unwrap_err(), SyncError::NotRegistered));
    assert!(!a.core.sync_state().unwrap().registered);

    // Clean up this session's entries (the session and its keyring die with the child anyway).
    for c in [&b, &old] {
        if let Some(k) = token_key(c.core.path()) {
            token_store::keyring_delete(&k).unwrap();
        }
    }
}
