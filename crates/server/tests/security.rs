//! What a careless or hostile client can do to the server: nothing.


use crate::common::*;
use serde_json::{json, Value};

struct Two {
    server: Server,
    a: Centre,
    b: Centre,
    a_id: i64,
    b_id: i64,
}

/// Two centres, A fully pushed, B registered and empty on the server.
fn two_centres() -> Two {
    let server = Server::start();
    let a_id = server.add_centre("A");
    let b_id = server.add_centre("B");
    let a = demo_centre(5, 11);
    let b = demo_centre(5, 12);
    a.register(&server, "A");
    b.register(&server, "B");
    a.core.sync_now(&a.admin).unwrap();
    Two { server, a, b, a_id, b_id }
}

fn push_url(s: &Server) -> String {
    format!("{}/api/v1/sync/push", s.url)
}

#[test]
fn a_missing_or_invalid_token_is_401() {
    let t = two_centres();
    let body = push_body(&t.b.ops(1, 3));
    assert_eq!(post(&push_url(&t.server), None, &[], &body).0, 401);
    assert_eq!(post(&push_url(&t.server), Some("0123456789abcdef"), &[], &body).0, 401);
    assert_eq!(get(&format!("{}/api/v1/sync/status", t.server.url), None).0, 401);
    assert_eq!(get(&format!("{}/api/v1/sync/status", t.server.url), Some("Bearer nope")).0, 401);
    assert_eq!(get(&format!("{}/api/v1/centres", t.server.url), None).0, 401);
    assert_eq!(get(&format!("{}/api/v1/centres", t.server.url), Some("Basic emIzOndyb25n")).0, 401);
    assert!(t.server.rows(t.b_id).is_empty());
}

#[test]
fn a_device_of_centre_b_cannot_touch_centre_a_rows() {
    let t = two_centres();
    let before_a = t.server.rows(t.a_id);
    // B's first op is fine, its second names one of A's members: the whole batch is refused.
    let a_member = t.server.store.rows(t.a_id, "member").unwrap()[0].clone();
    let mut ops = t.b.ops(1, 2);
    ops[1]["entity"] = "member".into();
    ops[1]["entity_id"] = a_member.0.clone().into();
    ops[1]["op"] = "update".into();
    ops[1]["payload"] = json!({"v": 1, "data": {"id": a_member.0, "name": "篡改", "status": "left"}});
    let (status, v) = post(&push_url(&t.server), Some(&t.b.token()), &[], &push_body(&ops));
    assert_eq!(status, 403, "{v}");
    // Claiming to be A in the body does not help either.
    let body = serde_json::to_vec(&json!({"centre": "A", "ops": t.b.ops(1, 2)})).unwrap();
    assert_eq!(post(&push_url(&t.server), Some(&t.b.token()), &[], &body).0, 403);
    assert_eq!(t.server.rows(t.a_id), before_a);
    assert!(t.server.rows(t.b_id).is_empty(), "nothing of the refused batch was applied");
    let (_, st) = get(&format!("{}/api/v1/sync/status", t.server.url), Some(&format!("Bearer {}", t.b.token())));
    assert_eq!(st["acked_through_seq"], 0);
    // B's own data still goes through.
    t.b.core.sync_now(&t.b.admin).unwrap();
    assert_eq!(t.server.rows(t.b_id), t.b.fold());
    assert_eq!(t.server.rows(t.a_id), before_a);
}

#[test]
fn a_replayed_batch_is_harmless() {
    let t = two_centres();
    let before = t.server.rows(t.a_id);
    let body = gzip(&push_body(&t.a.ops(1, 50)));
    for _ in 0..2 {
        let (status, v) = post(&push_url(&t.server), Some(&t.a.token()), &[("Content-Encoding", "gzip")], &body);
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["applied"], 0);
        assert_eq!(v["duplicates"], 50);
        assert_eq!(v["acked_through_seq"], t.a.log_len());
    }
    assert_eq!(t.server.rows(t.a_id), before);
    // The same seq with another op id is a rewound log, not a replay: refused.
    let mut ops = t.a.ops(1, 1);
    ops[0]["op_id"] = "00000000-0000-7000-8000-000000000000".into();
    let (status, v) = post(&push_url(&t.server), Some(&t.a.token()), &[], &push_body(&ops));
    assert_eq!((status, v["code"].clone()), (409, Value::from("diverged")));
    assert_eq!(t.server.rows(t.a_id), before);
}

#[test]
fn gaps_bad_versions_and_malformed_or_oversized_bodies_are_4xx_and_apply_nothing() {
    let t = two_centres();
    let token = t.b.token();
    let url = push_url(&t.server);
    let ops = t.b.ops(1, 20);
    let check = |status: u16, body: Vec<u8>, headers: &[(&str, &str)], what: &str| {
        let (s, v) = post(&url, Some(&token), headers, &body);
        assert_eq!(s, status, "{what}: {v}");
        assert!(t.server.rows(t.b_id).is_empty(), "{what}: nothing applied");
    };
    // A gap says where to resume.
    let (s, v) = post(&url, Some(&token), &[], &push_body(&ops[5..]));
    assert_eq!((s, v["expected_seq"].clone()), (409, json!(1)));
    check(400, b"{\"ops\": [".to_vec(), &[], "truncated JSON");
    check(400, b"not json at all".to_vec(), &[], "not JSON");
    check(400, serde_json::to_vec(&json!({"ops": [{"seq": 1}]})).unwrap(), &[], "op without fields");
    check(400, serde_json::to_vec(&json!({"ops": ops, "extra": 1})).unwrap(), &[], "unknown field");
    check(400, b"\x1f\x8b\x08garbage".to_vec(), &[("Content-Encoding", "gzip")], "bad gzip");
    check(415, push_body(&ops), &[("Content-Encoding", "br")], "unknown encoding");
    let mut skipping = ops.clone();
    skipping.remove(3);
    check(400, push_body(&skipping), &[], "non-consecutive seqs");
    let mut unversioned = ops.clone();
    unversioned[4]["payload"] = json!({"data": {}});
    check(400, push_body(&unversioned), &[], "no payload version");
    let mut future = ops.clone();
    future[7]["payload"]["v"] = 99.into();
    let (s, v) = post(&url, Some(&token), &[], &push_body(&future));
    assert_eq!((s, v["code"].clone()), (426, Value::from("payload_version")));
    // Oversized: a 5 MB body, a gzip bomb inflating past the limit, too many ops.
    // The server may refuse a 5 MB upload from its Content-Length and close before the
    // client has written it all; the client then sees the connection cut, not the 413.
    if let Some((s, v)) = post_or_cut(&url, &token, &vec![b' '; 5 << 20]) {
        assert_eq!(s, 413, "oversized body: {v}");
    }
    assert!(t.server.rows(t.b_id).is_empty(), "oversized body: nothing applied");
    check(413, gzip(&vec![b' '; 17 << 20]), &[("Content-Encoding", "gzip")], "gzip bomb");
    let many: Vec<Value> = (1..=1001).map(|i| { let mut o = ops[0].clone(); o["seq"] = i.into(); o }).collect();
    check(413, push_body(&many), &[], "too many ops");
    let (_, st) = get(&format!("{}/api/v1/sync/status", t.server.url), Some(&format!("Bearer {token}")));
    assert_eq!(st["acked_through_seq"], 0);
}

#[test]
fn head_office_reads_centres_members_contracts_and_monthly_figures_as_json_and_csv() {
    let t = two_centres();
    t.b.core.sync_now(&t.b.admin).unwrap();
    let auth = basic();
    let (s, centres) = get(&format!("{}/api/v1/centres", t.server.url), Some(&auth));
    assert_eq!(s, 200);
    assert_eq!(centres.as_array().unwrap().len(), 2);
    assert!(centres[0]["last_push_at"].is_string());
    let (s, members) = get(&format!("{}/api/v1/centres/A/members", t.server.url), Some(&auth));
    assert_eq!(s, 200);
    let n: i64 = t.a.raw().query_row("SELECT COUNT(*) FROM members", [], |r| r.get(0)).unwrap();
    assert_eq!(members.as_array().unwrap().len() as i64, n);
    let (s, csv) = get_text(&format!("{}/api/v1/centres/A/contracts?format=csv", t.server.url), &auth);
    assert_eq!(s, 200);
    assert!(csv.starts_with("\u{feff}id,contract_no,member_id"), "{csv}");
    let k: i64 = t.a.raw().query_row("SELECT COUNT(*) FROM contracts", [], |r| r.get(0)).unwrap();
    assert_eq!(csv.lines().count() as i64, k + 1);
    let (s, monthly) = get(&format!("{}/api/v1/reports/monthly", t.server.url), Some(&auth));
    assert_eq!(s, 200);
    let rows = monthly.as_array().unwrap();
    assert!(rows.iter().any(|r| r["centre"] == "A") && rows.iter().any(|r| r["centre"] == "B"));
    let (s, csv) = get_text(&format!("{}/api/v1/reports/monthly?format=csv&centre=B", t.server.url), &auth);
    assert_eq!(s, 200);
    assert!(csv.lines().skip(1).all(|l| l.starts_with("B,")), "{csv}");
    assert_eq!(get(&format!("{}/api/v1/centres/ZZ/members", t.server.url), Some(&auth)).0, 404);
}
