//! `tenken gen`: realistic synthetic data sets.

use std::path::PathBuf;

/// The generator cannot write its data set.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Flags of `tenken gen`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenArgs {
    /// Folder to write the data set into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `tenken gen`.
pub fn run(_args: &GenArgs) -> crate::Result<crate::Exit> {
    Err(crate::Error::Usage("tenken gen is not built yet".into()))
}
