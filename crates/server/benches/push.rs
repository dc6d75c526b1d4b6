//! Head-office sync throughput: a centre's change log of ≥ 100,000 ops pushed to the real
//! server (in-process on 127.0.0.1, axum, the store's one transaction per batch), next to
//! its peer, the transport's floor: the same gzipped batches POSTed to a trivial axum
//! endpoint that only reads the body and discards it.
//!
//! ```sh
//! cargo bench -p centredesk-server --bench push                # SQLite store
//! scripts/bench-sync.sh                                        # + PostgreSQL (throwaway cluster)
//! cargo bench -p centredesk-server --bench push -- --runs 5 --ops 100000 --members 480
//! ```
//!
//! The dataset is a demo centre (a year of front-desk history written through the service
//! API: members, guardians, leads, contracts, payments, timetable, roll calls, goods) big
//! enough for `--ops` change-log rows, cached in `target/bench/`. Three legs per store:
//!
//! - **raw POST**: the gzipped batches (cut as the pusher cuts them: 500 ops or 1 MB of
//!   JSON, gzip fast) posted one after another on one keep-alive connection to a handler
//!   that reads and drops the body;
//! - **batches**: the same bytes posted to `/api/v1/sync/push` (inflate, parse, check, one
//!   store transaction per batch: ops stored, rows folded, acked advanced);
//! - **pusher**: what a desk does, `Core::sync_push_pending` from a fresh registration
//!   (status call, reading the change log, building and gzipping each batch, the pushes).
//!
//! PostgreSQL runs when `CENTREDESK_TEST_PG` points at a server (`postgres://user@host:port`;
//! a fresh database per run). Timings are the median of `--runs` (default 3), each on a
//! fresh server. Never a timed assertion: the targets (SQLite ≤ 10 s, PostgreSQL ≤ 20 s
//! for 100,000 ops) are printed next to the figures.

#[path = "../tests/common/mod.rs"]
mod common;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use centredesk_core::Core;
use common::{pg_base, Backend, Server, HO_PASSWORD, HO_USER};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Args {
    runs: usize,
    ops: usize,
    members: usize,
}

fn args() -> Args {
    let mut a = Args { runs: 3, ops: 100_000, members: 480 };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = || argv.get(i + 1).and_then(|v| v.parse::<usize>().ok()).unwrap_or_else(|| panic!("{} needs a number", argv[i]));
        match argv[i].as_str() {
            "--runs" => a.runs = value().max(1),
            "--ops" => a.ops = value(),
            "--members" => a.members = value(),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// `<target>/bench`, from this executable's place in `<target>/release/deps/`.
fn bench_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench")
}

fn log_len(path: &Path) -> usize {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT COUNT(*) FROM change_log", [], |r| r.get::<_, i64>(0)).unwrap() as usize
}

/// A demo centre with at least `ops` change-log rows, generated once (the demo's
/// generator, through the service API) and cached.
fn dataset(a: &Args) -> PathBuf {
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("sync-demo-{}.db", a.members));
    if path.exists() && log_len(&path) >= a.ops {
        return path;
    }
    let tmp = dir.join(format!("sync-demo-{}.tmp.db", a.members));
    for p in [&path, &tmp] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
    }
    eprintln!("generating a demo centre of {} members (cached in {}) …", a.members, path.display());
    let started = Instant::now();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    centredesk_core::demo::generate(&tmp, &centredesk_core::demo::DemoOptions::through_day(a.members, 2026, today)).unwrap();
    let n = log_len(&tmp);
    eprintln!("  {n} change-log ops in {:.1} s", started.elapsed().as_secs_f64());
    assert!(n >= a.ops, "{} members give {n} ops, fewer than --ops {}: raise --members", a.members, a.ops);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// The change log cut into batches as the pusher cuts them (`BATCH_OPS` ops or
/// `BATCH_BYTES` of JSON) and gzipped as it gzips them: `(ops, gzipped body)`.
fn batches(path: &Path, ops: usize) -> Vec<(usize, Vec<u8>)> {
    use centredesk_core::sync::{BATCH_BYTES, BATCH_OPS};
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt =
        conn.prepare("SELECT seq, op_id, at, staff_id, entity, entity_id, op, subject_id, payload FROM change_log WHERE seq <= ?1 ORDER BY seq").unwrap();
    let mut rows = stmt.query([ops as i64]).unwrap();
    let mut out = vec![];
    let (mut body, mut n) = (b"{\"ops\":[".to_vec(), 0usize);
    let finish = |body: &mut Vec<u8>, n: &mut usize, out: &mut Vec<(usize, Vec<u8>)>| {
        body.extend_from_slice(b"]}");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(body).unwrap();
        out.push((*n, gz.finish().unwrap()));
        *body = b"{\"ops\":[".to_vec();
        *n = 0;
    };
    while let Some(r) = rows.next().unwrap() {
        let payload: String = r.get(8).unwrap();
        let op = serde_json::json!({
            "seq": r.get::<_, i64>(0).unwrap(), "op_id": r.get::<_, String>(1).unwrap(), "at": r.get::<_, String>(2).unwrap(),
            "staff_id": r.get::<_, Option<String>>(3).unwrap(), "entity": r.get::<_, String>(4).unwrap(), "entity_id": r.get::<_, String>(5).unwrap(),
            "op": r.get::<_, String>(6).unwrap(), "subject_id": r.get::<_, Option<String>>(7).unwrap(),
            "payload": serde_json::from_str::<Value>(&payload).unwrap(),
        })
        .to_string();
        if n > 0 && (n == BATCH_OPS || body.len() + op.len() > BATCH_BYTES) {
            finish(&mut body, &mut n, &mut out);
        }
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(op.as_bytes());
        n += 1;
    }
    if n > 0 {
        finish(&mut body, &mut n, &mut out);
    }
    out
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build()
}

/// Posts every batch in order on one keep-alive connection; returns the answers' JSON.
fn post_all(url: &str, token: &str, batches: &[(usize, Vec<u8>)]) -> (Duration, Vec<Value>) {
    let agent = agent();
    let bearer = format!("Bearer {token}");
    let started = Instant::now();
    let mut answers = Vec::with_capacity(batches.len());
    for (_, body) in batches {
        let resp = agent
            .post(url)
            .set("Authorization", &bearer)
            .set("Content-Type", "application/json")
            .set("Content-Encoding", "gzip")
            .send_bytes(body)
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        answers.push(serde_json::from_str(&resp.into_string().unwrap()).unwrap_or(Value::Null));
    }
    (started.elapsed(), answers)
}

/// The floor: an axum endpoint (same runtime shape and body limit as the server) that
/// reads each body and drops it.
fn raw_post(batches: &[(usize, Vec<u8>)]) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}/discard", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route(
            "/discard",
            post(|body: Bytes| async move {
                std::hint::black_box(body.len());
                "{}"
            }),
        )
        .layer(DefaultBodyLimit::max(centredesk_server::http::MAX_BODY));
    rt.spawn(async move { axum::serve(listener, app).await });
    let (took, _) = post_all(&url, "-", batches);
    rt.shutdown_background();
    took
}

fn register(server: &Server, centre: &str) -> String {
    let body = serde_json::json!({ "username": HO_USER, "password": HO_PASSWORD, "centre": centre, "device_name": "bench" });
    let (s, v) = common::post(&format!("{}/api/v1/devices/register", server.url), None, &[], body.to_string().as_bytes());
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// The same batches to the real server's push endpoint.
fn store_batches(backend: Backend, batches: &[(usize, Vec<u8>)], total: usize) -> Duration {
    let server = Server::start_on(backend);
    let centre = server.add_centre("BENCH");
    let token = register(&server, "BENCH");
    let (took, answers) = post_all(&format!("{}/api/v1/sync/push", server.url), &token, batches);
    let applied: u64 = answers.iter().map(|a| a["applied"].as_u64().unwrap_or(0)).sum();
    assert_eq!(applied as usize, total, "every op applied once");
    assert_eq!(answers.last().unwrap()["acked_through_seq"].as_u64(), Some(total as u64));
    assert!(!server.rows(centre).is_empty());
    took
}

/// The desk's own pusher from a fresh registration.
fn store_pusher(backend: Backend, dataset: &Path, total: usize) -> (Duration, usize) {
    let server = Server::start_on(backend);
    server.add_centre("BENCH");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("centre.db");
    std::fs::copy(dataset, &path).unwrap();
    let core = Core::open(&path).unwrap();
    let admin = core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap();
    core.sync_register(&admin, &server.url, "BENCH", HO_USER, HO_PASSWORD, "bench").unwrap();
    let started = Instant::now();
    let report = core.sync_push_pending().unwrap();
    let took = started.elapsed();
    assert_eq!(report.sent, total, "{report:?}");
    assert_eq!(report.acked_through_seq as usize, total);
    (took, report.batches)
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

struct Row {
    store: &'static str,
    leg: &'static str,
    ops: usize,
    batches: usize,
    took: Duration,
}

fn main() {
    let a = args();
    let data = dataset(&a);
    let total_log = log_len(&data);
    let batches = batches(&data, total_log);
    let total: usize = batches.iter().map(|b| b.0).sum();
    let gz: usize = batches.iter().map(|b| b.1.len()).sum();
    eprintln!(
        "dataset {}: {total} ops in {} batches, {:.1} MB gzipped ({} B/op); median of {} runs",
        data.display(),
        batches.len(),
        gz as f64 / 1e6,
        gz / total.max(1),
        a.runs
    );

    let raw = median((0..a.runs).map(|_| raw_post(&batches)).collect());
    let mut rows = vec![Row { store: "—", leg: "raw POST (read and discard)", ops: total, batches: batches.len(), took: raw }];
    let mut backends = vec![(Backend::Sqlite, "SQLite")];
    if pg_base().is_some() {
        backends.push((Backend::Postgres, "PostgreSQL"));
    } else {
        eprintln!("CENTREDESK_TEST_PG is not set: PostgreSQL skipped (scripts/bench-sync.sh runs it on a throwaway cluster)");
    }
    for (backend, name) in backends {
        let took = median((0..a.runs).map(|_| store_batches(backend, &batches, total)).collect());
        rows.push(Row { store: name, leg: "same batches → /sync/push", ops: total, batches: batches.len(), took });
        let mut pushes = 0;
        let took = median(
            (0..a.runs)
                .map(|_| {
                    let (t, b) = store_pusher(backend, &data, total);
                    pushes = b;
                    t
                })
                .collect(),
        );
        rows.push(Row { store: name, leg: "desk pusher (sync_push_pending)", ops: total, batches: pushes, took });
    }

    println!();
    println!("| store | leg | ops | batches | seconds | ops/s | × raw POST |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        let secs = r.took.as_secs_f64();
        println!("| {} | {} | {} | {} | {:.3} | {:.0} | {:.1}× |", r.store, r.leg, r.ops, r.batches, secs, r.ops as f64 / secs, secs / raw.as_secs_f64());
    }
    println!();
    for r in rows.iter().filter(|r| r.store != "—") {
        let target = if r.store == "SQLite" { 10.0 } else { 20.0 };
        let scaled = r.took.as_secs_f64() * 100_000.0 / r.ops as f64;
        let verdict = if scaled <= target { "met" } else { "NOT met" };
        println!("{} {}: {scaled:.2} s per 100,000 ops, target ≤ {target:.0} s: {verdict}", r.store, r.leg);
    }
}
