//! The library's error type.
//!
//! Each stage has its own typed error that names what the user must fix (a file, a line,
//! a column, a value); this enum only gathers them so that the jobs can return one type.
//! Bad *lines* of an operation log are not errors at all: they become rejects
//! ([`crate::normalize::Reject`]) and the run goes on.

use std::path::PathBuf;

/// Any error of a tenken job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] crate::ingest::InputError),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error(transparent)]
    Detect(#[from] crate::detect::DetectError),
    #[error(transparent)]
    Findings(#[from] crate::findings::FindingsError),
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    #[error(transparent)]
    Gen(#[from] crate::synth::GenError),
    /// Writing an output file (findings, rejects, summary) failed.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A flag or option that cannot work; the message says which and why.
    #[error("{0}")]
    Usage(String),
    /// Arrow rejected a batch: a bug in tenken, reported with context rather than a panic.
    #[error("internal error ({context}): {source}")]
    Arrow {
        context: &'static str,
        source: arrow_schema::ArrowError,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a job ended, as the exit status of `cli.md` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success, findings or not.
    Success,
    /// 1: findings at or above `--fail-on`.
    Findings,
    /// 2: an error, such as an unreadable input among several (the others were processed).
    Error,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Findings => 1,
            Exit::Error => 2,
        }
    }

    /// The more serious of two outcomes.
    pub fn worst(self, other: Exit) -> Exit {
        if self.code() >= other.code() {
            self
        } else {
            other
        }
    }
}
