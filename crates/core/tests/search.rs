//! The desk's search box on a real index: names, any part of a name, pinyin, initials,
//! every reading of a surname, phone numbers and their tails, member numbers.

use crate::common;

use centredesk_core::leads::LeadInput;
use centredesk_core::members::{GuardianInput, MemberApplication};
use crate::common::*;

fn names(c: &Centre, q: &str) -> Vec<String> {
    c.core.search(&c.clerk, q, 20).unwrap().into_iter().map(|h| format!("{}:{}", h.entity, h.name)).collect()
}

fn finds(c: &Centre, q: &str, expected: &str) {
    let got = names(c, q);
    assert!(got.iter().any(|n| n == expected), "{q:?} should find {expected}, got {got:?}");
}

#[test]
fn zhang_san_is_found_every_way_a_clerk_types() {
    let c = common::centre();
    let m = c.member("张三", "13812345678");
    c.member("张三丰", "13900001111");
    c.member("李三张", "13700002222");
    for q in ["张", "张三", "zhangsan", "zs", "zhang", "ZHANGS", "5678", "13812345678", "138123", "M00001", "m00001", "00001", "１"] {
        finds(&c, q, "member:张三");
    }
    finds(&c, "三丰", "member:张三丰");
    finds(&c, "sanfeng", "member:张三丰");
    finds(&c, "zsf", "member:张三丰");
    // Han characters must appear in that order: 张三 is not 李三张.
    assert!(!names(&c, "张三").contains(&"member:李三张".to_string()));
    // The exact name ranks first.
    assert_eq!(names(&c, "张三")[0], "member:张三");
    assert_eq!(c.core.search(&c.clerk, "5678", 5).unwrap()[0].id, m.id);
    assert!(names(&c, "zhangsi").is_empty());
    assert!(names(&c, "   ").is_empty());
    assert!(c.core.search(&c.clerk, "\"*) OR (", 5).is_ok(), "FTS syntax is never an error");
}

#[test]
fn surnames_with_several_readings() {
    let c = common::centre();
    for (name, phone) in [("曾小明", "13800000001"), ("单田芳", "13800000002"), ("解晓东", "13800000003"), ("区丽华", "13800000004"), ("吕布", "13800000005")] {
        c.member(name, phone);
    }
    for (q, expected) in [
        ("zengxiaoming", "曾小明"), ("cengxiaoming", "曾小明"), ("zxm", "曾小明"), ("cxm", "曾小明"),
        ("shantianfang", "单田芳"), ("dantianfang", "单田芳"), ("stf", "单田芳"), ("dtf", "单田芳"),
        ("xiexiaodong", "解晓东"), ("jiexiaodong", "解晓东"), ("jxd", "解晓东"),
        ("oulihua", "区丽华"), ("qulihua", "区丽华"), ("olh", "区丽华"),
        ("lvbu", "吕布"), ("lubu", "吕布"),
    ] {
        finds(&c, q, &format!("member:{expected}"));
    }
}

#[test]
fn guardians_and_leads_are_found_too_and_leads_only_by_those_who_may_see_them() {
    let c = common::centre();
    c.core
        .member_apply(&c.clerk, MemberApplication {
            name: "王小明".into(), gender: "M".into(),
            guardian: Some(GuardianInput { name: "欧阳娜".into(), relation: "妈妈".into(), phone: "15011112222".into(), wechat: String::new() }),
            referred_by: None, notes: String::new(),
        })
        .unwrap();
    c.core
        .lead_create(&c.clerk, LeadInput {
            name: "赵小虎".into(), contact_name: "赵大虎".into(), phone: "18633334444".into(), wechat: String::new(), gender: None, birthday: None,
            source: "上门".into(), consultant_id: None, man_money: false, man_authority: false, man_need: false, needs: String::new(), notes: String::new(), next_follow_up: None,
        })
        .unwrap();
    finds(&c, "欧阳", "guardian:欧阳娜");
    finds(&c, "oyn", "guardian:欧阳娜");
    // A parent's phone finds the child as well as the parent.
    finds(&c, "2222", "member:王小明");
    finds(&c, "2222", "guardian:欧阳娜");
    let hit = c.core.search(&c.clerk, "2222", 5).unwrap().into_iter().find(|h| h.entity == "guardian").unwrap();
    assert_eq!(hit.related, vec!["王小明"]);
    finds(&c, "zxh", "lead:赵小虎");
    finds(&c, "4444", "lead:赵小虎");
    finds(&c, "赵大虎", "lead:赵小虎");
    let coach_sees: Vec<String> = c.core.search(&c.coach, "赵", 20).unwrap().into_iter().map(|h| h.entity).collect();
    assert!(!coach_sees.contains(&"lead".to_string()), "a coach does not see leads: {coach_sees:?}");
}

#[test]
fn renaming_and_changing_phones_reindexes() {
    let c = common::centre();
    let m = c.member("周杰", "13800009999");
    let d = c.core.member_get(&c.clerk, &m.id).unwrap();
    let g = &d.guardians[0].guardian;
    c.core
        .guardian_update(&c.clerk, &g.id, centredesk_core::members::GuardianUpdate { name: g.name.clone(), phone: "13800007777".into(), wechat: String::new(), email: String::new(), no_group_messages: false })
        .unwrap();
    assert!(names(&c, "9999").is_empty());
    finds(&c, "7777", "member:周杰");
    c.core
        .member_update(&c.clerk, &m.id, centredesk_core::members::MemberUpdate {
            name: "周杰伦".into(), gender: "M".into(), birthday: m.birthday.clone(), school: String::new(), course_interest: String::new(),
            notes: String::new(), tags: vec!["VIP".into()], rank: "黄带".into(), referred_by: None,
        })
        .unwrap();
    finds(&c, "zjl", "member:周杰伦");
}

#[test]
fn the_exact_name_ranks_first_however_many_share_its_characters() {
    let c = common::centre();
    // 250 people whose names contain 张 and 伟 (more than the index examines at once),
    // registered before the one the clerk is looking for.
    for i in 0..250 {
        let given = ["大伟", "小伟", "伟明"][i % 3];
        c.core
            .member_apply(&c.clerk, MemberApplication { name: format!("张{given}"), gender: "M".into(), guardian: None, referred_by: None, notes: String::new() })
            .unwrap();
    }
    c.core.member_apply(&c.clerk, MemberApplication { name: "张伟".into(), gender: "M".into(), guardian: None, referred_by: None, notes: String::new() }).unwrap();
    let hits = c.core.search(&c.clerk, "张伟", 20).unwrap();
    assert_eq!(hits[0].name, "张伟", "the exact name first: {:?}", hits.iter().map(|h| &h.name).collect::<Vec<_>>());
    let prefix = c.core.search(&c.clerk, "张小", 5).unwrap();
    assert!(prefix.iter().all(|h| h.name == "张小伟"), "{prefix:?}");
}
