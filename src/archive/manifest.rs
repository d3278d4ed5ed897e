//! `ROOT/manifest.jsonl`: the hash-chained list of every committed transaction.
//!
//! One JSON object per line, appended and never rewritten. Each line holds its sequence
//! number (1, 2, …), the wall-clock time, a short note (what the transaction did), the
//! operations (add, replace or remove of one file each), `prev` (the `hash` of the line
//! before, 64 zeros for the first) and `hash`:
//!
//! ```text
//! hash = SHA-256( prev ‖ "\n" ‖ canonical JSON of {seq, time, note, ops} )
//! ```
//!
//! The canonical JSON is the compact serialisation of the parsed line's fields in the
//! order of [`Body`], so whitespace does not matter but any changed value does. Deleting,
//! editing, inserting or swapping lines breaks `prev` or `hash` (or the sequence), which
//! `tenken verify` reports. The live set of files is the replay of every line.
//!
//! A line that does not end with a newline was torn by a crash in the middle of the
//! append: it was never committed. Readers ignore it, the next writer truncates it.
//!
//! A hash chain cannot tell a wholesale rewrite of the chain from the original: `verify`
//! prints the head hash so that a reviewer can write it into the signed review record,
//! which anchors everything before it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ArchiveError;
use super::digest::hex;
use super::period::{Kind, Level};
use crate::time::{self, Day};

/// `prev` of the first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a manifest operation does to its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new file at a path that had none.
    Add,
    /// A new version of a live file (a late day re-written, a stale rollup rebuilt).
    Replace,
    /// The file is gone (retention); the entry keeps what it held, for the record.
    Remove,
}

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Events,
    Findings,
    /// The rule engine's state at the end of a day (zstd, opaque).
    State,
}

impl FileKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            FileKind::Events => "events",
            FileKind::Findings => "findings",
            FileKind::State => "state",
        }
    }

    pub fn data(self) -> Option<Kind> {
        match self {
            FileKind::Events => Some(Kind::Events),
            FileKind::Findings => Some(Kind::Findings),
            FileKind::State => None,
        }
    }
}

impl From<Kind> for FileKind {
    fn from(k: Kind) -> FileKind {
        match k {
            Kind::Events => FileKind::Events,
            Kind::Findings => FileKind::Findings,
        }
    }
}

/// A local day written as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayText(pub Day);

impl Serialize for DayText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time::format_day(self.0))
    }
}

impl<'de> Deserialize<'de> for DayText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        time::parse_day(&s)
            .map(DayText)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a date YYYY-MM-DD")))
    }
}

/// One day held by a data file: its rows and content digest, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayRows {
    pub day: DayText,
    pub rows: u64,
    /// [`super::digest`] of the day's rows.
    pub digest: String,
    /// The digest's definition ([`super::digest::Version`]). Lines written before
    /// version 2 have none (version 1), and version 1 is left out when written, so those
    /// lines serialise, and hash, exactly as they were written.
    #[serde(default = "digest_v1", skip_serializing_if = "is_digest_v1")]
    pub digest_version: u32,
}

fn digest_v1() -> u32 {
    1
}

fn is_digest_v1(v: &u32) -> bool {
    *v == 1
}

/// One operation on one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOp {
    pub action: Action,
    /// Relative to the archive root, `/`-separated.
    pub path: String,
    pub kind: FileKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// The period's text (`2026-04-01`, `2026-W14`, `2026-04`, `2026`).
    pub period: String,
    pub bytes: u64,
    pub sha256: String,
    /// Rows of a data file (the Parquet footer says the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Earliest and latest `timestamp` (ms UTC) of a data file with rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ts: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ts: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u32>,
    /// The days a data file holds, ascending, each day's rows contiguous.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<DayRows>,
}

/// The hashed part of a line, in canonical field order.
#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    time: &'a str,
    note: &'a str,
    ops: &'a [FileOp],
}

/// One manifest line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: u64,
    /// When the transaction was committed, ISO 8601 in Japan Standard Time.
    pub time: String,
    /// What the transaction did, for people reading the manifest.
    pub note: String,
    pub ops: Vec<FileOp>,
    pub prev: String,
    pub hash: String,
}

impl Entry {
    /// A new entry chained to `prev`, its hash computed.
    pub fn new(seq: u64, note: String, ops: Vec<FileOp>, prev: String) -> Entry {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut e = Entry {
            seq,
            time: time::format_jst(now),
            note,
            ops,
            prev,
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// SHA-256 of `prev` and the canonical body.
    pub fn compute_hash(&self) -> String {
        let body = Body {
            seq: self.seq,
            time: &self.time,
            note: &self.note,
            ops: &self.ops,
        };
        let mut h = Sha256::new();
        h.update(self.prev.as_bytes());
        h.update(b"\n");
        // Serialising plain structs of strings and integers cannot fail.
        h.update(serde_json::to_vec(&body).unwrap_or_default());
        hex(&h.finalize())
    }

    /// The line as written, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The manifest file split into lines.
#[derive(Debug, Default)]
pub struct ManifestText {
    /// `(1-based line number, text)` of every complete line.
    pub lines: Vec<(usize, String)>,
    /// Bytes of the complete lines: where a torn tail starts.
    pub committed_len: u64,
    /// A final line without newline: a crash mid-append.
    pub torn: Option<String>,
}

/// Reads the manifest; a missing file is an empty manifest.
pub fn read_text(path: &Path) -> Result<ManifestText, ArchiveError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ManifestText::default()),
        Err(source) => {
            return Err(ArchiveError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut out = ManifestText::default();
    let mut start = 0usize;
    let mut n = 0usize;
    while let Some(i) = memchr::memchr(b'\n', &bytes[start..]) {
        n += 1;
        let line = &bytes[start..start + i];
        let text = String::from_utf8(line.to_vec()).map_err(|e| ArchiveError::Manifest {
            path: path.to_path_buf(),
            line: n,
            column: e.utf8_error().valid_up_to() + 1,
            message: "not UTF-8".into(),
        })?;
        out.lines.push((n, text));
        start += i + 1;
    }
    out.committed_len = start as u64;
    if start < bytes.len() {
        out.torn = Some(String::from_utf8_lossy(&bytes[start..]).into_owned());
    }
    Ok(out)
}

/// Parses one line.
pub fn parse_line(path: &Path, line: usize, text: &str) -> Result<Entry, ArchiveError> {
    serde_json::from_str(text).map_err(|e| ArchiveError::Manifest {
        path: path.to_path_buf(),
        line,
        column: e.column().max(1),
        message: e.to_string(),
    })
}

/// A break in the chain or the replay, with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    pub line: usize,
    pub message: String,
}

/// A live file: the operation that put it there and the transaction's sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFile {
    pub op: FileOp,
    pub seq: u64,
}

/// The outcome of reading and replaying a manifest.
#[derive(Debug, Default)]
pub struct Replay {
    pub entries: Vec<Entry>,
    pub live: BTreeMap<String, LiveFile>,
    pub problems: Vec<ChainProblem>,
    pub torn: Option<String>,
    pub committed_len: u64,
}

impl Replay {
    pub fn last_seq(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.seq)
    }

    pub fn head(&self) -> &str {
        self.entries.last().map_or(GENESIS, |e| e.hash.as_str())
    }
}

/// Applies one entry's operations to a live set; returns what did not fit.
pub fn apply(live: &mut BTreeMap<String, LiveFile>, entry: &Entry) -> Vec<String> {
    let mut problems = Vec::new();
    for op in &entry.ops {
        match op.action {
            Action::Add => {
                if live.contains_key(&op.path) {
                    problems.push(format!("adds {}, which is already live", op.path));
                }
                live.insert(
                    op.path.clone(),
                    LiveFile {
                        op: op.clone(),
                        seq: entry.seq,
                    },
                );
            }
            Action::Replace => {
                if !live.contains_key(&op.path) {
                    problems.push(format!("replaces {}, which is not live", op.path));
                }
                live.insert(
                    op.path.clone(),
                    LiveFile {
                        op: op.clone(),
                        seq: entry.seq,
                    },
                );
            }
            Action::Remove => {
                if live.remove(&op.path).is_none() {
                    problems.push(format!("removes {}, which is not live", op.path));
                }
            }
        }
    }
    problems
}

/// Reads, checks and replays the manifest. Unparseable lines and chain breaks are
/// collected as problems (replay goes on past them), so `verify` can name every one.
pub fn replay(path: &Path) -> Result<Replay, ArchiveError> {
    let text = read_text(path)?;
    let mut out = Replay {
        torn: text.torn,
        committed_len: text.committed_len,
        ..Replay::default()
    };
    let mut prev_hash: Option<String> = Some(GENESIS.to_owned());
    let mut expected_seq = 1u64;
    for (line, raw) in &text.lines {
        let entry = match parse_line(path, *line, raw) {
            Ok(e) => e,
            Err(e) => {
                out.problems.push(ChainProblem {
                    line: *line,
                    message: format!("cannot be read: {e}"),
                });
                // The next line's `prev` cannot be checked against an unreadable line.
                prev_hash = None;
                expected_seq += 1;
                continue;
            }
        };
        if entry.seq != expected_seq {
            out.problems.push(ChainProblem {
                line: *line,
                message: format!(
                    "sequence number is {} where {expected_seq} was expected (a line was deleted, inserted or moved)",
                    entry.seq
                ),
            });
        }
        if let Some(p) = &prev_hash
            && entry.prev != *p
        {
            out.problems.push(ChainProblem {
                line: *line,
                message: format!(
                    "prev {} does not match the hash {} of the line before (the chain is broken here)",
                    short(&entry.prev),
                    short(p)
                ),
            });
        }
        let computed = entry.compute_hash();
        if computed != entry.hash {
            out.problems.push(ChainProblem {
                line: *line,
                message: format!(
                    "hash {} does not match its content (computed {}): the line was edited",
                    short(&entry.hash),
                    short(&computed)
                ),
            });
        }
        for m in apply(&mut out.live, &entry) {
            out.problems.push(ChainProblem {
                line: *line,
                message: format!("transaction {} {m}", entry.seq),
            });
        }
        prev_hash = Some(entry.hash.clone());
        expected_seq = entry.seq + 1;
        out.entries.push(entry);
    }
    Ok(out)
}

/// The first 12 hex digits: enough to tell hashes apart in a message.
pub fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(path: &str, action: Action) -> FileOp {
        FileOp {
            action,
            path: path.into(),
            kind: FileKind::Events,
            level: Some(Level::Daily),
            period: "2026-04-01".into(),
            bytes: 10,
            sha256: "ab".repeat(32),
            rows: Some(3),
            min_ts: Some(1),
            max_ts: Some(2),
            schema_version: Some(1),
            days: vec![DayRows {
                day: DayText(time::parse_day("2026-04-01").unwrap()),
                rows: 3,
                digest: "cd".repeat(32),
                digest_version: 2,
            }],
        }
    }

    #[test]
    fn lines_round_trip_and_hash_covers_every_field() {
        let e = Entry::new(1, "t".into(), vec![op("a", Action::Add)], GENESIS.into());
        let line = e.to_line();
        assert!(line.ends_with('\n'));
        let back = parse_line(Path::new("m"), 1, line.trim_end()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.compute_hash(), e.hash);
        let mut edited = e.clone();
        edited.ops[0].days[0].rows = 4;
        assert_ne!(edited.compute_hash(), e.hash);
        let mut edited = e.clone();
        edited.prev = "1".repeat(64);
        assert_ne!(edited.compute_hash(), e.hash);
        let mut edited = e;
        edited.note.push('x');
        assert_ne!(edited.compute_hash(), edited.hash);
    }

    #[test]
    fn a_version_1_day_reads_and_hashes_as_it_was_written() {
        // A line as a tenken before digest version 2 wrote it: no `digest_version`.
        let mut e = Entry::new(1, "t".into(), vec![op("a", Action::Add)], GENESIS.into());
        e.ops[0].days[0].digest_version = 1;
        e.hash = e.compute_hash();
        let line = e.to_line();
        assert!(!line.contains("digest_version"), "{line}");
        let back = parse_line(Path::new("m"), 1, line.trim_end()).unwrap();
        assert_eq!(back.ops[0].days[0].digest_version, 1);
        assert_eq!(back.compute_hash(), e.hash);
        assert_eq!(back.to_line(), line);
        // A version-2 day records its version, and the line's hash covers it.
        let v2 = Entry::new(1, "t".into(), vec![op("a", Action::Add)], GENESIS.into());
        let line = v2.to_line();
        assert!(line.contains(r#""digest_version":2"#), "{line}");
        let mut edited = parse_line(Path::new("m"), 1, line.trim_end()).unwrap();
        assert_eq!(edited, v2);
        edited.ops[0].days[0].digest_version = 1;
        assert_ne!(edited.compute_hash(), v2.hash);
    }

    #[test]
    fn unknown_fields_are_rejected_with_position() {
        let e = Entry::new(1, "t".into(), vec![], GENESIS.into());
        let line = e.to_line().trim_end().replacen("{", "{\"extra\":1,", 1);
        let err = parse_line(Path::new("m"), 7, &line).unwrap_err();
        match err {
            ArchiveError::Manifest { line, column, .. } => {
                assert_eq!(line, 7);
                assert!(column > 1);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn replay_tracks_the_live_set() {
        let mut live = BTreeMap::new();
        let e1 = Entry::new(1, "".into(), vec![op("a", Action::Add)], GENESIS.into());
        assert!(apply(&mut live, &e1).is_empty());
        let e2 = Entry::new(
            2,
            "".into(),
            vec![op("a", Action::Replace), op("b", Action::Add)],
            e1.hash.clone(),
        );
        assert!(apply(&mut live, &e2).is_empty());
        assert_eq!(live["a"].seq, 2);
        let e3 = Entry::new(3, "".into(), vec![op("a", Action::Remove)], e2.hash);
        assert!(apply(&mut live, &e3).is_empty());
        assert_eq!(live.keys().collect::<Vec<_>>(), ["b"]);
        let bad = Entry::new(4, "".into(), vec![op("a", Action::Remove)], e3.hash);
        assert_eq!(apply(&mut live, &bad).len(), 1);
    }
}
