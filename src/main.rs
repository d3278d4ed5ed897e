//! The `tenken` command line. Parsing flags and turning errors into exit statuses is all
//! that happens here; every subcommand is a library function.

// As in the library: no `unwrap`, `expect` or panicking macro outside tests (`cargo
// clippy` enforces it).
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

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Keeps freed column buffers for reuse instead of returning them to the kernel.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// tenken (点検) — inspection of resident-registry terminal operation logs.
///
/// Reads the daily operation logs (操作履歴) of 住基ネット and ward-office terminals,
/// judges them against the office's rule tables (台帳) and keeps a five-year Parquet
/// archive of events and findings.
///
/// Exit status: 0 success (findings or not), 1 findings at or above --fail-on,
/// 2 an error (unreadable input or ledger, bad flags).
#[derive(Parser)]
#[command(name = "tenken", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read and judge operation logs, write findings and rejects, print a summary.
    Scan(tenken::scan::ScanArgs),
    /// The nightly job: judge logs and add events and findings to the archive.
    Ingest(tenken::nightly::IngestArgs),
    /// Build weekly, monthly and yearly rollups and apply retention.
    Rollup(tenken::archive::RollupArgs),
    /// Check the archive's manifest chain, checksums, row counts and levels.
    Verify(tenken::archive::VerifyArgs),
    /// Write a realistic synthetic data set (logs, ledgers, labels).
    Gen(tenken::synth::GenArgs),
}

fn run(cli: Cli) -> anyhow::Result<tenken::Exit> {
    let exit = match cli.command {
        Command::Scan(args) => tenken::scan::run(&args)?,
        Command::Ingest(args) => tenken::nightly::run(&args)?,
        Command::Rollup(args) => tenken::archive::run_rollup(&args)?,
        Command::Verify(args) => tenken::archive::run_verify(&args)?,
        Command::Gen(args) => tenken::synth::run(&args)?,
    };
    Ok(exit)
}

/// The error and its causes, each cause once. The library's messages already end with
/// the cause they wrap (`requests.csv: No such file or directory`), so the usual
/// `{:#}` chain would print it twice; a cause is added only when the text so far does
/// not already hold it.
fn message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            eprintln!("tenken: error: {}", message(err.as_ref()));
            ExitCode::from(tenken::Exit::Error.code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::message;

    #[derive(Debug, thiserror::Error)]
    enum Wrapped {
        #[error("a.csv: {source}")]
        Told { source: std::io::Error },
        #[error("cannot read a.csv")]
        Untold { source: std::io::Error },
    }

    fn gone() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")
    }

    #[test]
    fn each_cause_is_printed_once() {
        let told = anyhow::Error::from(Wrapped::Told { source: gone() });
        assert_eq!(message(told.as_ref()), "a.csv: no such file");
        let untold = anyhow::Error::from(Wrapped::Untold { source: gone() });
        assert_eq!(message(untold.as_ref()), "cannot read a.csv: no such file");
    }
}
