//! CSV exports as Excel reads them: BOM, header language, money and dates, formula
//! injection neutralised, the ledger's total intact, and only for the manager.

use crate::common;

use centredesk_core::contracts::EnrolInput;
use centredesk_core::export::{ExportRequest, LISTS};
use centredesk_core::leads::LeadInput;
use centredesk_core::payments::PaymentInput;
use centredesk_core::Lang;
use crate::common::*;

fn req(list: &str) -> ExportRequest {
    ExportRequest { list: list.into(), from_date: String::new(), to_date: String::new(), bom: true, machine_headers: false }
}

/// Header and rows of a CSV (after checking and dropping the BOM and the footer line, which
/// a CSV with machine headers, for programs, does not have).
fn parse(bytes: &[u8], bom: bool) -> (Vec<String>, Vec<Vec<String>>) {
    parse_as(bytes, bom, true)
}

fn parse_as(bytes: &[u8], bom: bool, footer: bool) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), bom);
    let body = if footer {
        csv_table(bytes)
    } else {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert_eq!(centredesk_core::export::strip_footer(&text).1, None, "no footer for programs");
        text
    };
    assert!(body.contains("\r\n"), "Excel-style line ends");
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

fn centre_with_money() -> (Centre, String) {
    let c = common::centre();
    let m = c.member("王小明", "13800000001");
    let pkg = c.lesson_package(10, "1000");
    let k = c
        .core
        .contract_enrol(&c.admin, EnrolInput { member_id: m.id.clone(), package_id: pkg.id, discount: "100".into(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
        .unwrap();
    let paid = c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.contract.id.clone(), amount: "500.5".into(), method: "wechat".into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap();
    c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.contract.id.clone(), amount: "399.5".into(), method: "cash".into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap();
    c.core.payment_reverse(&c.admin, &paid.payment.id, "=录错").unwrap();
    (c, m.id)
}

#[test]
fn payments_export_with_bom_chinese_header_exact_money_and_the_ledger_total() {
    let (c, _) = centre_with_money();
    let csv = c.core.export_csv(&c.admin, &req("payments"), Lang::ZhCn).unwrap();
    assert_eq!(csv.file_name, "缴费记录.csv");
    assert_eq!(csv.rows, 3);
    let (header, rows) = parse(&csv.bytes, true);
    assert_eq!(header[..3], ["收据号", "日期", "时间"]);
    let amount = header.iter().position(|h| h == "金额").unwrap();
    let amounts: Vec<&str> = rows.iter().map(|r| r[amount].as_str()).collect();
    // Negative amounts stay numbers; the reason text starting with = is neutralised.
    assert_eq!(amounts, ["500.50", "399.50", "-500.50"]);
    let fen: i64 = amounts.iter().map(|a| (a.parse::<f64>().unwrap() * 100.0).round() as i64).sum();
    assert_eq!(fen, c.count("SELECT SUM(amount) FROM payments"));
    let reason = header.iter().position(|h| h == "原因").unwrap();
    assert_eq!(rows[2][reason], "'=录错");
    let kind = header.iter().position(|h| h == "类型").unwrap();
    assert_eq!(rows[2][kind], "冲正");
    assert!(rows.iter().all(|r| r[1].len() == 10 && r[1].starts_with("2026-")), "dates are YYYY-MM-DD");
}

#[test]
fn english_and_machine_headers_and_no_bom_on_request() {
    let (c, _) = centre_with_money();
    let en = c.core.export_csv(&c.admin, &req("contracts"), Lang::En).unwrap();
    let (header, rows) = parse(&en.bytes, true);
    assert_eq!(en.file_name, "contracts.csv");
    assert_eq!(header[..2], ["Contract no.", "Member no."]);
    let due = header.iter().position(|h| h == "Amount due").unwrap();
    let balance = header.iter().position(|h| h == "Balance due").unwrap();
    assert_eq!((rows[0][due].as_str(), rows[0][balance].as_str()), ("900.00", "500.50"));

    let mut machine = req("members");
    machine.bom = false;
    machine.machine_headers = true;
    let plain = c.core.export_csv(&c.admin, &machine, Lang::ZhCn).unwrap();
    let (header, rows) = parse_as(&plain.bytes, false, false);
    assert_eq!(header[..3], ["member_no", "name", "gender"]);
    let phone = header.iter().position(|h| h == "guardian_phone").unwrap();
    let left = header.iter().position(|h| h == "lessons_left").unwrap();
    assert_eq!((rows[0][1].as_str(), rows[0][2].as_str(), rows[0][phone].as_str(), rows[0][left].as_str()), ("王小明", "男", "13800000001", "10"));
}

#[test]
fn every_list_exports_and_dates_filter_it() {
    let (c, _) = centre_with_money();
    c.core
        .lead_create(&c.consultant, LeadInput {
            name: "陈一".into(), contact_name: "陈妈妈".into(), phone: "13900000002".into(), wechat: String::new(), gender: None, birthday: None,
            source: "电话".into(), consultant_id: None, man_money: true, man_authority: false, man_need: true, needs: "+想周末上课".into(), notes: String::new(), next_follow_up: None,
        })
        .unwrap();
    for list in LISTS {
        let csv = c.core.export_csv(&c.admin, &req(list), Lang::ZhCn).unwrap();
        let (header, rows) = parse(&csv.bytes, true);
        assert!(!header.is_empty() && rows.len() as i64 == csv.rows, "{list}");
    }
    let leads = c.core.export_csv(&c.admin, &req("leads"), Lang::ZhCn).unwrap();
    let (header, rows) = parse(&leads.bytes, true);
    let needs = header.iter().position(|h| h == "需求").unwrap();
    assert_eq!((rows[0][0].as_str(), rows[0][needs].as_str()), ("陈一", "'+想周末上课"));

    let mut later = req("payments");
    later.from_date = "2027-01-01".into();
    let none = c.core.export_csv(&c.admin, &later, Lang::ZhCn).unwrap();
    assert_eq!((none.rows, none.file_name.as_str()), (0, "缴费记录-2027-01-01_.csv"));
    later.to_date = "2026-12-31".into();
    let backwards = c.core.export_csv(&c.admin, &later, Lang::ZhCn).unwrap_err();
    assert_eq!(backwards.code(), "validation.not_before");
    assert!(backwards.message(Lang::ZhCn).contains("结束日期"));
}

#[test]
fn only_the_manager_exports_and_an_unknown_list_is_named() {
    let (c, _) = centre_with_money();
    for s in [&c.clerk, &c.coach, &c.consultant] {
        assert_eq!(c.core.export_csv(s, &req("members"), Lang::ZhCn).unwrap_err().code(), "forbidden");
    }
    let e = c.core.export_csv(&c.admin, &req("secrets"), Lang::En).unwrap_err();
    assert_eq!(e.code(), "validation.one_of");
    assert!(e.message(Lang::En).contains("Report") && e.message(Lang::En).contains("payments"), "{}", e.message(Lang::En));
}
