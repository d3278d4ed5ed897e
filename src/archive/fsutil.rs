//! File-system helpers of the write protocol: private modes, fsync of files and folders,
//! a hashing writer, and the failpoint hook the crash tests use.
//!
//! The archive holds full resident codes, so every folder it creates is `0700` and every
//! file `0600`. Modes are set explicitly after creation because the process umask can
//! only take bits away, and an unusual umask (say `0277`) would otherwise leave files
//! the owner cannot rewrite.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use sha2::{Digest, Sha256};

use super::ArchiveError;

pub(crate) const FILE_MODE: u32 = 0o600;
pub(crate) const DIR_MODE: u32 = 0o700;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` and its missing parents with mode 0700; returns the folders it created.
pub(crate) fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>, ArchiveError> {
    let mut missing = Vec::new();
    let mut p = dir;
    while !p.as_os_str().is_empty() && !p.exists() {
        missing.push(p.to_path_buf());
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        match fs::DirBuilder::new().mode(DIR_MODE).create(d) {
            Ok(()) => {}
            // Another process (a reader never creates, but a test may) got there first.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(d)(e)),
        }
        fs::set_permissions(d, Permissions::from_mode(DIR_MODE)).map_err(io_err(d))?;
    }
    Ok(missing)
}

/// Creates (truncating) a private file.
pub(crate) fn create_file(path: &Path) -> Result<File, ArchiveError> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(io_err(path))?;
    f.set_permissions(Permissions::from_mode(FILE_MODE))
        .map_err(io_err(path))?;
    Ok(f)
}

/// Flushes a folder's entries (new names, renames, removals) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(dir))
}

/// Writes through to a file while counting bytes and hashing them, so that a data file's
/// SHA-256 is known the moment it is closed, without reading it again.
pub(crate) struct HashingWriter {
    inner: io::BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl HashingWriter {
    pub(crate) fn new(file: File) -> HashingWriter {
        HashingWriter {
            inner: io::BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Flushes and fsyncs the file; returns (bytes, hex SHA-256).
    pub(crate) fn finish(self) -> io::Result<(u64, String)> {
        let file = self.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok((self.bytes, super::digest::hex(&self.hasher.finalize())))
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// (bytes, hex SHA-256) of a file, read in large blocks.
pub(crate) fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = io::Read::read(&mut f, &mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, super::digest::hex(&h.finalize())))
}

/// The environment variable that names a failpoint: `NAME` aborts at its first hit,
/// `NAME:K` at its K-th.
pub const FAILPOINT_ENV: &str = "TENKEN_FAILPOINT";

/// The steps of the write protocol where a failpoint can abort the process, in order.
///
/// * `staged`: every new file is written and fsynced under `.staging/`, the manifest
///   is untouched;
/// * `torn-manifest`: half of the manifest line is written (then abort);
/// * `committed`: the manifest line is durable, nothing renamed yet;
/// * `renamed-one`: the first staged file has been renamed into place;
/// * `renamed`: every staged file is in place, removed files still there;
/// * `removed`: removed files are gone, the staging folder is still there.
pub const FAILPOINTS: [&str; 6] = [
    "staged",
    "torn-manifest",
    "committed",
    "renamed-one",
    "renamed",
    "removed",
];

static HITS: AtomicU32 = AtomicU32::new(0);

/// Whether the failpoint `name` fires now. The caller aborts (or, for `torn-manifest`,
/// writes half a line first).
pub(crate) fn failpoint(name: &str) -> bool {
    let Ok(spec) = std::env::var(FAILPOINT_ENV) else {
        return false;
    };
    let (want, nth) = match spec.split_once(':') {
        Some((n, k)) => (n, k.parse::<u32>().unwrap_or(1)),
        None => (spec.as_str(), 1),
    };
    if want != name {
        return false;
    }
    HITS.fetch_add(1, Ordering::SeqCst) + 1 == nth
}

/// Aborts the process at failpoint `name` if it is armed: no destructors, no flushing,
/// as close to a power cut as a test can get.
pub(crate) fn crash_point(name: &str) {
    if failpoint(name) {
        eprintln!("tenken: failpoint {name}: aborting");
        std::process::abort();
    }
}
