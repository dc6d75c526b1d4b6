//! Import 导入 on real SQLite files: the messy files a centre brings (fixtures/import),
//! encodings, the column guess and its override, every row rule, duplicates within the
//! file and against the database, all or nothing, the change log, and who may import.

use crate::common;

use centredesk_core::import::{ColumnMapping, ImportField, ImportKind, ImportPreview, ImportRow, RowStatus};
use centredesk_core::leads::LeadInput;
use centredesk_core::Lang;
use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/import").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn row(p: &ImportPreview, line: i64) -> &ImportRow {
    p.rows.iter().find(|r| r.line == line).unwrap_or_else(|| panic!("no row at line {line}"))
}

fn codes(r: &ImportRow) -> Vec<String> {
    r.reasons.iter().map(|m| m.code.clone()).collect()
}

fn preview(c: &Centre, kind: ImportKind, text: &str) -> ImportPreview {
    c.core.import_preview(&c.admin, kind, text.as_bytes(), None).unwrap()
}

fn lead(name: &str, phone: &str) -> LeadInput {
    LeadInput {
        name: name.into(), contact_name: String::new(), phone: phone.into(), wechat: String::new(), gender: None, birthday: None,
        source: "电话".into(), consultant_id: None, man_money: false, man_authority: false, man_need: false, needs: String::new(),
        notes: String::new(), next_follow_up: None,
    }
}

#[test]
fn a_gb18030_file_from_chinese_excel_is_read_and_checked_without_writing() {
    let c = common::centre();
    let bytes = fixture("members-gb18030.csv");
    assert!(std::str::from_utf8(&bytes).is_err(), "the fixture really is GB18030, not UTF-8");
    let before = c.snapshot();
    let p = c.core.import_preview(&c.admin, ImportKind::Members, &bytes, None).unwrap();
    assert_eq!(c.snapshot(), before, "a preview writes nothing");

    assert_eq!(p.encoding, "GB18030");
    assert_eq!(p.headers[1], "学员姓名");
    use ImportField::*;
    assert_eq!(
        p.mapping,
        vec![None, Some(Name), Some(Gender), Some(Birthday), Some(GuardianName), Some(Relation), Some(Phone), Some(Wechat), Some(School), Some(Notes)]
    );
    assert_eq!(p.guessed, p.mapping);
    // Every non-blank line is a row of the report; the trailing ",,,," line is counted apart.
    assert_eq!(p.rows.iter().map(|r| r.line).collect::<Vec<_>>(), (2..=11).collect::<Vec<_>>());
    assert_eq!((p.accepted, p.merged, p.rejected, p.blank_lines), (4, 2, 4, 1));

    // Full-width digits, 2015年3月7日, 男 → normalised.
    let wang = row(&p, 2);
    assert_eq!(wang.status, RowStatus::Accepted);
    assert_eq!((wang.values.name.as_str(), wang.values.gender.as_str(), wang.values.birthday.as_str()), ("王小明", "M", "2015-03-07"));
    assert_eq!((wang.values.phone.as_str(), wang.values.guardian_name.as_str(), wang.values.relation.as_str()), ("13800138000", "王建国", "爸爸"));
    assert_eq!(row(&p, 3).values.birthday, "2016-11-02", "full-width 年月日");
    assert_eq!(row(&p, 3).values.phone, "13900139000", "dashes");
    // No guardian name: the child's name and the relation; +86 removed.
    let chen = row(&p, 4);
    assert_eq!((chen.values.guardian_name.as_str(), chen.values.phone.as_str(), chen.values.birthday.as_str()), ("陈浩然妈妈", "13700137000", "2014-09-01"));

    // The second parent's row: same name and birthday → merged, the new phone linked.
    let second = row(&p, 5);
    assert_eq!(second.status, RowStatus::Merged);
    let m = second.matched.as_ref().unwrap();
    assert_eq!((m.line, m.by.as_str(), m.id.as_deref()), (Some(2), "name_and_birthday", None));
    assert!(second.links_guardian);
    assert!(second.reasons[0].zh.contains("第 2 行") && second.reasons[0].en.contains("line 2"), "{:?}", second.reasons);
    // The same child registered twice: same phone and name → merged, nothing to link.
    let again = row(&p, 9);
    assert_eq!((again.status, again.matched.as_ref().unwrap().by.as_str(), again.links_guardian), (RowStatus::Merged, "phone_and_name", false));

    let bad_phone = row(&p, 6);
    assert_eq!(bad_phone.status, RowStatus::Rejected);
    assert_eq!(codes(bad_phone), ["validation.phone_format"]);
    assert_eq!(bad_phone.reasons[0].zh, "家长电话：请输入以 1 开头的 11 位手机号");
    assert_eq!(bad_phone.reasons[0].en, "Guardian phone must be an 11-digit mobile number starting with 1");
    assert_eq!(bad_phone.values.birthday, "2015-05-20", "20150520");
    let no_name = row(&p, 7);
    assert_eq!((no_name.status, codes(no_name)), (RowStatus::Rejected, vec!["validation.required".to_string()]));
    assert_eq!(no_name.reasons[0].zh, "姓名：必填");
    // Every broken rule of a row is reported, not only the first.
    assert_eq!(codes(row(&p, 10)), ["validation.one_of", "validation.date_format"]);
    assert_eq!(codes(row(&p, 11)), ["validation.not_in_future"]);
    assert_eq!(row(&p, 8).values.birthday, "", "no birthday: an applicant");
}

#[test]
fn commit_imports_the_accepted_rows_with_guardians_numbers_and_log_entries() {
    let c = common::centre();
    let bytes = fixture("members-gb18030.csv");
    let (members, guardians, links, log) = (c.count("SELECT COUNT(*) FROM members"), c.count("SELECT COUNT(*) FROM guardians"), c.count("SELECT COUNT(*) FROM member_guardians"), c.log_len());
    let r = c.core.import_commit(&c.admin, ImportKind::Members, &bytes, None).unwrap();
    assert_eq!((r.created, r.approved, r.guardians_linked), (4, 3, 1));
    assert_eq!((r.preview.accepted, r.preview.merged, r.preview.rejected), (4, 2, 4));
    assert_eq!(c.count("SELECT COUNT(*) FROM members") - members, 4);
    assert_eq!(c.count("SELECT COUNT(*) FROM guardians") - guardians, 5);
    assert_eq!(c.count("SELECT COUNT(*) FROM member_guardians") - links, 5);

    let p = &r.preview;
    let wang_id = row(p, 2).record_id.clone().unwrap();
    assert_eq!(row(p, 5).record_id.as_deref(), Some(wang_id.as_str()), "merged rows name the member they matched");
    assert_eq!(row(p, 9).matched.as_ref().unwrap().id.as_deref(), Some(wang_id.as_str()));
    assert!(row(p, 6).record_id.is_none());

    // With a birthday: approved with the next number, like the desk.
    let wang = c.core.member_get(&c.admin, &wang_id).unwrap();
    assert_eq!(wang.member.status, "active");
    assert_eq!(wang.member.member_no.as_deref(), row(p, 2).member_no.as_deref());
    assert!(wang.member.member_no.as_deref().unwrap().starts_with('M'));
    assert_eq!((wang.member.school.as_str(), wang.member.notes.as_str()), ("实验小学", "周六班"));
    let phones: Vec<(&str, &str, bool)> = wang.guardians.iter().map(|g| (g.guardian.phone.as_str(), g.relation.as_str(), g.is_primary)).collect();
    assert_eq!(phones, [("13800138000", "爸爸", true), ("13600136000", "妈妈", false)]);
    assert_eq!(wang.guardians[0].guardian.wechat, "wx_wang");
    // Without one: an applicant to complete at the desk, school kept.
    let zhao = c.core.member_get(&c.admin, row(p, 8).record_id.as_ref().unwrap()).unwrap();
    assert_eq!((zhao.member.status.as_str(), zhao.member.member_no.clone(), zhao.member.school.as_str()), ("applicant", None, "二小"));

    // Every change went through the write path, attributed to the manager.
    let ops = c
        .raw()
        .prepare("SELECT entity || '/' || op, COUNT(*) FROM change_log WHERE seq > ?1 GROUP BY 1 ORDER BY 1")
        .unwrap()
        .query_map([log], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let expected: Vec<(String, i64)> = [
        ("guardian/create", 5), ("import/commit", 1), ("member/apply", 4), ("member/approve", 3), ("member/update", 1), ("member_guardian/link", 5),
    ]
    .iter()
    .map(|(k, n)| (k.to_string(), *n))
    .collect();
    assert_eq!(ops, expected);
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM change_log WHERE seq > {log} AND staff_id IS NOT '{}'", c.admin.staff_id)), 0);
    // And the search finds the imported children and guardians.
    assert!(c.core.search(&c.admin, "赵子涵", 5).unwrap().iter().any(|h| h.name == "赵子涵"));

    // The same file again: everything already there is merged, nothing is created twice.
    let again = c.core.import_commit(&c.admin, ImportKind::Members, &bytes, None).unwrap();
    assert_eq!((again.created, again.guardians_linked, again.preview.accepted, again.preview.merged), (0, 0, 0, 6));
    assert_eq!(c.count("SELECT COUNT(*) FROM members") - members, 4);
}

#[test]
fn a_utf8_file_with_bom_and_english_headers() {
    let c = common::centre();
    let r = c.core.import_commit(&c.admin, ImportKind::Members, &fixture("members-utf8-bom.csv"), None).unwrap();
    let p = &r.preview;
    assert_eq!(p.encoding, "UTF-8 (BOM)");
    assert_eq!(p.headers[0], "Name", "the BOM is not part of the first header");
    assert_eq!((p.accepted, p.merged, p.rejected), (3, 0, 1));
    let tom = c.core.member_get(&c.admin, row(p, 2).record_id.as_ref().unwrap()).unwrap();
    assert_eq!(tom.member.notes, "likes kicks, a bit shy", "a quoted cell keeps its comma");
    assert_eq!((tom.guardians[0].guardian.name.as_str(), tom.guardians[0].relation.as_str()), ("Li Na", "mother"));
    let amy = row(p, 3);
    assert_eq!((amy.values.gender.as_str(), amy.values.birthday.as_str(), amy.values.phone.as_str()), ("F", "2017-05-06", "13912345679"));
    assert_eq!(row(p, 4).reasons[0].en, "Gender must be one of: 男 M, 女 F");
    let cathy = c.core.member_get(&c.admin, row(p, 5).record_id.as_ref().unwrap()).unwrap();
    assert!(cathy.guardians.is_empty(), "a child without guardian details is imported alone");
}

#[test]
fn utf8_without_bom_utf16_and_tabs() {
    let c = common::centre();
    let text = "姓名\t性别\t生日\t电话\n王小明\t男\t2015-03-07\t13800138000\n";
    let p = preview(&c, ImportKind::Members, text);
    assert_eq!((p.encoding.as_str(), p.delimiter.as_str(), p.accepted), ("UTF-8", "\t", 1));
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let p = c.core.import_preview(&c.admin, ImportKind::Members, &utf16, None).unwrap();
    assert_eq!((p.encoding.as_str(), p.accepted), ("UTF-16LE", 1));
    assert_eq!(row(&p, 2).values.name, "王小明");
}

#[test]
fn the_guessed_mapping_can_be_overridden() {
    let c = common::centre();
    let text = "学员,联系电话,备用电话,生日,性别\n王小明,12345,13800138000,2015-03-07,男\n";
    let p = preview(&c, ImportKind::Members, text);
    use ImportField::*;
    assert_eq!(p.guessed, vec![Some(Name), Some(Phone), None, Some(Birthday), Some(Gender)]);
    assert_eq!(row(&p, 2).status, RowStatus::Rejected, "the first phone column is wrong");

    // The clerk says the second phone column is the one: the guessed column loses the field.
    let mapping = [ColumnMapping { column: 2, field: Some(Phone) }];
    let p = c.core.import_preview(&c.admin, ImportKind::Members, text.as_bytes(), Some(&mapping)).unwrap();
    assert_eq!(p.guessed[1], Some(Phone));
    assert_eq!(p.mapping, vec![Some(Name), None, Some(Phone), Some(Birthday), Some(Gender)]);
    assert_eq!((row(&p, 2).status, row(&p, 2).values.phone.as_str()), (RowStatus::Accepted, "13800138000"));

    // Ignoring a column.
    let ignore = [ColumnMapping { column: 3, field: None }];
    let p = c.core.import_preview(&c.admin, ImportKind::Members, text.as_bytes(), Some(&ignore)).unwrap();
    assert_eq!((p.mapping[3], row(&p, 2).values.birthday.as_str()), (None, ""));

    // A column that is not there, or a field members do not have, is refused.
    let e = c.core.import_preview(&c.admin, ImportKind::Members, text.as_bytes(), Some(&[ColumnMapping { column: 9, field: Some(Name) }])).unwrap_err();
    assert_eq!((e.code().as_str(), e.message(Lang::En).as_str()), ("validation.int_range", "Column must be between 1 and 5"));
    let e = c.core.import_preview(&c.admin, ImportKind::Members, text.as_bytes(), Some(&[ColumnMapping { column: 1, field: Some(Source) }])).unwrap_err();
    assert_eq!(e.code(), "validation.one_of");
}

#[test]
fn every_row_rule() {
    let c = common::centre();
    // Phones: spaces, dashes, +86, full-width digits tolerated; anything else refused.
    let mut text = String::from("姓名,性别,电话\n");
    let good = ["138 0013 8000", "138-0013-8000", "+86 13800138000", "+86-138-0013-8000", "8613800138000", "１３８００１３８０００", "'+86 138 0013 8000", "=\"13800138000\""];
    let bad = ["1380013800", "23800138000", "138001380001", "1.38001E+10", "138OO138000"];
    for (i, p) in good.iter().chain(bad.iter()).enumerate() {
        text.push_str(&format!("孩子{},男,\"{}\"\n", "甲乙丙丁戊己庚辛壬癸子丑寅".chars().nth(i).unwrap(), p.replace('"', "\"\"")));
    }
    let p = preview(&c, ImportKind::Members, &text);
    for (i, r) in p.rows.iter().enumerate() {
        if i < good.len() {
            assert_eq!((r.status, r.values.phone.as_str()), (RowStatus::Accepted, "13800138000"), "{}", good[i]);
        } else if bad[i - good.len()].contains('E') {
            // What Excel shows for a number it took for a value: said as such, with the fix.
            assert_eq!(codes(r), ["validation.phone_scientific"], "{}", bad[i - good.len()]);
            assert!(r.reasons[0].text(Lang::ZhCn).contains("科学计数法") && r.reasons[0].text(Lang::ZhCn).contains("设为文本"), "{:?}", r.reasons);
        } else {
            assert_eq!(codes(r), ["validation.phone_format"], "{}", bad[i - good.len()]);
        }
    }

    // Dates in the formats Chinese files use.
    let dates = ["2015/3/7", "2015-03-07", "2015年3月7日", "20150307", "２０１５年３月７日", "2015.3.7", "2015/3/7 0:00"];
    let mut text = String::from("姓名,性别,生日\n");
    for (i, d) in dates.iter().enumerate() {
        text.push_str(&format!("孩子{},女,{d}\n", "甲乙丙丁戊己庚".chars().nth(i).unwrap()));
    }
    text.push_str("孩子辛,女,2015-02-30\n孩子壬,女,去年\n");
    let p = preview(&c, ImportKind::Members, &text);
    for r in &p.rows[..dates.len()] {
        assert_eq!((r.status, r.values.birthday.as_str()), (RowStatus::Accepted, "2015-03-07"));
    }
    assert_eq!(codes(&p.rows[dates.len()]), ["validation.no_such_day"], "2015 has no 30 February");
    assert_eq!(codes(&p.rows[dates.len() + 1]), ["validation.date_format"]);

    // Genders.
    let p = preview(&c, ImportKind::Members, "姓名,性别\n甲,男\n乙,女\n丙,M\n丁,F\n戊,male\n己,Female\n庚,f\n辛,\n壬,男孩\n");
    let genders: Vec<&str> = p.rows.iter().map(|r| r.values.gender.as_str()).collect();
    assert_eq!(genders[..7], ["M", "F", "M", "F", "M", "F", "F"]);
    assert_eq!(codes(&p.rows[7]), ["validation.required"]);
    assert_eq!(codes(&p.rows[8]), ["validation.one_of"]);

    // A two-character name padded with a full-width space for alignment is closed up.
    let p = preview(&c, ImportKind::Members, "姓名,性别,家长,电话\n王\u{3000}明,男,王　刚,13800138001\n");
    assert_eq!((p.rows[0].values.name.as_str(), p.rows[0].values.guardian_name.as_str()), ("王明", "王刚"));

    // Names: required, letters only, at most 20 characters.
    let p = preview(&c, ImportKind::Members, &format!("姓名,性别\n ,男\n张三1,男\n{},男\n迪丽热巴·迪力木拉提,女\n", "张".repeat(21)));
    assert_eq!(p.rows.iter().map(codes).collect::<Vec<_>>(), [vec!["validation.required".to_string()], vec!["validation.name_characters".into()], vec!["validation.too_long".into()], vec![]]);

    // A guardian needs a phone; a wrong relation or guardian name is named.
    let p = preview(&c, ImportKind::Members, "姓名,性别,家长,微信,电话\n甲,男,王妈妈,,\n乙,男,,wx1,\n丙,男,王妈妈1,,13800138000\n");
    assert_eq!(p.rows.iter().map(|r| r.reasons[0].field.map(|f| f.label(Lang::En))).collect::<Vec<_>>(), [Some("Guardian phone".into()), Some("Guardian phone".into()), Some("Guardian name".into())]);
    assert_eq!(codes(&p.rows[0]), ["validation.required"]);
}

#[test]
fn duplicates_against_the_database() {
    let c = common::centre();
    let existing = c.member("王小明", "13800138000"); // born 2017-03-07, guardian 家长
    let bytes = fixture("members-gb18030.csv");
    let p = c.core.import_preview(&c.admin, ImportKind::Members, &bytes, None).unwrap();
    let wang = row(&p, 2);
    assert_eq!(wang.status, RowStatus::Merged);
    let m = wang.matched.as_ref().unwrap();
    assert_eq!((m.id.as_deref(), m.member_no.as_deref(), m.by.as_str(), m.line), (Some(existing.id.as_str()), existing.member_no.as_deref(), "phone_and_name", None));
    assert_eq!(wang.reasons[0].zh, format!("与已有会员 {} 王小明重复（家长电话和姓名相同），不重复创建", existing.member_no.clone().unwrap()));
    assert!(!wang.links_guardian, "that phone is already the child's");
    // The second parent's row follows the child to the existing member.
    let second = row(&p, 5);
    assert_eq!((second.status, second.matched.as_ref().unwrap().id.as_deref(), second.links_guardian), (RowStatus::Merged, Some(existing.id.as_str()), true));
    assert_eq!((p.accepted, p.merged), (3, 3));

    let r = c.core.import_commit(&c.admin, ImportKind::Members, &bytes, None).unwrap();
    assert_eq!((r.created, r.guardians_linked), (3, 1));
    let d = c.core.member_get(&c.admin, &existing.id).unwrap();
    assert_eq!(d.guardians.iter().map(|g| g.guardian.phone.as_str()).collect::<Vec<_>>(), ["13800138000", "13600136000"]);
    assert_eq!(d.member.birthday.as_deref(), Some("2017-03-07"), "a merged row never overwrites the record");
    assert_eq!(c.count("SELECT COUNT(*) FROM members WHERE name = '王小明'"), 1);

    // Same name and birthday, another phone: the same child.
    let p = preview(&c, ImportKind::Members, "姓名,性别,生日,电话\n王小明,男,2017/3/7,13900000009\n王小明,男,2016/3/7,13900000008\n");
    assert_eq!((row(&p, 2).status, row(&p, 2).matched.as_ref().unwrap().by.as_str()), (RowStatus::Merged, "name_and_birthday"));
    assert_eq!(row(&p, 3).status, RowStatus::Accepted, "a namesake born another day is another child");
}

#[test]
fn brothers_and_sisters_share_their_guardian() {
    let c = common::centre();
    let li = c.member("李四", "13900000001"); // guardian 家长
    let guardians = c.count("SELECT COUNT(*) FROM guardians");
    let text = "姓名,性别,电话\n王小明,男,13800138000\n王小红,女,13800138000\n李五,男,13900000001\n";
    let p = preview(&c, ImportKind::Members, text);
    let names: Vec<&str> = p.rows.iter().map(|r| r.values.guardian_name.as_str()).collect();
    assert_eq!(names, ["王小明家长", "王小明家长", "家长"], "an unnamed guardian is the one with that phone");
    let r = c.core.import_commit(&c.admin, ImportKind::Members, text.as_bytes(), None).unwrap();
    assert_eq!((r.created, c.count("SELECT COUNT(*) FROM guardians") - guardians), (3, 1));
    let xiaohong = c.core.member_get(&c.admin, r.preview.rows[1].record_id.as_ref().unwrap()).unwrap();
    assert_eq!(xiaohong.guardians[0].other_children.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["王小明"]);
    let liwu = c.core.member_get(&c.admin, r.preview.rows[2].record_id.as_ref().unwrap()).unwrap();
    assert_eq!(liwu.guardians[0].other_children[0].id, li.id);
}

#[test]
fn leads_are_imported_with_their_rules_and_duplicates() {
    let c = common::centre();
    let known = c.core.lead_create(&c.clerk, lead("陈六", "13700003333")).unwrap();
    let bytes = fixture("leads.csv");
    let p = c.core.import_preview(&c.admin, ImportKind::Leads, &bytes, None).unwrap();
    use ImportField::*;
    assert_eq!(p.mapping, vec![Some(Name), Some(ContactName), Some(Phone), Some(Wechat), Some(Source), Some(Needs), Some(NextFollowUp), Some(Notes)]);
    assert_eq!((p.encoding.as_str(), p.accepted, p.merged, p.rejected), ("UTF-8", 2, 2, 2));
    assert_eq!(codes(row(&p, 4)), ["validation.one_of"], "美团 is not one of the centre's sources");
    assert!(row(&p, 4).reasons[0].zh.starts_with("来源渠道：只能是：上门"));
    assert_eq!(codes(row(&p, 5)), ["validation.phone_or_wechat"]);
    assert_eq!(row(&p, 6).matched.as_ref().unwrap().line, Some(2), "same phone and name as an earlier row");
    assert_eq!(row(&p, 7).matched.as_ref().unwrap().id.as_deref(), Some(known.id.as_str()), "already a lead");

    let log = c.log_len();
    let r = c.core.import_commit(&c.admin, ImportKind::Leads, &bytes, None).unwrap();
    assert_eq!(r.created, 2);
    let zhang = c.core.lead_get(&c.admin, row(&r.preview, 2).record_id.as_ref().unwrap()).unwrap().lead;
    assert_eq!(
        (zhang.contact_name.as_str(), zhang.source.as_str(), zhang.needs.as_str(), zhang.next_follow_up.as_deref(), zhang.status.as_str(), zhang.consultant_id.clone()),
        ("张妈妈", "转介绍", "想学跆拳道", Some("2026-12-01"), "new", None)
    );
    let li = c.core.lead_get(&c.admin, row(&r.preview, 3).record_id.as_ref().unwrap()).unwrap().lead;
    assert_eq!((li.phone.as_str(), li.wechat.as_str()), ("", "lilei_wx"));
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM change_log WHERE seq > {log} AND entity = 'lead' AND op = 'create'")), 2);
    assert_eq!(c.count("SELECT COUNT(*) FROM leads"), 3);
}

#[test]
fn commit_is_all_or_nothing() {
    let c = common::centre();
    let bytes = fixture("members-gb18030.csv");
    // Something fails on the fourth created row's insert (line 8, 赵子涵), after others were written.
    c.raw()
        .execute_batch("CREATE TRIGGER fail_import BEFORE INSERT ON members WHEN NEW.name = '赵子涵' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;")
        .unwrap();
    let before = c.snapshot();
    let e = c.core.import_commit(&c.admin, ImportKind::Members, &bytes, None).unwrap_err();
    assert_eq!(e.code(), "internal.database");
    assert_eq!(c.snapshot(), before, "nothing of the file was kept");
    assert_eq!(c.count("SELECT value FROM counters WHERE name = 'member_no' UNION ALL SELECT 0 LIMIT 1"), 0, "no member number was used up");

    c.raw().execute_batch("DROP TRIGGER fail_import;").unwrap();
    let r = c.core.import_commit(&c.admin, ImportKind::Members, &bytes, None).unwrap();
    assert_eq!(r.created, 4);
    // A file with nothing to import writes nothing, not even the summary entry.
    let log = c.log_len();
    let r = c.core.import_commit(&c.admin, ImportKind::Members, "姓名,性别\n,男\n".as_bytes(), None).unwrap();
    assert_eq!((r.created, r.preview.rejected, c.log_len()), (0, 1, log));
}

#[test]
fn only_the_manager_imports() {
    let c = common::centre();
    let bytes = fixture("members-gb18030.csv");
    for s in [&c.clerk, &c.coach, &c.consultant] {
        let before = c.snapshot();
        let e = c.core.import_preview(s, ImportKind::Members, &bytes, None).unwrap_err();
        assert_eq!(e.code(), "forbidden");
        let e = c.core.import_commit(s, ImportKind::Leads, &fixture("leads.csv"), None).unwrap_err();
        assert_eq!(e.code(), "forbidden");
        assert_eq!(e.message(Lang::ZhCn), "您的角色无权导入数据");
        assert_eq!(e.message(Lang::En), "Your role is not allowed to import data");
        assert_eq!(c.snapshot(), before);
    }
}

#[test]
fn empty_files_and_header_only_files() {
    let c = common::centre();
    for empty in ["", "\n\n", ",,,\r\n"] {
        let e = c.core.import_preview(&c.admin, ImportKind::Members, empty.as_bytes(), None).unwrap_err();
        assert_eq!((e.code().as_str(), e.message(Lang::ZhCn).as_str()), ("validation.required", "导入文件：必填"), "{empty:?}");
    }
    let p = preview(&c, ImportKind::Leads, "姓名,电话,来源\r\n");
    assert_eq!((p.rows.len(), p.accepted), (0, 0));
    // A file without a name column: every row is rejected, saying so.
    let p = preview(&c, ImportKind::Members, "电话,性别\n13800138000,男\n");
    assert_eq!(codes(&p.rows[0]), ["validation.required"]);
    assert_eq!(p.rows[0].reasons[0].en, "Name is required");
}

#[test]
fn an_export_imports_into_a_new_centre() {
    let old = common::centre();
    old.member("王小明", "13800138000");
    old.member("李思思", "13900139000");
    let csv = old
        .core
        .export_csv(&old.admin, &centredesk_core::export::ExportRequest { list: "members".into(), from_date: String::new(), to_date: String::new(), bom: true, machine_headers: false }, Lang::ZhCn)
        .unwrap();
    let new = common::centre();
    let r = new.core.import_commit(&new.admin, ImportKind::Members, &csv.bytes, None).unwrap();
    assert_eq!((r.preview.encoding.as_str(), r.created, r.approved, r.preview.rejected), ("UTF-8 (BOM)", 2, 2, 0));
    let d = new.core.member_get(&new.admin, r.preview.rows[0].record_id.as_ref().unwrap()).unwrap();
    assert_eq!((d.member.birthday.as_deref(), d.member.school.as_str(), d.guardians[0].guardian.phone.as_str()), (Some("2017-03-07"), "实验小学", "13800138000"));
}

/// Whatever bytes arrive, the preview answers (a report or an error), never panics,
/// and reports every row it read. One centre for all the cases (opening a database per
/// case is slow), dropped at the end so its temp dir goes too.
#[test]
fn any_bytes_preview_without_panicking() {
    let c = common::centre();
    let mut runner = TestRunner::new(ProptestConfig { cases: 64, ..ProptestConfig::default() });
    let strategy = (proptest::collection::vec(any::<u8>(), 0..600), any::<bool>());
    runner
        .run(&strategy, |(bytes, leads)| {
            let kind = if leads { ImportKind::Leads } else { ImportKind::Members };
            if let Ok(p) = c.core.import_preview(&c.admin, kind, &bytes, None) {
                prop_assert_eq!(p.rows.len() as i64, p.accepted + p.merged + p.rejected);
            }
            Ok(())
        })
        .unwrap();
}

/// CSV-shaped noise: Chinese, full-width, quotes, commas, line breaks, BOMs, in UTF-8
/// and in GB18030.
#[test]
fn messy_csv_previews_without_panicking() {
    let c = common::centre();
    let mut runner = TestRunner::new(ProptestConfig { cases: 64, ..ProptestConfig::default() });
    let strategy = proptest::collection::vec("[姓名电话生日性别男女王李\u{FF10}-\u{FF19}0-9a-zA-Z,\"\r\n\t '=+年月日/.\u{FEFF}-]{0,12}", 0..40);
    runner
        .run(&strategy, |cells| {
            let text = format!("姓名,性别,生日,电话,家长,关系\n{}", cells.join(","));
            for kind in [ImportKind::Members, ImportKind::Leads] {
                let p = c.core.import_preview(&c.admin, kind, text.as_bytes(), None).unwrap();
                prop_assert_eq!(p.rows.len() as i64, p.accepted + p.merged + p.rejected);
                let (gb, _, _) = encoding_rs::GB18030.encode(&text);
                let _ = c.core.import_preview(&c.admin, kind, &gb, None);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_member_list_the_desk_exported_imports_without_its_footer_line() {
    let c = common::centre();
    c.member("王小明", "13800000001");
    c.member("李小红", "13800000002");
    let req = centredesk_core::export::ExportRequest { list: "members".into(), from_date: String::new(), to_date: String::new(), bom: true, machine_headers: false };
    let exported = c.core.export_csv(&c.admin, &req, centredesk_core::Lang::ZhCn).unwrap();
    assert!(String::from_utf8_lossy(&exported.bytes).contains("\r\n\r\nCentreDesk "), "the export ends with its footer");
    let p = c.core.import_preview(&c.admin, ImportKind::Members, &exported.bytes, None).unwrap();
    assert_eq!(p.rows.len(), 2, "two members, and no row for the footer: {:?}", p.rows.iter().map(|r| r.line).collect::<Vec<_>>());
    assert_eq!(p.blank_lines, 0);
}
