//! Instants and local dates.
//!
//! Every instant inside tenken is milliseconds since the Unix epoch (UTC), the unit of
//! the Arrow `Timestamp(Millisecond, "UTC")` column. Calendar rules judge in Japan
//! Standard Time, which has had no daylight saving since 1951, so a local date is a plain
//! fixed offset of nine hours and needs no time-zone database.
//!
//! The two timestamp layouts of `oplog.md` are parsed by hand: a generic parser costs
//! about 40% of the ingest throughput, and the layouts are fixed.

use chrono::{Datelike, NaiveDate};

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;
/// The offset of Japan Standard Time from UTC, in milliseconds.
pub const JST_OFFSET_MS: i64 = 9 * 3_600_000;

/// A local date in Asia/Tokyo as days since 1970-01-01.
pub type Day = i32;

/// The local (Asia/Tokyo) date of an instant, as days since 1970-01-01.
#[inline]
pub fn jst_day(ms: i64) -> Day {
    (ms + JST_OFFSET_MS).div_euclid(DAY_MS) as Day
}

/// The instant of local midnight (Asia/Tokyo) that starts `day`.
#[inline]
pub fn jst_midnight(day: Day) -> i64 {
    day as i64 * DAY_MS - JST_OFFSET_MS
}

/// Milliseconds since local midnight of the instant's own local date.
#[inline]
pub fn jst_ms_of_day(ms: i64) -> i64 {
    (ms + JST_OFFSET_MS).rem_euclid(DAY_MS)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
#[inline]
pub const fn days_from_civil(y: i32, m: u32, d: u32) -> Day {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// The `(year, month, day)` of days since 1970-01-01 (H. Hinnant's `civil_from_days`).
#[inline]
pub fn civil_from_days(z: Day) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The chrono date of a [`Day`].
pub fn day_to_date(day: Day) -> NaiveDate {
    let (y, m, d) = civil_from_days(day);
    // civil_from_days always yields a valid calendar date; the fallback is unreachable
    // for any Day in chrono's range and keeps the function total.
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The [`Day`] of a chrono date.
pub fn date_to_day(date: NaiveDate) -> Day {
    days_from_civil(date.year(), date.month(), date.day())
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` of year `y`.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

#[inline]
fn digit(b: u8) -> Option<u32> {
    let d = b.wrapping_sub(b'0');
    (d < 10).then_some(d as u32)
}

#[inline]
fn two(s: &[u8], i: usize) -> Option<u32> {
    Some(digit(*s.get(i)?)? * 10 + digit(*s.get(i + 1)?)?)
}

#[inline]
fn four(s: &[u8], i: usize) -> Option<u32> {
    Some(two(s, i)? * 100 + two(s, i + 2)?)
}

/// Reads `[0-9]{1,2}` at `*i`, advancing it.
fn one_or_two(s: &[u8], i: &mut usize) -> Option<u32> {
    let a = digit(*s.get(*i)?)?;
    *i += 1;
    match s.get(*i).and_then(|&b| digit(b)) {
        Some(b) => {
            *i += 1;
            Some(a * 10 + b)
        }
        None => Some(a),
    }
}

/// Broken-down local fields of a timestamp, before validation.
struct Fields {
    y: u32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    sec: u32,
    ms: u32,
    /// Minutes east of UTC.
    offset_min: i32,
}

impl Fields {
    fn instant(&self) -> Option<i64> {
        let Fields {
            y,
            mo,
            d,
            h,
            mi,
            sec,
            ms,
            offset_min,
        } = *self;
        if !(1900..=9999).contains(&y)
            || !(1..=12).contains(&mo)
            || d == 0
            || d > days_in_month(y as i32, mo)
        {
            return None;
        }
        if h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        let day = days_from_civil(y as i32, mo, d) as i64;
        let local =
            day * DAY_MS + (h as i64 * 3600 + mi as i64 * 60 + sec as i64) * 1000 + ms as i64;
        Some(local - offset_min as i64 * 60_000)
    }
}

/// Parses a fraction of a second (`.` already consumed) at `*i`: one to nine digits,
/// truncated to milliseconds.
fn fraction(s: &[u8], i: &mut usize) -> Option<u32> {
    let start = *i;
    let mut ms = 0u32;
    while let Some(d) = s.get(*i).and_then(|&b| digit(b)) {
        if *i - start < 3 {
            ms = ms * 10 + d;
        }
        *i += 1;
    }
    let n = *i - start;
    if n == 0 || n > 9 {
        return None;
    }
    for _ in n..3 {
        ms *= 10;
    }
    Some(ms)
}

/// Parses a time-zone designator at `*i` to minutes east of UTC: `Z`, `±HH:MM`, `±HHMM`
/// or `±HH`; nothing at all means Japan Standard Time.
fn zone(s: &[u8], i: usize) -> Option<i32> {
    let rest = &s[i..];
    match rest {
        [] => Some(9 * 60),
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (h, m) = match tail {
                [_, _] => (two(tail, 0)?, 0),
                [_, _, b':', _, _] => (two(tail, 0)?, two(tail, 3)?),
                [_, _, _, _] => (two(tail, 0)?, two(tail, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let off = (h * 60 + m) as i32;
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => None,
    }
}

/// `HH:MM:SS` at `s[11..19]` (the colons already checked), all six digits tested and
/// converted eight bytes at a time.
#[inline(always)]
fn hh_mm_ss(s: &[u8]) -> Option<(u32, u32, u32)> {
    let t = u64::from_le_bytes(s.get(11..19)?.try_into().ok()?);
    // Minus `0` under each digit and `:` under each colon: every byte is then 0–9 (a
    // byte below its subtrahend wraps to 0x80 or more, whatever it borrows).
    let d = t.wrapping_sub(0x3030_3a30_303a_3030);
    if (d | d.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    let b = |k: u32| ((d >> (8 * k)) & 0xff) as u32;
    Some((b(0) * 10 + b(1), b(3) * 10 + b(4), b(6) * 10 + b(7)))
}

/// The milliseconds of a timestamp that ends in exactly `.fff+09:00` at `s[19..]`.
#[inline(always)]
fn millis_jst(s: &[u8]) -> Option<u32> {
    if s.len() != 29 {
        return None;
    }
    let u = u64::from_le_bytes(s.get(19..27)?.try_into().ok()?);
    // `.` and `+09:` around the three digits, then `00`.
    if u & 0xffff_ffff_0000_00ff != 0x3a39_302b_0000_002e || s.get(27..29)? != b"00" {
        return None;
    }
    let m = ((u >> 8) & 0xff_ffff).wrapping_sub(0x30_3030);
    if (m | m.wrapping_add(0x76_7676)) & 0x80_8080 != 0 {
        return None;
    }
    let b = |k: u32| ((m >> (8 * k)) & 0xff) as u32;
    Some(b(0) * 100 + b(1) * 10 + b(2))
}

/// Parses a timestamp of either layout of `oplog.md` to milliseconds since the epoch (UTC).
///
/// Accepted: ISO 8601 `2026-04-01T08:45:12.345+09:00` (fraction optional, any offset,
/// `Z`; without an offset the time is Japan Standard Time), and the local form
/// `2026/04/01 08:45:12` with an optional `.fff` (Japan Standard Time). A space may stand
/// for the `T`. Returns `None` for anything else, including impossible dates and times.
#[inline]
pub fn parse_timestamp(s: &[u8]) -> Option<i64> {
    TimestampParser::default().parse(s)
}

/// A timestamp parser that remembers the last date it converted: the lines of one log
/// file share a handful of dates, and the calendar arithmetic is the costly part.
#[derive(Debug, Clone, Default)]
pub struct TimestampParser {
    /// The digits of the last date parsed (`YYYYMMDD` as eight bytes, whatever the
    /// separators) and its day number.
    last: Option<(u64, i64)>,
}

impl TimestampParser {
    /// The day number of the date at the start of `s` (`date` is its digits), which
    /// becomes the remembered date; kept out of line so that the common path, inlined
    /// into the line parsers, stays small.
    #[cold]
    #[inline(never)]
    fn new_date(&mut self, s: &[u8], date: u64) -> Option<i64> {
        let (y, mo, d) = (four(s, 0)?, two(s, 5)?, two(s, 8)?);
        if !(1900..=9999).contains(&y)
            || !(1..=12).contains(&mo)
            || d == 0
            || d > days_in_month(y as i32, mo)
        {
            return None;
        }
        let day = days_from_civil(y as i32, mo, d) as i64;
        self.last = Some((date, day));
        Some(day)
    }

    /// Parses like [`parse_timestamp`].
    #[inline]
    pub fn parse(&mut self, s: &[u8]) -> Option<i64> {
        // Fast path: the two fixed-width layouts the terminals write.
        if s.len() >= 19 && s[13] == b':' && s[16] == b':' && (s[10] == b'T' || s[10] == b' ') {
            let sep = s[4];
            if (sep == b'-' || sep == b'/') && s[7] == sep {
                // The digits only, so both layouts of one date share the cache entry.
                let mut digits = [0u8; 8];
                digits[..4].copy_from_slice(&s[..4]);
                digits[4..6].copy_from_slice(&s[5..7]);
                digits[6..].copy_from_slice(&s[8..10]);
                let date = u64::from_le_bytes(digits);
                let day = match self.last {
                    Some((d, day)) if d == date => day,
                    _ => self.new_date(s, date)?,
                };
                let (h, mi, sec) = hh_mm_ss(s)?;
                if h > 23 || mi > 59 || sec > 59 {
                    return None;
                }
                // The layout the terminals write most: milliseconds and `+09:00`.
                if sep == b'-'
                    && let Some(ms) = millis_jst(s)
                {
                    let local = day * DAY_MS
                        + (h as i64 * 3600 + mi as i64 * 60 + sec as i64) * 1000
                        + ms as i64;
                    return Some(local - JST_OFFSET_MS);
                }
                let mut i = 19;
                let ms = if s.get(i) == Some(&b'.') {
                    i += 1;
                    fraction(s, &mut i)?
                } else {
                    0
                };
                let off = if sep == b'/' {
                    // The local form carries no zone.
                    if i != s.len() {
                        return None;
                    }
                    9 * 60
                } else {
                    zone(s, i)?
                };
                let local = day * DAY_MS
                    + (h as i64 * 3600 + mi as i64 * 60 + sec as i64) * 1000
                    + ms as i64;
                return Some(local - off as i64 * 60_000);
            }
        }
        parse_timestamp_lenient(s)
    }
}

/// The slow path: the local form with one-digit month, day or hour (`2026/4/1 8:45:12`),
/// as spreadsheet software re-saves it.
fn parse_timestamp_lenient(s: &[u8]) -> Option<i64> {
    let y = four(s, 0)?;
    if s.get(4) != Some(&b'/') {
        return None;
    }
    let mut i = 5;
    let mo = one_or_two(s, &mut i)?;
    if s.get(i) != Some(&b'/') {
        return None;
    }
    i += 1;
    let d = one_or_two(s, &mut i)?;
    if s.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let h = one_or_two(s, &mut i)?;
    if s.get(i) != Some(&b':') {
        return None;
    }
    let mi = two(s, i + 1)?;
    if s.get(i + 3) != Some(&b':') {
        return None;
    }
    let sec = two(s, i + 4)?;
    i += 6;
    let ms = if s.get(i) == Some(&b'.') {
        i += 1;
        fraction(s, &mut i)?
    } else {
        0
    };
    if i != s.len() {
        return None;
    }
    Fields {
        y,
        mo,
        d,
        h,
        mi,
        sec,
        ms,
        offset_min: 9 * 60,
    }
    .instant()
}

/// Formats an instant as ISO 8601 in Japan Standard Time with milliseconds:
/// `2026-04-01T08:45:12.345+09:00`.
pub fn format_jst(ms: i64) -> String {
    let local = ms + JST_OFFSET_MS;
    let day = local.div_euclid(DAY_MS) as Day;
    let t = local.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(day);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}+09:00",
        t / 3_600_000,
        t / 60_000 % 60,
        t / 1000 % 60,
        t % 1000
    )
}

/// Formats a [`Day`] as `YYYY-MM-DD`.
pub fn format_day(day: Day) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` (also `YYYY/M/D`) to a [`Day`].
pub fn parse_day(s: &str) -> Option<Day> {
    let b = s.trim().as_bytes();
    let y = four(b, 0)?;
    let sep = *b.get(4)?;
    if sep != b'-' && sep != b'/' {
        return None;
    }
    let mut i = 5;
    let m = one_or_two(b, &mut i)?;
    if b.get(i) != Some(&sep) {
        return None;
    }
    i += 1;
    let d = one_or_two(b, &mut i)?;
    if i != b.len() || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y as i32, m) {
        return None;
    }
    Some(days_from_civil(y as i32, m, d))
}

/// Today's local date in Asia/Tokyo, from the system clock.
pub fn today_jst() -> Day {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    jst_day(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<i64> {
        parse_timestamp(s.as_bytes())
    }

    #[test]
    fn both_layouts_agree() {
        let iso = ts("2026-04-01T08:45:12.345+09:00").unwrap();
        let local = ts("2026/04/01 08:45:12.345").unwrap();
        assert_eq!(iso, local);
        // 2026-03-31T23:45:12.345Z
        assert_eq!(iso, 1_775_000_712_345);
        assert_eq!(ts("2026-03-31T23:45:12.345Z"), Some(iso));
        assert_eq!(ts("2026-03-31T18:45:12.345-05:00"), Some(iso));
        assert_eq!(ts("2026-04-01T08:45:12.345+0900"), Some(iso));
        assert_eq!(ts("2026-04-01 08:45:12.345+09"), Some(iso));
        assert_eq!(
            ts("2026-04-01T08:45:12.345"),
            Some(iso),
            "no offset means JST"
        );
    }

    #[test]
    fn the_date_cache_never_leaks_into_other_dates() {
        let mut p = TimestampParser::default();
        let a = p.parse(b"2026-04-01T08:45:12+09:00").unwrap();
        let b = p.parse(b"2026-04-01T09:45:12+09:00").unwrap();
        assert_eq!(b - a, 3_600_000);
        assert_eq!(p.parse(b"2026-04-02T08:45:12+09:00"), Some(a + DAY_MS));
        assert_eq!(p.parse(b"2026/04/02 08:45:12"), Some(a + DAY_MS));
        assert_eq!(p.parse(b"2026-02-30T08:45:12+09:00"), None);
        assert_eq!(p.parse(b"2026-04-02T24:45:12+09:00"), None);
    }

    #[test]
    fn word_at_a_time_digits_match_byte_by_byte() {
        // Every byte value in every digit position of the time and the milliseconds.
        let good = *b"2026-04-01T08:45:12.345+09:00";
        let midnight = ts("2026-04-01T00:00:00.000+09:00").unwrap();
        for pos in [11, 12, 14, 15, 17, 18, 20, 21, 22] {
            for v in 0..=255u8 {
                let mut s = good;
                s[pos] = v;
                let n = |i: usize| i64::from(s[i]) - i64::from(b'0');
                let expected = v.is_ascii_digit().then(|| {
                    let (h, m, sec) = (n(11) * 10 + n(12), n(14) * 10 + n(15), n(17) * 10 + n(18));
                    (h < 24 && m < 60 && sec < 60).then(|| {
                        midnight
                            + (h * 3600 + m * 60 + sec) * 1000
                            + n(20) * 100
                            + n(21) * 10
                            + n(22)
                    })
                });
                assert_eq!(
                    parse_timestamp(&s),
                    expected.flatten(),
                    "{}",
                    String::from_utf8_lossy(&s)
                );
            }
        }
    }

    #[test]
    fn fractions_truncate_to_millis() {
        let base = ts("2026/04/01 08:45:12").unwrap();
        assert_eq!(ts("2026/04/01 08:45:12.5"), Some(base + 500));
        assert_eq!(ts("2026/04/01 08:45:12.05"), Some(base + 50));
        assert_eq!(ts("2026-04-01T08:45:12.123456789+09:00"), Some(base + 123));
        assert_eq!(ts("2026-04-01T08:45:12.1234567890+09:00"), None);
        assert_eq!(ts("2026/04/01 08:45:12."), None);
    }

    #[test]
    fn lenient_local_form() {
        assert_eq!(ts("2026/4/1 8:45:12"), ts("2026/04/01 08:45:12"));
        assert_eq!(ts("2026/4/1 8:45:12.7"), ts("2026/04/01 08:45:12.700"));
    }

    #[test]
    fn rejects_impossible_values() {
        for bad in [
            "",
            "2026-02-29T00:00:00+09:00",
            "2026/13/01 00:00:00",
            "2026/04/31 00:00:00",
            "2026/04/01 24:00:00",
            "2026/04/01 23:60:00",
            "2026/04/01 23:59:60",
            "2026/04/01 08:45:12+09:00",
            "2026/04/01 08:45:12.345+09:00",
            "2026-04-01T08:45:12.34x+09:00",
            "2026-04-01T08:45:12+25:00",
            "2026-04-01T08:45:12 +09:00",
            "2026-04-01X08:45:12+09:00",
            "2026/04/01T08:45",
            "abcd/04/01 08:45:12",
            "2026/04/01 08:45:1x",
        ] {
            assert_eq!(ts(bad), None, "{bad}");
        }
        assert!(ts("2024-02-29T00:00:00+09:00").is_some());
    }

    #[test]
    fn local_dates_turn_at_jst_midnight() {
        let before = ts("2026-04-01T23:59:59.999+09:00").unwrap();
        let after = ts("2026-04-02T00:00:00+09:00").unwrap();
        assert_eq!(jst_day(after) - jst_day(before), 1);
        assert_eq!(jst_midnight(jst_day(after)), after);
        assert_eq!(jst_ms_of_day(before), DAY_MS - 1);
        assert_eq!(format_day(jst_day(before)), "2026-04-01");
    }

    #[test]
    fn civil_round_trip() {
        for day in -800_000..800_000 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(
            day_to_date(date_to_day(NaiveDate::from_ymd_opt(2000, 2, 29).unwrap())).day(),
            29
        );
    }

    #[test]
    fn formats_jst_with_millis() {
        let t = ts("2026-03-31T23:45:12.045Z").unwrap();
        assert_eq!(format_jst(t), "2026-04-01T08:45:12.045+09:00");
        assert_eq!(ts(&format_jst(t)), Some(t));
    }

    #[test]
    fn parses_days() {
        assert_eq!(
            parse_day("2026-04-01").map(format_day).as_deref(),
            Some("2026-04-01")
        );
        assert_eq!(
            parse_day("2026/4/1").map(format_day).as_deref(),
            Some("2026-04-01")
        );
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("2026-04-01x"), None);
    }
}
