//! Loading a whole ledger folder (`--ledgers DIR`) into [`Ledgers`].
//!
//! The order matters once: `calendars.toml` (and the holidays it judges by) is read
//! before `terminals.csv`, whose `calendar` cells must name a defined calendar.

use std::path::Path;

use super::LedgerError;
use super::config::read_calendars;
use super::model::{
    Approvals, Calendars, Holidays, Ledgers, Operators, RulesConfig, Terminals, Watchlist,
};
use super::registers::{
    read_approvals, read_operators, read_requests, read_terminals, read_watchlist,
};

/// The file names of a ledger folder, as `ledgers.md` fixes them.
pub const OPERATORS_FILE: &str = "operators.csv";
pub const TERMINALS_FILE: &str = "terminals.csv";
pub const CALENDARS_FILE: &str = "calendars.toml";
pub const APPROVALS_FILE: &str = "approvals.csv";
pub const REQUESTS_FILE: &str = "requests.csv";
pub const WATCHLIST_FILE: &str = "watchlist.csv";
pub const RULES_FILE: &str = "rules.toml";
pub const SYUKUJITSU_FILE: &str = "syukujitsu.csv";

/// Whether an optional file is there; any error but "not found" is reported, so that an
/// unreadable approvals register is not mistaken for an absent one.
fn present(path: &Path) -> Result<bool, LedgerError> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(LedgerError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Reads an optional file with `read`, or returns `None` when it is absent.
fn optional<T>(
    path: &Path,
    read: impl FnOnce(&Path) -> Result<T, LedgerError>,
) -> Result<Option<T>, LedgerError> {
    if present(path)? {
        read(path).map(Some)
    } else {
        Ok(None)
    }
}

fn required(path: &Path) -> Result<(), LedgerError> {
    if present(path)? {
        Ok(())
    } else {
        Err(LedgerError::File {
            path: path.to_owned(),
            message: "required ledger file is missing (a ledger folder must hold \
                      operators.csv and terminals.csv)"
                .into(),
        })
    }
}

impl Ledgers {
    /// Reads and validates every table of the ledger folder `dir`.
    ///
    /// `operators.csv` and `terminals.csv` are required. A missing optional file means an
    /// empty table or the defaults of `ledgers.md`; `requests` stays `None` without
    /// `requests.csv`, which switches `unmatched-request` off. A `syukujitsu.csv` in the
    /// folder replaces the built-in holidays of the years it covers.
    pub fn load(dir: &Path) -> Result<Ledgers, LedgerError> {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(LedgerError::File {
                    path: dir.to_owned(),
                    message: "not a folder: --ledgers names the folder that holds the \
                              ledger files"
                        .into(),
                });
            }
            Err(source) => {
                return Err(LedgerError::Io {
                    path: dir.to_owned(),
                    source,
                });
            }
        }
        let operators_path = dir.join(OPERATORS_FILE);
        let terminals_path = dir.join(TERMINALS_FILE);
        required(&operators_path)?;
        required(&terminals_path)?;

        let mut holidays = Holidays::builtin();
        if let Some(file) = optional(&dir.join(SYUKUJITSU_FILE), Holidays::from_syukujitsu_csv)? {
            holidays.override_with(&file);
        }
        let calendars = optional(&dir.join(CALENDARS_FILE), read_calendars)?.unwrap_or_default();
        let calendars = Calendars::new(calendars, holidays);

        Ok(Ledgers {
            operators: read_operators(&operators_path)?,
            terminals: read_terminals(&terminals_path, &calendars)?,
            calendars,
            approvals: optional(&dir.join(APPROVALS_FILE), read_approvals)?.unwrap_or_default(),
            requests: optional(&dir.join(REQUESTS_FILE), read_requests)?,
            watchlist: optional(&dir.join(WATCHLIST_FILE), read_watchlist)?.unwrap_or_default(),
            rules: optional(&dir.join(RULES_FILE), RulesConfig::read)?.unwrap_or_default(),
        })
    }

    /// Ledgers with empty registers, the built-in `default` calendar, the built-in
    /// holidays and the default thresholds; `requests` is `None`. For tests and for
    /// building ledgers in code.
    pub fn builtin_defaults() -> Ledgers {
        Ledgers {
            operators: Operators::default(),
            terminals: Terminals::default(),
            calendars: Calendars::new([], Holidays::builtin()),
            approvals: Approvals::default(),
            requests: None,
            watchlist: Watchlist::default(),
            rules: RulesConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::model::Calendar;
    use crate::time;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn minimal(dir: &Path) {
        write(
            dir,
            OPERATORS_FILE,
            "operator_id,name,office,designated_from,designated_until,business_codes,terminals\n\
             A1,山田,KW01,2025-04-01,,*,*\n",
        );
        write(
            dir,
            TERMINALS_FILE,
            "terminal_id,office,calendar\nT1,KW01,\n",
        );
    }

    #[test]
    fn missing_optional_files_mean_defaults() {
        let d = tempfile::tempdir().unwrap();
        minimal(d.path());
        let l = Ledgers::load(d.path()).unwrap();
        assert_eq!(l.operators.len(), 1);
        assert_eq!(l.terminals.len(), 1);
        assert!(l.requests.is_none());
        assert!(l.approvals.is_empty() && l.watchlist.is_empty());
        assert_eq!(l.rules, RulesConfig::default());
        assert_eq!(l.calendars.names().collect::<Vec<_>>(), ["default"]);
        assert_eq!(*l.calendars.default_calendar(), Calendar::builtin_default());
        assert_eq!(l.calendars.holidays, Holidays::builtin());
        assert_eq!(*l.calendar_for(Some("T1")), Calendar::builtin_default());
    }

    #[test]
    fn required_files_are_named_when_missing() {
        let d = tempfile::tempdir().unwrap();
        minimal(d.path());
        std::fs::remove_file(d.path().join(TERMINALS_FILE)).unwrap();
        let e = Ledgers::load(d.path()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: required ledger file is missing (a ledger folder must hold \
                 operators.csv and terminals.csv)",
                d.path().join(TERMINALS_FILE).display()
            )
        );
        let e = Ledgers::load(&d.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope"), "{e}");
    }

    #[test]
    fn empty_requests_register_is_present() {
        let d = tempfile::tempdir().unwrap();
        minimal(d.path());
        write(
            d.path(),
            REQUESTS_FILE,
            "request_no,received_on,kind,business_code,target_code\n",
        );
        let l = Ledgers::load(d.path()).unwrap();
        assert!(l.requests.is_some_and(|r| r.is_empty()));
    }

    #[test]
    fn terminal_calendar_must_exist_in_calendars_toml() {
        let d = tempfile::tempdir().unwrap();
        minimal(d.path());
        write(
            d.path(),
            TERMINALS_FILE,
            "terminal_id,office,calendar\nT1,KW01,branch\n",
        );
        let e = Ledgers::load(d.path()).unwrap_err().to_string();
        assert!(
            e.ends_with("terminals.csv:2:3: calendar: `branch` is not defined in calendars.toml (defined: default)"),
            "{e}"
        );
        write(
            d.path(),
            CALENDARS_FILE,
            "[branch]\nhours = \"08:45-16:30\"\n",
        );
        let l = Ledgers::load(d.path()).unwrap();
        assert_eq!(l.calendar_for(Some("T1")).name, "branch");
        // No [default] table: the built-in one is still there.
        assert_eq!(*l.calendars.default_calendar(), Calendar::builtin_default());
        assert_eq!(l.calendar_for(Some("T9")).name, "default");
    }

    #[test]
    fn syukujitsu_csv_overrides_its_years() {
        let d = tempfile::tempdir().unwrap();
        minimal(d.path());
        write(
            d.path(),
            SYUKUJITSU_FILE,
            "国民の祝日・休日月日,国民の祝日・休日名称\r\n1999/1/15,成人の日\r\n",
        );
        let l = Ledgers::load(d.path()).unwrap();
        let h = &l.calendars.holidays;
        assert_eq!(
            h.name(time::parse_day("1999-01-15").unwrap()),
            Some("成人の日")
        );
        assert_eq!(
            h.name(time::parse_day("2000-01-10").unwrap()),
            Some("成人の日"),
            "the built-in years the file does not cover stay"
        );
    }

    #[test]
    fn builtin_defaults_have_no_registers() {
        let l = Ledgers::builtin_defaults();
        assert!(l.operators.is_empty() && l.terminals.is_empty());
        assert!(l.requests.is_none());
        assert_eq!(l.calendar_for(None).name, "default");
        assert!(
            l.calendars
                .holidays
                .is_holiday(time::parse_day("2026-01-01").unwrap())
        );
    }
}
