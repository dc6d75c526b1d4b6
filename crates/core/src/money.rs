//! Money: exact yuan with two places. `rust_decimal` in Rust, INTEGER fen in SQLite
//! (so `SUM()` stays exact), a decimal string across IPC. No binary floats anywhere.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub};

/// The largest amount the centre handles in one entry (¥99,999,999.99).
pub const MAX_FEN: i64 = 9_999_999_999;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyParseError {
    /// Not a number like `1234.50`.
    Format,
    /// More than two decimal places.
    TooPrecise,
    /// Beyond ¥99,999,999.99.
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_fen(fen: i64) -> Money {
        Money(fen)
    }

    pub fn from_yuan(yuan: i64) -> Money {
        Money(yuan * 100)
    }

    pub fn fen(self) -> i64 {
        self.0
    }

    pub fn decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    /// Parses what a clerk types: `1234.5`, `¥1,234.50`, full-width digits `１２０`.
    /// A sign is kept so the caller can reject negatives with a field-specific rule.
    pub fn parse(input: &str) -> Result<Money, MoneyParseError> {
        let normalized: String = crate::validate::fold_full_width(input)
            .chars()
            .filter(|c| !matches!(c, ',' | '，' | ' ' | '¥' | '￥'))
            .collect();
        if normalized.is_empty() {
            return Err(MoneyParseError::Format);
        }
        let (negative, digits) = match normalized.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, normalized.as_str()),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty())
            || !all_digits(int_part)
            || !all_digits(frac_part)
            || (digits.contains('.') && frac_part.is_empty() && int_part.is_empty())
        {
            return Err(MoneyParseError::Format);
        }
        if frac_part.len() > 2 {
            return Err(MoneyParseError::TooPrecise);
        }
        let int_trimmed = int_part.trim_start_matches('0');
        if int_trimmed.len() > 8 {
            return Err(MoneyParseError::TooLarge);
        }
        let yuan: i64 = if int_trimmed.is_empty() { 0 } else { int_trimmed.parse().map_err(|_| MoneyParseError::Format)? };
        let mut frac = frac_part.to_string();
        while frac.len() < 2 {
            frac.push('0');
        }
        let fen_part: i64 = frac.parse().map_err(|_| MoneyParseError::Format)?;
        let fen = yuan * 100 + fen_part;
        if fen > MAX_FEN {
            return Err(MoneyParseError::TooLarge);
        }
        Ok(Money(if negative { -fen } else { fen }))
    }

    /// `self × numerator / denominator`, rounded half away from zero to the fen.
    /// Used by pro-rata refunds, where the rule is shown to the customer.
    pub fn mul_ratio(self, numerator: i64, denominator: i64) -> Money {
        assert!(denominator > 0, "ratio denominator must be positive");
        let exact = Decimal::from(self.0) * Decimal::from(numerator) / Decimal::from(denominator);
        let rounded = exact.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        Money(rounded.to_i64().expect("ratio of a bounded amount fits in i64"))
    }

    /// `¥1,234.50` — how a Chinese receipt shows money.
    pub fn display_yuan(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let yuan = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in yuan.chars().enumerate() {
            if i > 0 && (yuan.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{sign}¥{grouped}.{:02}", abs % 100)
    }
}

impl Money {
    /// The amount in Chinese financial capitals 大写金额 as written on receipts, e.g.
    /// `叁仟贰佰捌拾元整`, `壹拾万零伍仟元整`, `壹元零伍分`.
    pub fn chinese_capitals(self) -> String {
        const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
        const PLACES: [&str; 4] = ["", "拾", "佰", "仟"];
        const GROUPS: [&str; 3] = ["", "万", "亿"];
        let abs = self.0.unsigned_abs();
        let (yuan, jiao, fen) = (abs / 100, (abs / 10 % 10) as usize, (abs % 10) as usize);
        let mut out = String::new();
        if self.0 < 0 {
            out.push('负');
        }
        if yuan > 0 {
            let digits: Vec<usize> = yuan.to_string().bytes().map(|b| usize::from(b - b'0')).collect();
            let n = digits.len();
            // A run of zeros reads as one 零, and only when a digit follows it.
            let mut pending_zero = false;
            for (i, &d) in digits.iter().enumerate() {
                let place = n - 1 - i;
                if d == 0 {
                    pending_zero = true;
                } else {
                    if pending_zero {
                        out.push('零');
                        pending_zero = false;
                    }
                    out.push(DIGITS[d]);
                    out.push_str(PLACES[place % 4]);
                }
                if place % 4 == 0 && place > 0 && digits[i.saturating_sub(3)..=i].iter().any(|&x| x != 0) {
                    out.push_str(GROUPS[(place / 4).min(2)]);
                }
            }
            out.push('元');
        }
        match (jiao, fen) {
            (0, 0) if yuan == 0 => out.push_str("零元整"),
            (0, 0) => out.push('整'),
            _ => {
                if jiao > 0 {
                    out.push(DIGITS[jiao]);
                    out.push('角');
                } else if yuan > 0 {
                    out.push('零');
                }
                if fen > 0 {
                    out.push(DIGITS[fen]);
                    out.push('分');
                }
            }
        }
        out
    }
}

impl fmt::Display for Money {
    /// Plain `1234.50`: the IPC and CSV form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl ToSql for Money {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0))
    }
}

impl FromSql for Money {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Integer(fen) => Ok(Money(fen)),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let text = String::deserialize(d)?;
        Money::parse(&text).map_err(|e| serde::de::Error::custom(format!("invalid money {text:?}: {e:?}")))
    }
}

impl ts_rs::TS for Money {
    type WithoutGenerics = Money;
    type OptionInnerType = Money;
    fn name(_: &ts_rs::Config) -> String {
        "string".into()
    }
    fn inline(_: &ts_rs::Config) -> String {
        "string".into()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn chinese_capitals_follow_the_receipt_rules() {
        let cases = [
            (328_000, "叁仟贰佰捌拾元整"),
            (10_000_000, "壹拾万元整"),
            (10_500_000, "壹拾万零伍仟元整"),
            (1_001_000, "壹万零壹拾元整"),
            (1_000_000_100, "壹仟万零壹元整"),
            (105, "壹元零伍分"),
            (50, "伍角"),
            (12_030, "壹佰贰拾元叁角"),
            (5, "伍分"),
            (0, "零元整"),
            (-20_000, "负贰佰元整"),
            (MAX_FEN, "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ];
        for (fen, words) in cases {
            assert_eq!(Money::from_fen(fen).chinese_capitals(), words, "{fen} fen");
        }
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_a_clerk_types() {
        assert_eq!(Money::parse("1234.5"), Ok(Money::from_fen(123_450)));
        assert_eq!(Money::parse("¥1,234.50"), Ok(Money::from_fen(123_450)));
        assert_eq!(Money::parse("１２０"), Ok(Money::from_fen(12_000)));
        assert_eq!(Money::parse("0.01"), Ok(Money::from_fen(1)));
        assert_eq!(Money::parse(".5"), Ok(Money::from_fen(50)));
        assert_eq!(Money::parse("-3"), Ok(Money::from_fen(-300)));
        assert_eq!(Money::parse("1.005"), Err(MoneyParseError::TooPrecise));
        assert_eq!(Money::parse("abc"), Err(MoneyParseError::Format));
        assert_eq!(Money::parse(""), Err(MoneyParseError::Format));
        assert_eq!(Money::parse("."), Err(MoneyParseError::Format));
        assert_eq!(Money::parse("1e3"), Err(MoneyParseError::Format));
        assert_eq!(Money::parse("NaN"), Err(MoneyParseError::Format));
        assert_eq!(Money::parse("100000000"), Err(MoneyParseError::TooLarge));
    }

    #[test]
    fn displays_as_a_receipt_does() {
        assert_eq!(Money::from_fen(123_450).display_yuan(), "¥1,234.50");
        assert_eq!(Money::from_fen(5).display_yuan(), "¥0.05");
        assert_eq!(Money::from_fen(-100_000).display_yuan(), "-¥1,000.00");
        assert_eq!(Money::from_fen(-5).to_string(), "-0.05");
    }

    #[test]
    fn ratio_rounds_half_away_from_zero_to_the_fen() {
        // 100.00 × 1/3 = 33.333… → 33.33; 0.05 × 1/2 = 0.025 → 0.03
        assert_eq!(Money::from_fen(10_000).mul_ratio(1, 3), Money::from_fen(3_333));
        assert_eq!(Money::from_fen(5).mul_ratio(1, 2), Money::from_fen(3));
        assert_eq!(Money::from_fen(480_000).mul_ratio(12, 48), Money::from_fen(120_000));
    }

    #[test]
    fn serializes_as_a_string_and_refuses_json_numbers() {
        let json = serde_json::to_string(&Money::from_fen(1999)).unwrap();
        assert_eq!(json, "\"19.99\"");
        assert!(serde_json::from_str::<Money>("19.99").is_err(), "a JSON number must not become money");
        assert_eq!(serde_json::from_str::<Money>("\"19.99\"").unwrap(), Money::from_fen(1999));
    }

    /// The source of the core must never name a binary float type: money and
    /// everything around it stays exact.
    #[test]
    fn no_float_type_in_the_core() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = vec![];
        let mut files = vec![];
        let mut dirs = vec![dir];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() { dirs.push(path) } else { files.push(path) }
            }
        }
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                let bad = code
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|tok| tok == concat!("f", "64") || tok == concat!("f", "32") || tok == concat!("RE", "AL"));
                if bad {
                    offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
        assert!(offenders.is_empty(), "float types in the core:\n{}", offenders.join("\n"));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(fen in -MAX_FEN..=MAX_FEN) {
            let m = Money::from_fen(fen);
            prop_assert_eq!(Money::parse(&m.to_string()), Ok(m));
            prop_assert_eq!(Money::parse(&m.display_yuan()), Ok(m));
        }

        #[test]
        fn parts_of_a_ratio_add_up(fen in 0i64..100_000_000, total in 1i64..200, used in 0i64..200) {
            let used = used.min(total);
            let m = Money::from_fen(fen);
            let a = m.mul_ratio(used, total);
            let b = m.mul_ratio(total - used, total);
            // Rounding each part may be off by one fen in total, never more.
            prop_assert!((a + b - m).fen().abs() <= 1);
        }
    }
}
