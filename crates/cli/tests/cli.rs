//! The `centredesk` binary on a real database file: what a manager's script would do.

use std::process::{Command, Output};

fn centredesk(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_centredesk"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("CENTREDESK_USER", "qiantai")
        .env("CENTREDESK_PASSWORD", "demo1234")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn demo_then_add_and_find_a_member() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let out = centredesk(&db, &["demo", "--members", "20", "--today", "2026-11-25"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("admin / demo1234"));
    // A second demo on the same file is refused: it never overwrites a centre.
    let again = centredesk(&db, &["demo", "--members", "20"]);
    assert_eq!(again.status.code(), Some(2));

    let out = centredesk(&db, &["member", "add", "--name", "曾小贤", "--gender", "男", "--guardian-name", "曾妈妈", "--phone", "13512345678", "--birthday", "2016/4/1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout(&out);
    let fields: Vec<&str> = line.trim().split('\t').collect();
    assert!(fields[1].starts_with('M'), "approved with a number: {line}");

    for query in ["cengxiaoxian", "zxx", "5678", "曾小"] {
        let out = centredesk(&db, &["member", "find", query, "--json"]);
        let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(hits.as_array().unwrap().iter().any(|h| h["name"] == "曾小贤"), "{query}: {hits}");
    }
}

#[test]
fn bad_input_is_refused_in_the_chosen_language_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    assert!(centredesk(&db, &["demo", "--members", "5"]).status.success());
    let out = centredesk(&db, &["member", "add", "--name", "王五", "--gender", "M", "--guardian-name", "王爸爸", "--phone", "12345"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("家长电话：请输入以 1 开头的 11 位手机号"));
    let out = centredesk(&db, &["--lang", "en", "member", "add", "--name", "王五", "--gender", "X"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Gender must be one of"), "{}", String::from_utf8_lossy(&out.stderr));
    let found = centredesk(&db, &["member", "find", "王五", "--json"]);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&found.stdout).unwrap(), serde_json::json!([]));
    let wrong = Command::new(env!("CARGO_BIN_EXE_centredesk")).arg("--db").arg(&db).args(["member", "find", "x"]).env("CENTREDESK_USER", "qiantai").env("CENTREDESK_PASSWORD", "nope").output().unwrap();
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("用户名或密码错误"));
}

#[test]
fn the_manager_exports_csv_and_prints_a_roster_from_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    assert!(centredesk(&db, &["demo", "--members", "20", "--today", "2026-11-25"]).status.success());
    let as_manager = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_centredesk")).arg("--db").arg(&db).args(args).env("CENTREDESK_USER", "admin").env("CENTREDESK_PASSWORD", "demo1234").output().unwrap()
    };
    let csv = dir.path().join("payments.csv");
    let out = as_manager(&["export", "payments", "--from", "2026-11-01", "--to", "2026-11-30", "--out", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&csv).unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]) && String::from_utf8_lossy(&bytes).contains("收据号,日期"));
    // A clerk's script is refused.
    let refused = centredesk(&db, &["export", "members", "--out", dir.path().join("m.csv").to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(!dir.path().join("m.csv").exists());

    let sessions = stdout(&as_manager(&["sessions", "--from", "2026-11-28", "--to", "2026-11-28"]));
    let id = sessions.lines().next().expect("a Saturday class").split('\t').next().unwrap().to_string();
    let pdf = dir.path().join("roster.pdf");
    let out = as_manager(&["print", "roster", &id, "--out", pdf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
}

#[test]
fn the_manager_previews_then_imports_a_gb18030_file_from_excel() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    assert!(centredesk(&db, &["demo", "--members", "5", "--today", "2026-11-25"]).status.success());
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/import/members-gb18030.csv");
    let file = file.to_str().unwrap();
    let as_manager = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_centredesk")).arg("--db").arg(&db).args(args).env("CENTREDESK_USER", "admin").env("CENTREDESK_PASSWORD", "demo1234").output().unwrap()
    };
    let found = |name: &str| {
        let out = as_manager(&["member", "find", name, "--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap().as_array().unwrap().iter().any(|h| h["name"] == name)
    };

    // Preview (the default): the per-row report, nothing written.
    let out = as_manager(&["import", "members", file]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert!(text.contains("编码: GB18030"), "{text}");
    assert!(text.contains("6\t拒绝\t刘洋") && text.contains("家长电话：请输入以 1 开头的 11 位手机号"), "{text}");
    assert!(text.contains("共 10 行：新建 4，合并 2，拒绝 4"), "{text}");
    assert!(!found("赵子涵"));

    // A column mapped by hand, in English.
    let out = as_manager(&["--lang", "en", "import", "members", file, "--map", "4="]);
    assert!(stdout(&out).contains("4\t出生日期\t→ (ignored)"), "{}", stdout(&out));

    // The same report as JSON for scripts.
    let report: serde_json::Value = serde_json::from_slice(&as_manager(&["import", "members", file, "--json"]).stdout).unwrap();
    assert_eq!((report["encoding"].as_str(), report["rows"].as_array().unwrap().len(), report["rejected"].as_i64()), (Some("GB18030"), 10, Some(4)));
    assert_eq!(report["rows"][4]["reasons"][0]["code"], "validation.phone_format");

    // --commit imports.
    let out = as_manager(&["import", "members", file, "--commit"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("已导入：新建 4 条（其中 3 名会员已审核并编号），关联家长 1 位"), "{}", stdout(&out));
    assert!(found("赵子涵") && found("陈浩然"));

    // A clerk's script is refused.
    let refused = centredesk(&db, &["import", "leads", file, "--commit"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("您的角色无权导入数据"));
}
