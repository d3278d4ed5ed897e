//! Finding the log files below the paths a reviewer hands over.
//!
//! A path that is a file is read whatever its name. Below a folder, every file named
//! `*.csv` or `*.log`, optionally followed by `.gz` or `.zst`, is read (case-insensitive),
//! hidden entries (`.name`) are skipped, and folders are walked recursively without
//! following symbolic links to folders (no loops). Files come back sorted by path so that
//! runs are reproducible.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::InputError;

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    /// The path as shown in rejects, findings and messages.
    pub name: Arc<str>,
    /// Size on disk (compressed size for `.gz`/`.zst`).
    pub size: u64,
}

impl InputFile {
    pub fn new(path: PathBuf, size: u64) -> InputFile {
        let name: Arc<str> = path.to_string_lossy().into();
        InputFile { path, name, size }
    }
}

/// Whether a file name is one of the log names read below a folder.
pub fn is_log_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower
        .strip_suffix(".gz")
        .or_else(|| lower.strip_suffix(".zst"))
        .unwrap_or(&lower);
    base.ends_with(".csv") || base.ends_with(".log")
}

/// Expands `paths` into input files. Problems with single paths (missing, unreadable,
/// a folder without logs) are returned beside the files found, so the others still run.
pub fn discover(paths: &[PathBuf]) -> (Vec<InputFile>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(source) => {
                errors.push(InputError::Io {
                    path: path.clone(),
                    source,
                });
                continue;
            }
        };
        if meta.is_dir() {
            let before = files.len();
            walk_dir(path, &mut files, &mut errors);
            if files.len() == before {
                errors.push(InputError::NoLogs { path: path.clone() });
            }
            files[before..].sort_by(|a: &InputFile, b| a.path.cmp(&b.path));
        } else {
            files.push(InputFile::new(path.clone(), meta.len()));
        }
    }
    (files, errors)
}

fn walk_dir(dir: &Path, files: &mut Vec<InputFile>, errors: &mut Vec<InputError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            errors.push(InputError::Io {
                path: dir.to_path_buf(),
                source,
            });
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(source) => {
                errors.push(InputError::Io {
                    path: dir.to_path_buf(),
                    source,
                });
                continue;
            }
        };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk_dir(&path, files, errors);
        } else if is_log_name(&name) {
            // `metadata` follows a symbolic link to a file; a dangling link is an error.
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => files.push(InputFile::new(path, m.len())),
                Ok(_) => {}
                Err(source) => errors.push(InputError::Io { path, source }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names() {
        for ok in [
            "a.csv",
            "b.LOG",
            "c.csv.gz",
            "d.log.zst",
            "2026-04-01.CSV.GZ",
        ] {
            assert!(is_log_name(ok), "{ok}");
        }
        for no in ["a.txt", "b.csv.bak", "c.gz", "d.zst", "csv"] {
            assert!(!is_log_name(no), "{no}");
        }
    }

    #[test]
    fn walks_sorted_recursively_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("KW02")).unwrap();
        std::fs::create_dir_all(root.join("KW01/.hidden")).unwrap();
        for f in [
            "KW02/b.csv",
            "KW01/a.log.gz",
            "KW01/notes.txt",
            "KW01/.x.csv",
            "KW01/.hidden/h.csv",
        ] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        let empty = root.join("empty");
        std::fs::create_dir(&empty).unwrap();
        let (files, errors) = discover(&[root.to_path_buf(), root.join("missing.csv"), empty]);
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["KW01/a.log.gz", "KW02/b.csv"]);
        assert_eq!(errors.len(), 2);
        assert!(errors[0].to_string().contains("missing.csv"));
        assert!(errors[1].to_string().contains("empty"));
    }
}
