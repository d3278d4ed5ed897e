//! Findings: what the rule engine concludes about one event, and how it is written out.
//!
//! A [`Finding`] is one (rule, flagged event) pair with its evidence and the facts its
//! message is made of. Messages are rendered at output time in the reviewer's language
//! ([`Lang`]); the facts are kept structured so that the findings file, the archive and
//! the report all say the same thing.

mod batch;
mod message;
mod spool;
mod write;

pub use batch::{
    FILE_COLUMNS, FINDINGS_SCHEMA_VERSION, archive_schema, file_schema, from_record_batch,
    to_file_batch, to_record_batch,
};
pub use message::message;
pub use spool::{FindingCounts, Spool};
pub use write::{Format, write, write_csv, write_jsonl, write_parquet, write_spool, write_to};

use std::path::{Path, PathBuf};

use crate::ledger::RequestMismatch;
use crate::model::{Op, RuleId, Severity};
use crate::time::Day;

/// Findings cannot be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    #[error(
        "{}: unknown findings file extension (expected .csv, .jsonl or .parquet)",
        path.display()
    )]
    UnknownExtension { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {message}", shown(path.as_deref()))]
    Encode {
        path: Option<PathBuf>,
        message: String,
    },
    /// An archive batch that is not findings schema version 1.
    #[error("findings batch: {message}")]
    Batch { message: String },
}

fn shown(path: Option<&Path>) -> String {
    path.map_or_else(|| "findings".to_owned(), |p| p.display().to_string())
}

impl FindingsError {
    /// Names the file an encoding error happened in.
    fn at(self, file: &Path) -> FindingsError {
        match self {
            FindingsError::Encode {
                path: None,
                message,
            } => FindingsError::Encode {
                path: Some(file.to_owned()),
                message,
            },
            e => e,
        }
    }
}

/// The language of messages and summaries.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Japanese (日本語), the default: the reviewers' language.
    #[default]
    Ja,
    /// English.
    En,
}

/// Why a designated operator's terminal is not allowed (`unassigned-terminal`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TerminalWhy {
    /// The terminal is absent from `terminals.csv`.
    NotRegistered,
    /// The operator's row lists terminals and this is not one of them.
    NotListed,
    /// The row allows `*` (its own office's terminals) and the terminal is another office's.
    OtherOffice {
        terminal_office: String,
        operator_office: String,
    },
}

/// Which of the two windows of `auth-failure-burst` made the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BurstKey {
    Operator,
    Terminal,
}

/// The facts a finding's message is made of, per rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Facts {
    UndesignatedOperator {
        op: Op,
        /// The operator has rows in the register, none covering the day.
        registered: bool,
    },
    OutOfScopeBusiness {
        op: Op,
        business_code: Option<String>,
    },
    UnassignedTerminal {
        op: Op,
        why: TerminalWhy,
    },
    OutputWithoutRequest {
        op: Op,
        record_count: i64,
    },
    UnmatchedRequest {
        op: Op,
        request_no: String,
        why: RequestMismatch,
    },
    OffHours {
        op: Op,
        calendar: String,
        /// The open interval of the day in ms after local midnight; `None`: a closed day.
        open_interval: Option<(i64, i64)>,
    },
    UnapprovedMassOutput {
        op: Op,
        record_count: i64,
        threshold: i64,
        approval_no: Option<String>,
    },
    SplitMassOutput {
        total: i64,
        outputs: usize,
        window_minutes: i64,
        threshold: i64,
    },
    ScreenHardcopy,
    SelfVerification {
        change_event_id: String,
        change_op: Op,
    },
    UnverifiedChange {
        op: Op,
        within_hours: i64,
    },
    ConcurrentTerminals {
        other_terminal: String,
        other_login: i64,
    },
    AuthFailureBurst {
        count: usize,
        by: BurstKey,
        window_minutes: i64,
    },
    RecordingDevice,
    BrowsingSpike {
        distinct: usize,
        window_minutes: i64,
        threshold: u32,
    },
    WatchlistAccess {
        op: Op,
    },
}

/// One finding: a rule that flagged one event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    pub event_id: String,
    /// The flagged event's instant (ms UTC).
    pub timestamp: i64,
    pub operator_id: Option<String>,
    pub terminal_id: Option<String>,
    /// The terminal's office from `terminals.csv`, else the operator's designation row's.
    pub office: Option<String>,
    /// The event ids that make the case, the flagged event first.
    pub evidence: Vec<String>,
    pub facts: Facts,
    /// The local day whose events, when judged, produced this finding. It differs from the
    /// flagged event's day only for findings that need later data (`unverified-change`,
    /// or a `self-verification` whose change is logged after the verify).
    pub judged_on: Day,
}

impl Finding {
    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }

    /// The order of `cli.md`: timestamp, then rule id, then event id.
    pub fn sort_key(&self) -> (i64, &'static str, &str) {
        (self.timestamp, self.rule.as_str(), &self.event_id)
    }
}

/// Sorts findings in the order of the findings file.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

#[cfg(test)]
mod tests;
