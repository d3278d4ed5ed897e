//! The archive handle and its transactions: the write protocol of `archive.md`.
//!
//! A transaction stages every new file under `ROOT/.staging/txn-<seq>/` (mode 0600,
//! fsynced), then appends its manifest line and fsyncs the manifest — the commit point —
//! then renames each staged file over its final path (one fixed file name per partition,
//! so readers see the old file or the new one, never both), fsyncs the folders, deletes
//! the files the transaction removes and finally the staging folder.
//!
//! A crash before the commit point leaves a staging folder whose sequence number is past
//! the manifest's last line: the next writer discards it. A crash after it leaves the
//! staging folder of the manifest's last line: the next writer completes it (renames
//! what is still staged, deletes what is still to be removed). Until then readers take
//! a file of that transaction from its staged copy, so they never see a half-applied
//! transaction either.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_schema::SchemaRef;

use super::ArchiveError;
use super::config::{self, ArchiveConfig};
use super::fsutil::{
    FILE_MODE, crash_point, create_dirs, create_file, failpoint, io_err, sync_dir,
};
use super::lock::{self, WriterLock};
use super::manifest::{self, Action, Entry, FileKind, FileOp, LiveFile, Replay};
use super::parquet_io::{self, PartWriter, Written, timestamp_index};
use super::period::{Kind, Level, Period};
use crate::time::{self, Day};

/// The manifest's file name under the archive root.
pub const MANIFEST_FILE: &str = "manifest.jsonl";
/// The configuration's file name under the archive root.
pub const CONFIG_FILE: &str = "archive.toml";
/// The staging folder under the archive root.
pub const STAGING_DIR: &str = ".staging";
/// The folder of the rule engine's state files.
pub const STATE_DIR: &str = "state";

/// The path of the state file of `day`, relative to the root.
pub fn state_path(day: Day) -> String {
    format!("{STATE_DIR}/{}.state.zst", time::format_day(day))
}

/// Where one day's rows sit in one live data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayLoc {
    /// The file, relative to the root.
    pub path: String,
    pub level: Level,
    /// Rows of earlier days in the same file.
    pub offset: u64,
    pub rows: u64,
    pub digest: String,
    /// The digest's definition (manifest number, see [`super::digest::Version`]).
    pub digest_version: u32,
    /// The transaction that wrote the file.
    pub seq: u64,
}

/// What a live manifest operation is, when its path is the canonical one for it.
pub(crate) enum Canonical {
    Data(Kind, Period),
    State(Day),
}

/// Checks that an operation's path is the one its kind, level and period call for; a
/// manifest entry pointing anywhere else (`../`, another partition) is never followed.
pub(crate) fn canonical(op: &FileOp) -> Option<Canonical> {
    match (op.kind.data(), op.level) {
        (Some(kind), Some(level)) => {
            let p = Period::parse(level, &op.period)?;
            (p.file_path(kind) == op.path).then_some(Canonical::Data(kind, p))
        }
        (None, None) => {
            let d = time::parse_day(&op.period)?;
            (state_path(d) == op.path).then_some(Canonical::State(d))
        }
        _ => None,
    }
}

/// Lookup tables over the live set.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Every held day with its location at each level (finest first).
    pub days: BTreeMap<(Kind, Day), [Option<DayLoc>; 4]>,
    /// Every live data file by kind, level and period.
    pub files: BTreeMap<(Kind, Level, Period), String>,
    pub states: BTreeMap<Day, String>,
}

impl Index {
    pub(crate) fn build(live: &BTreeMap<String, LiveFile>) -> Index {
        let mut ix = Index::default();
        for (path, lf) in live {
            match canonical(&lf.op) {
                Some(Canonical::Data(kind, period)) => {
                    let level = period.level();
                    ix.files.insert((kind, level, period), path.clone());
                    let mut offset = 0;
                    for d in &lf.op.days {
                        let slot = ix.days.entry((kind, d.day.0)).or_default();
                        slot[level as usize] = Some(DayLoc {
                            path: path.clone(),
                            level,
                            offset,
                            rows: d.rows,
                            digest: d.digest.clone(),
                            digest_version: d.digest_version,
                            seq: lf.seq,
                        });
                        offset += d.rows;
                    }
                }
                Some(Canonical::State(day)) => {
                    ix.states.insert(day, path.clone());
                }
                None => {}
            }
        }
        ix
    }

    /// The finest location of `day` at a level finer than `below` (all levels if None).
    pub(crate) fn finest(&self, kind: Kind, day: Day, below: Option<Level>) -> Option<&DayLoc> {
        let slots = self.days.get(&(kind, day))?;
        slots
            .iter()
            .flatten()
            .find(|l| below.is_none_or(|b| l.level < b))
    }

    pub(crate) fn at(&self, kind: Kind, day: Day, level: Level) -> Option<&DayLoc> {
        self.days.get(&(kind, day))?[level as usize].as_ref()
    }
}

/// A committed transaction whose files may not all be in place yet.
#[derive(Debug)]
struct Pending {
    dir: PathBuf,
    paths: HashSet<String>,
}

/// An archive opened for reading, or for writing with the writer lock held.
#[derive(Debug)]
pub struct Archive {
    root: PathBuf,
    config: ArchiveConfig,
    lock: Option<WriterLock>,
    pub(crate) replay: Replay,
    pub(crate) index: Index,
    pending: Option<Pending>,
}

/// Refuses a `root` that is not a folder: there is no archive to read, check or
/// consolidate there.
pub(crate) fn require_archive(root: &Path) -> Result<(), ArchiveError> {
    if root.is_dir() {
        return Ok(());
    }
    Err(ArchiveError::Io {
        path: root.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no archive here (`tenken ingest` creates one)",
        ),
    })
}

impl Archive {
    /// [`Archive::open_write`] of an archive that must already exist: only `ingest`
    /// creates one.
    pub fn open_write_existing(
        root: &Path,
        lock_wait: Option<Duration>,
    ) -> Result<Archive, ArchiveError> {
        require_archive(root)?;
        Archive::open_write(root, lock_wait)
    }

    /// Opens (creating if missing) the archive at `root` for writing: takes the writer
    /// lock (`lock_wait` None refuses at once when another writer holds it), truncates a
    /// torn manifest line, and completes or discards a transaction a crash left behind.
    pub fn open_write(root: &Path, lock_wait: Option<Duration>) -> Result<Archive, ArchiveError> {
        if root.exists() && !root.is_dir() {
            return Err(ArchiveError::Io {
                path: root.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "not a folder: --archive names the archive's root folder",
                ),
            });
        }
        create_dirs(root)?;
        let lock = lock::acquire(root, lock_wait)?;
        let config = config::load(&root.join(CONFIG_FILE))?;
        let mpath = root.join(MANIFEST_FILE);
        let mut replay = manifest::replay(&mpath)?;
        if !replay.problems.is_empty() {
            let first = &replay.problems[0];
            return Err(ArchiveError::Broken {
                root: root.to_path_buf(),
                problems: replay.problems.len(),
                first: format!("{}:{}: {}", MANIFEST_FILE, first.line, first.message),
            });
        }
        if replay.torn.take().is_some() {
            // Never committed: cut it so the next line starts on a line of its own.
            let f = OpenOptions::new()
                .write(true)
                .open(&mpath)
                .map_err(io_err(&mpath))?;
            f.set_len(replay.committed_len)
                .and_then(|()| f.sync_all())
                .map_err(io_err(&mpath))?;
        }
        let mut archive = Archive {
            root: root.to_path_buf(),
            config,
            lock: Some(lock),
            index: Index::build(&replay.live),
            replay,
            pending: None,
        };
        archive.recover()?;
        Ok(archive)
    }

    /// Opens the archive at `root` for reading, without a lock. A committed transaction
    /// that is not yet applied is read from its staged files.
    pub fn open_read(root: &Path) -> Result<Archive, ArchiveError> {
        require_archive(root)?;
        let config = config::load(&root.join(CONFIG_FILE))?;
        let replay = manifest::replay(&root.join(MANIFEST_FILE))?;
        let pending = replay.entries.last().and_then(|e| {
            let dir = root.join(STAGING_DIR).join(txn_dir_name(e.seq));
            dir.is_dir().then(|| Pending {
                dir,
                paths: e
                    .ops
                    .iter()
                    .filter(|o| o.action != Action::Remove)
                    .map(|o| o.path.clone())
                    .collect(),
            })
        });
        Ok(Archive {
            root: root.to_path_buf(),
            config,
            lock: None,
            index: Index::build(&replay.live),
            replay,
            pending,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The validated `archive.toml` (defaults when it is missing).
    pub fn config(&self) -> &ArchiveConfig {
        &self.config
    }

    pub fn is_writable(&self) -> bool {
        self.lock.is_some()
    }

    /// The hash of the manifest's last line (64 zeros for an empty archive).
    pub fn head(&self) -> &str {
        self.replay.head()
    }

    /// Every day held at any level.
    pub fn days(&self, kind: Kind) -> BTreeSet<Day> {
        self.index
            .days
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, d)| *d)
            .collect()
    }

    /// Where `day` is held, finest level first.
    pub fn locations(&self, kind: Kind, day: Day) -> Vec<DayLoc> {
        self.index
            .days
            .get(&(kind, day))
            .map(|s| s.iter().flatten().cloned().collect())
            .unwrap_or_default()
    }

    /// The live periods of one level, ascending.
    pub fn periods(&self, kind: Kind, level: Level) -> Vec<Period> {
        self.index
            .files
            .keys()
            .filter(|(k, l, _)| *k == kind && *l == level)
            .map(|(_, _, p)| *p)
            .collect()
    }

    /// The live manifest entry of a file (path relative to the root).
    pub fn file(&self, path: &str) -> Option<&FileOp> {
        self.replay.live.get(path).map(|l| &l.op)
    }

    /// Every live file.
    pub fn files(&self) -> impl Iterator<Item = &FileOp> {
        self.replay.live.values().map(|l| &l.op)
    }

    /// Opens a live file, from its staged copy while its transaction is being applied.
    pub(crate) fn open_file(&self, path: &str) -> Result<(PathBuf, File), ArchiveError> {
        if let Some(p) = &self.pending
            && p.paths.contains(path)
        {
            let staged = p.dir.join(path);
            // Once renamed, the staged copy is gone and the final path holds it.
            if let Ok(f) = File::open(&staged) {
                return Ok((staged, f));
            }
        }
        let full = self.root.join(path);
        let f = File::open(&full).map_err(io_err(&full))?;
        Ok((full, f))
    }

    /// Streams the rows of one day at one location.
    pub(crate) fn read_loc(
        &self,
        loc: &DayLoc,
        f: impl FnMut(RecordBatch) -> Result<(), ArchiveError>,
    ) -> Result<SchemaRef, ArchiveError> {
        let (full, file) = self.open_file(&loc.path)?;
        if let Some(op) = self.file(&loc.path)
            && let Ok(meta) = file.metadata()
            && meta.len() != op.bytes
        {
            return Err(ArchiveError::Corrupt {
                path: full,
                message: format!(
                    "is {} bytes where the manifest says {}: changed since the archive was opened, or damaged (run tenken verify)",
                    meta.len(),
                    op.bytes
                ),
            });
        }
        parquet_io::read_range(&full, file, loc.offset, loc.rows, f)
    }

    /// Whether two locations of one day hold the same rows: equal row counts, and equal
    /// digests when both are of one version. Digests of two versions cannot be compared
    /// as they are: then the older side's rows are read and digested at the newer
    /// version (a day of an archive written before digest version 2 against one written
    /// since).
    pub(crate) fn same_day(&self, a: &DayLoc, b: &DayLoc) -> Result<bool, ArchiveError> {
        same_rows(&self.root, a, b, |loc| self.open_file(&loc.path))
    }

    /// The rows of `day` from the finest level that holds it, sorted as stored; `None`
    /// when no level holds the day.
    pub fn read_day(&self, kind: Kind, day: Day) -> Result<Option<RecordBatch>, ArchiveError> {
        let Some(loc) = self.index.finest(kind, day, None) else {
            return Ok(None);
        };
        self.read_whole(loc).map(Some)
    }

    /// The rows of `day` held at one level.
    pub fn read_day_at(
        &self,
        kind: Kind,
        day: Day,
        level: Level,
    ) -> Result<Option<RecordBatch>, ArchiveError> {
        let Some(loc) = self.index.at(kind, day, level) else {
            return Ok(None);
        };
        self.read_whole(loc).map(Some)
    }

    /// Every row of one day's location, as one batch.
    fn read_whole(&self, loc: &DayLoc) -> Result<RecordBatch, ArchiveError> {
        let mut batches = Vec::new();
        let schema = self.read_loc(loc, |b| {
            batches.push(b);
            Ok(())
        })?;
        arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| {
            ArchiveError::Internal {
                context: format!("concatenating {}", loc.path),
                message: e.to_string(),
            }
        })
    }

    /// Days that have a rule-engine state file.
    pub fn state_days(&self) -> BTreeSet<Day> {
        self.index.states.keys().copied().collect()
    }

    /// Whether a rule-engine state is archived for the end of `day`.
    pub fn has_state(&self, day: Day) -> bool {
        self.index.states.contains_key(&day)
    }

    /// The rule engine's state at the end of `day`, as it was put.
    pub fn state(&self, day: Day) -> Result<Option<Vec<u8>>, ArchiveError> {
        let Some(path) = self.index.states.get(&day) else {
            return Ok(None);
        };
        let (full, file) = self.open_file(path)?;
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut raw).map_err(io_err(&full))?;
        if let Some(op) = self.file(path) {
            let sha = super::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(&raw));
            if sha != op.sha256 {
                return Err(ArchiveError::Corrupt {
                    path: full,
                    message: format!(
                        "SHA-256 {} differs from the manifest's {}",
                        manifest::short(&sha),
                        manifest::short(&op.sha256)
                    ),
                });
            }
        }
        zstd::decode_all(raw.as_slice())
            .map(Some)
            .map_err(io_err(&full))
    }

    /// Starts a transaction. Nothing it writes is visible until [`Transaction::commit`].
    pub fn begin(&mut self) -> Transaction<'_> {
        let seq = self.replay.last_seq() + 1;
        let dir = self.root.join(STAGING_DIR).join(txn_dir_name(seq));
        Transaction {
            archive: self,
            seq,
            dir,
            ops: Vec::new(),
            notes: Vec::new(),
            created_dir: false,
        }
    }

    /// Completes the transaction of the last manifest line if its staging folder is
    /// still there; discards any other staging folder (never committed).
    fn recover(&mut self) -> Result<(), ArchiveError> {
        let staging = self.root.join(STAGING_DIR);
        let entries = match fs::read_dir(&staging) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(&staging)(e)),
        };
        let last = self.replay.entries.last().cloned();
        for e in entries {
            let e = e.map_err(io_err(&staging))?;
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            match &last {
                Some(entry) if name == txn_dir_name(entry.seq) => {
                    apply_entry(&self.root, entry, &path)?;
                }
                _ => {
                    if path.is_dir() {
                        fs::remove_dir_all(&path).map_err(io_err(&path))?;
                    } else {
                        fs::remove_file(&path).map_err(io_err(&path))?;
                    }
                }
            }
        }
        sync_dir(&staging)?;
        Ok(())
    }

    fn require_writable(&self) -> Result<(), ArchiveError> {
        if self.lock.is_none() {
            return Err(ArchiveError::ReadOnly {
                root: self.root.clone(),
            });
        }
        Ok(())
    }

    pub(crate) fn rebuild_index(&mut self) {
        self.index = Index::build(&self.replay.live);
    }
}

pub(crate) fn txn_dir_name(seq: u64) -> String {
    format!("txn-{seq}")
}

/// Puts the files of a committed entry in place: renames what is staged, deletes what
/// it removes, then deletes the staging folder. Safe to repeat after a crash.
fn apply_entry(root: &Path, entry: &Entry, staging: &Path) -> Result<(), ArchiveError> {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    let mut renamed = 0usize;
    for op in entry.ops.iter().filter(|o| o.action != Action::Remove) {
        if canonical(op).is_none() {
            continue;
        }
        let staged = staging.join(&op.path);
        if !staged.exists() {
            // Renamed before the crash.
            continue;
        }
        let target = root.join(&op.path);
        if let Some(parent) = target.parent() {
            for created in create_dirs(parent)? {
                if let Some(p) = created.parent() {
                    dirs.insert(p.to_path_buf());
                }
            }
            dirs.insert(parent.to_path_buf());
        }
        fs::rename(&staged, &target).map_err(io_err(&target))?;
        renamed += 1;
        if renamed == 1 {
            crash_point("renamed-one");
        }
    }
    for d in &dirs {
        sync_dir(d)?;
    }
    crash_point("renamed");
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for op in entry.ops.iter().filter(|o| o.action == Action::Remove) {
        if canonical(op).is_none() {
            continue;
        }
        let target = root.join(&op.path);
        match fs::remove_file(&target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&target)(e)),
        }
        // Drop the emptied partition folders, up to the level folder.
        let mut dir = target.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            let depth = d
                .strip_prefix(root)
                .map(|r| r.components().count())
                .unwrap_or(0);
            if depth <= 2 || fs::remove_dir(&d).is_err() {
                dirs.insert(d);
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    for d in dirs.iter().filter(|d| d.exists()) {
        sync_dir(d)?;
    }
    crash_point("removed");
    match fs::remove_dir_all(staging) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(staging)(e)),
    }
    if let Some(parent) = staging.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// A set of file changes that becomes visible at once, or not at all.
pub struct Transaction<'a> {
    archive: &'a mut Archive,
    seq: u64,
    dir: PathBuf,
    ops: Vec<FileOp>,
    notes: Vec<String>,
    created_dir: bool,
}

impl Transaction<'_> {
    /// The archive the transaction writes to (as it was when the transaction began).
    pub fn archive(&self) -> &Archive {
        self.archive
    }

    /// Adds a few words for the manifest line (what this transaction is).
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    fn staged(&mut self, path: &str) -> Result<PathBuf, ArchiveError> {
        self.archive.require_writable()?;
        if !self.created_dir {
            create_dirs(&self.dir)?;
            self.created_dir = true;
        }
        Ok(self.dir.join(path))
    }

    fn action_for(&self, path: &str) -> Action {
        let staged_add = self
            .ops
            .iter()
            .any(|o| o.path == path && o.action == Action::Add);
        if !staged_add && self.archive.replay.live.contains_key(path) {
            Action::Replace
        } else {
            Action::Add
        }
    }

    fn push(&mut self, op: FileOp) {
        self.ops.retain(|o| o.path != op.path);
        self.ops.push(op);
    }

    /// (Re)writes the daily snapshot of `day`. The rows must be merged and sorted by
    /// `timestamp` (then `event_id`) already: they are written as given. For events the
    /// batch must have the event schema and every row must fall on `day` (Japan time) in
    /// ascending time order; for findings, `day` is the day whose judging produced them
    /// (`judged_on`) and any schema with a `timestamp` column is kept.
    pub fn put_day(
        &mut self,
        kind: Kind,
        day: Day,
        batch: &RecordBatch,
    ) -> Result<(), ArchiveError> {
        let staged = self.stage_day(kind, day, batch.clone())?.write()?;
        self.add_staged(staged);
        Ok(())
    }

    /// [`put_day`](Self::put_day) in two halves: checks the batch and picks its staged
    /// path now, and returns the writing (Parquet encoding, digests, fsync) as a job that
    /// can run on another thread. The transaction records the file once the finished job
    /// is handed back with [`add_staged`](Self::add_staged); files handed back in the
    /// order they were staged make the same manifest line as `put_day` calls would.
    pub fn stage_day(
        &mut self,
        kind: Kind,
        day: Day,
        batch: RecordBatch,
    ) -> Result<DayJob, ArchiveError> {
        check_batch(kind, day, &batch)?;
        let period = Period::Day(day);
        let path = period.file_path(kind);
        let staged = self.staged(&path)?;
        Ok(DayJob {
            kind,
            day,
            path,
            staged,
            settings: self.archive.config.parquet,
            batch,
        })
    }

    /// Stores the rule engine's state at the end of `day` (opaque bytes, kept zstd'd).
    pub fn put_state(&mut self, day: Day, bytes: &[u8]) -> Result<(), ArchiveError> {
        let staged = self.stage_state(day)?.write(bytes)?;
        self.add_staged(staged);
        Ok(())
    }

    /// [`put_state`](Self::put_state) in two halves, like [`stage_day`](Self::stage_day).
    pub fn stage_state(&mut self, day: Day) -> Result<StateJob, ArchiveError> {
        let path = state_path(day);
        let staged = self.staged(&path)?;
        Ok(StateJob {
            day,
            path,
            staged,
            zstd_level: self.archive.config.parquet.state_zstd_level,
        })
    }

    /// Records a file written by a [`DayJob`] or a [`StateJob`] of this transaction.
    pub fn add_staged(&mut self, file: StagedFile) {
        let mut op = file.0;
        op.action = self.action_for(&op.path);
        self.push(op);
    }

    /// A writer for the rollup file of `period`, staged in this transaction.
    pub(crate) fn rollup_writer(
        &mut self,
        kind: Kind,
        period: Period,
        schema: &arrow_schema::Schema,
    ) -> Result<PartWriter, ArchiveError> {
        let path = period.file_path(kind);
        let staged = self.staged(&path)?;
        PartWriter::create(&staged, kind, period, schema, &self.archive.config.parquet)
    }

    /// Records a finished rollup file.
    pub(crate) fn add_written(&mut self, kind: Kind, period: Period, written: Written) {
        let path = period.file_path(kind);
        let action = self.action_for(&path);
        self.push(data_op(action, kind, period, path, written));
    }

    /// Removes a live file (retention).
    pub(crate) fn remove(&mut self, path: &str) -> Result<(), ArchiveError> {
        self.archive.require_writable()?;
        if let Some(lf) = self.archive.replay.live.get(path) {
            let mut op = lf.op.clone();
            op.action = Action::Remove;
            self.push(op);
        }
        Ok(())
    }

    /// Whether the transaction would change anything.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Makes the transaction's changes durable and visible, all of them or none.
    pub fn commit(mut self) -> Result<(), ArchiveError> {
        if self.ops.is_empty() {
            return Ok(());
        }
        self.archive.require_writable()?;
        let root = self.archive.root.clone();
        // Even a transaction that only removes files has a staging folder: its presence
        // after a crash is what tells the next writer to finish the removals.
        if !self.created_dir {
            create_dirs(&self.dir)?;
            self.created_dir = true;
        }
        // Staged files are fsynced as they are closed; their folders' entries too.
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        dirs.insert(self.dir.clone());
        dirs.insert(root.join(STAGING_DIR));
        for op in self.ops.iter().filter(|o| o.action != Action::Remove) {
            let mut p = self.dir.join(&op.path);
            while let Some(parent) = p.parent() {
                dirs.insert(parent.to_path_buf());
                if parent == root {
                    break;
                }
                p = parent.to_path_buf();
            }
        }
        for d in &dirs {
            sync_dir(d)?;
        }
        let live = &self.archive.replay.live;
        if let Some(op) = self.ops.iter().find(|o| match o.action {
            Action::Add => live.contains_key(&o.path),
            Action::Replace | Action::Remove => !live.contains_key(&o.path),
        }) {
            return Err(ArchiveError::Internal {
                context: format!("transaction {}", self.seq),
                message: format!("{:?} of {} does not fit the live set", op.action, op.path),
            });
        }
        crash_point("staged");

        let ops = std::mem::take(&mut self.ops);
        let note = if self.notes.is_empty() {
            "transaction".to_owned()
        } else {
            self.notes.join("; ")
        };
        let entry = Entry::new(self.seq, note, ops, self.archive.head().to_owned());
        let line = entry.to_line();
        let mpath = root.join(MANIFEST_FILE);
        let new_manifest = !mpath.exists();
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(FILE_MODE)
            .open(&mpath)
            .map_err(io_err(&mpath))?;
        if failpoint("torn-manifest") {
            let half = &line.as_bytes()[..line.len() / 2];
            let _ = f.write_all(half).and_then(|()| f.sync_all());
            eprintln!("tenken: failpoint torn-manifest: aborting");
            std::process::abort();
        }
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(io_err(&mpath))?;
        if new_manifest {
            sync_dir(&root)?;
        }
        // Committed: from here on the transaction counts, finished now or by the next
        // writer. Readers of this handle go through the staged copies until it is done.
        crash_point("committed");
        // The operations were checked against the live set before the commit point.
        let _ = manifest::apply(&mut self.archive.replay.live, &entry);
        self.archive.pending = Some(Pending {
            dir: self.dir.clone(),
            paths: entry
                .ops
                .iter()
                .filter(|o| o.action != Action::Remove)
                .map(|o| o.path.clone())
                .collect(),
        });
        self.archive.replay.entries.push(entry);
        self.archive.rebuild_index();
        let entry =
            self.archive
                .replay
                .entries
                .last()
                .cloned()
                .ok_or_else(|| ArchiveError::Internal {
                    context: "commit".into(),
                    message: "entry vanished".into(),
                })?;
        apply_entry(&root, &entry, &self.dir)?;
        self.archive.pending = None;
        self.created_dir = false;
        Ok(())
    }
}

/// The writing of one daily data file, detached from its transaction
/// ([`Transaction::stage_day`]).
pub struct DayJob {
    kind: Kind,
    day: Day,
    path: String,
    staged: PathBuf,
    settings: config::ParquetSettings,
    batch: RecordBatch,
}

impl DayJob {
    /// Writes and fsyncs the staged file.
    pub fn write(self) -> Result<StagedFile, ArchiveError> {
        let period = Period::Day(self.day);
        let mut w = PartWriter::create(
            &self.staged,
            self.kind,
            period,
            &self.batch.schema(),
            &self.settings,
        )?;
        w.begin_day(self.day, super::digest::Version::CURRENT)?;
        w.write(&self.batch)?;
        let written = w.finish()?;
        Ok(StagedFile(data_op(
            Action::Add,
            self.kind,
            period,
            self.path,
            written,
        )))
    }
}

/// The writing of one state file, detached from its transaction
/// ([`Transaction::stage_state`]).
pub struct StateJob {
    day: Day,
    path: String,
    staged: PathBuf,
    zstd_level: i32,
}

impl StateJob {
    /// Compresses `bytes`, writes and fsyncs the staged file.
    pub fn write(self, bytes: &[u8]) -> Result<StagedFile, ArchiveError> {
        let staged = &self.staged;
        if let Some(parent) = staged.parent() {
            create_dirs(parent)?;
        }
        let packed = zstd::encode_all(bytes, self.zstd_level).map_err(io_err(staged))?;
        let mut f = create_file(staged)?;
        f.write_all(&packed)
            .and_then(|()| f.sync_all())
            .map_err(io_err(staged))?;
        let sha = super::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(&packed));
        Ok(StagedFile(FileOp {
            action: Action::Add,
            path: self.path,
            kind: FileKind::State,
            level: None,
            period: time::format_day(self.day),
            bytes: packed.len() as u64,
            sha256: sha,
            rows: None,
            min_ts: None,
            max_ts: None,
            schema_version: None,
            days: Vec::new(),
        }))
    }
}

/// A staged file written by a job, to be recorded with [`Transaction::add_staged`].
#[derive(Debug)]
pub struct StagedFile(FileOp);

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // Not committed (an error or an early return): the staged files are garbage.
        if self.created_dir && self.archive.pending.is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn data_op(action: Action, kind: Kind, period: Period, path: String, w: Written) -> FileOp {
    FileOp {
        action,
        path,
        kind: kind.into(),
        level: Some(period.level()),
        period: period.to_string(),
        bytes: w.bytes,
        sha256: w.sha256,
        rows: Some(w.rows),
        min_ts: w.min_ts,
        max_ts: w.max_ts,
        schema_version: Some(kind.schema_version()),
        days: w.days,
    }
}

/// Checks a batch handed to `put_day`.
fn check_batch(kind: Kind, day: Day, batch: &RecordBatch) -> Result<(), ArchiveError> {
    let bad = |message: String| ArchiveError::Batch {
        kind,
        day: time::format_day(day),
        message,
    };
    let schema = batch.schema();
    let Some(ts) = timestamp_index(&schema) else {
        return Err(bad(
            "has no `timestamp` column of type Timestamp(ms, \"UTC\")".into(),
        ));
    };
    if kind == Kind::Events {
        let want = crate::normalize::schema::event_schema();
        let same = want.fields().len() == schema.fields().len()
            && want
                .fields()
                .iter()
                .zip(schema.fields())
                .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
        if !same {
            return Err(bad(format!(
                "does not have the event schema (version {}): columns {:?}",
                crate::normalize::schema::SCHEMA_VERSION,
                schema.fields().iter().map(|f| f.name()).collect::<Vec<_>>()
            )));
        }
        let col = batch.column(ts).as_primitive::<TimestampMillisecondType>();
        let (lo, hi) = (time::jst_midnight(day), time::jst_midnight(day + 1));
        let mut last = i64::MIN;
        for (row, v) in col.iter().enumerate() {
            let Some(v) = v else {
                return Err(bad(format!("row {}: `timestamp` is null", row + 1)));
            };
            if !(lo..hi).contains(&v) {
                return Err(bad(format!(
                    "row {}: timestamp {} is not on {} (Japan time)",
                    row + 1,
                    time::format_jst(v),
                    time::format_day(day)
                )));
            }
            if v < last {
                return Err(bad(format!(
                    "row {}: timestamp {} comes after {}: rows must be sorted by time",
                    row + 1,
                    time::format_jst(v),
                    time::format_jst(last)
                )));
            }
            last = v;
        }
    }
    Ok(())
}

/// The schema of a live data file, from its footer.
pub(crate) fn file_schema(archive: &Archive, path: &str) -> Result<SchemaRef, ArchiveError> {
    let (full, file) = archive.open_file(path)?;
    let b = parquet_io::open_reader(&full, file)?;
    Ok(parquet_io::storage_schema(b.schema()))
}

/// Whether two locations of one day below `root` hold the same rows, the rule of
/// [`Archive::same_day`]; `open` gives the file that holds a location's rows (a reader may
/// find a committed file still staged).
pub(crate) fn same_rows(
    root: &Path,
    a: &DayLoc,
    b: &DayLoc,
    open: impl FnOnce(&DayLoc) -> Result<(PathBuf, File), ArchiveError>,
) -> Result<bool, ArchiveError> {
    if a.rows != b.rows {
        return Ok(false);
    }
    if a.digest_version == b.digest_version {
        return Ok(a.digest == b.digest);
    }
    let (old, new) = if a.digest_version < b.digest_version {
        (a, b)
    } else {
        (b, a)
    };
    let version = parquet_io::digest_version(&root.join(&new.path), new.digest_version)?;
    let (full, file) = open(old)?;
    let digest = parquet_io::digest_range(&full, file, old.offset, old.rows, version)?;
    Ok(digest == new.digest)
}
