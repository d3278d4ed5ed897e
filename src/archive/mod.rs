//! The Parquet archive of `archive.md`.

use std::path::PathBuf;

/// The archive cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Flags of `tenken rollup`.
#[derive(Debug, Clone, clap::Args)]
pub struct RollupArgs {
    /// The archive's root folder.
    #[arg(long)]
    pub archive: PathBuf,
}

/// Flags of `tenken verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The archive's root folder.
    #[arg(long)]
    pub archive: PathBuf,
}

/// Runs `tenken rollup`.
pub fn run_rollup(_args: &RollupArgs) -> crate::Result<crate::Exit> {
    Err(crate::Error::Usage("tenken rollup is not built yet".into()))
}

/// Runs `tenken verify`.
pub fn run_verify(_args: &VerifyArgs) -> crate::Result<crate::Exit> {
    Err(crate::Error::Usage("tenken verify is not built yet".into()))
}
