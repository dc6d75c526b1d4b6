//! How CentreDesk's printed sheets look: class rosters, the weekly timetable for the
//! notice board and payment receipts, laid out on printpdf with the shipped CJK font.
//!
//! The core decides what goes on a sheet (and in which language) and hands over plain
//! strings; this crate only places them. It is the one place with floating-point
//! geometry, which is why it is apart from the core (money and counts never come here
//! as numbers).

mod canvas;
mod font;
mod receipt;
mod roster;
mod week;

pub use font::MISSING_MARK;
pub use receipt::{receipt_pdf, ReceiptSheet};
pub use roster::{roster_pdf, RosterColumns, RosterRow, RosterSheet};
pub use week::{week_pdf, WeekEntry, WeekRow, WeekSheet};

use canvas::{Align, Canvas, Fit};
use printpdf::{OffsetDateTime, PdfDocument, PdfPage, PdfSaveOptions};
use std::collections::BTreeSet;

/// A finished PDF and the characters that could not be printed (shown as □ on paper and
/// reported to the clerk).
#[derive(Debug, Clone)]
pub struct Pdf {
    pub bytes: Vec<u8>,
    pub pages: usize,
    pub missing: BTreeSet<char>,
}

/// What every page carries at its foot.
#[derive(Debug, Clone)]
pub struct PageFoot {
    /// e.g. "第 {page} / {pages} 页" or "Page {page} / {pages}".
    pub page_template: String,
    /// e.g. "打印于 2026-11-25 10:02".
    pub printed: String,
    /// The creation time written into the PDF, seconds since 1970 (the caller's clock, so
    /// the same data prints the same bytes).
    pub created_unix: i64,
}

fn draw_foot(c: &mut Canvas, foot: &PageFoot, page: usize, pages: usize, margin: f32) {
    let y = c.height - margin + 2.0;
    let label = foot.page_template.replace("{page}", &page.to_string()).replace("{pages}", &pages.to_string());
    c.text(c.width / 2.0, y, &label, Fit::exact(8.0, 60.0), Align::Centre);
    c.text(c.width - margin, y, &foot.printed, Fit::shrink(7.0, 6.0, 60.0), Align::Right);
}

fn save(title: &str, foot: &PageFoot, pages: Vec<PdfPage>, missing: BTreeSet<char>) -> Pdf {
    let fonts = font::fonts();
    let mut doc = PdfDocument::new(title);
    let when = OffsetDateTime::from_unix_timestamp(foot.created_unix).unwrap_or_else(|_| OffsetDateTime::now_utc());
    doc.metadata.info.creation_date = when;
    doc.metadata.info.modification_date = when;
    doc.metadata.info.metadata_date = when;
    doc.metadata.info.creator = concat!("CentreDesk ", env!("CARGO_PKG_VERSION")).to_string();
    doc.metadata.info.producer = concat!("CentreDesk ", env!("CARGO_PKG_VERSION"), " (printpdf)").to_string();
    doc.metadata.info.identifier = String::new();
    fonts.add_to(&mut doc);
    let count = pages.len();
    let options = PdfSaveOptions { subset_fonts: true, ..Default::default() };
    let bytes = doc.with_pages(pages).save(&options, &mut Vec::new());
    Pdf { bytes, pages: count, missing }
}
