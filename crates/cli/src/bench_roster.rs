//! Roster printing benchmark: N class rosters of M students rendered to one PDF by
//! CentreDesk (printpdf, the shipped font subset), against WeasyPrint rendering the same
//! rosters from equivalent HTML with the same font, in the same run on the same machine.

use centredesk_core::demo::People;
use centredesk_core::CoreError;
use centredesk_pdf::{roster_pdf, PageFoot, RosterColumns, RosterRow, RosterSheet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const WEASY_RUNS: usize = 3;

fn io(e: std::io::Error) -> CoreError {
    CoreError::Internal(e.to_string())
}

fn sheets(rosters: usize, students: usize) -> Vec<RosterSheet> {
    let mut people = People::new(7);
    let coaches = ["李教练", "王教练", "陈教练", "张教练"];
    let weekdays = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    (0..rosters)
        .map(|i| {
            let rows = (0..students)
                .map(|j| {
                    let surname = people.surname();
                    RosterRow {
                        name: people.child_name(&surname),
                        member_no: format!("TKD{:05}", i * students + j + 1),
                        phone: people.phone(),
                        marks: match j % 11 { 3 => "请假".into(), 7 => "补课".into(), _ => String::new() },
                        notes: if j % 13 == 5 { "剩 2 课时".into() } else { String::new() },
                    }
                })
                .collect();
            RosterSheet {
                centre: "小龙跆拳道馆".into(),
                title: format!("点名表 · 第{}班", i + 1),
                details: vec![
                    ("日期".into(), format!("2026-11-{:02} {}", 23 + i % 7, weekdays[i % 7])),
                    ("时间".into(), "18:00–19:30".into()),
                    ("教室".into(), format!("{}号道场", i % 3 + 1)),
                    ("教练".into(), coaches[i % 4].into()),
                    ("人数".into(), format!("{students} / 40")),
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
                rows,
            }
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The same rosters as HTML for WeasyPrint: A4, the same font file, one roster per
/// page with its header, page x / y in the footer.
fn html(sheets: &[RosterSheet], font: &Path) -> String {
    let mut out = format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>
@font-face {{ font-family: "Noto Sans CJK SC"; src: url("file://{}"); }}
@page {{ size: A4; margin: 12mm 12mm 16mm;
  @bottom-center {{ content: "第 " counter(page) " / " counter(pages) " 页"; font: 8pt "Noto Sans CJK SC"; }}
  @bottom-right {{ content: "打印于 2026-11-25 10:02"; font: 7pt "Noto Sans CJK SC"; }} }}
body {{ font-family: "Noto Sans CJK SC"; margin: 0; }}
section {{ page-break-after: always; }}
.centre {{ font-size: 10pt; }} h1 {{ font-size: 16pt; font-weight: normal; text-align: center; margin: 2mm 0; }}
.details {{ display: flex; border: 0.5pt solid #000; height: 8mm; align-items: center; margin-bottom: 5mm; }}
.details div {{ flex: 1; border-left: 0.5pt solid #000; padding-left: 1.5mm; font-size: 9.5pt; white-space: nowrap; overflow: hidden; }}
.details div:first-child {{ border-left: none; }} .details small {{ font-size: 7.5pt; }}
table {{ border-collapse: collapse; width: 186mm; table-layout: fixed; }}
th {{ background: #d9d9d9; font-weight: normal; font-size: 9pt; height: 7mm; }}
td, th {{ border: 0.3pt solid #000; padding: 0 1.5mm; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
td {{ height: 6.2mm; font-size: 9pt; }} td.name {{ font-size: 10.5pt; }} tr:nth-child(even) td {{ background: #f2f2f2; }}
.box {{ display: inline-block; width: 3.8mm; height: 3.8mm; border: 0.6pt solid #000; vertical-align: middle; }}
</style></head><body>"#,
        font.display()
    );
    let widths = [9, 36, 22, 29, 26, 18, 46];
    for s in sheets {
        out.push_str(&format!("<section><div class=\"centre\">{}</div><h1>{}</h1><div class=\"details\">", esc(&s.centre), esc(&s.title)));
        for (label, value) in &s.details {
            out.push_str(&format!("<div><small>{}</small> {}</div>", esc(label), esc(value)));
        }
        out.push_str("</div><table><colgroup>");
        for w in widths {
            out.push_str(&format!("<col style=\"width:{w}mm\">"));
        }
        let c = &s.columns;
        out.push_str(&format!(
            "</colgroup><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            esc(&c.no), esc(&c.name), esc(&c.member_no), esc(&c.phone), esc(&c.sign_in), esc(&c.marks), esc(&c.notes)
        ));
        for (i, r) in s.rows.iter().enumerate() {
            out.push_str(&format!(
                "<tr><td style=\"text-align:right\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td><span class=\"box\"></span></td><td style=\"text-align:center\">{}</td><td>{}</td></tr>",
                i + 1, esc(&r.name), esc(&r.member_no), esc(&r.phone), esc(&r.marks), esc(&r.notes)
            ));
        }
        out.push_str("</tbody></table></section>");
    }
    out.push_str("</body></html>");
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn kb(bytes: u64) -> String {
    format!("{:.0} KB", bytes as f64 / 1024.0)
}

pub fn run(rosters: usize, students: usize, out: PathBuf, weasyprint_python: Option<PathBuf>) -> Result<(), CoreError> {
    std::fs::create_dir_all(&out).map_err(io)?;
    let sheets = sheets(rosters, students);
    let foot = PageFoot { page_template: "第 {page} / {pages} 页".into(), printed: "打印于 2026-11-25 10:02".into(), created_unix: 1_795_000_000 };

    // The first document pays for parsing the 16 MB font (once per app run).
    let started = Instant::now();
    let first = roster_pdf("点名表", &sheets, &foot);
    let cold = started.elapsed();
    let mut warm = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let pdf = roster_pdf("点名表", &sheets, &foot);
        warm.push(started.elapsed());
        assert_eq!(pdf.pages, first.pages);
    }
    let pdf_path = out.join("rosters-centredesk.pdf");
    std::fs::write(&pdf_path, &first.bytes).map_err(io)?;
    let ours = (median(warm), cold, first.bytes.len() as u64);

    let font = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/fonts/NotoSansCJKsc-Regular.otf")).map_err(io)?;
    let html_path = out.join("rosters.html");
    std::fs::write(&html_path, html(&sheets, &font)).map_err(io)?;

    println!("{rosters} rosters × {students} students → one PDF ({} pages); CentreDesk {RUNS} runs, WeasyPrint {WEASY_RUNS}", first.pages);
    println!("| renderer | median | first (cold) | file size |");
    println!("| --- | --- | --- | --- |");
    println!("| CentreDesk (printpdf, font subset) | {} | {} | {} |", ms(ours.0), ms(ours.1), kb(ours.2));

    let Some(python) = weasyprint_python else {
        println!("(WeasyPrint not run: pass --weasyprint PYTHON; the HTML is at {})", html_path.display());
        return Ok(());
    };
    let weasy_pdf = out.join("rosters-weasyprint.pdf");
    // Timed inside Python so interpreter start-up is not counted against WeasyPrint.
    let script = format!(
        "import time, weasyprint\nt=[]\nfor i in range({}):\n    s=time.perf_counter(); weasyprint.HTML(filename={:?}).write_pdf({:?}); t.append(time.perf_counter()-s)\nprint(' '.join(str(x) for x in t))",
        WEASY_RUNS,
        html_path.display().to_string(),
        weasy_pdf.display().to_string()
    );
    let output = Command::new(&python).arg("-c").arg(&script).output().map_err(io)?;
    if !output.status.success() {
        return Err(CoreError::Internal(format!("WeasyPrint failed: {}", String::from_utf8_lossy(&output.stderr))));
    }
    let times: Vec<Duration> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|t| t.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .collect();
    let weasy_cold = times.first().copied().unwrap_or_default();
    let weasy = median(times);
    let weasy_size = std::fs::metadata(&weasy_pdf).map_err(io)?.len();
    println!("| WeasyPrint (same HTML, same font) | {} | {} | {} |", ms(weasy), ms(weasy_cold), kb(weasy_size));
    println!(
        "CentreDesk is {:.0}× faster (median) with a file {:.1}× smaller. PDFs: {}, {}",
        weasy.as_secs_f64() / ours.0.as_secs_f64(),
        weasy_size as f64 / ours.2 as f64,
        pdf_path.display(),
        weasy_pdf.display()
    );
    Ok(())
}
