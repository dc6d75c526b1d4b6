//! Every sheet checked the way a person would: poppler lists the font as embedded and
//! subset, extracts the Chinese text, and renders the page (the PNGs are left in
//! target/print-samples to look at).

use centredesk_pdf::*;
use std::path::PathBuf;
use std::process::Command;

fn foot() -> PageFoot {
    PageFoot { page_template: "第 {page} / {pages} 页".into(), printed: "打印于 2026-11-25 10:02".into(), created_unix: 1_795_000_000 }
}

const NAMES: [&str; 8] = ["王堃", "李喆", "张昇", "刘䶮", "陈𠇔", "欧阳娜娜", "赵一", "Alexander Konstantinopolous-Smith"];

fn roster(rows: usize) -> RosterSheet {
    RosterSheet {
        centre: "小龙跆拳道馆".into(),
        title: "点名表 · 黄带周六班".into(),
        details: vec![
            ("日期".into(), "2026-11-28 周六".into()),
            ("时间".into(), "09:00–10:30".into()),
            ("教室".into(), "一号道场".into()),
            ("教练".into(), "李教练".into()),
            ("人数".into(), format!("{rows} / 40")),
        ],
        columns: RosterColumns {
            no: "序号".into(),
            name: "姓名".into(),
            member_no: "会员号".into(),
            phone: "家长电话".into(),
            sign_in: "签到".into(),
            marks: "标记".into(),
            notes: "备注".into(),
        },
        rows: (0..rows)
            .map(|i| RosterRow {
                name: format!("{}{}", NAMES[i % NAMES.len()], if i >= NAMES.len() { (i + 1).to_string() } else { String::new() }),
                member_no: format!("TKD{:05}", i + 1),
                phone: format!("1380013{:04}", i),
                marks: match i % 9 { 3 => "请假".into(), 5 => "试课".into(), 7 => "补课".into(), _ => String::new() },
                notes: if i == 2 { "过敏：花生；家长晚到十分钟接".into() } else { String::new() },
            })
            .collect(),
    }
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/print-samples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| panic!("{tool} not installed: {e}"));
    assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Writes the PDF, checks font embedding and renders page 1; returns the extracted text.
fn check(name: &str, pdf: &Pdf) -> String {
    let path = out_dir().join(format!("{name}.pdf"));
    std::fs::write(&path, &pdf.bytes).unwrap();
    let p = path.to_str().unwrap();
    let fonts = poppler("pdffonts", &[p]);
    let line = fonts.lines().find(|l| l.contains("NotoSansCJK")).unwrap_or_else(|| panic!("font not listed:\n{fonts}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    // name … emb sub uni: the name carries the ABCDEF+ subset tag; emb and sub are "yes".
    assert!(cols[0].contains('+'), "font not subset: {line}");
    assert_eq!(&cols[cols.len() - 5..cols.len() - 2], &["yes", "yes", "yes"], "not embedded+subset+unicode: {line}");
    let png = out_dir().join(name);
    poppler("pdftoppm", &["-png", "-r", "60", "-f", "1", "-l", "1", p, png.to_str().unwrap()]);
    poppler("pdftotext", &["-layout", p, "-"])
}

/// pdftotext spaces CJK text its own way: compare without spaces.
fn has(text: &str, needle: &str) -> bool {
    let squash = |s: &str| s.chars().filter(|c| *c != ' ').collect::<String>();
    squash(text).contains(&squash(needle))
}

#[test]
fn a_class_of_35_fits_one_page_with_every_name_and_rare_character() {
    let pdf = roster_pdf("点名表", &[roster(35)], &foot());
    assert_eq!(pdf.pages, 1);
    assert!(pdf.missing.is_empty(), "{:?}", pdf.missing);
    let text = check("roster-35", &pdf);
    for needle in ["小龙跆拳道馆", "点名表", "黄带周六班", "2026-11-28 周六", "一号道场", "王堃", "李喆", "张昇", "刘䶮", "陈𠇔", "13800130034", "请假", "试课", "补课", "第 1 / 1 页"] {
        assert!(has(&text, needle), "{needle} missing from:\n{text}");
    }
    assert!(pdf.bytes.len() < 60_000, "a one-page roster is {} bytes: font not subset?", pdf.bytes.len());
}

#[test]
fn a_long_roster_repeats_its_header_and_numbers_pages() {
    let pdf = roster_pdf("点名表", &[roster(80), roster(5)], &foot());
    assert_eq!(pdf.pages, 4);
    let text = check("roster-80", &pdf);
    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert_eq!(pages.len(), 4);
    for (i, page) in pages.iter().enumerate() {
        assert!(has(page, "黄带周六班") && has(page, "家长电话"), "page {} lacks the header", i + 1);
        assert!(has(page, &format!("第 {} / 4 页", i + 1)));
    }
    // Numbering continues across pages of one roster and restarts for the next.
    assert!(pages[1].contains("TKD00037") && pages[2].contains("TKD00080") && pages[3].contains("TKD00005"));
}

#[test]
fn a_character_the_font_lacks_is_reported_not_printed_blank() {
    let mut sheet = roster(2);
    sheet.rows[0].name = "王\u{E000}明".into();
    let pdf = roster_pdf("点名表", &[sheet], &foot());
    assert_eq!(pdf.missing.iter().collect::<String>(), "\u{E000}");
    assert!(has(&check("roster-missing", &pdf), "王□明"));
}

#[test]
fn the_same_data_prints_the_same_bytes() {
    // printpdf gives every file a random trailer /ID; everything else must match.
    let without_id = |bytes: &[u8]| {
        let s = String::from_utf8_lossy(bytes).into_owned();
        let start = s.rfind("/ID[").expect("trailer ID");
        let end = start + s[start..].find(']').unwrap();
        format!("{}{}", &s[..start], &s[end..])
    };
    let a = roster_pdf("点名表", &[roster(10)], &foot());
    let b = roster_pdf("点名表", &[roster(10)], &foot());
    assert!(without_id(&a.bytes) == without_id(&b.bytes), "two prints of the same roster differ");
}

#[test]
fn the_week_sheet_shows_each_room_and_day() {
    let entry = |time: &str, title: &str, cancelled| WeekEntry { time: time.into(), title: title.into(), detail: "李教练".into(), cancelled };
    let mut rows = Vec::new();
    for room in ["一号道场", "二号道场", "舞蹈室（三楼东侧大教室）"] {
        let mut cells = vec![Vec::new(); 7];
        cells[0].push(entry("16:00", "幼儿启蒙班", false));
        cells[5] = vec![entry("09:00", "黄带周六班", false), entry("10:30", "红带提高班", true), entry("14:00", "竞技队训练（市赛备赛）", false)];
        rows.push(WeekRow { label: room.into(), cells });
    }
    let sheet = WeekSheet {
        centre: "小龙跆拳道馆".into(),
        title: "课表 2026-11-23 至 2026-11-29".into(),
        row_head: "教室".into(),
        days: ["周一 11-23", "周二 11-24", "周三 11-25", "周四 11-26", "周五 11-27", "周六 11-28", "周日 11-29"].map(String::from).to_vec(),
        rows,
        empty: "本周没有课".into(),
    };
    let pdf = week_pdf(&sheet, &foot());
    assert_eq!(pdf.pages, 1);
    let text = check("week", &pdf);
    for needle in ["课表 2026-11-23 至 2026-11-29", "周六 11-28", "一号道场", "黄带周六班", "09:00", "李教练"] {
        assert!(has(&text, needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn the_receipt_shows_the_amount_in_figures_and_words() {
    let sheet = ReceiptSheet {
        centre: "小龙跆拳道馆".into(),
        title: "收据".into(),
        number: "No. R2026-000123".into(),
        lines: vec![
            ("时间".into(), "2026-11-25 10:02".into()),
            ("会员".into(), "王堃（TKD00001）".into()),
            ("套餐".into(), "48 课时卡（有效期一年，含道服一套）".into()),
            ("支付方式".into(), "微信支付".into()),
            ("经办人".into(), "前台小刘".into()),
        ],
        amount_label: "金额".into(),
        amount: "¥3,280.00".into(),
        amount_words: "人民币叁仟贰佰捌拾元整".into(),
        void_mark: String::new(),
        signatures: vec!["经办人".into(), "家长".into()],
    };
    let pdf = receipt_pdf(&sheet, &foot());
    let text = check("receipt", &pdf);
    for needle in ["收据", "R2026-000123", "王堃", "¥3,280.00", "叁仟贰佰捌拾元整", "微信支付"] {
        assert!(has(&text, needle), "{needle} missing from:\n{text}");
    }
}
