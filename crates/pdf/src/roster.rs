//! The class roster 点名表: A4 portrait, one class session per sheet, up to 36 students a
//! page, the header repeated on every page.

use crate::canvas::{Align, Canvas, Fit, A4};
use crate::{draw_foot, font, save, PageFoot, Pdf};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default)]
pub struct RosterSheet {
    pub centre: String,
    /// e.g. "点名表 · 跆拳道黄带班".
    pub title: String,
    /// Label/value pairs under the title: date and weekday, time, room, coach, count.
    pub details: Vec<(String, String)>,
    pub columns: RosterColumns,
    pub rows: Vec<RosterRow>,
}

#[derive(Debug, Clone, Default)]
pub struct RosterColumns {
    pub no: String,
    pub name: String,
    pub member_no: String,
    pub phone: String,
    pub sign_in: String,
    pub marks: String,
    pub notes: String,
}

#[derive(Debug, Clone, Default)]
pub struct RosterRow {
    pub name: String,
    pub member_no: String,
    pub phone: String,
    /// 请假 / 试课 / 补课 …
    pub marks: String,
    pub notes: String,
}

const MARGIN: f32 = 12.0;
const TABLE_TOP: f32 = 44.0;
const HEAD_H: f32 = 7.0;
const ROW_H: f32 = 6.2;
/// 36 rows of 6.2 mm end at 274 mm, above the foot: a class of 35 is one page.
pub const ROWS_PER_PAGE: usize = 36;
/// Unnumbered lines for walk-ins and make-ups when the last page has room.
const SPARE_ROWS: usize = 3;
/// Column widths in mm, summing to the 186 mm between the margins.
const WIDTHS: [f32; 7] = [9.0, 36.0, 22.0, 29.0, 26.0, 18.0, 46.0];

fn pages_for(rows: usize) -> usize {
    rows.div_ceil(ROWS_PER_PAGE).max(1)
}

/// One PDF of one or more rosters (a session, or every session of a group's week); each
/// roster starts on a new page and pages are numbered through the document.
pub fn roster_pdf(title: &str, sheets: &[RosterSheet], foot: &PageFoot) -> Pdf {
    let fonts = font::fonts();
    let total: usize = sheets.iter().map(|s| pages_for(s.rows.len())).sum();
    let mut missing = BTreeSet::new();
    let mut pages = Vec::with_capacity(total);
    for sheet in sheets {
        let sheet_pages = pages_for(sheet.rows.len());
        for p in 0..sheet_pages {
            let mut c = Canvas::new(A4, fonts, &mut missing);
            draw_head(&mut c, sheet);
            let first = p * ROWS_PER_PAGE;
            let rows = &sheet.rows[first.min(sheet.rows.len())..(first + ROWS_PER_PAGE).min(sheet.rows.len())];
            let spare = if p + 1 == sheet_pages { SPARE_ROWS.min(ROWS_PER_PAGE - rows.len()) } else { 0 };
            draw_rows(&mut c, &sheet.columns, rows, first, spare);
            draw_foot(&mut c, foot, pages.len() + 1, total, MARGIN);
            pages.push(c.finish());
        }
    }
    save(title, foot, pages, missing)
}

fn draw_head(c: &mut Canvas, sheet: &RosterSheet) {
    let inner = c.width - 2.0 * MARGIN;
    c.text(MARGIN, 17.0, &sheet.centre, Fit::shrink(10.0, 8.0, inner), Align::Left);
    c.text(c.width / 2.0, 27.0, &sheet.title, Fit::shrink(16.0, 11.0, inner), Align::Centre);
    if sheet.details.is_empty() {
        return;
    }
    let cell = inner / sheet.details.len() as f32;
    c.rect(MARGIN, 31.0, inner, 8.0, Some(0.5), None);
    for (i, (label, value)) in sheet.details.iter().enumerate() {
        let x = MARGIN + i as f32 * cell;
        if i > 0 {
            c.line(x, 31.0, x, 39.0, 0.5);
        }
        let used = c.text(x + 1.5, 36.5, label, Fit::exact(7.5, cell / 2.0), Align::Left);
        c.text(x + 2.5 + used, 36.5, value, Fit::shrink(9.5, 7.0, cell - used - 4.0), Align::Left);
    }
}

fn draw_rows(c: &mut Canvas, columns: &RosterColumns, rows: &[RosterRow], first: usize, spare: usize) {
    let x0 = MARGIN;
    let width: f32 = WIDTHS.iter().sum();
    let lines = rows.len() + spare;
    let bottom = TABLE_TOP + HEAD_H + lines as f32 * ROW_H;
    let mut xs = vec![x0];
    for w in WIDTHS {
        xs.push(xs[xs.len() - 1] + w);
    }

    c.rect(x0, TABLE_TOP, width, HEAD_H, None, Some(0.85));
    let heads = [
        &columns.no,
        &columns.name,
        &columns.member_no,
        &columns.phone,
        &columns.sign_in,
        &columns.marks,
        &columns.notes,
    ];
    for (i, head) in heads.iter().enumerate() {
        let mid = (xs[i] + xs[i + 1]) / 2.0;
        c.text(mid, TABLE_TOP + 5.0, head, Fit::shrink(9.0, 6.5, WIDTHS[i] - 2.0), Align::Centre);
    }

    for (i, row) in rows.iter().enumerate() {
        let top = TABLE_TOP + HEAD_H + i as f32 * ROW_H;
        if i % 2 == 1 {
            c.rect(x0, top, width, ROW_H, None, Some(0.95));
        }
        let base = top + ROW_H - 1.8;
        c.text(xs[1] - 1.5, base, &(first + i + 1).to_string(), Fit::exact(9.0, WIDTHS[0]), Align::Right);
        c.text(xs[1] + 1.5, base, &row.name, Fit::shrink(10.5, 7.0, WIDTHS[1] - 3.0), Align::Left);
        c.text(xs[2] + 1.5, base, &row.member_no, Fit::shrink(8.5, 6.5, WIDTHS[2] - 3.0), Align::Left);
        c.text(xs[3] + 1.5, base, &row.phone, Fit::shrink(9.0, 6.5, WIDTHS[3] - 3.0), Align::Left);
        // The tick box; the rest of the cell is for a signature or the arrival time.
        c.rect(xs[4] + 2.0, top + 1.2, 3.8, 3.8, Some(0.6), None);
        c.text((xs[5] + xs[6]) / 2.0, base, &row.marks, Fit::shrink(9.0, 6.5, WIDTHS[5] - 2.0), Align::Centre);
        c.text(xs[6] + 1.5, base, &row.notes, Fit::shrink(8.0, 6.0, WIDTHS[6] - 3.0), Align::Left);
    }
    for i in 0..spare {
        let top = TABLE_TOP + HEAD_H + (rows.len() + i) as f32 * ROW_H;
        c.rect(xs[4] + 2.0, top + 1.2, 3.8, 3.8, Some(0.6), None);
    }

    for i in 1..=lines {
        let y = TABLE_TOP + HEAD_H + i as f32 * ROW_H;
        c.line(x0, y, x0 + width, y, 0.3);
    }
    c.line(x0, TABLE_TOP + HEAD_H, x0 + width, TABLE_TOP + HEAD_H, 0.6);
    for x in &xs[1..xs.len() - 1] {
        c.line(*x, TABLE_TOP, *x, bottom, 0.3);
    }
    c.rect(x0, TABLE_TOP, width, bottom - TABLE_TOP, Some(0.9), None);
}
