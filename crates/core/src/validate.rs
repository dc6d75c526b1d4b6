//! Input rules shared by every module. Each check names the field it guards so the
//! error the clerk sees says what to fix.

use crate::error::{CoreError, Field, Result, Rule};
use crate::money::{Money, MoneyParseError};
use chrono::NaiveDate;

/// Full-width ASCII (`１３８`, `，`) as typed by Chinese IMEs → half-width.
pub fn fold_full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

pub fn required_text(field: Field, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CoreError::invalid(field, Rule::Required));
    }
    optional_text(field, v, max)
}

/// An optional e-mail address: empty, or `local@domain.tld` without spaces.
pub fn email(field: Field, value: &str) -> Result<String> {
    let v = optional_text(field, value, 120)?;
    if v.is_empty() {
        return Ok(v);
    }
    let ok = match v.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !v.contains(char::is_whitespace) && !domain.contains('@'),
        None => false,
    };
    if !ok {
        return Err(CoreError::invalid(field, Rule::EmailFormat));
    }
    Ok(v)
}

pub fn optional_text(field: Field, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(CoreError::invalid(field, Rule::TooLong { max }));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(CoreError::invalid(field, Rule::NameCharacters));
    }
    Ok(v.to_string())
}

/// A person's name: Han characters, letters, `·` (minority and foreign names), spaces.
pub fn person_name(field: Field, value: &str) -> Result<String> {
    let v = required_text(field, value, 20)?;
    let ok = v.chars().all(|c| c.is_alphabetic() || matches!(c, '·' | '•' | ' ' | '-' | '.' | '\''));
    if !ok {
        return Err(CoreError::invalid(field, Rule::NameCharacters));
    }
    Ok(v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A mainland mobile number: 11 digits starting with 1. Spaces, dashes, full-width
/// digits and a +86 prefix are accepted and removed.
pub fn mobile(field: Field, value: &str) -> Result<String> {
    let folded = fold_full_width(value);
    let mut digits: String = folded.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    if let Some(rest) = digits.strip_prefix("+86") {
        digits = rest.to_string();
    } else if digits.len() == 13 && digits.starts_with("86") {
        digits = digits[2..].to_string();
    }
    if digits.is_empty() {
        return Err(CoreError::invalid(field, Rule::Required));
    }
    // 1.38001E+10 (or 1.38E10): what Excel shows for a long number it took for a value.
    if digits.contains(['E', 'e']) && digits.replace(['E', 'e', '+', '.'], "").chars().all(|c| c.is_ascii_digit()) {
        return Err(CoreError::invalid(field, Rule::PhoneScientific { shown: value.trim().to_string() }));
    }
    let valid = digits.len() == 11
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    if !valid {
        return Err(CoreError::invalid(field, Rule::PhoneFormat));
    }
    Ok(digits)
}

pub fn optional_mobile(field: Field, value: &str) -> Result<String> {
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        mobile(field, value)
    }
}

/// `YYYY-MM-DD`, also `YYYY/M/D`, `YYYY.M.D`, `YYYY年M月D日` (or `号`) and `YYYYMMDD` as
/// Chinese users and Excel write them; a time Excel adds after a space (`2015/3/7 0:00`)
/// is ignored.
pub fn parse_date(value: &str) -> Option<NaiveDate> {
    let v = fold_full_width(value.trim());
    let v = match v.split_once(' ') {
        Some((day, time)) if time.trim().chars().all(|c| c.is_ascii_digit() || c == ':') => day.to_string(),
        _ => v,
    };
    if v.len() == 8 && v.chars().all(|c| c.is_ascii_digit()) {
        let (y, md) = v.split_at(4);
        let (m, d) = md.split_at(2);
        return parse_date(&format!("{y}-{m}-{d}"));
    }
    let v = v.trim_end_matches(['日', '号']).replace(['年', '月', '/', '.'], "-");
    let parts: Vec<&str> = v.split('-').collect();
    if parts.len() != 3 {
        return None;
    }
    let y: i32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let d: u32 = parts[2].parse().ok()?;
    if !(1900..=2200).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

pub fn date(field: Field, value: &str) -> Result<NaiveDate> {
    if value.trim().is_empty() {
        return Err(CoreError::invalid(field, Rule::Required));
    }
    parse_date(value).ok_or_else(|| CoreError::invalid(field, impossible_day(value).unwrap_or(Rule::DateFormat)))
}

/// A date in a right format whose day the month does not have (2026-02-30, 2026年4月31日):
/// said as such, not as a format error.
fn impossible_day(value: &str) -> Option<Rule> {
    let v = fold_full_width(value.trim());
    let v = v.split_whitespace().next().unwrap_or("").trim_end_matches(['日', '号']).replace(['年', '月', '/', '.'], "-");
    let parts: Vec<&str> = v.split('-').collect();
    let [y, m, d] = parts[..] else { return None };
    let (year, month, day): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1900..=2200).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day) && NaiveDate::from_ymd_opt(year, month, day).is_none())
        .then_some(Rule::NoSuchDay { year, month, day })
}

/// A report's or a list's period: both dates required, the second not before the first.
pub fn date_range(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate)> {
    let from = date(Field::FromDate, from)?;
    let to = date(Field::ToDate, to)?;
    if to < from {
        return Err(CoreError::invalid(Field::ToDate, Rule::NotBefore { other: Field::FromDate }));
    }
    Ok((from, to))
}

pub fn optional_date(field: Field, value: &Option<String>) -> Result<Option<NaiveDate>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => date(field, v).map(Some),
    }
}

pub fn birthday(value: &Option<String>, today: NaiveDate) -> Result<Option<NaiveDate>> {
    let d = optional_date(Field::Birthday, value)?;
    if let Some(d) = d {
        if d > today {
            return Err(CoreError::invalid(Field::Birthday, Rule::NotInFuture));
        }
    }
    Ok(d)
}

pub fn gender(field: Field, value: &str) -> Result<&'static str> {
    match fold_full_width(value).trim() {
        "M" | "m" | "男" | "male" | "Male" => Ok("M"),
        "F" | "f" | "女" | "female" | "Female" => Ok("F"),
        "" => Err(CoreError::invalid(field, Rule::Required)),
        _ => Err(CoreError::invalid(field, Rule::OneOf { allowed: vec!["男 M".into(), "女 F".into()] })),
    }
}

/// Money typed by a person for `field`, which must be > 0.
pub fn positive_money(field: Field, value: &str) -> Result<Money> {
    let m = money(field, value)?;
    if m.is_negative() {
        return Err(CoreError::invalid(field, Rule::NotNegative));
    }
    if !m.is_positive() {
        return Err(CoreError::invalid(field, Rule::MustBePositive));
    }
    Ok(m)
}

/// Money for `field` that may be zero but not negative; empty means zero.
pub fn non_negative_money(field: Field, value: &str) -> Result<Money> {
    if value.trim().is_empty() {
        return Ok(Money::ZERO);
    }
    let m = money(field, value)?;
    if m.is_negative() {
        return Err(CoreError::invalid(field, Rule::NotNegative));
    }
    Ok(m)
}

fn money(field: Field, value: &str) -> Result<Money> {
    if value.trim().is_empty() {
        return Err(CoreError::invalid(field, Rule::Required));
    }
    Money::parse(value).map_err(|e| {
        CoreError::invalid(
            field,
            match e {
                MoneyParseError::Format => Rule::MoneyFormat,
                MoneyParseError::TooPrecise => Rule::MoneyTooPrecise,
                MoneyParseError::TooLarge => Rule::MoneyTooLarge,
            },
        )
    })
}

pub fn int_in(field: Field, value: i64, min: i64, max: i64) -> Result<i64> {
    if value < min || value > max {
        return Err(CoreError::invalid(field, Rule::IntRange { min, max }));
    }
    Ok(value)
}

pub fn tags(values: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = vec![];
    for t in values {
        let t = optional_text(Field::Tags, t, 12)?;
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > 20 {
        return Err(CoreError::invalid(Field::Tags, Rule::TooLong { max: 20 }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_or_refused() {
        assert_eq!(mobile(Field::Phone, "138 1234 5678").unwrap(), "13812345678");
        assert_eq!(mobile(Field::Phone, "+86-138-1234-5678").unwrap(), "13812345678");
        assert_eq!(mobile(Field::Phone, "１３８１２３４５６７８").unwrap(), "13812345678");
        for bad in ["1381234567", "23812345678", "12812345678", "1381234567a", "138123456789"] {
            let e = mobile(Field::GuardianPhone, bad).unwrap_err();
            assert_eq!(e.code(), "validation.phone_format", "{bad}");
        }
        assert_eq!(mobile(Field::Phone, " ").unwrap_err().code(), "validation.required");
    }

    #[test]
    fn dates_in_chinese_formats() {
        let d = NaiveDate::from_ymd_opt(2015, 3, 7).unwrap();
        for s in ["2015-03-07", "2015/3/7", "2015.3.7", "2015年3月7日", "２０１５-０３-０７", "20150307", "２０１５年３月７日", "2015/3/7 0:00", "2015-03-07 00:00:00", "2015年3月7号"] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        for s in ["2015-02-30", "15-3-7", "March 7", "2015-13-01", "", "20150230", "2015030", "2015/3/7 noon"] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn names_allow_han_and_separator_dot() {
        assert_eq!(person_name(Field::Name, " 迪丽热巴·迪力木拉提 ").unwrap(), "迪丽热巴·迪力木拉提");
        assert_eq!(person_name(Field::Name, "Tom  Smith").unwrap(), "Tom Smith");
        assert!(person_name(Field::Name, "张三1").is_err());
        assert!(person_name(Field::Name, "").is_err());
        assert!(person_name(Field::Name, &"张".repeat(21)).is_err());
    }

    #[test]
    fn money_input_rules() {
        assert_eq!(positive_money(Field::Amount, "-5").unwrap_err().code(), "validation.not_negative");
        assert_eq!(positive_money(Field::Amount, "0").unwrap_err().code(), "validation.must_be_positive");
        assert_eq!(positive_money(Field::Amount, "1.234").unwrap_err().code(), "validation.money_too_precise");
        assert_eq!(positive_money(Field::Amount, "abc").unwrap_err().code(), "validation.money_format");
        assert_eq!(non_negative_money(Field::Discount, "").unwrap(), Money::ZERO);
    }
}

/// Checks a whole form: each check's error is kept and the rest still run, so the clerk
/// sees every field to fix at once. `take` returns the value or a default placeholder
/// (never used: `finish` refuses the form when anything failed).
#[derive(Default)]
pub struct Checks {
    problems: Vec<(Field, Rule)>,
    other: Option<CoreError>,
}

impl Checks {
    pub fn new() -> Checks {
        Checks::default()
    }

    pub fn take<T: Default>(&mut self, result: Result<T>) -> T {
        match result {
            Ok(v) => v,
            Err(e) => {
                self.add(e);
                T::default()
            }
        }
    }

    /// Keeps the error of a check whose value is not needed here.
    pub fn add_result<T>(&mut self, result: Result<T>) {
        if let Err(e) = result {
            self.add(e);
        }
    }

    pub fn add(&mut self, e: CoreError) {
        match e {
            CoreError::Validation { field, rule } => self.problems.push((field, rule)),
            CoreError::Validations(all) => self.problems.extend(all),
            other => {
                self.other.get_or_insert(other);
            }
        }
    }

    pub fn finish(self) -> Result<()> {
        if let Some(e) = self.other {
            return Err(e);
        }
        match self.problems.len() {
            0 => Ok(()),
            1 => {
                let (field, rule) = self.problems.into_iter().next().expect("one problem");
                Err(CoreError::Validation { field, rule })
            }
            _ => Err(CoreError::Validations(self.problems)),
        }
    }
}

/// True for a host name that is this PC itself: data sent there never crosses a wire.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An `https://` URL, or `http://` to this PC itself (a test server, a local gateway):
/// what the desk sends to head office or a webhook never crosses a network in plain text.
pub fn secure_url(field: Field, value: &str) -> Result<String> {
    let url = value.trim().to_string();
    let lower = url.to_ascii_lowercase();
    let (secure, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(CoreError::invalid(field, Rule::OneOf { allowed: vec!["https://…".into()] }));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if authority.starts_with('[') {
        authority.split_once(']').map_or(authority, |(h, _)| h).trim_start_matches('[')
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(CoreError::invalid(field, Rule::OneOf { allowed: vec!["https://…".into()] }));
    }
    if !secure && !is_loopback_host(host) {
        return Err(CoreError::invalid(field, Rule::TlsRequired));
    }
    Ok(url)
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_pc() {
        for ok in ["https://ho.example.com", "https://10.0.0.5:8443/x", "http://127.0.0.1:8787", "http://localhost/hook", "http://[::1]:9000", "HTTP://127.0.0.2"] {
            assert!(secure_url(Field::Url, ok).is_ok(), "{ok}");
        }
        for bad in ["http://ho.example.com", "http://192.168.1.10:8787", "http://127.0.0.1.evil.com", "http://localhost@evil.com", "http://[fe80::1]/"] {
            let e = secure_url(Field::Url, bad).unwrap_err();
            assert_eq!(e.code(), "validation.tls_required", "{bad}");
        }
        for bad in ["ftp://x", "ho.example.com", "https://", ""] {
            assert_eq!(secure_url(Field::Url, bad).unwrap_err().code(), "validation.one_of", "{bad}");
        }
    }
}
