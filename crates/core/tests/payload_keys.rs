//! The change log is the durable wire format (the sync pushes it; head office folds it;
//! a restored desk replays it), so the keys each entity's payload carries are held to a
//! golden file: renaming a field of a struct the UI also gets can never silently change
//! what was written before. A deliberate change: bump the payload version in
//! crates/protocol, teach the server's fold the new keys, then regenerate the file with
//! `UPDATE_GOLDEN=1 cargo test -p centredesk-core --test integration payload_keys`.

use std::collections::{BTreeMap, BTreeSet};

const GOLDEN: &str = "tests/payload_keys.golden";

/// (entity, op) → the union of the top-level keys its payloads carried, from a demo
/// centre's year of history plus the operations the demo does not do.
fn payload_keys() -> BTreeMap<String, BTreeSet<String>> {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let (_dir, path) = crate::common::demo_file(40, 7, today);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = raw.prepare("SELECT entity, op, payload FROM change_log").unwrap();
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))).unwrap();
    for row in rows {
        let (entity, op, payload) = row.unwrap();
        let value: serde_json::Value = serde_json::from_str(&payload).unwrap();
        // Each payload is `{v: version, data: {…}}`: the version and data's keys.
        let version = value.get("v").map(|v| v.to_string()).unwrap_or_default();
        let entry = keys.entry(format!("{entity}.{op} v{version}")).or_default();
        if let Some(obj) = value.get("data").and_then(|d| d.as_object()) {
            entry.extend(obj.keys().cloned());
        }
    }
    keys
}

fn render(keys: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut out = String::from("# entity.op: the top-level keys of its change-log payloads (see payload_keys.rs)\n");
    for (k, v) in keys {
        out.push_str(&format!("{k}: {}\n", v.iter().cloned().collect::<Vec<_>>().join(" ")));
    }
    out
}

#[test]
fn each_entitys_payload_keys_match_the_golden_file() {
    let actual = render(&payload_keys());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    if golden != actual {
        let old: BTreeSet<&str> = golden.lines().collect();
        let new: BTreeSet<&str> = actual.lines().collect();
        let gone: Vec<&&str> = old.difference(&new).collect();
        let added: Vec<&&str> = new.difference(&old).collect();
        panic!(
            "the change log's payload keys changed — this is the durable sync format.\nwas:\n  {}\nnow:\n  {}\nIf deliberate, see the module doc (bump the payload version, teach the fold).",
            gone.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("\n  "),
            added.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("\n  ")
        );
    }
}
