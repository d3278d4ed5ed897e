//! # tenken (点検)
//!
//! An inspection engine for the operation logs (操作履歴) of Japanese resident-registry
//! terminals. The data flows through the modules in this order:
//!
//! ```text
//! ingest ──► normalize ──► days ──► detect ──► findings
//! (files,     (lines →      (by local   (rules over   (files, messages)
//!  encodings,  Arrow         date,       the ledgers)      │
//!  chunks)     batches)      sorted)        │             ▼
//!                                           └──────► archive (Parquet, manifest)
//! ```
//!
//! * [`ingest`] finds the input files, maps or decompresses them, detects their encoding
//!   and format, and cuts them into newline-aligned chunks for parallel parsing.
//! * [`normalize`] turns chunks of lines into Arrow `RecordBatch`es of one stable schema
//!   ([`normalize::schema`]), and bad lines into [`normalize::Reject`]s.
//! * [`days`] regroups batches by local date (Asia/Tokyo) and yields each day, sorted by
//!   time with duplicate event ids removed, as soon as the files that may hold it are read
//!   (files go in date order, see [`ingest::dates`]); days that must wait past a memory
//!   budget spill to disk.
//! * [`ledger`] loads the rule tables (台帳) and the national-holiday calendar.
//! * [`detect`] runs the rule catalogue of `rules.md` day by day with state carried across
//!   days.
//! * [`findings`] holds what the rules conclude and writes it out.
//! * [`archive`] keeps events and findings as Hive-partitioned Parquet with a hash-chained
//!   manifest.
//! * [`scan`] and [`nightly`] wire the stages into the `scan` and `ingest` commands;
//!   [`synth`] (`tenken gen`) writes synthetic data sets.

// Outside tests an `unwrap`, `expect`, `panic!` or `unreachable!` is a crash a user's
// input can trigger: errors are returned instead, naming the file, line and value
// (`cargo clippy` enforces it).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod archive;
pub(crate) mod buckets;
pub mod days;
pub mod detect;
pub mod error;
pub mod findings;
pub mod ingest;
pub mod ledger;
pub mod model;
pub mod nightly;
pub mod normalize;
pub mod output;
pub mod progress;
pub mod scan;
pub mod synth;
pub mod time;

pub use error::{Error, Exit, Result};
