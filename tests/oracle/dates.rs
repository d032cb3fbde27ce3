//! Civil dates and the R4 date-search comparisons of the oracle (§3.1.1.4.7 of search.html):
//! every value is a half-open range `[start, end)` of epoch milliseconds given by its precision.

pub const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses an instant `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)` into the range its precision covers.
pub fn parse_instant(text: &str) -> Option<(i64, i64)> {
    let num = |s: &str| s.parse::<i64>().ok();
    let (date, rest) = text.split_once('T')?;
    let mut parts = date.split('-');
    let (y, m, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    let zone_at = rest.find(['Z', '+', '-'])?;
    let (time, zone) = rest.split_at(zone_at);
    let offset_min = if zone == "Z" {
        0
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, mi) = zone[1..].split_once(':')?;
        sign * (num(h)? * 60 + num(mi)?)
    };
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut t = hms.split(':');
    let (hh, mm, ss) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    let mut start = days_from_civil(y, m, d) * MS_PER_DAY + ((hh * 60 + mm) * 60 + ss) * 1000
        - offset_min * 60_000;
    let width = match frac {
        None => 1000,
        Some(f) => {
            let digits = f.len().min(3) as u32;
            let value = num(&f[..digits as usize])?;
            start += value * 10i64.pow(3 - digits);
            10i64.pow(3 - digits)
        }
    };
    Some((start, start + width))
}

/// The R4 date prefixes.
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
}

impl Prefix {
    pub const ALL: [Prefix; 8] = [
        Prefix::Eq,
        Prefix::Ne,
        Prefix::Gt,
        Prefix::Lt,
        Prefix::Ge,
        Prefix::Le,
        Prefix::Sa,
        Prefix::Eb,
    ];

    pub fn text(self) -> &'static str {
        match self {
            Prefix::Eq => "eq",
            Prefix::Ne => "ne",
            Prefix::Gt => "gt",
            Prefix::Lt => "lt",
            Prefix::Ge => "ge",
            Prefix::Le => "le",
            Prefix::Sa => "sa",
            Prefix::Eb => "eb",
        }
    }

    /// Whether a target range matches the search range `search` (R4 table of prefixes):
    /// eq: the search range fully contains the target; gt: the range above the search value
    /// overlaps the target; ge: gt or eq; sa: the target starts after the search range ends...
    pub fn matches(self, search: (i64, i64), target: (i64, i64)) -> bool {
        let (s0, s1) = search;
        let (t0, t1) = target;
        let contains = s0 <= t0 && t1 <= s1;
        let above = t1 > s1;
        let below = t0 < s0;
        match self {
            Prefix::Eq => contains,
            Prefix::Ne => !contains,
            Prefix::Gt => above,
            Prefix::Lt => below,
            Prefix::Ge => above || contains,
            Prefix::Le => below || contains,
            Prefix::Sa => t0 >= s1,
            Prefix::Eb => t1 <= s0,
        }
    }
}

/// Precision of a generated date search value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Year,
    Month,
    Day,
    Second,
    Milli,
}

/// Renders `instant` (epoch ms) at `precision` (seconds and milliseconds in the UTC offset
/// `offset_min`, `Z` when 0 and `z_for_utc`) and returns the text with the range it denotes.
pub fn render(
    instant: i64,
    precision: Precision,
    offset_min: i64,
    z_for_utc: bool,
) -> (String, (i64, i64)) {
    let utc_day = instant.div_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(utc_day);
    match precision {
        Precision::Year => {
            let start = days_from_civil(y, 1, 1) * MS_PER_DAY;
            let end = days_from_civil(y + 1, 1, 1) * MS_PER_DAY;
            (format!("{y:04}"), (start, end))
        }
        Precision::Month => {
            let start = days_from_civil(y, m, 1) * MS_PER_DAY;
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let end = days_from_civil(ny, nm, 1) * MS_PER_DAY;
            (format!("{y:04}-{m:02}"), (start, end))
        }
        Precision::Day => {
            let start = utc_day * MS_PER_DAY;
            (format!("{y:04}-{m:02}-{d:02}"), (start, start + MS_PER_DAY))
        }
        Precision::Second | Precision::Milli => {
            let (unit, width) = if precision == Precision::Second {
                (1000, 1000)
            } else {
                (1, 1)
            };
            let start = instant.div_euclid(unit) * unit;
            let local = start + offset_min * 60_000;
            let day = local.div_euclid(MS_PER_DAY);
            let (ly, lm, ld) = civil_from_days(day);
            let ms = local.rem_euclid(MS_PER_DAY);
            let (hh, mi, ss, fff) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
            let zone = if offset_min == 0 && z_for_utc {
                "Z".to_owned()
            } else {
                let sign = if offset_min < 0 { '-' } else { '+' };
                format!(
                    "{sign}{:02}:{:02}",
                    offset_min.abs() / 60,
                    offset_min.abs() % 60
                )
            };
            let frac = if precision == Precision::Milli {
                format!(".{fff:03}")
            } else {
                String::new()
            };
            (
                format!("{ly:04}-{lm:02}-{ld:02}T{hh:02}:{mi:02}:{ss:02}{frac}{zone}"),
                (start, start + width),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = parse_instant("2026-11-01T00:00:00Z").unwrap();
        assert_eq!(t.0, days_from_civil(2026, 11, 1) * MS_PER_DAY);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        let (text, range) = render(t.0, Precision::Second, 60, true);
        assert_eq!(text, "2026-11-01T01:00:00+01:00");
        assert_eq!(range, t);
        assert_eq!(parse_instant(&text), Some(t));
        let (text, range) = render(t.0 - 1, Precision::Milli, -300, true);
        assert_eq!(text, "2026-10-31T18:59:59.999-05:00");
        assert_eq!(parse_instant(&text), Some(range));
        assert_eq!(render(t.0, Precision::Month, 0, true).0, "2026-11");
    }
}
