//! The weekly timetable for the notice board: A4 landscape, a row per room (or coach),
//! a column per weekday; rows that do not fit move to the next page under the same head.

use crate::canvas::{Align, Canvas, Fit, A4};
use crate::{draw_foot, font, save, PageFoot, Pdf};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default)]
pub struct WeekSheet {
    pub centre: String,
    /// e.g. "课表 2026-11-23 至 2026-11-29".
    pub title: String,
    /// What a row is ("教室" / "Room").
    pub row_head: String,
    /// Seven column heads, Monday first ("周一 11-23").
    pub days: Vec<String>,
    pub rows: Vec<WeekRow>,
    /// Shown when there are no classes at all.
    pub empty: String,
}

#[derive(Debug, Clone, Default)]
pub struct WeekRow {
    pub label: String,
    /// Seven cells, Monday first; each holds the day's classes in time order.
    pub cells: Vec<Vec<WeekEntry>>,
}

#[derive(Debug, Clone, Default)]
pub struct WeekEntry {
    pub time: String,
    pub title: String,
    pub detail: String,
    pub cancelled: bool,
}

const MARGIN: f32 = 10.0;
const TOP: f32 = 30.0;
const HEAD_H: f32 = 7.0;
const LABEL_W: f32 = 25.0;
const LINE_H: f32 = 4.2;
const ENTRY_H: f32 = 2.0 * LINE_H + 1.6;
const MIN_ROW_H: f32 = 12.0;

fn row_height(row: &WeekRow) -> f32 {
    let most = row.cells.iter().map(Vec::len).max().unwrap_or(0);
    (most as f32 * ENTRY_H + 2.0).max(MIN_ROW_H)
}

pub fn week_pdf(sheet: &WeekSheet, foot: &PageFoot) -> Pdf {
    let fonts = font::fonts();
    let size = (A4.1, A4.0);
    let bottom_limit = size.1 - MARGIN - 6.0;
    // Paginate first so every page can say "x / y".
    let mut pages_rows: Vec<Vec<&WeekRow>> = vec![Vec::new()];
    let mut y = TOP + HEAD_H;
    for row in &sheet.rows {
        let h = row_height(row);
        let page = pages_rows.last_mut().expect("never empty");
        if y + h > bottom_limit && !page.is_empty() {
            pages_rows.push(Vec::new());
            y = TOP + HEAD_H;
        }
        pages_rows.last_mut().expect("never empty").push(row);
        y += h;
    }
    let total = pages_rows.len();
    let mut missing = BTreeSet::new();
    let mut pages = Vec::with_capacity(total);
    for (p, rows) in pages_rows.iter().enumerate() {
        let mut c = Canvas::new(size, fonts, &mut missing);
        draw_page(&mut c, sheet, rows);
        draw_foot(&mut c, foot, p + 1, total, MARGIN);
        pages.push(c.finish());
    }
    save(&sheet.title, foot, pages, missing)
}

fn draw_page(c: &mut Canvas, sheet: &WeekSheet, rows: &[&WeekRow]) {
    let inner = c.width - 2.0 * MARGIN;
    c.text(MARGIN, 14.0, &sheet.centre, Fit::shrink(10.0, 8.0, inner / 2.0), Align::Left);
    c.text(c.width / 2.0, 23.0, &sheet.title, Fit::shrink(15.0, 10.0, inner), Align::Centre);
    let day_w = (inner - LABEL_W) / 7.0;
    let x_of = |d: usize| MARGIN + LABEL_W + d as f32 * day_w;

    c.rect(MARGIN, TOP, inner, HEAD_H, None, Some(0.85));
    c.text(MARGIN + LABEL_W / 2.0, TOP + 5.0, &sheet.row_head, Fit::shrink(9.0, 6.5, LABEL_W - 2.0), Align::Centre);
    for (d, day) in sheet.days.iter().take(7).enumerate() {
        c.text(x_of(d) + day_w / 2.0, TOP + 5.0, day, Fit::shrink(9.0, 6.5, day_w - 2.0), Align::Centre);
    }

    let mut y = TOP + HEAD_H;
    if rows.is_empty() {
        c.text(c.width / 2.0, y + 10.0, &sheet.empty, Fit::shrink(10.0, 8.0, inner), Align::Centre);
    }
    for row in rows {
        let h = row_height(row);
        let label = c.wrap(&row.label, 9.0, LABEL_W - 3.0, 3);
        for (i, line) in label.iter().enumerate() {
            c.text(MARGIN + 1.5, y + 5.0 + i as f32 * 4.0, line, Fit::exact(9.0, LABEL_W - 3.0), Align::Left);
        }
        for (d, cell) in row.cells.iter().take(7).enumerate() {
            let x = x_of(d) + 1.2;
            let w = day_w - 2.4;
            for (i, e) in cell.iter().enumerate() {
                let top = y + 1.0 + i as f32 * ENTRY_H;
                if e.cancelled {
                    c.rect(x - 0.4, top, w + 0.8, ENTRY_H - 0.6, None, Some(0.92));
                }
                let first = format!("{} {}", e.time, e.title);
                let used = c.text(x, top + LINE_H - 0.4, &first, Fit::shrink(9.0, 6.5, w), Align::Left);
                c.text(x, top + 2.0 * LINE_H - 0.4, &e.detail, Fit::shrink(8.0, 6.0, w), Align::Left);
                if e.cancelled {
                    c.line(x, top + LINE_H - 1.8, x + used, top + LINE_H - 1.8, 0.7);
                }
            }
        }
        y += h;
        c.line(MARGIN, y, MARGIN + inner, y, 0.3);
    }
    c.line(MARGIN, TOP + HEAD_H, MARGIN + inner, TOP + HEAD_H, 0.6);
    for d in 0..7 {
        c.line(x_of(d), TOP, x_of(d), y, 0.3);
    }
    c.rect(MARGIN, TOP, inner, y - TOP, Some(0.9), None);
}
