//! The shell's command line, before any window opens. (This test also makes `cargo test`
//! build the app's binary with the same features as every other test, so the end-to-end
//! suite runs that binary instead of compiling the workspace a second time.)

use std::process::Command;

#[test]
fn a_malformed_clock_is_refused_before_any_window_opens() {
    let out = Command::new(env!("CARGO_BIN_EXE_centredesk-app")).args(["--clock", "yesterday"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--clock") && err.contains("RFC 3339"), "{err}");
}
