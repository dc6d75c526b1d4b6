//! `centredesk-server bench portal`: the parents' child page with many families published.
//! Its own generator (no desk needed): a centre whose desk published `families` guardians'
//! documents (every third guardian with two children) and a child document of the size a
//! demo child's has (30 attendance lines, contracts, points, four weeks of classes), each
//! guardian signed in and consented; the real server on 127.0.0.1:0 behind a trusted proxy
//! (so the per-address limits key on each family's own X-Forwarded-For, as behind a real
//! proxy); then clients ask for random children's pages, and the figures are printed next
//! to the same server's `api/me` and a static file.

use crate::auth::{new_token, token_hash};
use crate::clock::Clock;
use crate::store::{PortalSession, Store};
use crate::{router_with, serve_with, Options, SqliteStore};
use centredesk_protocol::portal::{AttendanceLine, CentreDoc, ChildDoc, ChildRef, ContractLine, Doc, GuardianDoc, PointsLine, SessionLine, UpcomingLine};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent clients (parents' phones at once).
const CLIENTS: usize = 4;

struct Family {
    cookie: String,
    children: Vec<String>,
    forwarded_for: String,
}

fn centre_doc() -> Doc {
    let timetable = (0..600)
        .map(|i| SessionLine {
            session_id: format!("s{i:05}"),
            group_id: format!("grp{:03}", i % 150),
            group_name: format!("跆拳道{}班", i % 150),
            date: format!("2026-12-{:02}", 1 + i / 25),
            start_time: format!("{:02}:00", 9 + i % 10),
            end_time: format!("{:02}:00", 10 + i % 10),
            coach_name: "赵磊".into(),
            status: "scheduled".into(),
            change_note: String::new(),
        })
        .collect();
    Doc::Centre(CentreDoc {
        enabled: true,
        name: "飞跃跆拳道馆".into(),
        address: "浦东新区张杨路 1 号".into(),
        phone: "021-5555 0000".into(),
        privacy_notice: "家长端向您展示孩子的课时、合同有效期、积分、考勤和课表。".repeat(4),
        notice_version: 1,
        today: "2026-12-01".into(),
        published_at: "2026-12-01 18:00".into(),
        timetable,
    })
}

fn child_doc(id: &str, n: usize) -> Doc {
    Doc::Child(ChildDoc {
        member_id: id.to_string(),
        name: format!("孩子{n}"),
        member_no: Some(format!("M{n:05}")),
        status: "active".into(),
        lessons_left: Some(24),
        valid_until: Some("2027-06-30".into()),
        contracts: vec![
            ContractLine { package_name: "48 课时".into(), start_date: "2026-07-01".into(), end_date: "2027-06-30".into(), lessons_total: Some(48), lessons_left: Some(24), status: "valid".into() },
            ContractLine { package_name: "24 课时".into(), start_date: "2026-01-01".into(), end_date: "2026-06-30".into(), lessons_total: Some(24), lessons_left: Some(0), status: "used_up".into() },
        ],
        points: 420,
        points_entries: (0..10).map(|i| PointsLine { at: format!("2026-11-{:02} 18:00", 1 + i), delta: 10, reason: "出勤".into() }).collect(),
        attendance: (0..30)
            .map(|i| AttendanceLine { date: format!("2026-11-{:02}", 1 + i % 28), start_time: "18:00".into(), group_name: "跆拳道3班".into(), mark: "present".into(), consumed: true })
            .collect(),
        upcoming: (0..8)
            .map(|i| UpcomingLine {
                session_id: format!("s{:05}", i * 75),
                date: format!("2026-12-{:02}", 2 + i * 3),
                start_time: "18:00".into(),
                end_time: "19:00".into(),
                group_name: "跆拳道3班".into(),
                ..Default::default()
            })
            .collect(),
        trials: vec![],
    })
}

/// Publishes the centre and `families` guardians with their children, and signs each in.
fn generate(store: &dyn Store, families: usize) -> Result<Vec<Family>, Box<dyn std::error::Error>> {
    store.add_centre("SH01", "飞跃跆拳道馆")?;
    let centre_id = store.centre_id("SH01")?.ok_or("no centre")?;
    let clock = Clock::default();
    let now = clock.now_text();
    let doc = |d: &Doc| -> Result<(String, String), serde_json::Error> { Ok((d.key(), serde_json::to_string(d)?)) };
    store.portal_publish(centre_id, "bench", 1, &[doc(&centre_doc())?], &now)?;
    let mut out = Vec::with_capacity(families);
    let mut batch = vec![];
    let mut child_no = 0;
    for g in 0..families {
        let guardian_id = format!("g{g:06}");
        let mut children = vec![];
        for _ in 0..(if g % 3 == 0 { 2 } else { 1 }) {
            child_no += 1;
            let id = format!("c{child_no:06}");
            batch.push(doc(&child_doc(&id, child_no))?);
            children.push(id);
        }
        let refs = children.iter().enumerate().map(|(i, id)| ChildRef { member_id: id.clone(), name: format!("孩子{}", child_no - children.len() + i + 1) }).collect();
        batch.push(doc(&Doc::Guardian(GuardianDoc { guardian_id: guardian_id.clone(), name: format!("家长{g}"), phone: "****8002".into(), children: refs }))?);
        if batch.len() >= 2000 {
            store.portal_publish(centre_id, "bench", 1, &batch, &now)?;
            batch.clear();
        }
        let token = new_token();
        let session = PortalSession {
            token_hash: token_hash(&token),
            centre_id,
            guardian_id: guardian_id.clone(),
            invite_hash: None,
            created_ms: clock.now_ms(),
            revoked_ms: None,
            device: "iPhone · WeChat".into(),
            seen_ms: None,
        };
        store.portal_session_create(&session)?;
        store.portal_consent_set(centre_id, &guardian_id, 1, true, &now)?;
        out.push(Family { cookie: format!("{}={token}", crate::portal::COOKIE), children, forwarded_for: format!("10.{}.{}.{}", g / 65536 % 256, g / 256 % 256, g % 256) });
    }
    store.portal_publish(centre_id, "bench", 1, &batch, &now)?;
    Ok(out)
}

/// One GET on a fresh connection: (status, time to the whole answer).
fn get(addr: SocketAddr, path: &str, cookie: &str, forwarded_for: &str) -> std::io::Result<(u16, Duration)> {
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nX-Forwarded-For: {forwarded_for}\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let status = std::str::from_utf8(&answer[..answer.len().min(16)]).ok().and_then(|h| h.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, started.elapsed()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// `requests` child pages from [`CLIENTS`] clients at once, then as many `api/me` and
/// static-file reads; prints a table.
pub fn portal(families: usize, requests: usize) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("centredesk-bench-portal-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(&dir)?);
    let started = Instant::now();
    let families = Arc::new(generate(store.as_ref(), families)?);
    let children: usize = families.iter().map(|f| f.children.len()).sum();
    let size = std::fs::metadata(dir.join("centredesk-server.db")).map(|m| m.len()).unwrap_or(0);
    println!("generated {} families, {children} children, {:.0} MB store, in {:.1} s", families.len(), size as f64 / 1e6, started.elapsed().as_secs_f64());

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let options = Options { trusted_proxies: vec!["127.0.0.1".parse()?], ..Default::default() };
    rt.spawn(serve_with(listener, router_with(store.clone(), options), std::future::pending()));

    let run = |what: &'static str| -> Result<Vec<Duration>, String> {
        let threads: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let families = families.clone();
                std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                    // A fixed sequence of families per client (no machine randomness).
                    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ (client as u64 + 1);
                    let mut times = Vec::with_capacity(requests / CLIENTS);
                    for _ in 0..requests / CLIENTS {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let f = &families[(x % families.len() as u64) as usize];
                        let path = match what {
                            "child" => format!("/p/SH01/api/child/{}", f.children[(x as usize / 7) % f.children.len()]),
                            "me" => "/p/SH01/api/me".to_string(),
                            _ => "/p/SH01/app.js".to_string(),
                        };
                        let (status, took) = get(addr, &path, &f.cookie, &f.forwarded_for).map_err(|e| e.to_string())?;
                        if status != 200 {
                            return Err(format!("{path}: HTTP {status}"));
                        }
                        times.push(took);
                    }
                    Ok(times)
                })
            })
            .collect();
        let mut all = vec![];
        for t in threads {
            all.extend(t.join().map_err(|_| "a client panicked".to_string())??);
        }
        all.sort();
        Ok(all)
    };
    // Warm the store's pages first, as a server that has been up a while has them.
    run("child")?;
    let build = if cfg!(debug_assertions) { "debug build: use --release for figures" } else { "release build" };
    println!("\n{CLIENTS} clients at once, {requests} requests each row, one connection per request, {build}:\n");
    println!("| | p50 | p99 | max | target |");
    println!("| --- | --- | --- | --- | --- |");
    for (what, label, target) in [("child", "a child's page `api/child/{id}`", "p99 ≤ 50 ms"), ("me", "the same parents' `api/me`", ""), ("static", "a static file (`app.js`: no store)", "")] {
        let t = run(what)?;
        println!("| {label} | {} | {} | {} | {target} |", ms(percentile(&t, 0.5)), ms(percentile(&t, 0.99)), ms(*t.last().unwrap()));
    }
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
