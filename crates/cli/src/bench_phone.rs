//! Phone benchmark: a class of 40 saved from a phone over loopback — the HTTP request,
//! the envelope, the stale-line check, the same core roll call — next to the same save
//! made at the desk (a core call); then ten phones taking roll call at once while the
//! desk takes payments, each payment's time next to payments with no phones busy.

use crate::bench_rollcall::{centre, marks_for, BenchCentre, BENCH_PASSWORD, BENCH_USER};
use centredesk_core::attendance::RollCallInput;
use centredesk_core::payments::PaymentInput;
use centredesk_core::timetable::SessionFilter;
use centredesk_core::{CoreError, Lang};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Phones taking roll call at once in the second part.
const PHONES: usize = 10;

struct Phone {
    base: String,
    cookies: Vec<String>,
}

fn internal(e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(e.to_string())
}

impl Phone {
    fn post(&mut self, path: &str, body: Value) -> Result<Value, CoreError> {
        let res = ureq::post(&format!("{}{path}", self.base)).set("Origin", &self.base).set("Cookie", &self.cookies.join("; ")).send_json(body).map_err(internal)?;
        for c in res.all("set-cookie") {
            self.cookies.push(c.split(';').next().unwrap_or_default().to_string());
        }
        res.into_json().map_err(internal)
    }
    fn get(&self, path: &str) -> Result<Value, CoreError> {
        ureq::get(&format!("{}{path}", self.base)).set("Cookie", &self.cookies.join("; ")).call().map_err(internal)?.into_json().map_err(internal)
    }

    /// Pairs with a fresh code and signs in as the bench's manager.
    fn paired(base: &str, core: &centredesk_core::Core, admin: &centredesk_core::Session) -> Result<Phone, CoreError> {
        let mut p = Phone { base: base.to_string(), cookies: vec![] };
        let code = core.phone_pairing_open(admin)?.code;
        p.post("/api/pair", json!({ "code": code, "device_name": "bench" }))?;
        p.post("/api/sign-in", json!({ "username": BENCH_USER, "password": BENCH_PASSWORD }))?;
        Ok(p)
    }

    /// The roster, then one request with every child's mark; the request's time.
    fn roll_call(&mut self, session_id: &str, n: usize) -> Result<Duration, CoreError> {
        let roster = self.get(&format!("/api/roster/{session_id}"))?;
        let empty = vec![];
        let children = roster["children"].as_array().unwrap_or(&empty);
        let marks: Vec<Value> = children
            .iter()
            .zip(marks_for(&children.iter().map(|k| k["member_id"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>()))
            .map(|(k, m)| json!({ "member_id": m.member_id, "mark": m.mark, "comment": m.comment, "seen": k["version"] }))
            .collect();
        let body = json!({ "request_id": format!("bench-{session_id}-{n}"), "kind": "roll_call", "payload": { "session_id": session_id, "marks": marks } });
        let t = Instant::now();
        let out = self.post("/api/requests", body)?;
        let took = t.elapsed();
        if out["status"] != "accepted" || out["saved"].as_u64() != Some(children.len() as u64) {
            return Err(internal(format!("roll call not saved: {out}")));
        }
        Ok(took)
    }
}

fn sessions_of(core: &centredesk_core::Core, c: &Classes, group: &str) -> Result<Vec<String>, CoreError> {
    let filter = SessionFilter { from_date: c.from.to_string(), to_date: c.to.to_string(), group_id: Some(group.to_string()), ..Default::default() };
    Ok(core.session_list(&c.admin, filter)?.into_iter().map(|s| s.id).collect())
}

/// The benchmark centre without its core (which the phone server shares).
struct Classes {
    admin: centredesk_core::Session,
    groups: Vec<(String, Vec<String>)>,
    contracts: Vec<String>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
}

pub fn run(students: usize, sessions: usize) -> Result<(), CoreError> {
    let dir = std::env::temp_dir().join(format!("centredesk-bench-phone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(internal)?;
    let names: Vec<String> = (0..PHONES + 2).map(|i| format!("手机班{}", char::from_u32(0x4e00 + i as u32).unwrap_or('班'))).collect();
    let classes: Vec<(&str, [i64; 2])> = names.iter().map(|n| (n.as_str(), [1, 4])).collect();
    // Two sessions a week: `sessions` of them per class.
    let BenchCentre { core, admin, groups, contracts, from, to } = centre(&dir.join("phone.db"), students, &classes, sessions.div_ceil(2) + 1)?;
    let core = Arc::new(core);
    let c = Classes { admin, groups, contracts, from, to };
    let server = centredesk_lan::start(core.clone(), "127.0.0.1:0".parse().map_err(internal)?).map_err(internal)?;
    let base = format!("http://{}", server.addr());
    let pct = |v: &mut Vec<Duration>, p: usize| {
        v.sort();
        v[((v.len() * p) / 100).min(v.len().saturating_sub(1))]
    };
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);

    // 1. One phone against the desk's own call.
    let mut phone = Phone::paired(&base, &core, &c.admin)?;
    let mut over_http = vec![];
    for (n, s) in sessions_of(&core, &c, &c.groups[0].0)?.iter().take(sessions).enumerate() {
        over_http.push(phone.roll_call(s, n)?);
    }
    let mut at_desk = vec![];
    for s in sessions_of(&core, &c, &c.groups[1].0)?.iter().take(sessions) {
        let t = Instant::now();
        core.roll_call(&c.admin, s, RollCallInput { marks: marks_for(&c.groups[1].1), ..Default::default() })?;
        at_desk.push(t.elapsed());
    }
    println!("phone benchmark: a class of {students}, {} roll calls each way", over_http.len());
    println!("{:<44} {:>10} {:>10}", "", "p50", "p95");
    println!("{:<44} {:>10} {:>10}", "roll call from a phone (HTTP on loopback)", ms(pct(&mut over_http, 50)), ms(pct(&mut over_http, 95)));
    println!("{:<44} {:>10} {:>10}", "the same save at the desk (core call)", ms(pct(&mut at_desk, 50)), ms(pct(&mut at_desk, 95)));

    // 2. Payments alone, then payments while ten phones take roll call.
    let pay = |k: &str| {
        let t = Instant::now();
        core.payment_take(&c.admin, PaymentInput { contract_id: k.to_string(), amount: "100".into(), method: "wechat".into(), note: String::new() }, Lang::ZhCn).map(|_| t.elapsed())
    };
    let mut alone = vec![];
    for k in c.contracts.iter().take(sessions) {
        alone.push(pay(k)?);
    }
    let mut phones = vec![];
    for g in 2..PHONES + 2 {
        phones.push((Phone::paired(&base, &core, &c.admin)?, sessions_of(&core, &c, &c.groups[g].0)?));
    }
    let started = Instant::now();
    let workers: Vec<_> = phones
        .into_iter()
        .map(|(mut p, list)| std::thread::spawn(move || list.iter().take(sessions).enumerate().map(|(n, s)| p.roll_call(s, n)).collect::<Result<Vec<_>, _>>()))
        .collect();
    let mut busy = vec![];
    for k in c.contracts.iter().cycle().skip(sessions) {
        if workers.iter().all(|w| w.is_finished()) {
            break;
        }
        busy.push(pay(k)?);
    }
    let mut requests = vec![];
    for w in workers {
        requests.extend(w.join().map_err(|_| internal("a phone thread panicked"))??);
    }
    let wall = started.elapsed();
    println!("{PHONES} phones × {sessions} roll calls at once ({} in {:.1} s) while the desk took {} payments", requests.len(), wall.as_secs_f64(), busy.len());
    println!("{:<44} {:>10} {:>10} {:>10}", "", "p50", "p95", "max");
    let max = |v: &[Duration]| ms(v.iter().max().copied().unwrap_or_default());
    let (alone_max, busy_max, req_max) = (max(&alone), max(&busy), max(&requests));
    println!("{:<44} {:>10} {:>10} {:>10}", "a payment, no phones busy", ms(pct(&mut alone, 50)), ms(pct(&mut alone, 95)), alone_max);
    println!("{:<44} {:>10} {:>10} {:>10}", "a payment, ten phones taking roll call", ms(pct(&mut busy, 50)), ms(pct(&mut busy, 95)), busy_max);
    println!("{:<44} {:>10} {:>10} {:>10}", "a phone's roll call, ten at once", ms(pct(&mut requests, 50)), ms(pct(&mut requests, 95)), req_max);
    server.stop();
    drop(core);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
