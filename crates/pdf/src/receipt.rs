//! The payment receipt 收据: A5 portrait, the amount in figures and in Chinese capitals.

use crate::canvas::{Align, Canvas, Fit};
use crate::{draw_foot, font, save, PageFoot, Pdf};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default)]
pub struct ReceiptSheet {
    pub centre: String,
    /// 收据 / 退款凭证 / 冲正凭证 …
    pub title: String,
    pub number: String,
    /// Label/value lines in order (time, member, package, method, staff …).
    pub lines: Vec<(String, String)>,
    pub amount_label: String,
    pub amount: String,
    /// e.g. "人民币壹仟贰佰元整"; empty to leave out.
    pub amount_words: String,
    /// Printed across the receipt when the payment has been reversed.
    pub void_mark: String,
    pub signatures: Vec<String>,
}

const A5: (f32, f32) = (148.0, 210.0);
const MARGIN: f32 = 12.0;

pub fn receipt_pdf(sheet: &ReceiptSheet, foot: &PageFoot) -> Pdf {
    let fonts = font::fonts();
    let mut missing = BTreeSet::new();
    let mut c = Canvas::new(A5, fonts, &mut missing);
    let inner = c.width - 2.0 * MARGIN;
    let mid = c.width / 2.0;
    c.text(mid, 20.0, &sheet.centre, Fit::shrink(12.0, 8.0, inner), Align::Centre);
    c.text(mid, 30.0, &sheet.title, Fit::shrink(16.0, 10.0, inner), Align::Centre);
    c.text(c.width - MARGIN, 38.0, &sheet.number, Fit::shrink(9.0, 7.0, inner), Align::Right);
    c.line(MARGIN, 40.5, c.width - MARGIN, 40.5, 0.8);

    let label_w = 28.0;
    let mut y = 48.0;
    for (label, value) in &sheet.lines {
        c.text(MARGIN, y, label, Fit::shrink(9.0, 7.0, label_w - 2.0), Align::Left);
        let lines = c.wrap(value, 10.0, inner - label_w, 2);
        for (i, line) in lines.iter().enumerate() {
            c.text(MARGIN + label_w, y + i as f32 * 4.5, line, Fit::exact(10.0, inner - label_w), Align::Left);
        }
        y += 7.0 + (lines.len().max(1) - 1) as f32 * 4.5;
    }

    y += 2.0;
    c.rect(MARGIN, y, inner, if sheet.amount_words.is_empty() { 12.0 } else { 18.0 }, Some(0.8), Some(0.95));
    c.text(MARGIN + 3.0, y + 8.0, &sheet.amount_label, Fit::shrink(10.0, 8.0, label_w), Align::Left);
    c.text(c.width - MARGIN - 3.0, y + 8.5, &sheet.amount, Fit::shrink(16.0, 10.0, inner - label_w - 6.0), Align::Right);
    if !sheet.amount_words.is_empty() {
        c.text(MARGIN + 3.0, y + 15.0, &sheet.amount_words, Fit::shrink(9.5, 7.0, inner - 6.0), Align::Left);
        y += 6.0;
    }
    y += 14.0;

    if !sheet.void_mark.is_empty() {
        c.rect(mid - 30.0, y, 60.0, 11.0, Some(1.5), None);
        c.text(mid, y + 8.0, &sheet.void_mark, Fit::shrink(14.0, 9.0, 56.0), Align::Centre);
        y += 15.0;
    }

    let slot = inner / sheet.signatures.len().max(1) as f32;
    let sign_y = (y + 18.0).max(170.0);
    for (i, label) in sheet.signatures.iter().enumerate() {
        let x = MARGIN + i as f32 * slot;
        let used = c.text(x, sign_y, label, Fit::shrink(9.0, 7.0, slot / 2.0), Align::Left);
        c.line(x + used + 1.0, sign_y + 0.8, x + slot - 4.0, sign_y + 0.8, 0.4);
    }
    draw_foot(&mut c, foot, 1, 1, MARGIN);
    let page = c.finish();
    save(&sheet.title, foot, vec![page], missing)
}
