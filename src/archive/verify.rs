//! `tenken verify`: is the archive what its manifest says it is?
//!
//! Read-only. It checks, and reports every failure with its path:
//!
//! 1. the manifest chain: every line parses, sequence numbers run 1, 2, …, every `prev`
//!    is the hash of the line before and every `hash` matches its line's content, and the
//!    replay is consistent (no add of a live path, no replace or remove of a dead one);
//! 2. every live file is on disk at its canonical path with the manifest's size and
//!    SHA-256, and a data file's Parquet footer has the manifest's row count (with
//!    `deep`, each day's rows are also decoded and their digest recomputed);
//! 3. no file under `events/`, `findings/`, `state/` or `reviews/` is missing from the
//!    manifest (the staging folder, the lock, the manifest and `archive.toml` are not
//!    data);
//! 4. the levels agree: every day held by two levels has the same rows and digest at
//!    both, which also checks the per-day digests a rollup entry records against the
//!    daily entries. Digests of two versions (a day rewritten since the archive was
//!    upgraded) are compared by decoding the older side's rows at the newer version.
//!
//! A crash can stop a writer at any step, and the archive must still verify. A torn last
//! manifest line was never committed and is noted, not counted. A committed transaction
//! whose staging folder is still there may be half applied: its files are accepted from
//! their staged copies when those match, and files it removes may still be present (both
//! noted). A rollup that disagrees with a finer level written *after* it is stale (late
//! logs), which the next `rollup` rebuilds: a note too. Anything else is a problem.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::ArchiveError;
use super::fsutil::hash_file;
use super::manifest::{self, Action, FileOp};
use super::parquet_io;
use super::period::{Kind, Level, Period};
use super::store::{
    Archive, Canonical, DayLoc, Index, MANIFEST_FILE, STAGING_DIR, STATE_DIR, canonical,
    require_archive, txn_dir_name,
};
use crate::time;

/// One thing wrong, with the path it concerns (for manifest lines, `manifest.jsonl:LINE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub problems: Vec<Problem>,
    /// Facts worth knowing that are not errors (crash leftovers, stale rollups).
    pub notes: Vec<String>,
    /// Manifest lines (committed transactions).
    pub entries: usize,
    /// Live files.
    pub files: usize,
    /// Rows of all live data files, every level counted.
    pub rows: u64,
    pub bytes: u64,
    /// Days held by two or more levels whose agreement was checked.
    pub days_compared: usize,
    /// Hash of the manifest's last line.
    pub head: String,
}

impl VerifyReport {
    /// Whether every check held.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// How thorough `verify` is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Also decode every day of every data file and recompute its digest.
    pub deep: bool,
}

/// Verifies the archive at `root` (see the module documentation). `Err` only when the
/// archive cannot be looked at at all; everything wrong inside it is in the report.
pub fn verify(root: &Path) -> Result<VerifyReport, ArchiveError> {
    verify_with(root, VerifyOptions::default())
}

/// [`verify`] with options.
pub fn verify_with(root: &Path, options: VerifyOptions) -> Result<VerifyReport, ArchiveError> {
    require_archive(root)?;
    let mut r = VerifyReport::default();
    let replay = manifest::replay(&root.join(MANIFEST_FILE))?;
    r.entries = replay.entries.len();
    r.head = replay.head().to_owned();
    for p in &replay.problems {
        r.problems.push(Problem {
            path: format!("{MANIFEST_FILE}:{}", p.line),
            message: p.message.clone(),
        });
    }
    if replay.torn.is_some() {
        r.notes.push(format!(
            "{MANIFEST_FILE} ends with an unfinished line (a crash during a commit): it was never committed, and the next writer removes it"
        ));
    }

    // A committed transaction still being applied, and uncommitted leftovers.
    let last = replay.entries.last();
    let mut staged: HashMap<&str, PathBuf> = HashMap::new();
    let mut pending_removes: HashSet<&str> = HashSet::new();
    if let Ok(rd) = fs::read_dir(root.join(STAGING_DIR)) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            match last {
                Some(entry) if name == txn_dir_name(entry.seq) => {
                    r.notes.push(format!(
                        "transaction {} ({}) is committed but not fully applied (a crash during a commit): its staged files stand in for the final ones, and the next writer completes it",
                        entry.seq, entry.note
                    ));
                    for op in &entry.ops {
                        if op.action == Action::Remove {
                            pending_removes.insert(op.path.as_str());
                        } else {
                            staged.insert(op.path.as_str(), e.path().join(&op.path));
                        }
                    }
                }
                _ => r.notes.push(format!(
                    "{STAGING_DIR}/{name} was never committed (a crash before the commit point): the next writer discards it"
                )),
            }
        }
    }

    // Every live file, as the manifest describes it.
    for (path, lf) in &replay.live {
        let op = &lf.op;
        r.files += 1;
        r.bytes += op.bytes;
        r.rows += op.rows.unwrap_or(0);
        let Some(what) = canonical(op) else {
            r.problems.push(Problem {
                path: path.clone(),
                message: format!(
                    "transaction {} lists it as {} {} {}, whose path would be different: the manifest names a file outside the archive layout",
                    lf.seq,
                    op.kind.as_str(),
                    op.level.map(|l| l.as_str()).unwrap_or("-"),
                    op.period
                ),
            });
            continue;
        };
        if let Some(m) = layout_problem(op, &what) {
            r.problems.push(Problem {
                path: path.clone(),
                message: m,
            });
        }
        let full = root.join(path);
        if let Err(message) = check_file(&full, op, options.deep) {
            match staged.get(path.as_str()) {
                Some(s) if check_file(s, op, options.deep).is_ok() => r.notes.push(format!(
                    "{path}: not yet in place; its staged copy matches the manifest"
                )),
                _ => r.problems.push(Problem {
                    path: path.clone(),
                    message: format!("{message} (written by transaction {})", lf.seq),
                }),
            }
        }
    }

    // Files the manifest does not list.
    for top in [
        Kind::Events.dir(),
        Kind::Findings.dir(),
        STATE_DIR,
        "reviews",
    ] {
        let mut found = Vec::new();
        walk(root, &root.join(top), &mut found)?;
        for rel in found {
            if replay.live.contains_key(&rel) {
                continue;
            }
            if pending_removes.contains(rel.as_str()) {
                r.notes.push(format!(
                    "{rel}: removed by the pending transaction, not yet deleted"
                ));
            } else {
                r.problems.push(Problem {
                    path: rel,
                    message:
                        "is not in the manifest: a file was added, or restored after it was removed"
                            .into(),
                });
            }
        }
    }

    // The levels agree.
    let index = Index::build(&replay.live);
    for (&(kind, day), slots) in &index.days {
        let held: Vec<_> = slots.iter().flatten().collect();
        if held.len() > 1 {
            r.days_compared += 1;
        }
        for (i, fine) in held.iter().enumerate() {
            for coarse in &held[i + 1..] {
                match same_day(root, &staged, fine, coarse) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(message) => {
                        r.problems.push(Problem {
                            path: coarse.path.clone(),
                            message: format!(
                                "{kind} of {} cannot be compared with {}: {message}",
                                time::format_day(day),
                                fine.path
                            ),
                        });
                        continue;
                    }
                }
                let what = format!(
                    "{kind} of {}: {} holds {} rows (digest {}), {} holds {} rows (digest {})",
                    time::format_day(day),
                    coarse.level,
                    coarse.rows,
                    manifest::short(&coarse.digest),
                    fine.level,
                    fine.rows,
                    manifest::short(&fine.digest)
                );
                if fine.seq > coarse.seq {
                    r.notes.push(format!(
                        "{}: stale, {what}; the {} file is newer (late logs) and the next rollup rebuilds this one",
                        coarse.path, fine.level
                    ));
                } else {
                    r.problems.push(Problem {
                        path: coarse.path.clone(),
                        message: format!("the levels disagree: {what} ({})", fine.path),
                    });
                }
            }
        }
    }
    Ok(r)
}

/// Whether a data file's day list fits its period.
fn layout_problem(op: &FileOp, what: &Canonical) -> Option<String> {
    let Canonical::Data(_, period) = what else {
        return None;
    };
    let sum: u64 = op.days.iter().map(|d| d.rows).sum();
    if Some(sum) != op.rows {
        return Some(format!(
            "the manifest lists {sum} rows over its days but {} in the file",
            op.rows.unwrap_or(0)
        ));
    }
    if let Some(d) = op.days.iter().find(|d| !period.contains(d.day.0)) {
        return Some(format!(
            "holds day {}, which is not in its period {period}",
            time::format_day(d.day.0)
        ));
    }
    if op.days.windows(2).any(|w| w[0].day >= w[1].day) {
        return Some("its days are not in ascending order".into());
    }
    if matches!(period, Period::Day(_)) && op.days.len() != 1 {
        return Some(format!("a daily file holding {} days", op.days.len()));
    }
    None
}

/// Size, SHA-256 and (data files) footer rows of one file against its manifest entry.
fn check_file(full: &Path, op: &FileOp, deep: bool) -> Result<(), String> {
    let (bytes, sha) = match hash_file(full) {
        Ok(x) => x,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("is missing: the manifest lists it but it is not on disk".into());
        }
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    if bytes != op.bytes {
        return Err(format!(
            "is {bytes} bytes where the manifest says {}: the file was altered or truncated",
            op.bytes
        ));
    }
    if sha != op.sha256 {
        return Err(format!(
            "SHA-256 {} differs from the manifest's {}: the file was altered",
            manifest::short(&sha),
            manifest::short(&op.sha256)
        ));
    }
    let Some(rows) = op.rows else {
        return Ok(());
    };
    let footer = parquet_io::footer_rows(full).map_err(|e| format!("not readable Parquet: {e}"))?;
    if footer != rows {
        return Err(format!(
            "its Parquet footer says {footer} rows where the manifest says {rows}"
        ));
    }
    if deep {
        deep_check(full, op)?;
    }
    Ok(())
}

/// Decodes every day of a data file and recomputes its digest, at the version the
/// manifest records for it.
fn deep_check(full: &Path, op: &FileOp) -> Result<(), String> {
    let mut offset = 0u64;
    for d in &op.days {
        let version =
            parquet_io::digest_version(full, d.digest_version).map_err(|e| e.to_string())?;
        let file = fs::File::open(full).map_err(|e| e.to_string())?;
        let got = parquet_io::digest_range(full, file, offset, d.rows, version)
            .map_err(|e| e.to_string())?;
        if got != d.digest {
            return Err(format!(
                "day {} decodes to digest {} where the manifest records {}",
                time::format_day(d.day.0),
                manifest::short(&got),
                manifest::short(&d.digest)
            ));
        }
        offset += d.rows;
    }
    Ok(())
}

/// Whether two locations of a day agree: rows and digest compared as they are when both
/// digests are of one version, else the older side's rows decoded and digested at the
/// newer version (the same rule as [`Archive::same_day`], on a read-only archive whose
/// committed transaction may still be staged).
fn same_day(
    root: &Path,
    staged: &HashMap<&str, PathBuf>,
    a: &DayLoc,
    b: &DayLoc,
) -> Result<bool, String> {
    super::store::same_rows(root, a, b, |old| {
        let full = match staged.get(old.path.as_str()) {
            Some(s) if s.is_file() => s.clone(),
            _ => root.join(&old.path),
        };
        let file = fs::File::open(&full).map_err(|source| ArchiveError::Io {
            path: full.clone(),
            source,
        })?;
        Ok((full, file))
    })
    .map_err(|e| e.to_string())
}

/// Every non-folder entry below `dir`, as `/`-separated paths relative to `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), ArchiveError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(ArchiveError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for e in rd {
        let e = e.map_err(|source| ArchiveError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = e.path();
        let ft = e.file_type().map_err(|source| ArchiveError::Io {
            path: path.clone(),
            source,
        })?;
        if ft.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// Per-level counts of an archive, for the `OK` line.
pub fn level_counts(archive: &Archive) -> BTreeMap<(Kind, Level), usize> {
    let mut m = BTreeMap::new();
    for kind in Kind::ALL {
        for level in Level::ALL {
            m.insert((kind, level), archive.periods(kind, level).len());
        }
    }
    m
}
