//! Parents' portal benchmark on a 300-member demo centre (generated for a fixed day, the
//! desk at a fixed instant): computing every document a full publish sends, next to the
//! 2 s target; and applying 1,000 inbox requests (leave for different children and
//! classes, and consent answers), next to the 2 s target and to the same leave recorded
//! one at a time from the desk's own dialog.

use centredesk_core::attendance::LeaveInput;
use centredesk_core::CoreError;
use centredesk_protocol::portal::{Doc, InboxItem};
use centredesk_protocol::requests::{LeaveRequest, Request, RequestBody};
use std::time::{Duration, Instant};

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn run(members: usize, requests: usize) -> Result<(), CoreError> {
    let dir = std::path::PathBuf::from("target/bench/portal");
    std::fs::create_dir_all(&dir).map_err(|e| CoreError::Internal(e.to_string()))?;
    let path = dir.join("portal-bench.db");
    for end in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("portal-bench.db{end}")));
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default();
    centredesk_core::demo::generate(&path, &centredesk_core::demo::DemoOptions::through_day(members, 5, today))?;
    let at = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 20, 1, 0, 0).single().unwrap_or_default();
    let core = centredesk_core::Core::open_with_clock(&path, centredesk_core::ManualClock::new(at))?;
    let admin = core.login("admin", centredesk_core::demo::DEMO_PASSWORD)?;

    let mut docs = vec![];
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        docs = core.portal_documents()?;
        best = best.min(t.elapsed());
    }
    let bytes = serde_json::to_vec(&docs).map(|v| v.len()).unwrap_or(0);
    let children = docs.iter().filter(|d| matches!(d, Doc::Child(_))).count();
    println!("full publish of a {members}-member demo: {} documents ({children} children, {} KiB of JSON) computed in {} (best of 3) — target ≤ 2000 ms", docs.len(), bytes / 1024, ms(best));

    // Inbox items: each guardian's consent, then leave for (child, class) pairs not taken.
    let mut items = vec![];
    let mut pairs = vec![];
    for d in &docs {
        match d {
            Doc::Guardian(g) => {
                items.push((g.guardian_id.clone(), RequestBody::Consent { version: 1, accepted: true }));
                for k in &g.children {
                    pairs.push((g.guardian_id.clone(), k.member_id.clone()));
                }
            }
            _ => {}
        }
    }
    let upcoming = |id: &str| {
        docs.iter()
            .find_map(|d| match d {
                Doc::Child(k) if k.member_id == id => Some(k.upcoming.iter().filter(|u| !u.marked && !u.on_leave && !u.cancelled).map(|u| u.session_id.clone()).collect::<Vec<_>>()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let mut leaves = vec![];
    let mut seen = std::collections::BTreeSet::new();
    for (g, m) in &pairs {
        for s in upcoming(m) {
            if seen.insert((m.clone(), s.clone())) {
                leaves.push((g.clone(), m.clone(), s));
            }
        }
    }
    // Half are kept for the desk's own dialog (the peer).
    let desk_share: Vec<_> = leaves.iter().skip(1).step_by(2).take(200).cloned().collect();
    for (g, m, s) in leaves.iter().step_by(2) {
        if items.len() >= requests {
            break;
        }
        items.push((g.clone(), RequestBody::Leave(LeaveRequest { member_id: m.clone(), session_ids: vec![s.clone()], note: String::new() })));
    }
    items.truncate(requests);
    let inbox: Vec<InboxItem> = items
        .into_iter()
        .enumerate()
        .map(|(i, (guardian_id, body))| InboxItem {
            number: i as i64 + 1,
            guardian_id,
            received_at: "2026-11-20T01:00:00.000Z".into(),
            request: Request { request_id: format!("bench-{i}"), body },
        })
        .collect();
    let t = Instant::now();
    let done = core.portal_apply(&inbox)?;
    let took = t.elapsed();
    let refused = done.iter().filter(|(_, o)| matches!(o, centredesk_protocol::requests::Outcome::Refused { .. })).count();
    println!(
        "applying {} inbox requests ({} leave, {} consent; {refused} refused): {} ({} each) — target ≤ 2000 ms",
        done.len(),
        inbox.iter().filter(|i| matches!(i.request.body, RequestBody::Leave(_))).count(),
        inbox.iter().filter(|i| matches!(i.request.body, RequestBody::Consent { .. })).count(),
        ms(took),
        ms(took / done.len().max(1) as u32)
    );
    let t = Instant::now();
    for (_, m, s) in &desk_share {
        core.leave_request(&admin, LeaveInput { member_id: m.clone(), session_ids: vec![s.clone()], via: "desk".into(), note: String::new() })?;
    }
    let desk = t.elapsed();
    println!("peer: the same leave from the desk's own dialog, {} one at a time: {} ({} each)", desk_share.len(), ms(desk), ms(desk / desk_share.len().max(1) as u32));
    Ok(())
}
