//! The phone server for real: a demo centre on a real SQLite file, the server on
//! 127.0.0.1:0, HTTP from a client that keeps its own cookies.

use centredesk_core::demo::{DemoOptions, DEMO_PASSWORD};
use centredesk_core::{Core, ManualClock};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::sync::Arc;

struct Desk {
    core: Arc<Core>,
    clock: Arc<ManualClock>,
    server: Option<centredesk_lan::LanServer>,
    _dir: tempfile::TempDir,
}

/// A 60-member demo centre whose history ends at 08:00 on 2026-11-25 (Beijing), the
/// clock at 08:00, the phone server running.
fn desk() -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("centre.db");
    let until = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    centredesk_core::demo::generate(&path, &DemoOptions::ending(60, 7, until)).unwrap();
    let clock = ManualClock::new(until);
    let core = Arc::new(Core::open_with_clock(&path, clock.clone()).unwrap());
    let server = centredesk_lan::start(core.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    Desk { core, clock, server: Some(server), _dir: dir }
}

impl Desk {
    fn base(&self) -> String {
        format!("http://{}", self.server.as_ref().unwrap().addr())
    }
    fn admin(&self) -> centredesk_core::Session {
        self.core.login("admin", DEMO_PASSWORD).unwrap()
    }
    fn code(&self) -> String {
        self.core.phone_pairing_open(&self.admin()).unwrap().code
    }
    /// Moves the clock five minutes into a class.
    fn into_class(&self, class: &Value) {
        let local = chrono::NaiveDateTime::parse_from_str(&format!("{} {}", class["date"].as_str().unwrap(), class["start_time"].as_str().unwrap()), "%Y-%m-%d %H:%M").unwrap();
        let at = chrono_tz::Asia::Shanghai.from_local_datetime(&local).unwrap().with_timezone(&Utc);
        self.clock.set(at + chrono::Duration::minutes(5));
    }
}

/// A phone: its own cookies, the Origin a browser on the desk's address would send.
struct Phone {
    base: String,
    agent: ureq::Agent,
    cookies: std::collections::BTreeMap<String, String>,
    last_set_cookie: Vec<String>,
}

impl Phone {
    fn new(desk: &Desk) -> Phone {
        Phone::with(desk.base(), ureq::Agent::new())
    }

    fn with(base: String, agent: ureq::Agent) -> Phone {
        Phone { base, agent, cookies: Default::default(), last_set_cookie: vec![] }
    }

    fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut req = self.agent.request(method, &format!("{}{path}", self.base)).set("Cookie", &cookie).set("X-Lang", "en");
        if method == "POST" {
            req = req.set("Origin", &self.base);
        }
        let res = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let res = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        self.last_set_cookie = res.all("set-cookie").iter().map(|s| s.to_string()).collect();
        for c in &self.last_set_cookie {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let status = res.status();
        let text = res.into_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn get(&mut self, path: &str) -> (u16, Value) {
        self.call("GET", path, None)
    }
    fn post(&mut self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body))
    }

    fn pair_and_sign_in(&mut self, desk: &Desk, username: &str) {
        let (status, _) = self.post("/api/pair", json!({ "code": desk.code(), "device_name": "测试手机" }));
        assert_eq!(status, 200);
        let (status, body) = self.post("/api/sign-in", json!({ "username": username, "password": DEMO_PASSWORD }));
        assert_eq!(status, 200, "{body}");
    }
}

/// A raw HTTP/1.1 exchange with any Host and Origin (a client library sets its own).
fn raw(desk: &Desk, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(desk.server.as_ref().unwrap().addr()).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The coach's first class of the day with children in it.
fn coach_class(phone: &mut Phone) -> Value {
    let (status, today) = phone.get("/api/today");
    assert_eq!(status, 200, "{today}");
    today["classes"].as_array().unwrap().iter().find(|c| c["expected"].as_i64().unwrap() >= 3).cloned().expect("a class with children")
}

#[test]
fn pairing_gives_an_http_only_strict_cookie_and_wrong_codes_kill_the_code() {
    let desk = desk();
    let mut phone = Phone::new(&desk);
    // Not paired: nothing but the pairing page.
    assert_eq!(phone.get("/api/me").1["paired"], false);
    assert_eq!(phone.get("/api/today").0, 401);
    let code = desk.code();
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    for _ in 0..4 {
        let (status, body) = phone.post("/api/pair", json!({ "code": wrong }));
        assert_eq!((status, body["code"].as_str()), (401, Some("auth.pairing_code_wrong")));
    }
    assert_eq!(phone.post("/api/pair", json!({ "code": wrong })).1["code"], "auth.pairing_closed");
    assert_eq!(phone.post("/api/pair", json!({ "code": code })).1["code"], "auth.pairing_closed");
    let (status, _) = phone.post("/api/pair", json!({ "code": desk.code(), "device_name": "教练手机" }));
    assert_eq!(status, 200);
    let set = phone.last_set_cookie.join("\n");
    assert!(set.starts_with("cd_device=") && set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert_eq!(phone.get("/api/me").1["paired"], true);
    assert_eq!(phone.get("/api/me").1["signed_in"], false);
    // Wrong password, then the coach.
    assert_eq!(phone.post("/api/sign-in", json!({ "username": "jiaolian1", "password": "nope" })).0, 401);
    assert_eq!(phone.post("/api/sign-in", json!({ "username": "jiaolian1", "password": DEMO_PASSWORD })).0, 200);
    assert!(phone.last_set_cookie[0].contains("HttpOnly") && phone.last_set_cookie[0].contains("SameSite=Strict"));
    assert_eq!(phone.get("/api/me").1["staff_name"], "陈刚");
}

#[test]
fn foreign_hosts_and_origins_are_refused_and_nothing_is_cached_or_shared() {
    let desk = desk();
    let port = desk.server.as_ref().unwrap().addr().port();
    let rebound = raw(&desk, &format!("GET /api/me HTTP/1.1\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n"));
    assert!(rebound.starts_with("HTTP/1.1 421"), "{rebound}");
    let ok = raw(&desk, &format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n"));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let headers = ok.to_lowercase();
    assert!(headers.contains("cache-control: no-store"));
    assert!(!headers.contains("access-control-allow"), "no CORS: {ok}");
    let body = r#"{"code":"12345678"}"#;
    for origin in ["", "Origin: http://evil.example\r\n", "Origin: null\r\n"] {
        let post = raw(
            &desk,
            &format!("POST /api/pair HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{origin}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
        );
        assert!(post.starts_with("HTTP/1.1 403"), "{origin:?}: {post}");
    }
    // The page, every script and style it names (the shared kit's too) and both
    // catalogues come from the desk itself.
    let page = raw(&desk, &format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"));
    let named: Vec<String> = page.split('"').filter(|s| s.ends_with(".js") || s.ends_with(".css")).map(|s| format!("/{s}")).collect();
    assert_eq!(named, ["/kit.css", "/kit.js", "/app.js"], "{page}");
    let mut phone = Phone::new(&desk);
    for path in named.iter().map(String::as_str).chain(["/i18n/zh-CN.json", "/i18n/en.json", "/pair?code=1"]) {
        assert_eq!(phone.get(path).0, 200, "{path}");
    }
}

#[test]
fn a_coach_takes_roll_call_once_and_a_revoked_phone_is_refused_at_its_next_call() {
    let desk = desk();
    let mut phone = Phone::new(&desk);
    phone.pair_and_sign_in(&desk, "jiaolian1");
    let class = coach_class(&mut phone);
    desk.into_class(&class);
    let sid = class["session_id"].as_str().unwrap().to_string();
    let (status, roster) = phone.get(&format!("/api/roster/{sid}"));
    assert_eq!(status, 200);
    let kids: Vec<&Value> = roster["children"].as_array().unwrap().iter().filter(|k| k["member_id"].is_string() && !k["on_leave"].as_bool().unwrap()).collect();
    for k in &kids {
        let phone = k["guardian_phone"].as_str().unwrap();
        assert!(phone.starts_with("****") && phone.len() == 8, "masked: {phone}");
    }
    let marks: Vec<Value> = kids.iter().map(|k| json!({ "member_id": k["member_id"], "mark": "present", "seen": k["version"] })).collect();
    let request = json!({ "request_id": "0193a1b2-1111-7000-8000-000000000001", "kind": "roll_call", "payload": { "session_id": sid, "marks": marks } });
    let (status, first) = phone.post("/api/requests", request.clone());
    assert_eq!((status, first["status"].as_str()), (200, Some("accepted")), "{first}");
    assert_eq!(first["saved"].as_i64().unwrap(), kids.len() as i64);
    let used: i64 = desk.core.roster(&desk.admin(), &sid).unwrap().entries.iter().filter(|e| e.mark.as_deref() == Some("present")).count() as i64;
    assert_eq!(used, kids.len() as i64);
    // A double tap, or a retry after a lost answer: the same answer, nothing again.
    let (_, again) = phone.post("/api/requests", request);
    assert_eq!(again, first);
    // The coach sees only their own classes.
    let other = desk.core.session_list(&desk.admin(), centredesk_core::timetable::SessionFilter { from_date: "2026-11-25".into(), to_date: "2026-11-25".into(), ..Default::default() })
        .unwrap()
        .into_iter()
        .find(|s| s.coach_name != "陈刚")
        .expect("another coach's class");
    assert_eq!(phone.get(&format!("/api/roster/{}", other.id)).1["code"], "conflict.not_your_session");
    // Revoked at the desk: refused at the very next call.
    let device = desk.core.phone_devices(&desk.admin()).unwrap()[0].id.clone();
    desk.core.phone_device_revoke(&desk.admin(), &device).unwrap();
    let (status, body) = phone.get("/api/today");
    assert_eq!((status, body["code"].as_str()), (401, Some("auth.device_unknown")));
}

#[test]
fn a_phone_session_ends_at_midnight_and_when_the_coach_is_disabled() {
    let desk = desk();
    let mut phone = Phone::new(&desk);
    phone.pair_and_sign_in(&desk, "jiaolian1");
    assert_eq!(phone.get("/api/today").0, 200);
    // 23:59 the same day in Beijing: still signed in; 00:00: signed out.
    desk.clock.set(Utc.with_ymd_and_hms(2026, 11, 25, 15, 59, 0).unwrap());
    assert_eq!(phone.get("/api/today").0, 200);
    desk.clock.set(Utc.with_ymd_and_hms(2026, 11, 25, 16, 0, 0).unwrap());
    assert_eq!(phone.get("/api/today").1["code"], "auth.not_logged_in");
    // The device stays paired; the coach signs in again, and is then disabled.
    phone.post("/api/sign-in", json!({ "username": "jiaolian1", "password": DEMO_PASSWORD }));
    assert_eq!(phone.get("/api/today").0, 200);
    let coach = desk.core.staff_list(&desk.admin()).unwrap().into_iter().find(|s| s.username == "jiaolian1").unwrap();
    desk.core.staff_set_active(&desk.admin(), &coach.id, false).unwrap();
    assert_eq!(phone.get("/api/today").1["code"], "auth.account_disabled");
}

#[test]
fn a_stopped_server_closes_its_port() {
    let mut desk = desk();
    let addr = desk.server.as_ref().unwrap().addr();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    desk.server.take().unwrap().stop();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn a_coach_decides_a_trial_and_hands_over_goods_from_the_phone() {
    let desk = desk();
    let mut phone = Phone::new(&desk);
    phone.pair_and_sign_in(&desk, "jiaolian1");
    let class = coach_class(&mut phone);
    let sid = class["session_id"].as_str().unwrap().to_string();
    let admin = desk.admin();
    // A child of the class is booked a trial of a later session (the desk allows it for
    // members too) and buys something not yet handed over.
    let roster = desk.core.roster(&admin, &sid).unwrap();
    let child = roster.entries.iter().find(|e| e.member_id.is_some() && e.expected).unwrap().member_id.clone().unwrap();
    let later = later_session(&desk, &sid);
    let trial = desk.core.trial_request(&admin, centredesk_core::attendance::TrialInput { session_id: later, lead_id: None, member_id: Some(child.clone()), note: "想试试".into() }).unwrap();
    let goods = desk.core.goods_list(&admin, false).unwrap().into_iter().find(|g| g.stock > 0).expect("goods in stock");
    let sale = desk.core.goods_sell(&admin, centredesk_core::goods::SaleInput { goods_id: goods.id.clone(), quantity: 1, member_id: Some(child.clone()), method: "cash".into(), delivered: false, note: String::new() }).unwrap();
    let (_, trials) = phone.get("/api/trials");
    let listed = trials.as_array().unwrap().iter().find(|t| t["trial_id"] == trial.id.as_str()).expect("the trial is listed");
    assert!(listed["capacity"].as_i64().unwrap() > 0);
    let (_, out) = phone.post("/api/requests", json!({ "request_id": "trial-1", "kind": "trial_decision", "payload": { "trial_id": trial.id, "approve": true } }));
    assert_eq!(out["status"], "accepted", "{out}");
    assert_eq!(desk.core.trials_pending(&admin).unwrap().iter().filter(|t| t.id == trial.id).count(), 0);
    // Deciding it again is refused with the reason, and kept.
    let (_, again) = phone.post("/api/requests", json!({ "request_id": "trial-2", "kind": "trial_decision", "payload": { "trial_id": trial.id, "approve": false } }));
    assert_eq!((again["status"].as_str(), again["code"].as_str()), (Some("refused"), Some("conflict.trial_already_decided")));
    let (_, waiting) = phone.get("/api/hand-overs");
    assert!(waiting.as_array().unwrap().iter().any(|h| h["sale_id"] == sale.id.as_str()), "{waiting}");
    let (_, out) = phone.post("/api/requests", json!({ "request_id": "give-1", "kind": "goods_hand_over", "payload": { "sale_id": sale.id } }));
    assert_eq!(out["status"], "accepted", "{out}");
    let (_, waiting) = phone.get("/api/hand-overs");
    assert!(!waiting.as_array().unwrap().iter().any(|h| h["sale_id"] == sale.id.as_str()));

    // A sale at the mat, in cash the coach took, handed over at once.
    let (status, shop) = phone.get("/api/shop");
    assert_eq!(status, 200);
    let item = shop["goods"].as_array().unwrap().iter().find(|g| g["goods_id"] == goods.id.as_str()).expect("on sale");
    let stock = item["stock"].as_i64().unwrap();
    assert!(shop["methods"].as_array().unwrap().iter().any(|m| m["code"] == "cash"));
    let body = json!({ "request_id": "sell-1", "kind": "goods_sale", "payload": { "goods_id": goods.id, "member_id": child, "quantity": 1, "method": "cash", "delivered": true } });
    let (_, out) = phone.post("/api/requests", body.clone());
    assert_eq!(out["status"], "accepted", "{out}");
    assert!(out["record_no"].as_str().unwrap().starts_with('S'));
    assert_eq!(phone.post("/api/requests", body).1, out, "the same sale again is the same answer");
    let after = desk.core.goods_list(&admin, false).unwrap().into_iter().find(|g| g.id == goods.id).unwrap();
    assert_eq!(after.stock, stock - 1);
}

/// A later session of the same class group (for a trial).
fn later_session(desk: &Desk, sid: &str) -> String {
    let admin = desk.admin();
    let s = desk.core.session_get(&admin, sid).unwrap();
    let filter = centredesk_core::timetable::SessionFilter { from_date: "2026-11-26".into(), to_date: "2026-12-09".into(), group_id: Some(s.group_id), ..Default::default() };
    desk.core.session_list(&admin, filter).unwrap().into_iter().find(|x| x.status == "scheduled").expect("a later session").id
}

/// A phone client that trusts only the desk's own certificate, as a coach's browser does
/// once the coach has compared the fingerprint.
fn trusting(identity: &centredesk_lan::TlsIdentity) -> ureq::Agent {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(identity.cert_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    ureq::AgentBuilder::new().tls_config(Arc::new(config)).timeout(std::time::Duration::from_secs(10)).build()
}

#[test]
fn over_https_the_cookies_are_secure_and_plain_http_pages_are_refused() {
    let mut desk = desk();
    desk.server.take().unwrap().stop();
    let certs = tempfile::tempdir().unwrap();
    let identity = centredesk_lan::tls_identity(certs.path(), &[]).unwrap();
    let server = centredesk_lan::start_tls(desk.core.clone(), "127.0.0.1:0".parse().unwrap(), &identity).unwrap();
    assert!(server.secure());
    let addr = server.addr();
    desk.server = Some(server);
    // The certificate names 127.0.0.1 and localhost; the client checks both it and the name.
    let mut phone = Phone::with(format!("https://localhost:{}", addr.port()), trusting(&identity));
    phone.pair_and_sign_in(&desk, "jiaolian1");
    assert!(phone.cookies.contains_key("cd_session"));
    let set = phone.last_set_cookie.join("\n");
    assert!(set.contains("; Secure") && set.contains("HttpOnly"), "{set}");
    let (status, today) = phone.get("/api/today");
    assert_eq!(status, 200, "{today}");
    // A write from an http:// page on the same address is another origin now.
    let cookie = phone.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let refused = phone.agent.post(&format!("{}/api/sign-out", phone.base)).set("Cookie", &cookie).set("Origin", &format!("http://localhost:{}", addr.port())).call();
    assert!(matches!(refused, Err(ureq::Error::Status(403, _))), "{refused:?}");
    // Plain HTTP on the TLS port gets no page.
    let plain = ureq::get(&format!("http://127.0.0.1:{}/", addr.port())).timeout(std::time::Duration::from_secs(5)).call();
    assert!(plain.is_err() || plain.as_ref().map(|r| r.status() >= 400).unwrap_or(true), "plain http served a page");
    // A client that does not trust the desk's certificate does not get through.
    let stranger = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(5)).build().get(&format!("https://localhost:{}/", addr.port())).call();
    assert!(matches!(stranger, Err(ureq::Error::Transport(_))), "{stranger:?}");
}
