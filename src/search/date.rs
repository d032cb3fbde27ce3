//! FHIR dates as half-open ranges of epoch milliseconds, and the R4 date prefixes
//! (§3.1.1.4.2): a value stands for the whole period its precision covers, `2026` being
//! [2026-01-01T00:00Z, 2027-01-01T00:00Z).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// `[start, end)` in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub start: i64,
    pub end: i64,
}

/// The R4 search prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

impl Prefix {
    /// Splits a leading prefix off a search value; no prefix means `eq`.
    pub fn split(value: &str) -> (Prefix, &str) {
        let prefixes = [
            ("eq", Prefix::Eq),
            ("ne", Prefix::Ne),
            ("gt", Prefix::Gt),
            ("lt", Prefix::Lt),
            ("ge", Prefix::Ge),
            ("le", Prefix::Le),
            ("sa", Prefix::Sa),
            ("eb", Prefix::Eb),
            ("ap", Prefix::Ap),
        ];
        for (text, prefix) in prefixes {
            if let Some(rest) = value.strip_prefix(text) {
                return (prefix, rest);
            }
        }
        (Prefix::Eq, value)
    }
}

fn millis(time: OffsetDateTime) -> i64 {
    (time.unix_timestamp_nanos() / 1_000_000) as i64
}

fn num<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a valid {what}"))
}

/// Parses a FHIR date, dateTime or instant into the range its precision covers. A value with a
/// time must have a time zone (FHIR requires it); a date without time is taken in UTC.
pub fn parse(value: &str) -> Result<Range, String> {
    let bad = || {
        format!(
            "`{value}` is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.sss]](Z|+hh:mm))"
        )
    };
    let (date_part, time_part) = match value.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (value, None),
    };
    let fields: Vec<&str> = date_part.split('-').collect();
    if fields.is_empty()
        || fields.len() > 3
        || fields[0].len() != 4
        || fields.iter().skip(1).any(|f| f.len() != 2)
    {
        return Err(bad());
    }
    let year: i32 = num(fields[0], "year")?;
    let month = match fields.get(1) {
        Some(m) => Month::try_from(num::<u8>(m, "month")?).map_err(|_| bad())?,
        None => Month::January,
    };
    let day: u8 = match fields.get(2) {
        Some(d) => num(d, "day")?,
        None => 1,
    };
    let date = Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    let Some(time_part) = time_part else {
        let start = date.midnight().assume_utc();
        let end = match fields.len() {
            1 => Date::from_calendar_date(year + 1, Month::January, 1)
                .map_err(|_| bad())?
                .midnight()
                .assume_utc(),
            2 => {
                let next = month.next();
                let next_year = if next == Month::January {
                    year + 1
                } else {
                    year
                };
                Date::from_calendar_date(next_year, next, 1)
                    .map_err(|_| bad())?
                    .midnight()
                    .assume_utc()
            }
            _ => start + time::Duration::DAY,
        };
        return Ok(Range {
            start: millis(start),
            end: millis(end),
        });
    };
    // Time zone: `Z` or `±hh:mm` at the end.
    let (clock, offset) = if let Some(clock) = time_part.strip_suffix('Z') {
        (clock, UtcOffset::UTC)
    } else if let Some(pos) = time_part.rfind(['+', '-']) {
        let (clock, zone) = time_part.split_at(pos);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, m) = zone[1..].split_once(':').ok_or_else(bad)?;
        // FHIR's dateTime allows offsets from -14:00 to +14:00.
        let (hours, minutes): (u8, u8) = (num(h, "hour offset")?, num(m, "minute offset")?);
        if h.len() != 2
            || m.len() != 2
            || minutes > 59
            || hours > 14
            || (hours == 14 && minutes > 0)
        {
            return Err(format!("`{value}` has a time zone outside -14:00..+14:00"));
        }
        let offset = UtcOffset::from_hms(
            sign * num::<i8>(h, "hour offset")?,
            sign * num::<i8>(m, "minute offset")?,
            0,
        )
        .map_err(|_| bad())?;
        (clock, offset)
    } else {
        return Err(format!(
            "`{value}` has a time but no time zone; FHIR requires one (Z or +hh:mm)"
        ));
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts[..2].iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let hour: u8 = num(parts[0], "hour")?;
    let minute: u8 = num(parts[1], "minute")?;
    let (second, fraction, width) = match parts.get(2) {
        None => (0u8, 0u32, 60_000i64),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            if whole.len() != 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let digits = frac.len().min(9);
            let nanos: u32 = if digits == 0 {
                0
            } else {
                num::<u32>(&frac[..digits], "fraction")? * 10u32.pow(9 - digits as u32)
            };
            let width = match digits {
                0 => 1000,
                1 => 100,
                2 => 10,
                _ => 1,
            };
            (num(whole, "second")?, nanos, width)
        }
    };
    let clock = Time::from_hms_nano(hour, minute, second, fraction).map_err(|_| bad())?;
    let start = millis(PrimitiveDateTime::new(date, clock).assume_offset(offset));
    Ok(Range {
        start,
        end: start + width,
    })
}

/// Whether a resource value `target` matches search value `search` under `prefix` (R4 table in
/// §3.1.1.4.2; ranges are half-open). `now` is used by `ap` only.
pub fn matches(prefix: Prefix, search: Range, target: Range, now: i64) -> bool {
    let contains = target.start >= search.start && target.end <= search.end;
    match prefix {
        Prefix::Eq => contains,
        Prefix::Ne => !contains,
        Prefix::Gt => target.end > search.end,
        Prefix::Lt => target.start < search.start,
        Prefix::Ge => target.end > search.end || contains,
        Prefix::Le => target.start < search.start || contains,
        Prefix::Sa => target.start >= search.end,
        Prefix::Eb => target.end <= search.start,
        Prefix::Ap => {
            // "Approximately": the search range widened by 10 % of its distance to now (at
            // least a day), overlapping the target.
            let gap = (now - search.start).abs() / 10;
            let margin = gap.max(86_400_000);
            target.start < search.end + margin && target.end > search.start - margin
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        millis(OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap())
    }

    #[test]
    fn precision_defines_the_range() {
        assert_eq!(
            parse("2026").unwrap(),
            Range {
                start: ms("2026-01-01T00:00:00Z"),
                end: ms("2027-01-01T00:00:00Z")
            }
        );
        assert_eq!(
            parse("2026-12").unwrap(),
            Range {
                start: ms("2026-12-01T00:00:00Z"),
                end: ms("2027-01-01T00:00:00Z")
            }
        );
        assert_eq!(parse("2026-02-28").unwrap().end, ms("2026-03-01T00:00:00Z"));
        assert_eq!(
            parse("2026-11-01T10:30Z").unwrap(),
            Range {
                start: ms("2026-11-01T10:30:00Z"),
                end: ms("2026-11-01T10:31:00Z")
            }
        );
        assert_eq!(
            parse("2026-11-01T10:30:05.5+01:00").unwrap(),
            Range {
                start: ms("2026-11-01T09:30:05.5Z"),
                end: ms("2026-11-01T09:30:05.6Z")
            }
        );
    }

    #[test]
    fn time_zones_are_exact() {
        assert_eq!(
            parse("2026-11-01T01:00:00+01:00").unwrap(),
            parse("2026-11-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse("2026-10-31T19:00:00-05:00").unwrap(),
            parse("2026-11-01T00:00:00Z").unwrap()
        );
    }

    #[test]
    fn malformed_dates() {
        for bad in [
            "2026-11-01T10:00:00+25:00",
            "2026-11-01T10:00:00+14:30",
            "2026-11-01T10:00:00-15:00",
            "2026-13",
            "2026-02-30",
            "26-01-01",
            "2026-11-01T10:30",
            "2026-11-01T25:00Z",
            "tomorrow",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes() {
        let target = parse("2026-11-01T00:00:00Z").unwrap();
        let now = ms("2026-11-26T00:00:00Z");
        let check = |value: &str| {
            let (prefix, rest) = Prefix::split(value);
            matches(prefix, parse(rest).unwrap(), target, now)
        };
        assert!(check("2026-11-01"));
        assert!(check("eq2026"));
        assert!(!check("eq2026-11-02"));
        assert!(check("ne2026-11-02"));
        assert!(check("gt2026-10-31"));
        assert!(!check("gt2026-11-01"));
        assert!(check("ge2026-11-01"));
        assert!(check("lt2026-11-02"));
        assert!(!check("lt2026-11-01"));
        assert!(check("le2026-11-01"));
        assert!(check("sa2026-10-31"));
        assert!(!check("sa2026-11"));
        assert!(check("eb2026-11-02"));
        assert!(check("ap2026-11-02"));
        assert!(!check("ap2025"));
    }
}
