//! The rule tables (台帳) of `ledgers.md`: loading, validation, and the national holidays.
//!
//! `Ledgers::load(dir)` reads every table of a ledger folder (UTF-8 or CP932), validates
//! each row once and builds the runtime types of `model`. A malformed row is an error
//! naming file, line and column: nothing is judged against a ledger that could not be read.
//!
//! * `table`: the one CSV reader (encoding detection, header check, cell errors);
//! * `registers`: `operators.csv`, `terminals.csv`, `approvals.csv`, `requests.csv`,
//!   `watchlist.csv` ([`read_operators`] …);
//! * `config`: `rules.toml` ([`RulesConfig::read`]) and `calendars.toml`
//!   ([`read_calendars`]);
//! * `holidays`: [`Holidays::builtin`], computed from the Act on National Holidays, and
//!   the Cabinet Office's `syukujitsu.csv` ([`Holidays::from_syukujitsu_csv`]);
//! * `load`: [`Ledgers::load`] and [`Ledgers::builtin_defaults`].
//!
//! In CSV errors the column is the 1-based cell number (as a spreadsheet counts), in
//! TOML errors the 1-based character column of the key or value.

mod config;
mod holidays;
mod load;
mod model;
mod registers;
mod table;

pub use config::{MAX_WINDOW_DAYS, calendars_from_toml, read_calendars};
pub use holidays::{
    FIRST_YEAR as HOLIDAYS_FIRST_YEAR, KYUJITSU, LAST_YEAR as HOLIDAYS_LAST_YEAR,
    SYUKUJITSU_COLUMNS,
};
pub use load::{
    APPROVALS_FILE, CALENDARS_FILE, OPERATORS_FILE, REQUESTS_FILE, RULES_FILE, SYUKUJITSU_FILE,
    TERMINALS_FILE, WATCHLIST_FILE,
};
pub use model::*;
pub use registers::{
    APPROVALS_COLUMNS, OPERATORS_COLUMNS, REQUESTS_COLUMNS, TERMINALS_COLUMNS, WATCHLIST_COLUMNS,
    read_approvals, read_operators, read_requests, read_terminals, read_watchlist,
};

use std::path::PathBuf;

/// A rule table that cannot be used. Every variant names the file; cell errors name the
/// 1-based line and column too.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Cell {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// A whole line is unusable (undecodable bytes, broken CSV quoting).
    #[error("{}:{line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
}
