//! A page to draw on in millimetres from the top-left corner (how a sheet is
//! measured with a ruler), over printpdf's points-from-bottom-left.

use crate::font::Fonts;
use printpdf::{
    Color, Greyscale, Line, LinePoint, Mm, Op, PaintMode, PdfFontHandle, PdfPage, Point, Pt, Rect, TextItem,
    WindingOrder,
};
use std::collections::BTreeSet;

/// A4 in millimetres.
pub const A4: (f32, f32) = (210.0, 297.0);

pub enum Align {
    Left,
    Centre,
    Right,
}

/// How a string must fit a width: shrink down to `min_size`, then cut with "…".
pub struct Fit {
    pub size: f32,
    pub min_size: f32,
    pub max_width: f32,
}

impl Fit {
    pub fn exact(size: f32, max_width: f32) -> Fit {
        Fit { size, min_size: size, max_width }
    }
    pub fn shrink(size: f32, min_size: f32, max_width: f32) -> Fit {
        Fit { size, min_size, max_width }
    }
}

pub struct Canvas<'a> {
    pub width: f32,
    pub height: f32,
    ops: Vec<Op>,
    fonts: &'a Fonts,
    /// Characters the font lacks, gathered for the whole document.
    pub missing: &'a mut BTreeSet<char>,
}

fn pt(mm: f32) -> Pt {
    Mm(mm).into()
}

impl<'a> Canvas<'a> {
    pub fn new(size: (f32, f32), fonts: &'a Fonts, missing: &'a mut BTreeSet<char>) -> Canvas<'a> {
        Canvas { width: size.0, height: size.1, ops: Vec::new(), fonts, missing }
    }

    pub fn finish(self) -> PdfPage {
        PdfPage::new(Mm(self.width), Mm(self.height), self.ops)
    }

    fn point(&self, x: f32, y: f32) -> Point {
        Point { x: pt(x), y: pt(self.height - y) }
    }

    /// Draws `text` with its baseline at `y`; returns the width used in mm. A character the
    /// font lacks is drawn as "□" and remembered, so the sheet never shows a silent blank.
    pub fn text(&mut self, x: f32, y: f32, text: &str, fit: Fit, align: Align) -> f32 {
        let visible = self.fonts.visible(text, self.missing);
        let (shown, size) = self.fonts.fit(&visible, &fit);
        let width = self.fonts.width(&shown, size);
        let left = match align {
            Align::Left => x,
            Align::Centre => x - width / 2.0,
            Align::Right => x - width,
        };
        let pos = self.point(left, y);
        let font = PdfFontHandle::External(self.fonts.font_id());
        // One text object per string: SetTextCursor is relative inside a text object.
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont { font, size: Pt(size) },
            Op::SetTextCursor { pos },
            Op::ShowText { items: vec![TextItem::Text(shown)] },
            Op::EndTextSection,
        ]);
        width
    }

    /// Lines of `text` broken to fit `max_width` at `size`, at most `max_lines` (the last one
    /// ellipsized when the text is longer).
    pub fn wrap(&self, text: &str, size: f32, max_width: f32, max_lines: usize) -> Vec<String> {
        self.fonts.wrap(text, size, max_width, max_lines)
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, thickness: f32) {
        let points = vec![
            LinePoint { p: self.point(x1, y1), bezier: false },
            LinePoint { p: self.point(x2, y2), bezier: false },
        ];
        self.ops.push(Op::SetOutlineThickness { pt: Pt(thickness) });
        self.ops.push(Op::DrawLine { line: Line { points, is_closed: false } });
    }

    /// A rectangle given by its top-left corner; `fill` is a grey level (1 = white).
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, stroke: Option<f32>, fill: Option<f32>) {
        let mode = match (stroke, fill) {
            (Some(_), Some(_)) => PaintMode::FillStroke,
            (None, Some(_)) => PaintMode::Fill,
            _ => PaintMode::Stroke,
        };
        if let Some(t) = stroke {
            self.ops.push(Op::SetOutlineThickness { pt: Pt(t) });
        }
        if let Some(level) = fill {
            self.ops.push(Op::SetFillColor { col: Color::Greyscale(Greyscale::new(level, None)) });
        }
        let bottom_left = self.point(x, y + h);
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: bottom_left.x,
                y: bottom_left.y,
                width: pt(w),
                height: pt(h),
                mode: Some(mode),
                winding_order: Some(WindingOrder::NonZero),
            },
        });
        if fill.is_some() {
            // Text after a filled box is black again.
            self.ops.push(Op::SetFillColor { col: Color::Greyscale(Greyscale::new(0.0, None)) });
        }
    }
}
