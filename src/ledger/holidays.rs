//! Japanese national holidays (国民の祝日・休日), computed from the Act on National
//! Holidays (国民の祝日に関する法律) rather than copied from a table.
//!
//! [`Holidays::builtin`] covers [`FIRST_YEAR`]..=[`LAST_YEAR`] and reproduces the Cabinet
//! Office's `syukujitsu.csv` for every year it has published. For later years it applies
//! the same rules; the equinox days (春分の日, 秋分の日) come from the usual
//! approximation of the astronomical equinox, so they are **predictions**: the government
//! fixes each year's equinox days only in February of the year before (官報の暦要項), and
//! any future one-off change (a new enthronement, another Olympic-style move) cannot be
//! foreseen. A user who needs the official list, or years before 2000, places the Cabinet
//! Office file in the ledger folder as `syukujitsu.csv`; [`Holidays::override_with`] then
//! replaces the built-in days of every year the file covers.
//!
//! The rules, with the years they apply (dates are local):
//! * fixed days: 元日 1/1, 建国記念の日 2/11, 昭和の日 4/29 (from 2007; みどりの日
//!   before), 憲法記念日 5/3, みどりの日 5/4 (from 2007), こどもの日 5/5, 山の日 8/11 (from
//!   2016), 文化の日 11/3, 勤労感謝の日 11/23, 天皇誕生日 12/23 (to 2018), 2/23 (from
//!   2020; none in 2019);
//! * Happy Monday (祝日法改正 1998, 2001): 成人の日 2nd Monday of January, 海の日 3rd
//!   Monday of July (from 2003; 7/20 before), 敬老の日 3rd Monday of September (from
//!   2003; 9/15 before), 体育の日 / スポーツの日 (renamed 2020) 2nd Monday of October;
//! * 春分の日 and 秋分の日 from the equinox formula;
//! * the one-offs: 2019 天皇の即位の日 5/1 and 即位礼正殿の儀 10/22 (both "deemed
//!   national holidays" by the special act, so they count for the two rules below), and
//!   the Olympic moves of 2020 (海の日 7/23, スポーツの日 7/24, 山の日 8/10) and 2021
//!   (7/22, 7/23, 8/8);
//! * 振替休日 (substitute holiday, named `休日`): until 2006 the Monday after a holiday on
//!   a Sunday, if that Monday is not itself a holiday; from 2007 the first day after the
//!   Sunday holiday that is not a national holiday;
//! * 国民の休日 (citizens' holiday, named `休日`): a day whose previous and next days are
//!   both national holidays, not itself one. The wording until 2006 also excluded Sundays
//!   and substitute holidays (which is why 2003-05-04, a Sunday, is absent from the
//!   Cabinet Office list); from 2007 only national holidays are excluded (2009-09-22,
//!   2015-09-22, 2026-09-22, 2019-04-30 and 2019-05-02).
//!
//! Substitute and citizens' holidays are not national holidays (国民の祝日) themselves:
//! they never make a neighbouring day a substitute or citizens' holiday.

use std::collections::BTreeMap;
use std::path::Path;

use super::LedgerError;
use super::model::{Holidays, weekday_index};
use super::table::Table;
use crate::time::{Day, days_from_civil};

/// The first year of the built-in calendar. Earlier years belong to rules this module
/// does not model (成人の日 on 1/15, 体育の日 on 10/10, the one-offs of 1989–1993).
pub const FIRST_YEAR: i32 = 2000;
/// The last year of the built-in calendar: the equinox approximation holds to 2099.
pub const LAST_YEAR: i32 = 2099;

/// The day the amended Act took effect (2007-01-01): new substitute and citizens' rules.
const REFORM_2007: i32 = 2007;

/// The name the Cabinet Office gives substitute and citizens' holidays.
pub const KYUJITSU: &str = "休日";

/// The header of the Cabinet Office's `syukujitsu.csv`.
pub const SYUKUJITSU_COLUMNS: &[&str] = &["国民の祝日・休日月日", "国民の祝日・休日名称"];

const MONDAY: usize = 0;
const SUNDAY: usize = 6;

impl Holidays {
    /// The national holidays of [`FIRST_YEAR`]..=[`LAST_YEAR`], computed from the Act (see
    /// the module documentation; equinoxes after the published years are predictions).
    pub fn builtin() -> Holidays {
        static BUILTIN: std::sync::LazyLock<Holidays> = std::sync::LazyLock::new(|| {
            Holidays::from_days(
                (FIRST_YEAR..=LAST_YEAR)
                    .flat_map(year_holidays)
                    .map(|(d, n)| (d, n.to_owned())),
            )
        });
        BUILTIN.clone()
    }

    /// Reads the Cabinet Office's `syukujitsu.csv` (CP932 or UTF-8, header
    /// `国民の祝日・休日月日,国民の祝日・休日名称`, dates `YYYY/M/D`).
    pub fn from_syukujitsu_csv(path: &Path) -> Result<Holidays, LedgerError> {
        let table = Table::read(path, SYUKUJITSU_COLUMNS)?;
        let mut days: BTreeMap<Day, (String, u64)> = BTreeMap::new();
        for row in &table.rows {
            let day = table.day(row, 0)?;
            let name = table.required(row, 1)?;
            if let Some((_, first)) = days.get(&day) {
                return Err(table.error(
                    row.line,
                    0,
                    format!("`{}` is listed twice (first at line {first})", row.cell(0)),
                ));
            }
            days.insert(day, (name.to_owned(), row.line));
        }
        Ok(Holidays::from_days(
            days.into_iter().map(|(d, (n, _))| (d, n)),
        ))
    }
}

/// The `n`-th (1-based) Monday of a month.
fn nth_monday(y: i32, m: u32, n: u32) -> Day {
    let first = days_from_civil(y, m, 1);
    let to_monday = (7 + MONDAY - weekday_index(first)) % 7;
    first + to_monday as Day + 7 * (n as Day - 1)
}

/// The day of March of 春分の日 (`spring`) or of September of 秋分の日, for 1980–2099.
///
/// The usual approximation `⌊c + 0.242194 (y − 1980) − ⌊(y − 1980) / 4⌋⌋` with
/// c = 20.8431 (March) or 23.2488 (September), in millionths so that no rounding of
/// floating point can move a day.
fn equinox_day(y: i32, spring: bool) -> u32 {
    let n = i64::from(y - 1980);
    let c: i64 = if spring { 20_843_100 } else { 23_248_800 };
    ((c + 242_194 * n).div_euclid(1_000_000) - n.div_euclid(4)) as u32
}

/// The national holidays proper (国民の祝日, including the 2019 days deemed so) of `y`.
fn national_days(y: i32) -> Vec<(Day, &'static str)> {
    let d = |m, day| days_from_civil(y, m, day);
    let mut v = vec![
        (d(1, 1), "元日"),
        (nth_monday(y, 1, 2), "成人の日"),
        (d(2, 11), "建国記念の日"),
        (d(3, equinox_day(y, true)), "春分の日"),
        (d(5, 3), "憲法記念日"),
        (d(5, 5), "こどもの日"),
        (d(9, equinox_day(y, false)), "秋分の日"),
        (d(11, 3), "文化の日"),
        (d(11, 23), "勤労感謝の日"),
    ];
    if y >= REFORM_2007 {
        v.push((d(4, 29), "昭和の日"));
        v.push((d(5, 4), "みどりの日"));
    } else {
        v.push((d(4, 29), "みどりの日"));
    }
    match y {
        ..=2018 => v.push((d(12, 23), "天皇誕生日")),
        2019 => {
            v.push((d(5, 1), "天皇の即位の日"));
            v.push((d(10, 22), "即位礼正殿の儀"));
        }
        _ => v.push((d(2, 23), "天皇誕生日")),
    }
    // 海の日 and スポーツの日 (体育の日 before 2020), with the Olympic years' special act.
    let sports = if y >= 2020 {
        "スポーツの日"
    } else {
        "体育の日"
    };
    match y {
        2020 => {
            v.push((d(7, 23), "海の日"));
            v.push((d(7, 24), sports));
            v.push((d(8, 10), "山の日"));
        }
        2021 => {
            v.push((d(7, 22), "海の日"));
            v.push((d(7, 23), sports));
            v.push((d(8, 8), "山の日"));
        }
        _ => {
            v.push(if y >= 2003 {
                (nth_monday(y, 7, 3), "海の日")
            } else {
                (d(7, 20), "海の日")
            });
            v.push((nth_monday(y, 10, 2), sports));
            if y >= 2016 {
                v.push((d(8, 11), "山の日"));
            }
        }
    }
    v.push(if y >= 2003 {
        (nth_monday(y, 9, 3), "敬老の日")
    } else {
        (d(9, 15), "敬老の日")
    });
    v
}

/// Every holiday of year `y`: national holidays, then substitute and citizens' holidays.
fn year_holidays(y: i32) -> Vec<(Day, &'static str)> {
    let national: BTreeMap<Day, &'static str> = national_days(y).into_iter().collect();
    let mut all = national.clone();

    // 振替休日.
    for &day in national.keys() {
        if weekday_index(day) != SUNDAY {
            continue;
        }
        let mut next = day + 1;
        if y >= REFORM_2007 {
            while national.contains_key(&next) {
                next += 1;
            }
            all.insert(next, KYUJITSU);
        } else if !national.contains_key(&next) {
            all.insert(next, KYUJITSU);
        }
    }
    let substitutes: Vec<Day> = all
        .keys()
        .copied()
        .filter(|d| !national.contains_key(d))
        .collect();

    // 国民の休日: between two national holidays. A day is only ever sandwiched inside
    // one year (1/1 and 12/31's neighbours across the year end are not both holidays).
    for &day in national.keys() {
        let mid = day + 1;
        if national.contains_key(&mid) || !national.contains_key(&(mid + 1)) {
            continue;
        }
        if y < REFORM_2007 && (weekday_index(mid) == SUNDAY || substitutes.contains(&mid)) {
            continue;
        }
        all.insert(mid, KYUJITSU);
    }
    all.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time;

    fn day(s: &str) -> Day {
        time::parse_day(s).unwrap()
    }

    fn name(h: &Holidays, s: &str) -> Option<String> {
        h.name(day(s)).map(str::to_owned)
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name)
    }

    /// The reference file is independent of this code (two public holiday libraries
    /// agree on it): the built-in calendar must list exactly its days and names.
    #[test]
    fn builtin_equals_the_reference_file_2000_2030() {
        let reference =
            Holidays::from_syukujitsu_csv(&fixture("syukujitsu-2000-2030.csv")).unwrap();
        assert_eq!(reference.iter().count(), 540, "the file has 540 days");
        let builtin = Holidays::builtin();
        let (from, to) = (day("2000-01-01"), day("2030-12-31"));
        let mut mismatches = Vec::new();
        for d in from..=to {
            if builtin.name(d) != reference.name(d) {
                mismatches.push(format!(
                    "{}: built-in {:?}, reference {:?}",
                    time::format_day(d),
                    builtin.name(d),
                    reference.name(d)
                ));
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn citizens_holiday_in_september_2026() {
        let h = Holidays::builtin();
        // 2026-09-21 is the 3rd Monday (敬老の日), 2026-09-23 秋分の日 (Wednesday).
        assert_eq!(name(&h, "2026-09-21").as_deref(), Some("敬老の日"));
        assert_eq!(name(&h, "2026-09-22").as_deref(), Some("休日"));
        assert_eq!(name(&h, "2026-09-23").as_deref(), Some("秋分の日"));
    }

    #[test]
    fn enthronement_2019() {
        let h = Holidays::builtin();
        let got: Vec<_> = [
            "04-29", "04-30", "05-01", "05-02", "05-03", "05-04", "05-05", "05-06",
        ]
        .iter()
        .map(|md| name(&h, &format!("2019-{md}")))
        .collect();
        let want = [
            "昭和の日",
            "休日",
            "天皇の即位の日",
            "休日",
            "憲法記念日",
            "みどりの日",
            "こどもの日",
            "休日", // 5/5 was a Sunday.
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|s| Some((*s).to_owned()))
                .collect::<Vec<_>>()
        );
        assert_eq!(name(&h, "2019-10-22").as_deref(), Some("即位礼正殿の儀"));
        // No 天皇誕生日 in 2019, neither the old nor the new date.
        assert_eq!(name(&h, "2019-12-23"), None);
        assert_eq!(name(&h, "2019-02-23"), None);
        assert_eq!(name(&h, "2018-12-23").as_deref(), Some("天皇誕生日"));
        assert_eq!(name(&h, "2020-02-23").as_deref(), Some("天皇誕生日"));
        // 2020-02-23 was a Sunday.
        assert_eq!(name(&h, "2020-02-24").as_deref(), Some("休日"));
    }

    #[test]
    fn olympic_moves() {
        let h = Holidays::builtin();
        for (d, n) in [
            ("2020-07-23", "海の日"),
            ("2020-07-24", "スポーツの日"),
            ("2020-08-10", "山の日"),
            ("2021-07-22", "海の日"),
            ("2021-07-23", "スポーツの日"),
            ("2021-08-08", "山の日"),
            ("2021-08-09", "休日"),
        ] {
            assert_eq!(name(&h, d).as_deref(), Some(n), "{d}");
        }
        // The regular days of those years are working days.
        for d in [
            "2020-07-20",
            "2020-08-11",
            "2020-10-12",
            "2021-07-19",
            "2021-08-11",
            "2021-10-11",
        ] {
            assert_eq!(name(&h, d), None, "{d}");
        }
        assert_eq!(name(&h, "2022-10-10").as_deref(), Some("スポーツの日"));
        assert_eq!(name(&h, "2019-10-14").as_deref(), Some("体育の日"));
    }

    #[test]
    fn substitute_holidays_before_and_after_2007() {
        let h = Holidays::builtin();
        // Before 2007: the Monday after. 2006-01-01 was a Sunday.
        assert_eq!(name(&h, "2006-01-02").as_deref(), Some("休日"));
        // 2003-05-04 was a Sunday between two national holidays: no citizens' holiday
        // (the old wording excluded Sundays), and 5/3 was a Saturday, so no substitute.
        assert_eq!(name(&h, "2003-05-04"), None);
        // After 2007: the first non-holiday after. 2008-05-04 (Sunday) → 5/5 is こどもの日,
        // so the substitute is Tuesday 5/6.
        assert_eq!(name(&h, "2008-05-04").as_deref(), Some("みどりの日"));
        assert_eq!(name(&h, "2008-05-06").as_deref(), Some("休日"));
        // 2026-05-03 (Sunday) → 5/4, 5/5 holidays → Wednesday 5/6.
        assert_eq!(name(&h, "2026-05-06").as_deref(), Some("休日"));
    }

    #[test]
    fn equinox_formula() {
        // Known official days: 2000-03-20, 2012-09-22, 2024-03-20, 2024-09-22, 2026-03-20,
        // 2026-09-23.
        assert_eq!(equinox_day(2000, true), 20);
        assert_eq!(equinox_day(2012, false), 22);
        assert_eq!(equinox_day(2024, true), 20);
        assert_eq!(equinox_day(2024, false), 22);
        assert_eq!(equinox_day(2026, true), 20);
        assert_eq!(equinox_day(2026, false), 23);
    }

    #[test]
    fn later_years_follow_the_same_rules() {
        let h = Holidays::builtin();
        // 2099-01-12 is the 2nd Monday of January 2099 (2099-01-01 is a Thursday).
        assert_eq!(name(&h, "2099-01-12").as_deref(), Some("成人の日"));
        assert!(h.iter().all(|(d, _)| {
            let y = time::civil_from_days(d).0;
            (FIRST_YEAR..=LAST_YEAR).contains(&y)
        }));
    }

    #[test]
    fn override_from_a_small_syukujitsu_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syukujitsu.csv");
        // A made-up 2027 that only has New Year's Day and one extra day, in CP932.
        let text =
            "国民の祝日・休日月日,国民の祝日・休日名称\r\n2027/1/1,元日\r\n2027/6/9,結婚の儀\r\n";
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        std::fs::write(&path, &bytes).unwrap();
        let file = Holidays::from_syukujitsu_csv(&path).unwrap();
        let mut h = Holidays::builtin();
        assert_eq!(name(&h, "2027-01-11").as_deref(), Some("成人の日"));
        h.override_with(&file);
        assert_eq!(name(&h, "2027-06-09").as_deref(), Some("結婚の儀"));
        assert_eq!(name(&h, "2027-01-01").as_deref(), Some("元日"));
        assert_eq!(name(&h, "2027-01-11"), None, "2027 now comes from the file");
        let in_2027 = h
            .iter()
            .filter(|(d, _)| time::civil_from_days(*d).0 == 2027)
            .count();
        assert_eq!(in_2027, 2);
        // Other years keep the built-in days.
        assert_eq!(name(&h, "2026-01-12").as_deref(), Some("成人の日"));
    }

    #[test]
    fn syukujitsu_errors_name_the_cell() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syukujitsu.csv");
        std::fs::write(
            &path,
            "国民の祝日・休日月日,国民の祝日・休日名称\n2027/1/1,元日\n2027/2/30,X\n",
        )
        .unwrap();
        let err = Holidays::from_syukujitsu_csv(&path)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "{}:3:1: 国民の祝日・休日月日: `2027/2/30` is not a date (YYYY-MM-DD)",
                path.display()
            )
        );
        std::fs::write(
            &path,
            "国民の祝日・休日月日,国民の祝日・休日名称\n2027/1/1,元日\n2027-01-01,元日\n",
        )
        .unwrap();
        let err = Holidays::from_syukujitsu_csv(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(":3:1: `2027-01-01` is listed twice (first at line 2)"),
            "{err}"
        );
    }
}
