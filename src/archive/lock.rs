//! The writer lock: `ROOT/.lock`, one writer at a time.
//!
//! An advisory whole-file lock (`flock`) that the kernel drops when the holder dies, so a
//! killed run never leaves the archive locked. The holder writes its pid and start time
//! into the file so that a refused writer can say who is in the way. Readers take no lock.

use std::fs::{File, OpenOptions, Permissions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::ArchiveError;
use super::fsutil::{FILE_MODE, io_err};

/// The lock file's name under the archive root.
pub const LOCK_FILE: &str = ".lock";

/// Held while an [`super::Archive`] is open for writing; released on drop.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

fn holder(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut s);
    let s = s.trim();
    if s.is_empty() {
        "pid unknown".into()
    } else {
        s.to_owned()
    }
}

/// Takes the lock of the archive at `root`: at once (`wait` = None) or retrying for up
/// to `wait`.
pub(crate) fn acquire(root: &Path, wait: Option<Duration>) -> Result<WriterLock, ArchiveError> {
    let path: PathBuf = root.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(&path)
        .map_err(io_err(&path))?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))
        .map_err(io_err(&path))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let who = holder(&mut file);
                match wait {
                    Some(w) if started.elapsed() < w => {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Some(w) => {
                        return Err(ArchiveError::LockTimeout {
                            root: root.to_path_buf(),
                            holder: who,
                            waited_secs: w.as_secs(),
                        });
                    }
                    None => {
                        return Err(ArchiveError::Locked {
                            root: root.to_path_buf(),
                            holder: who,
                        });
                    }
                }
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let info = format!(
        "pid {}, since {}\n",
        std::process::id(),
        crate::time::format_jst(now)
    );
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(info.as_bytes()))
        .and_then(|()| file.sync_data())
        .map_err(io_err(&path))?;
    Ok(WriterLock { _file: file })
}
