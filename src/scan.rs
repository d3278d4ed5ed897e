//! `tenken scan`.

use std::path::PathBuf;

/// Flags of `tenken scan`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScanArgs {
    /// Log files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Runs `tenken scan`.
pub fn run(_args: &ScanArgs) -> crate::Result<crate::Exit> {
    Err(crate::Error::Usage("tenken scan is not built yet".into()))
}
