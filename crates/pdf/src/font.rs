//! The one font every sheet uses: Noto Sans CJK SC, shipped in `assets/fonts` and built
//! into the binary so a PDF never depends on what the desk PC has installed.

use crate::canvas::Fit;
use printpdf::{FontId, ParsedFont, PdfDocument, PdfFont};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Full coverage of CJK Unified Ideographs including extensions A–B: rare name
/// characters (堃, 喆, 昇, 䶮, 𠇔) that a GB2312/GBK subset would lose.
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/NotoSansCJKsc-Regular.otf");

/// Shown in place of a character the font lacks (the font has it).
pub const MISSING_MARK: char = '□';
const ELLIPSIS: &str = "…";

pub struct Fonts {
    regular: ParsedFont,
    units_per_em: f32,
}

/// Parsing the 16 MB face takes a while: done once per process.
pub fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        let regular = ParsedFont::from_bytes(FONT_BYTES, 0, &mut Vec::new())
            .expect("the font shipped in assets/fonts parses (checked by the tests)");
        let units_per_em = f32::from(regular.pdf_font_metrics.units_per_em.max(1));
        Fonts { regular, units_per_em }
    })
}

impl Fonts {
    /// A fixed resource name keeps the output byte-for-byte reproducible. printpdf makes
    /// the subset tag from its first six characters, and a PDF reader only recognises a
    /// subset by a tag of six capital letters.
    pub fn font_id(&self) -> FontId {
        FontId("CDNSSC".to_string())
    }

    pub fn add_to(&self, doc: &mut PdfDocument) {
        doc.resources.fonts.map.insert(self.font_id(), PdfFont::new(self.regular.clone()));
    }

    pub fn has(&self, c: char) -> bool {
        c.is_whitespace() || self.regular.lookup_glyph_index(c as u32).is_some()
    }

    /// `text` with every character the font lacks replaced by MISSING_MARK (and noted).
    pub fn visible(&self, text: &str, missing: &mut BTreeSet<char>) -> String {
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .map(|c| {
                if self.has(c) {
                    c
                } else {
                    missing.insert(c);
                    MISSING_MARK
                }
            })
            .collect()
    }

    fn advance(&self, c: char) -> f32 {
        let gid = self.regular.lookup_glyph_index(c as u32).unwrap_or(0);
        f32::from(self.regular.get_horizontal_advance(gid))
    }

    /// Width in mm of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let units: f32 = text.chars().map(|c| self.advance(c)).sum();
        units / self.units_per_em * size * 25.4 / 72.0
    }

    /// The text and size that fit: the largest size down to `min_size`, then the text cut
    /// with an ellipsis. Names never run into the next column.
    pub fn fit(&self, text: &str, fit: &Fit) -> (String, f32) {
        let mut size = fit.size;
        while size > fit.min_size && self.width(text, size) > fit.max_width {
            size = (size - 0.5).max(fit.min_size);
        }
        if self.width(text, size) <= fit.max_width {
            return (text.to_string(), size);
        }
        let mut cut: Vec<char> = text.chars().collect();
        while !cut.is_empty() {
            cut.pop();
            let candidate: String = cut.iter().collect::<String>() + ELLIPSIS;
            if self.width(&candidate, size) <= fit.max_width {
                return (candidate, size);
            }
        }
        (String::new(), size)
    }

    /// Greedy line breaking by character (Chinese has no spaces to break at).
    pub fn wrap(&self, text: &str, size: f32, max_width: f32, max_lines: usize) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        for c in text.chars() {
            if c == '\n' {
                lines.push(std::mem::take(&mut current));
                continue;
            }
            let mut next = current.clone();
            next.push(c);
            if self.width(&next, size) > max_width && !current.is_empty() {
                lines.push(std::mem::replace(&mut current, c.to_string()));
            } else {
                current = next;
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
        if lines.len() > max_lines {
            let rest = lines[max_lines - 1..].concat();
            lines.truncate(max_lines - 1);
            lines.push(self.fit(&rest, &Fit::exact(size, max_width)).0);
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_font_has_rare_name_characters() {
        let f = fonts();
        for c in ['堃', '喆', '昇', '䶮', '𠇔', '张', 'A', '1', '¥', MISSING_MARK] {
            assert!(f.has(c), "{c} missing from the shipped font");
        }
    }

    #[test]
    fn a_character_the_font_lacks_is_marked_and_reported() {
        let mut missing = BTreeSet::new();
        // A private-use code point: no font has it.
        let shown = fonts().visible("王\u{E000}明", &mut missing);
        assert_eq!(shown, "王□明");
        assert_eq!(missing.into_iter().collect::<Vec<_>>(), vec!['\u{E000}']);
    }

    #[test]
    fn fitting_shrinks_then_ellipsizes() {
        let f = fonts();
        let name = "欧阳娜娜娜娜娜娜娜娜娜娜娜";
        let (shown, size) = f.fit(name, &Fit::shrink(11.0, 8.0, 30.0));
        assert_eq!(size, 8.0);
        assert!(shown.ends_with('…'));
        assert!(f.width(&shown, size) <= 30.0);
        let (short, size) = f.fit("王明", &Fit::shrink(11.0, 8.0, 30.0));
        assert_eq!((short.as_str(), size), ("王明", 11.0));
    }

    #[test]
    fn wrapping_keeps_to_the_width_and_line_count() {
        let f = fonts();
        let lines = f.wrap("跆拳道黄带班周六上午十点到十一点半三号教室", 9.0, 20.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| f.width(l, 9.0) <= 20.0));
        assert!(lines[1].ends_with('…'));
    }
}
