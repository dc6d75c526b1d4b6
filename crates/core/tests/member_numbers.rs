//! Member numbers stay unique and gap-free when several writers approve at once:
//! separate `Core`s (as the app and the CLI would be) on one database file.

use crate::common;

use centredesk_core::members::{MemberApplication, MemberApproval};
use centredesk_core::{Core, ManualClock};
use std::collections::HashSet;
use std::sync::Arc;

#[test]
fn concurrent_approvals_get_unique_sequential_numbers() {
    let c = common::centre();
    let mut ids = vec![];
    for i in 0..60 {
        let m = c
            .core
            .member_apply(&c.clerk, MemberApplication { name: format!("测试{}", "甲乙丙丁戊己庚辛壬癸".chars().nth(i % 10).unwrap()), gender: "M".into(), guardian: None, referred_by: None, notes: String::new() })
            .unwrap();
        ids.push(m.id);
    }
    let path = c.db_path();
    let clerk = c.clerk.clone();
    let ids = Arc::new(ids);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (path, clerk, ids) = (path.clone(), clerk.clone(), ids.clone());
            std::thread::spawn(move || {
                let core = Core::open_with_clock(&path, ManualClock::new(common::test_now())).unwrap();
                let mut numbers = vec![];
                for id in ids.iter().skip(t).step_by(4) {
                    let m = core
                        .member_approve(&clerk, id, MemberApproval { birthday: "2016-01-01".into(), school: String::new(), course_interest: String::new() })
                        .unwrap();
                    numbers.push(m.member_no.unwrap());
                }
                numbers
            })
        })
        .collect();
    let numbers: Vec<String> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let unique: HashSet<&String> = numbers.iter().collect();
    assert_eq!(unique.len(), 60, "duplicate member numbers: {numbers:?}");
    let mut sorted: Vec<u32> = numbers.iter().map(|n| n[1..].parse().unwrap()).collect();
    sorted.sort();
    assert_eq!(sorted, (1..=60).collect::<Vec<_>>(), "numbers are sequential with no gaps");
}
