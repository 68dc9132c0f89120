//! Lenient timestamps: what feeds actually write, not only what the RFCs allow.
//!
//! Accepted: RFC 3339 / ISO 8601 (with or without seconds, fraction or zone; a missing zone
//! is UTC; a date alone is midnight UTC) and RFC 822/2822 as feeds write it (any or no weekday,
//! English or Indonesian month names, short or long, missing seconds, single-digit hours,
//! two-digit years, numeric or named zones such as EST or WIB). Anything else is `None`.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use regex::Regex;

/// Parse a feed timestamp, or `None` when it cannot be understood.
pub fn parse_date(input: &str) -> Option<DateTime<Utc>> {
    let s = input.trim();
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // What most RSS feeds write, read without the regular expression; it cannot be ISO.
    if let Some(parsed) = rfc822_common(s) {
        return parsed;
    }
    iso(s).or_else(|| rfc822(s))
}

fn iso_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?|[A-Z]{1,5})?$",
        )
        .expect("valid regex")
    })
}

fn rfc822_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)^(?:[^\d\s,]+\.?,?\s*)?(\d{1,2})[\s-]+([^\d\s,.-]+)\.?,?[\s-]+(\d{2,4}),?(?:\s+(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:\.\d+)?)?)?\s*(.*)$",
        )
        .expect("valid regex")
    })
}

fn iso(s: &str) -> Option<DateTime<Utc>> {
    let c = iso_re().captures(s)?;
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(num(1)? as i32, num(2)?, num(3)?)?;
    let offset = match c.get(7) {
        Some(z) => zone_offset(z.as_str())?,
        None => 0,
    };
    build(date, num(4).unwrap_or(0), num(5).unwrap_or(0), num(6).unwrap_or(0), offset)
}

fn rfc822(s: &str) -> Option<DateTime<Utc>> {
    let c = rfc822_re().captures(s)?;
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let fields = Rfc822 {
        day: num(1)?,
        month: c.get(2)?.as_str(),
        year: c.get(3)?.as_str(),
        time: (num(4).unwrap_or(0), num(5).unwrap_or(0), num(6).unwrap_or(0)),
        rest: c.get(7).map_or("", |m| m.as_str()),
    };
    fields.to_utc()
}

/// The parts of an RFC 822 date as written, before any is interpreted.
struct Rfc822<'a> {
    day: u32,
    month: &'a str,
    /// Two to four digits.
    year: &'a str,
    /// Hour, minute, second.
    time: (u32, u32, u32),
    /// The zone and whatever follows it.
    rest: &'a str,
}

impl Rfc822<'_> {
    fn to_utc(&self) -> Option<DateTime<Utc>> {
        let month = month_number(self.month)?;
        let mut year = self.year.parse::<u32>().ok()? as i32;
        if self.year.len() == 2 {
            year += if year < 50 { 2000 } else { 1900 };
        }
        let date = NaiveDate::from_ymd_opt(year, month, self.day)?;
        let rest = self.rest.trim();
        let offset = if rest.is_empty() {
            0
        } else {
            // The zone is the first word; anything after it, e.g. "+0700 (WIB)", is commentary.
            zone_offset(rest.split_whitespace().next().unwrap_or(""))?
        };
        let (h, m, sec) = self.time;
        build(date, h, m, sec, offset)
    }
}

/// The usual shape, `Tue, 06 Aug 2024 10:00:00 +0700` (day of one or two digits, any zone or
/// none), read by hand: `Some` with what [`rfc822`] makes of it, or `None` when `s` has
/// another shape (it is then left to the regular expressions).
fn rfc822_common(s: &str) -> Option<Option<DateTime<Utc>>> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let d = b.get(from..from + n)?;
        d.iter().all(u8::is_ascii_digit).then(|| d.iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0')))
    };
    if !(b.len() >= 24 && b[..3].iter().all(u8::is_ascii_alphabetic) && &b[3..5] == b", ") {
        return None;
    }
    let day_len = if b[6] == b' ' { 1 } else { 2 };
    let day = digits(5, day_len)?;
    let at = 5 + day_len;
    let month = b.get(at + 1..at + 4)?;
    if b[at] != b' ' || !month.iter().all(u8::is_ascii_alphabetic) || b.get(at + 4) != Some(&b' ') {
        return None;
    }
    let at = at + 5;
    digits(at, 4)?;
    let clock = b.get(at + 4..at + 13)?;
    if clock[0] != b' ' || clock[3] != b':' || clock[6] != b':' {
        return None;
    }
    let time = (digits(at + 5, 2)?, digits(at + 8, 2)?, digits(at + 11, 2)?);
    let rest = &s[at + 13..];
    // A fraction of a second, a line break or anything glued to the seconds: the general path.
    if !(rest.is_empty() || rest.starts_with(' ')) || rest.contains(['\n', '\r']) {
        return None;
    }
    let fields = Rfc822 { day, month: &s[at - 4..at - 1], year: &s[at..at + 4], time, rest };
    Some(fields.to_utc())
}

fn build(date: NaiveDate, h: u32, m: u32, sec: u32, offset_secs: i64) -> Option<DateTime<Utc>> {
    // "24:00" and a leap second ":60" are written by real feeds; roll them over.
    let (date, h) = if h == 24 { (date.succ_opt()?, 0) } else { (date, h) };
    let time = NaiveTime::from_hms_opt(h, m, sec.min(59))?;
    let local = NaiveDateTime::new(date, time);
    Some(Utc.from_utc_datetime(&local) - Duration::seconds(offset_secs))
}

/// Month number of an English or Indonesian month name, short or long.
fn month_number(name: &str) -> Option<u32> {
    let n = name.to_lowercase();
    let n = n.trim_end_matches('.');
    let prefix: String = n.chars().take(3).collect();
    let m = match prefix.as_str() {
        "jan" => 1,
        "feb" | "peb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" | "mei" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" | "agu" | "agt" | "ags" => 8,
        "sep" => 9,
        "oct" | "okt" => 10,
        "nov" | "nop" => 11,
        "dec" | "des" => 12,
        _ => return None,
    };
    Some(m)
}

/// Seconds east of UTC for a numeric offset or a zone abbreviation.
fn zone_offset(zone: &str) -> Option<i64> {
    let z = zone.trim().trim_matches(|c| c == '(' || c == ')');
    let upper = z.to_ascii_uppercase();
    // "GMT+07:00" / "UTC-5" style.
    let numeric = upper.strip_prefix("GMT").or_else(|| upper.strip_prefix("UTC")).unwrap_or(&upper);
    if let Some(sign) = numeric.chars().next().filter(|c| *c == '+' || *c == '-') {
        let digits: String = numeric[1..].chars().filter(|c| c.is_ascii_digit()).collect();
        let (h, m) = match digits.len() {
            1 | 2 => (digits.parse::<i64>().ok()?, 0),
            3 => (digits[..1].parse::<i64>().ok()?, digits[1..].parse::<i64>().ok()?),
            4 => (digits[..2].parse::<i64>().ok()?, digits[2..].parse::<i64>().ok()?),
            _ => return None,
        };
        if h > 14 || m > 59 {
            return None;
        }
        let secs = h * 3600 + m * 60;
        return Some(if sign == '-' { -secs } else { secs });
    }
    let hours: f64 = match upper.as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "WET" | "Z0" => 0.0,
        "EST" => -5.0,
        "EDT" => -4.0,
        "CST" => -6.0,
        "CDT" => -5.0,
        "MST" => -7.0,
        "MDT" => -6.0,
        "PST" => -8.0,
        "PDT" => -7.0,
        "AKST" => -9.0,
        "AKDT" => -8.0,
        "HST" => -10.0,
        "WIB" => 7.0,
        "WITA" => 8.0,
        "WIT" => 9.0,
        "ICT" => 7.0,
        "SGT" | "MYT" | "HKT" | "PHT" | "AWST" => 8.0,
        "JST" | "KST" => 9.0,
        "AEST" => 10.0,
        "AEDT" => 11.0,
        "ACST" => 9.5,
        "NZST" => 12.0,
        "NZDT" => 13.0,
        "IST" => 5.5,
        "PKT" => 5.0,
        "MSK" => 3.0,
        "CET" | "BST" | "WEST" | "MET" => 1.0,
        "CEST" | "EET" | "MEST" | "SAST" => 2.0,
        "EEST" => 3.0,
        _ => return None,
    };
    Some((hours * 3600.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<String> {
        parse_date(s).map(|t| t.to_rfc3339())
    }

    #[test]
    fn standard_forms() {
        assert_eq!(p("2024-08-06T10:00:00Z").unwrap(), "2024-08-06T10:00:00+00:00");
        assert_eq!(p("2024-08-06T10:00:00.123+07:00").unwrap(), "2024-08-06T03:00:00.123+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 GMT").unwrap(), "2024-08-06T10:00:00+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 +0700").unwrap(), "2024-08-06T03:00:00+00:00");
    }

    #[test]
    fn iso_without_zone_or_time_is_utc() {
        assert_eq!(p("2024-08-06T10:00:00").unwrap(), "2024-08-06T10:00:00+00:00");
        assert_eq!(p("2024-08-06 10:00").unwrap(), "2024-08-06T10:00:00+00:00");
        assert_eq!(p("2024-08-06").unwrap(), "2024-08-06T00:00:00+00:00");
        assert_eq!(p("2024-08-06T10:00:00+0700").unwrap(), "2024-08-06T03:00:00+00:00");
        assert_eq!(p("2024-08-06T10:00+07").unwrap(), "2024-08-06T03:00:00+00:00");
    }

    #[test]
    fn named_zones() {
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 EST").unwrap(), "2024-08-06T15:00:00+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 WIB").unwrap(), "2024-08-06T03:00:00+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 WITA").unwrap(), "2024-08-06T02:00:00+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 WIT").unwrap(), "2024-08-06T01:00:00+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 UTC").unwrap(), "2024-08-06T10:00:00+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 -0000").unwrap(), "2024-08-06T10:00:00+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 +0700 (WIB)").unwrap(), "2024-08-06T03:00:00+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00 Z").unwrap(), "2024-08-06T10:00:00+00:00");
    }

    #[test]
    fn sloppy_rfc822() {
        assert_eq!(p("Tue, 06 Aug 2024 10:00 +0000").unwrap(), "2024-08-06T10:00:00+00:00");
        assert_eq!(p("Thurs, 6 August 2024 9:05:00 GMT").unwrap(), "2024-08-06T09:05:00+00:00");
        assert_eq!(p("06 Aug 24 10:00:00 GMT").unwrap(), "2024-08-06T10:00:00+00:00");
        assert_eq!(p("Sat, 25 Aug 2012 24:00:00 GMT").unwrap(), "2012-08-26T00:00:00+00:00");
        assert_eq!(p("06 Aug 2024").unwrap(), "2024-08-06T00:00:00+00:00");
        assert_eq!(p("Tue, 06 Aug 2024 10:00:00").unwrap(), "2024-08-06T10:00:00+00:00");
    }

    #[test]
    fn indonesian_names() {
        assert_eq!(p("Senin, 06 Agu 2024 10:00:00 +0700").unwrap(), "2024-08-06T03:00:00+00:00");
        assert_eq!(p("Rabu, 15 Mei 2024 08:30:00 WIB").unwrap(), "2024-05-15T01:30:00+00:00");
        assert_eq!(p("Jum'at, 11 Okt 2024 19:00:00 +0700").unwrap(), "2024-10-11T12:00:00+00:00");
        assert_eq!(p("Sabtu, 21 Des 2024 07:00 WIB").unwrap(), "2024-12-21T00:00:00+00:00");
        assert_eq!(p("Kamis, 1 Agustus 2024 10:00:00 +0700").unwrap(), "2024-08-01T03:00:00+00:00");
        assert_eq!(p("Minggu, 3 Nop 2024 10:00:00 +0700").unwrap(), "2024-11-03T03:00:00+00:00");
    }

    #[test]
    fn the_common_rfc822_shape_reads_as_the_general_path_does() {
        for s in [
            "Tue, 06 Aug 2024 10:00:00 +0700",
            "Tue, 6 Aug 2024 10:00:00 GMT",
            "Tue, 06 Aug 2024 10:00:00",
            "Tue, 06 Aug 2024 10:00:00 +0700 (WIB)",
            "Tue, 06 Agu 2024 24:00:00 WIB",
            "Tue, 31 Feb 2024 10:00:00 GMT",
            "Tue, 06 Aug 2024 10:00:60 XYZT",
            "Tue, 06 Aug 2024 10:61:00 EST",
            "Tue, 06 Foo 2024 10:00:00 GMT",
            "Tue, 06 Aug 2024 10:00:00 -05:00",
            "Sun, 00 Aug 2024 10:00:00 +0000",
        ] {
            let fast = rfc822_common(s).unwrap_or_else(|| panic!("{s} has the common shape"));
            assert_eq!(fast, rfc822(s), "{s}");
        }
        for s in
            ["Tue, 06 Aug 2024 10:00:00.5 GMT", "Tue, 06 Aug 2024 10:00:00\n+0700", "Tuesday, 06 Aug 2024 10:00 GMT"]
        {
            assert_eq!(rfc822_common(s), None, "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_common_rfc822_shape_agrees_with_the_regex(
            s in "[A-Za-z]{3}, [0-9]{1,2} [A-Za-z]{3} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}( [-+A-Za-z0-9():. ]{0,12})?"
        ) {
            let fast = rfc822_common(&s);
            proptest::prop_assert!(fast.is_some(), "{} has the common shape", s);
            proptest::prop_assert_eq!(fast.flatten(), rfc822(&s), "{}", s);
        }
    }

    #[test]
    fn nonsense_is_none() {
        for s in [
            "",
            "yesterday",
            "2024-13-01",
            "32 Aug 2024",
            "Tue, 06 Foo 2024 10:00:00 GMT",
            "06 Aug 2024 10:00:00 XYZT",
            "Ä 1 Ä 2",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
    }
}
