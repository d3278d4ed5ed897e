//! The two TOML ledgers, `rules.toml` (thresholds) and `calendars.toml` (operation plan
//! hours), read into serde structs that reject unknown keys and then validated once by
//! `build()` into the runtime types [`RulesConfig`] and [`Calendar`].
//!
//! Every error names the file, the 1-based line and the 1-based column (in characters)
//! of the offending key or value, computed from the byte span the TOML parser reports.
//! The files are decoded like the CSV ledgers (UTF-8 with or without BOM, else CP932):
//! TOML itself is UTF-8, but a clerk editing Japanese comments in Notepad may well save
//! CP932, and refusing that file would help nobody.
//!
//! `calendars.toml` readings where `ledgers.md` is silent:
//! * a key missing inside a calendar takes the value of the **built-in** default calendar
//!   ([`Calendar::builtin_default`]), not of the file's `[default]` table: each calendar
//!   then reads the same on its own, whatever else the file says;
//! * `date` of `open_days` and `closed_dates` may be written as a string `"2026-03-29"`
//!   or as a bare TOML date `2026-03-29`;
//! * weekday names are `mon` … `sun`, in any letter case;
//! * one date twice in `open_days`, or one weekday twice in `weekday_hours`, is an error
//!   (which hours would apply?); `grace_minutes` lies in 0..=720.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;
use toml::Spanned;

use super::LedgerError;
use super::model::{Calendar, Hours, RulesConfig};
use super::table::read_text;
use crate::model::RuleId;
use crate::time::{self, Day};

/// The longest window or horizon `rules.toml` accepts: five years, the retention period
/// of the regulations. Longer makes no sense and would risk overflowing instants.
pub const MAX_WINDOW_DAYS: i64 = 5 * 366;

/// Where a TOML value sits, to build errors from.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    /// An error at the start of byte `span` of the text.
    fn error(&self, span: Range<usize>, message: String) -> LedgerError {
        let start = span.start.min(self.text.len());
        let before = self.text.get(..start).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        LedgerError::Cell {
            path: self.path.to_owned(),
            line: before.matches('\n').count() as u64 + 1,
            column: before[line_start..].chars().count() as u64 + 1,
            message,
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, LedgerError> {
        toml::from_str(self.text).map_err(|e| {
            let message = e.message().trim_end().to_owned();
            match e.span() {
                Some(span) => self.error(span, message),
                None => LedgerError::File {
                    path: self.path.to_owned(),
                    message,
                },
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// rules.toml

/// `rules.toml` as written; every key optional (missing = the default of `ledgers.md`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesToml {
    mass_output_threshold: Option<Spanned<i64>>,
    split_output_window_minutes: Option<Spanned<i64>>,
    browse_threshold: Option<Spanned<i64>>,
    browse_window_minutes: Option<Spanned<i64>>,
    auth_fail_threshold: Option<Spanned<i64>>,
    auth_fail_window_minutes: Option<Spanned<i64>>,
    session_timeout_minutes: Option<Spanned<i64>>,
    verify_within_hours: Option<Spanned<i64>>,
    request_exempt_business_codes: Option<Vec<Spanned<String>>>,
    disabled_rules: Option<Vec<Spanned<String>>>,
    self_verification_lookback_days: Option<Spanned<i64>>,
}

/// A positive integer no larger than `max`, or the default.
fn positive(
    src: &Source<'_>,
    key: &str,
    value: Option<Spanned<i64>>,
    max: i64,
    default: i64,
) -> Result<i64, LedgerError> {
    let Some(v) = value else { return Ok(default) };
    let n = *v.get_ref();
    if n <= 0 || n > max {
        return Err(src.error(
            v.span(),
            format!("{key}: `{n}` must be a whole number from 1 to {max}"),
        ));
    }
    Ok(n)
}

impl RulesToml {
    fn build(self, src: &Source<'_>) -> Result<RulesConfig, LedgerError> {
        let d = RulesConfig::default();
        let minutes = MAX_WINDOW_DAYS * 24 * 60;
        let threshold = |key, v, default: u32| -> Result<u32, LedgerError> {
            // `positive` bounds the value by u32::MAX, so the conversion cannot fail.
            positive(src, key, v, i64::from(u32::MAX), i64::from(default))
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        };
        let mut disabled_rules = BTreeSet::new();
        for id in self.disabled_rules.unwrap_or_default() {
            let rule = RuleId::from_str(id.get_ref().trim())
                .map_err(|e| src.error(id.span(), format!("disabled_rules: {e}")))?;
            disabled_rules.insert(rule);
        }
        Ok(RulesConfig {
            mass_output_threshold: positive(
                src,
                "mass_output_threshold",
                self.mass_output_threshold,
                i64::from(u32::MAX),
                d.mass_output_threshold,
            )?,
            split_output_window_minutes: positive(
                src,
                "split_output_window_minutes",
                self.split_output_window_minutes,
                minutes,
                d.split_output_window_minutes,
            )?,
            browse_threshold: threshold(
                "browse_threshold",
                self.browse_threshold,
                d.browse_threshold,
            )?,
            browse_window_minutes: positive(
                src,
                "browse_window_minutes",
                self.browse_window_minutes,
                minutes,
                d.browse_window_minutes,
            )?,
            auth_fail_threshold: threshold(
                "auth_fail_threshold",
                self.auth_fail_threshold,
                d.auth_fail_threshold,
            )?,
            auth_fail_window_minutes: positive(
                src,
                "auth_fail_window_minutes",
                self.auth_fail_window_minutes,
                minutes,
                d.auth_fail_window_minutes,
            )?,
            session_timeout_minutes: positive(
                src,
                "session_timeout_minutes",
                self.session_timeout_minutes,
                minutes,
                d.session_timeout_minutes,
            )?,
            verify_within_hours: positive(
                src,
                "verify_within_hours",
                self.verify_within_hours,
                MAX_WINDOW_DAYS * 24,
                d.verify_within_hours,
            )?,
            request_exempt_business_codes: self
                .request_exempt_business_codes
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.into_inner().trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            disabled_rules,
            self_verification_lookback_days: positive(
                src,
                "self_verification_lookback_days",
                self.self_verification_lookback_days,
                MAX_WINDOW_DAYS,
                d.self_verification_lookback_days,
            )?,
        })
    }
}

impl RulesConfig {
    /// Parses the text of `rules.toml` (`path` is for messages).
    pub fn from_toml(path: &Path, text: &str) -> Result<RulesConfig, LedgerError> {
        let src = Source { path, text };
        src.parse::<RulesToml>()?.build(&src)
    }

    /// Reads `rules.toml` (UTF-8 or CP932).
    pub fn read(path: &Path) -> Result<RulesConfig, LedgerError> {
        let text = read_text(path)?;
        RulesConfig::from_toml(path, strip_bom(&text))
    }
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

// ---------------------------------------------------------------------------------------
// calendars.toml

/// One calendar table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarToml {
    weekdays: Option<Vec<Spanned<String>>>,
    hours: Option<Spanned<String>>,
    grace_minutes: Option<Spanned<i64>>,
    national_holidays: Option<bool>,
    closed_yearly: Option<Vec<Spanned<String>>>,
    closed_dates: Option<Vec<Spanned<toml::Value>>>,
    open_days: Option<Vec<OpenDayToml>>,
    weekday_hours: Option<Vec<WeekdayHoursToml>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenDayToml {
    date: Spanned<toml::Value>,
    hours: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeekdayHoursToml {
    weekday: Spanned<String>,
    hours: Spanned<String>,
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn weekday(src: &Source<'_>, key: &str, v: &Spanned<String>) -> Result<usize, LedgerError> {
    let s = v.get_ref().trim();
    WEEKDAYS
        .iter()
        .position(|w| w.eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            src.error(
                v.span(),
                format!("{key}: `{s}` is not a weekday ({})", WEEKDAYS.join(", ")),
            )
        })
}

fn hours(src: &Source<'_>, key: &str, v: &Spanned<String>) -> Result<Hours, LedgerError> {
    Hours::parse(v.get_ref()).ok_or_else(|| {
        src.error(
            v.span(),
            format!(
                "{key}: `{}` is not HH:MM-HH:MM with the opening before the closing",
                v.get_ref()
            ),
        )
    })
}

/// A date written as a string `YYYY-MM-DD` or as a bare TOML local date.
fn date(src: &Source<'_>, key: &str, v: &Spanned<toml::Value>) -> Result<Day, LedgerError> {
    let parsed = match v.get_ref() {
        toml::Value::String(s) => time::parse_day(s),
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => dt
            .date
            .and_then(|d| time::parse_day(&format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))),
        _ => None,
    };
    parsed.ok_or_else(|| {
        let shown = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(dt) => dt.to_string(),
            other => format!("({})", other.type_str()),
        };
        src.error(
            v.span(),
            format!("{key}: `{shown}` is not a date (YYYY-MM-DD)"),
        )
    })
}

/// `MM-DD` of `closed_yearly`; 02-29 is allowed (it only closes leap days).
fn month_day(src: &Source<'_>, v: &Spanned<String>) -> Result<(u32, u32), LedgerError> {
    let s = v.get_ref().trim();
    s.split_once('-')
        .filter(|(m, d)| {
            (1..=2).contains(&m.len())
                && (1..=2).contains(&d.len())
                && m.bytes().chain(d.bytes()).all(|b| b.is_ascii_digit())
        })
        .and_then(|(m, d)| Some((m.parse::<u32>().ok()?, d.parse::<u32>().ok()?)))
        // 2000 is a leap year: the widest month lengths.
        .filter(|&(m, d)| (1..=12).contains(&m) && d >= 1 && d <= time::days_in_month(2000, m))
        .ok_or_else(|| {
            src.error(
                v.span(),
                format!("closed_yearly: `{s}` is not a month and day (MM-DD)"),
            )
        })
}

impl CalendarToml {
    fn build(self, name: &str, src: &Source<'_>) -> Result<Calendar, LedgerError> {
        let mut cal = Calendar::builtin_default();
        cal.name = name.to_owned();
        if let Some(days) = self.weekdays {
            cal.weekdays = [false; 7];
            for d in &days {
                cal.weekdays[weekday(src, "weekdays", d)?] = true;
            }
        }
        if let Some(h) = &self.hours {
            cal.hours = hours(src, "hours", h)?;
        }
        if let Some(g) = self.grace_minutes {
            let n = *g.get_ref();
            cal.grace_minutes = u32::try_from(n).ok().filter(|n| *n <= 720).ok_or_else(|| {
                src.error(
                    g.span(),
                    format!("grace_minutes: `{n}` must be a whole number from 0 to 720"),
                )
            })?;
        }
        if let Some(b) = self.national_holidays {
            cal.national_holidays = b;
        }
        if let Some(list) = &self.closed_yearly {
            cal.closed_yearly = list
                .iter()
                .map(|v| month_day(src, v))
                .collect::<Result<_, _>>()?;
        }
        if let Some(list) = &self.closed_dates {
            cal.closed_dates = list
                .iter()
                .map(|v| date(src, "closed_dates", v))
                .collect::<Result<_, _>>()?;
        }
        for od in self.open_days.iter().flatten() {
            let day = date(src, "open_days.date", &od.date)?;
            let h = hours(src, "open_days.hours", &od.hours)?;
            if cal.open_days.insert(day, h).is_some() {
                return Err(src.error(
                    od.date.span(),
                    format!(
                        "open_days: {} is listed twice in calendar `{name}`",
                        time::format_day(day)
                    ),
                ));
            }
        }
        for wh in self.weekday_hours.iter().flatten() {
            let wd = weekday(src, "weekday_hours.weekday", &wh.weekday)?;
            let h = hours(src, "weekday_hours.hours", &wh.hours)?;
            if cal.weekday_hours[wd].replace(h).is_some() {
                return Err(src.error(
                    wh.weekday.span(),
                    format!(
                        "weekday_hours: `{}` is listed twice in calendar `{name}`",
                        WEEKDAYS[wd]
                    ),
                ));
            }
        }
        Ok(cal)
    }
}

/// Parses the text of `calendars.toml` into its calendars, by name (`path` is for
/// messages). A file without a `[default]` table yields no `default` here:
/// [`super::Calendars::new`] adds the built-in one.
pub fn calendars_from_toml(path: &Path, text: &str) -> Result<Vec<Calendar>, LedgerError> {
    let src = Source { path, text };
    let tables: BTreeMap<String, CalendarToml> = src.parse()?;
    tables
        .into_iter()
        .map(|(name, t)| t.build(&name, &src))
        .collect()
}

/// Reads `calendars.toml` (UTF-8 or CP932).
pub fn read_calendars(path: &Path) -> Result<Vec<Calendar>, LedgerError> {
    let text = read_text(path)?;
    calendars_from_toml(path, strip_bom(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::model::Holidays;

    fn rules(text: &str) -> Result<RulesConfig, String> {
        RulesConfig::from_toml(Path::new("rules.toml"), text).map_err(|e| e.to_string())
    }

    fn cals(text: &str) -> Result<BTreeMap<String, Calendar>, String> {
        calendars_from_toml(Path::new("calendars.toml"), text)
            .map(|v| v.into_iter().map(|c| (c.name.clone(), c)).collect())
            .map_err(|e| e.to_string())
    }

    fn day(s: &str) -> Day {
        time::parse_day(s).unwrap()
    }

    #[test]
    fn rules_defaults_for_missing_keys() {
        assert_eq!(rules("").unwrap(), RulesConfig::default());
        let r = rules(
            "# 閾値\nmass_output_threshold = 500\nrequest_exempt_business_codes = [\"Z01\"]\n\
             disabled_rules = [\"off-hours\", \"screen-hardcopy\"]\n",
        )
        .unwrap();
        assert_eq!(r.mass_output_threshold, 500);
        assert_eq!(r.browse_threshold, 50, "untouched keys keep the defaults");
        assert_eq!(r.self_verification_lookback_days, 2);
        assert!(r.request_exempt_business_codes.contains("Z01"));
        assert!(!r.enabled(RuleId::OffHours));
        assert!(!r.enabled(RuleId::ScreenHardcopy));
        assert!(r.enabled(RuleId::WatchlistAccess));
        let r = rules("self_verification_lookback_days = 90\nverify_within_hours = 48\n").unwrap();
        assert_eq!(
            (r.self_verification_lookback_days, r.verify_within_hours),
            (90, 48)
        );
    }

    #[test]
    fn rules_errors_name_line_and_column() {
        // A typo must not fall back to the default silently.
        assert_eq!(
            rules("mass_output_threshold = 10\nbrowse_treshold = 5\n").unwrap_err(),
            "rules.toml:2:1: unknown field `browse_treshold`, expected one of \
             `mass_output_threshold`, `split_output_window_minutes`, `browse_threshold`, \
             `browse_window_minutes`, `auth_fail_threshold`, `auth_fail_window_minutes`, \
             `session_timeout_minutes`, `verify_within_hours`, \
             `request_exempt_business_codes`, `disabled_rules`, \
             `self_verification_lookback_days`"
        );
        assert_eq!(
            rules("\nbrowse_window_minutes = 0\n").unwrap_err(),
            "rules.toml:2:25: browse_window_minutes: `0` must be a whole number from 1 to 2635200"
        );
        assert_eq!(
            rules("auth_fail_threshold = -3").unwrap_err(),
            "rules.toml:1:23: auth_fail_threshold: `-3` must be a whole number from 1 to 4294967295"
        );
        // Column counts characters, not bytes: `ルール` is 3 characters, 9 bytes.
        assert_eq!(
            rules("disabled_rules = [\"off-hours\", \"ルール\"]").unwrap_err(),
            "rules.toml:1:32: disabled_rules: unknown rule id `ルール` \
             (expected one of: the ids of rules.md, e.g. off-hours, watchlist-access)"
        );
        let e = rules("mass_output_threshold = \"100\"").unwrap_err();
        assert!(
            e.starts_with("rules.toml:1:25: invalid type: string"),
            "{e}"
        );
    }

    const SPEC_EXAMPLE: &str = r#"
[default]
weekdays = ["mon", "tue", "wed", "thu", "fri"]   # working weekdays
hours = "08:30-17:15"
grace_minutes = 30
national_holidays = true
closed_yearly = ["12-29", "12-30", "12-31", "01-02", "01-03"]
closed_dates = ["2026-05-07"]

[[default.open_days]]
date = "2026-03-29"
hours = "08:30-12:00"

[[default.open_days]]
date = 2026-05-04
hours = "09:00-12:00"

[[default.weekday_hours]]
weekday = "thu"
hours = "08:30-19:00"

[branch]
weekdays = ["mon", "tue", "wed", "thu", "fri"]
hours = "08:45-16:30"
grace_minutes = 15
national_holidays = true
"#;

    #[test]
    fn calendar_semantics_of_ledgers_md() {
        let c = cals(SPEC_EXAMPLE).unwrap();
        let h = Holidays::builtin();
        let def = &c["default"];
        let min = |h: u32, m: u32| i64::from(h * 60 + m) * 60_000;
        // Sunday open day: its own hours, grace around them, inclusive ends.
        assert_eq!(
            def.open_interval(day("2026-03-29"), &h),
            Some((min(8, 0), min(12, 30)))
        );
        // open_days override a national holiday (2026-05-04 みどりの日).
        assert_eq!(
            def.open_interval(day("2026-05-04"), &h),
            Some((min(8, 30), min(12, 30)))
        );
        // Thursday 2026-04-02: extended hours.
        assert_eq!(
            def.open_interval(day("2026-04-02"), &h),
            Some((min(8, 0), min(19, 30)))
        );
        // Wednesday 2026-04-01: plain hours.
        assert_eq!(
            def.open_interval(day("2026-04-01"), &h),
            Some((min(8, 0), min(17, 45)))
        );
        // closed_dates (a Thursday), closed_yearly, a national holiday, a Saturday.
        for closed in [
            "2026-05-07",
            "2027-01-04",
            "2026-12-29",
            "2026-05-05",
            "2026-04-04",
        ] {
            let expect_open = closed == "2027-01-04"; // Monday 1/4 is not in the list.
            assert_eq!(
                def.open_interval(day(closed), &h).is_some(),
                expect_open,
                "{closed}"
            );
        }
        // The branch calendar: its own hours and grace; year-end inherited from the
        // built-in default because the table does not say.
        let br = &c["branch"];
        assert_eq!(
            br.open_interval(day("2026-04-02"), &h),
            Some((min(8, 30), min(16, 45)))
        );
        assert!(br.open_interval(day("2026-12-30"), &h).is_none());
        assert!(br.open_interval(day("2026-03-29"), &h).is_none());
        assert_eq!(br.weekday_hours, [None; 7]);
    }

    #[test]
    fn grace_ends_are_inclusive() {
        let c = cals(SPEC_EXAMPLE).unwrap();
        let h = Holidays::builtin();
        let at = |s: &str| time::parse_timestamp(s.as_bytes()).unwrap();
        let def = &c["default"];
        // Wednesday 2026-04-01, 08:30-17:15 with 30 minutes of grace: 08:00 to 17:45.
        assert!(!def.is_open_at(at("2026-04-01T07:59:59.999+09:00"), &h));
        assert!(def.is_open_at(at("2026-04-01T08:00:00.000+09:00"), &h));
        assert!(def.is_open_at(at("2026-04-01T17:45:00.000+09:00"), &h));
        assert!(!def.is_open_at(at("2026-04-01T17:45:00.001+09:00"), &h));
        // The same instant in UTC is judged by its JST date and time.
        assert!(def.is_open_at(at("2026-03-31T23:00:00Z"), &h));
        // Branch: 08:45-16:30 with 15 minutes: 08:30 to 16:45.
        let br = &c["branch"];
        assert!(!br.is_open_at(at("2026-04-01T08:29:59.999+09:00"), &h));
        assert!(br.is_open_at(at("2026-04-01T08:30:00+09:00"), &h));
        assert!(br.is_open_at(at("2026-04-01T16:45:00+09:00"), &h));
        assert!(!br.is_open_at(at("2026-04-01T16:45:00.001+09:00"), &h));
        // A holiday has no open interval at all: 2026-04-29 昭和の日 at noon.
        assert!(!def.is_open_at(at("2026-04-29T12:00:00+09:00"), &h));
    }

    #[test]
    fn open_days_override_closed_dates_and_year_end() {
        let c = cals(
            "[x]\nclosed_dates = [\"2026-04-01\"]\n\
             [[x.open_days]]\ndate = \"2026-04-01\"\nhours = \"10:00-11:00\"\n\
             [[x.open_days]]\ndate = \"2026-12-29\"\nhours = \"10:00-11:00\"\n",
        )
        .unwrap();
        let h = Holidays::builtin();
        let x = &c["x"];
        for d in ["2026-04-01", "2026-12-29"] {
            assert_eq!(
                x.working_hours(day(d), &h),
                Some(Hours {
                    open_min: 600,
                    close_min: 660
                }),
                "{d}"
            );
        }
    }

    #[test]
    fn missing_keys_take_the_builtin_default() {
        let c = cals("[default]\nhours = \"09:00-17:00\"\n[empty]\n").unwrap();
        let mut want = Calendar::builtin_default();
        want.hours = Hours {
            open_min: 540,
            close_min: 1020,
        };
        assert_eq!(c["default"], want);
        let mut want = Calendar::builtin_default();
        want.name = "empty".into();
        assert_eq!(c["empty"], want);
        // An empty file: no calendar at all (Calendars::new supplies `default`).
        assert!(cals("").unwrap().is_empty());
    }

    #[test]
    fn calendar_errors_name_line_and_column() {
        for (text, want) in [
            (
                "[default]\nweekday = [\"mon\"]\n",
                "calendars.toml:2:1: unknown field `weekday`, expected one of `weekdays`, \
                 `hours`, `grace_minutes`, `national_holidays`, `closed_yearly`, \
                 `closed_dates`, `open_days`, `weekday_hours`",
            ),
            (
                "[default]\nweekdays = [\"mon\", \"fry\"]\n",
                "calendars.toml:2:20: weekdays: `fry` is not a weekday (mon, tue, wed, thu, fri, sat, sun)",
            ),
            (
                "[default]\nhours = \"17:15-08:30\"\n",
                "calendars.toml:2:9: hours: `17:15-08:30` is not HH:MM-HH:MM with the opening before the closing",
            ),
            (
                "[b]\nclosed_yearly = [\"12-29\", \"02-30\"]\n",
                "calendars.toml:2:27: closed_yearly: `02-30` is not a month and day (MM-DD)",
            ),
            (
                "[b]\nclosed_dates = [\"2026-13-01\"]\n",
                "calendars.toml:2:17: closed_dates: `2026-13-01` is not a date (YYYY-MM-DD)",
            ),
            (
                "[b]\ngrace_minutes = -5\n",
                "calendars.toml:2:17: grace_minutes: `-5` must be a whole number from 0 to 720",
            ),
            (
                "[b]\n[[b.open_days]]\ndate = \"2026-03-29\"\nhours = \"08:30-12:00\"\n\
                 [[b.open_days]]\ndate = \"2026-03-29\"\nhours = \"09:00-12:00\"\n",
                "calendars.toml:6:8: open_days: 2026-03-29 is listed twice in calendar `b`",
            ),
            (
                "[b]\n[[b.weekday_hours]]\nweekday = \"thu\"\nhours = \"08:30-19:00\"\n\
                 [[b.weekday_hours]]\nweekday = \"Thu\"\nhours = \"08:30-18:00\"\n",
                "calendars.toml:6:11: weekday_hours: `thu` is listed twice in calendar `b`",
            ),
            (
                "[b]\n[[b.open_days]]\ndate = \"2026-03-29\"\nhour = \"08:30-12:00\"\n",
                "calendars.toml:4:1: unknown field `hour`, expected `date` or `hours`",
            ),
        ] {
            assert_eq!(cals(text).unwrap_err(), want, "{text}");
        }
    }
}
