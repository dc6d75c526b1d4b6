//! Hostile files and values: the import's limits (size, rows, columns, cells) with
//! their messages, and a fuzz of the CSV import and of the date, phone and money
//! parsers. Whatever arrives, nothing panics and every refusal names its field and its
//! rule in both languages.
//!
//! In the suite each fuzz runs a bounded number of cases. `scripts/fuzz.sh` runs the
//! same tests for a set time (`CENTREDESK_FUZZ_SECONDS`, default 600) with fresh seeds,
//! and prints what it tried.

use crate::common;
use centredesk_core::error::Field;
use centredesk_core::import::{ImportKind, RowStatus, MAX_CELL_CHARS, MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS};
use centredesk_core::{validate, CoreError, Lang};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::time::{Duration, Instant};

/// A refusal as the desk shows it: a code, the field, and a message in each language
/// that names the field (its label) and differs between them.
fn named(e: &CoreError, expected: Option<Field>) -> Result<(), TestCaseError> {
    let field = e.field();
    prop_assert!(field.is_some(), "no field named: {e:?}");
    if let Some(f) = expected {
        prop_assert_eq!(field, Some(f), "{:?}", e);
    }
    prop_assert!(!e.code().is_empty() && e.code().contains('.'), "code {} names no rule", e.code());
    let (zh, en) = (e.message(Lang::ZhCn), e.message(Lang::En));
    let f = field.unwrap();
    prop_assert!(zh.contains(&f.label(Lang::ZhCn)), "{zh}");
    prop_assert!(en.to_lowercase().contains(&f.label(Lang::En).to_lowercase()), "{en}");
    prop_assert_ne!(zh, en);
    Ok(())
}

/// Runs `test` on `strategy`: `cases` cases in the suite, or for
/// `CENTREDESK_FUZZ_SECONDS` with a new seed each round under `scripts/fuzz.sh`.
/// Returns how many cases ran.
fn fuzz<S: Strategy>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) -> u64 {
    let seconds: Option<u64> = std::env::var("CENTREDESK_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok());
    let Some(seconds) = seconds else {
        TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() }).run(&strategy, &test).unwrap();
        return u64::from(cases);
    };
    // A bounded loop: rounds of `cases` until the time is up.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut ran, mut round) = (0u64, 0u64);
    let base: u64 = std::env::var("CENTREDESK_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
    while Instant::now() < deadline && round < 1_000_000 {
        let seed = base.wrapping_mul(6364136223846793005).wrapping_add(round);
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let mut runner = TestRunner::new_with_rng(Config { cases, failure_persistence: None, ..Config::default() }, rng);
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: round {round} (CENTREDESK_FUZZ_SEED={base}) failed: {e}");
        }
        ran += u64::from(cases);
        round += 1;
    }
    println!("fuzz {name}: {ran} cases in {seconds} s: 0 panics, every refusal named its field and rule");
    ran
}

// ---------------------------------------------------------------------------------
// Limits

#[test]
fn an_import_refuses_a_file_too_large_too_many_rows_columns_or_too_long_a_cell_naming_the_file_and_the_rule() {
    let c = common::centre();
    let refused = |bytes: &[u8]| c.core.import_preview(&c.admin, ImportKind::Members, bytes, None).unwrap_err();
    let cases: Vec<(Vec<u8>, &str, &str, &str)> = vec![
        (vec![b'a'; MAX_FILE_BYTES + 1], "validation.file_too_large", "不能超过 20 MB", "must be at most 20 MB"),
        (
            format!("姓名,电话\n{}", "王小明,13800138000\n".repeat(MAX_ROWS + 1)).into_bytes(),
            "validation.too_many_rows",
            "最多 50000 行数据",
            "at most 50000 data rows",
        ),
        (
            format!("{}\n", (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",")).into_bytes(),
            "validation.too_many_columns",
            "最多 200 列",
            "at most 200 columns",
        ),
        (
            format!("姓名,备注\n王小明,ok\n李小红,{}\n", "长".repeat(MAX_CELL_CHARS + 1)).into_bytes(),
            "validation.cell_too_long",
            "第 3 行有一格超过 2000 个字",
            "on line 3",
        ),
    ];
    for (bytes, code, zh, en) in cases {
        let e = refused(&bytes);
        assert_eq!((e.code().as_str(), e.field()), (code, Some(Field::ImportFile)), "{e:?}");
        let (zh_said, en_said) = (e.message(Lang::ZhCn), e.message(Lang::En));
        assert!(zh_said.starts_with("导入文件") && zh_said.contains(zh), "{zh_said}");
        assert!(en_said.starts_with("Import file") && en_said.contains(en), "{en_said}");
        // The commit refuses the same, and nothing is written.
        assert_eq!(c.core.import_commit(&c.admin, ImportKind::Members, &bytes, None).unwrap_err().code(), code);
    }
    assert!(c.core.member_list(&c.admin, Default::default()).unwrap().rows.is_empty(), "nothing imported");
    // Up to the limits is fine: exactly MAX_CELL_CHARS characters in a cell is read (the
    // row itself is then refused by the notes rule, which names its own field).
    let at_limit = format!("姓名,备注\n王小明,{}\n", "长".repeat(MAX_CELL_CHARS));
    let p = c.core.import_preview(&c.admin, ImportKind::Members, at_limit.as_bytes(), None).unwrap();
    assert_eq!(p.rows.len(), 1);
}

// ---------------------------------------------------------------------------------
// The CSV import

/// What a centre's spreadsheet cells can hold, the nasty ones weighted up.
fn cell() -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "王小明", "李 娜", "欧阳·娜娜", "Tom O'Neil", "13800138000", "138 0013 8000", "+86 138-0013-8000", "１３８００１３８０００",
            "1.38001E+10", "13800138000.0", "2015-03-07", "2015/3/7 0:00", "2015年3月7日", "20150307", "2015-02-30", "2015-13-01",
            "0000-00-00", "9999-99-99", "男", "女", "M", "F", "妈妈", "爸爸", "=1+1", "'=HYPERLINK(\"x\")", "@SUM(A1)", "-1", "+1",
            "=\"0138001\"", "\u{FEFF}", "\u{0}", "🙂", "\u{202E}abc", "\"", "\"\"", ",", "\r\n", "\t", "NULL", "null", "undefined",
        ]).prop_map(String::from),
        2 => "\\PC{0,12}",
        1 => "[0-9０-９年月日/.:\\- ]{0,14}",
        1 => (0usize..2100).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

fn header() -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "姓名", "学员姓名", "孩子", "性别", "生日", "出生日期", "电话", "手机", "家长电话", "家长", "家长姓名", "关系", "学校",
            "备注", "来源", "微信", "name", "phone", "birthday", "guardian", "联系人", "需求",
        ]).prop_map(String::from),
        1 => cell(),
    ]
    .boxed()
}

#[derive(Debug, Clone, Copy)]
enum Encoding {
    Utf8,
    Utf8Bom,
    Gb18030,
    Utf16Le,
}

fn encode(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Utf8Bom => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
        Encoding::Gb18030 => encoding_rs::GB18030.encode(text).0.into_owned(),
        Encoding::Utf16Le => {
            let mut out = vec![0xFF, 0xFE];
            out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            out
        }
    }
}

fn sheet() -> impl Strategy<Value = (Vec<u8>, bool, bool)> {
    let encoding = prop_oneof![Just(Encoding::Utf8), Just(Encoding::Utf8Bom), Just(Encoding::Gb18030), Just(Encoding::Utf16Le)];
    (
        proptest::collection::vec(header(), 0..9),
        proptest::collection::vec(proptest::collection::vec(cell(), 0..10), 0..12),
        prop_oneof![Just(","), Just("\t"), Just(";")],
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        encoding,
        any::<bool>(),
        0u8..8,
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(headers, rows, sep, eol, encoding, leads, commit, raw)| {
            let quote = |c: &String| if c.contains([',', '"', '\n', '\r', '\t']) && c.len() % 3 != 0 { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.clone() };
            let mut text = headers.iter().map(quote).collect::<Vec<_>>().join(sep);
            for r in &rows {
                text.push_str(eol);
                text.push_str(&r.iter().map(quote).collect::<Vec<_>>().join(sep));
            }
            let mut bytes = encode(&text, encoding);
            // Sometimes raw bytes on the end: a file cut or not a text file at all.
            if commit == 7 {
                bytes.extend(raw);
            }
            (bytes, leads, commit < 2)
        })
}

/// Random spreadsheets (any headers, any cells, four encodings, three separators, cut
/// files): the preview and the commit answer a report or a named refusal; rows add up;
/// every rejected row says why with a field; a commit leaves the database passing the
/// invariant checker.
#[test]
fn fuzz_the_csv_import() {
    let c = common::centre();
    fuzz("csv import", 48, sheet(), |(bytes, leads, commit)| {
        let kind = if leads { ImportKind::Leads } else { ImportKind::Members };
        let answer = if commit { c.core.import_commit(&c.admin, kind, &bytes, None).map(|r| r.preview) } else { c.core.import_preview(&c.admin, kind, &bytes, None) };
        match answer {
            Ok(p) => {
                prop_assert_eq!(p.rows.len() as i64, p.accepted + p.merged + p.rejected);
                for r in p.rows.iter().filter(|r| r.status == RowStatus::Rejected) {
                    prop_assert!(!r.reasons.is_empty(), "line {} rejected without a reason", r.line);
                    for m in &r.reasons {
                        prop_assert!(m.field.is_some() && !m.zh.is_empty() && !m.en.is_empty() && m.zh != m.en, "{m:?}");
                    }
                }
            }
            Err(e) => named(&e, None)?,
        }
        if commit {
            let report = c.core.check_unattended(Lang::En).unwrap();
            prop_assert!(report.findings.is_empty(), "{:?}", report.findings);
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------
// The parsers

fn date_like() -> BoxedStrategy<String> {
    prop_oneof![
        2 => "\\PC{0,16}",
        3 => "[0-9０-９]{0,5}[-/.年 ]?[0-9０-９]{0,3}[-/.月 ]?[0-9０-９]{0,3}[日号]?( [0-9:]{0,8})?",
        1 => (any::<i64>(), any::<i64>(), any::<i64>()).prop_map(|(y, m, d)| format!("{y}-{m}-{d}")),
        1 => "[0-9]{8}",
    ]
    .boxed()
}

fn phone_like() -> BoxedStrategy<String> {
    prop_oneof![
        2 => "\\PC{0,16}",
        3 => "(\\+86|86)?[ -]?1[0-9０-９ \\-()]{0,14}",
        1 => "[0-9]\\.[0-9]{0,6}[Ee][+]?[0-9]{1,3}",
        1 => any::<u64>().prop_map(|n| n.to_string()),
    ]
    .boxed()
}

/// Dates, mobiles and money as typed or pasted: each parser returns a value or a
/// refusal naming the field it was given, with a rule, in both languages.
#[test]
fn fuzz_the_date_phone_and_money_parsers() {
    fuzz("date, phone and money parsers", 512, (date_like(), phone_like(), "\\PC{0,14}|-?[0-9]{0,20}(\\.[0-9]{0,4})?"), |(date, phone, money)| {
        match validate::date(Field::Birthday, &date) {
            Ok(d) => prop_assert_eq!(validate::parse_date(&date), Some(d)),
            Err(e) => named(&e, Some(Field::Birthday))?,
        }
        if let Err(e) = validate::optional_date(Field::StartDate, &Some(date.clone())) {
            named(&e, Some(Field::StartDate))?;
        }
        match validate::mobile(Field::Phone, &phone) {
            Ok(p) => prop_assert!(p.len() == 11 && p.starts_with('1') && p.bytes().all(|b| b.is_ascii_digit()), "{p}"),
            Err(e) => named(&e, Some(Field::Phone))?,
        }
        match validate::positive_money(Field::Amount, &money) {
            Ok(m) => prop_assert!(m.is_positive(), "{money} → {m:?}"),
            Err(e) => named(&e, Some(Field::Amount))?,
        }
        if let Err(e) = validate::non_negative_money(Field::Price, &money) {
            named(&e, Some(Field::Price))?;
        }
        Ok(())
    });
}
