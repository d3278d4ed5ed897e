//! Reading operation-log files.

use std::path::PathBuf;

/// An input file that cannot be read at all (as opposed to a bad line, which is a reject).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
