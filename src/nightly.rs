//! `tenken ingest`: the nightly job.

use std::path::PathBuf;

/// Flags of `tenken ingest`.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// Log files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The ledger folder.
    #[arg(long)]
    pub ledgers: PathBuf,
    /// The archive's root folder.
    #[arg(long)]
    pub archive: PathBuf,
}

/// Runs `tenken ingest`.
pub fn run(_args: &IngestArgs) -> crate::Result<crate::Exit> {
    Err(crate::Error::Usage("tenken ingest is not built yet".into()))
}
