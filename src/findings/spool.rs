//! Findings gathered over a run, in bounded memory, handed out in file order.
//!
//! The findings file is sorted by (timestamp, rule, event), and judging produces findings
//! day by day but not strictly in that order (a later day can flag an earlier change), so
//! the file can only be written at the end. Normally that is a few thousand findings; a
//! run against the wrong ledger folder flags nearly every event, and holding millions of
//! findings would make memory grow with the input. Past a limit, the spool sorts what it
//! holds and writes it as a run (archive findings schema, Arrow IPC) to a temporary file;
//! at the end the runs and the rest are merged. Counts per rule and severity are kept as
//! findings come in, so the summary and the exit status never need the findings again.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::{Finding, FindingsError, from_record_batch, sort, to_record_batch};
use crate::model::{RuleId, Severity};

/// Findings held in memory before a sorted run goes to disk (a finding is a few hundred
/// bytes with its evidence and facts).
pub const DEFAULT_LIMIT: usize = 200_000;

/// Findings per IPC batch in a run: what a merge holds of each run at a time.
const RUN_BATCH: usize = 4_096;

/// Findings of a run; see the module docs.
#[derive(Debug)]
pub struct Spool {
    memory: Vec<Finding>,
    limit: usize,
    spill_dir: Option<PathBuf>,
    runs: Vec<File>,
    counts: FindingCounts,
}

/// How many findings a run made, per rule and severity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingCounts {
    pub total: u64,
    pub per_rule: BTreeMap<RuleId, u64>,
    pub per_severity: BTreeMap<Severity, u64>,
}

impl FindingCounts {
    /// Counts `findings`.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> FindingCounts {
        let mut c = FindingCounts::default();
        c.add(findings);
        c
    }

    fn add<'a>(&mut self, findings: impl IntoIterator<Item = &'a Finding>) {
        for f in findings {
            self.total += 1;
            *self.per_rule.entry(f.rule).or_default() += 1;
            *self.per_severity.entry(f.severity()).or_default() += 1;
        }
    }

    /// The highest severity found, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.per_severity.keys().next_back().copied()
    }
}

impl Default for Spool {
    fn default() -> Self {
        Spool::new(DEFAULT_LIMIT, None)
    }
}

impl Spool {
    /// A spool that holds up to `limit` findings in memory, spilling to `spill_dir` (the
    /// system temporary folder if `None`).
    pub fn new(limit: usize, spill_dir: Option<PathBuf>) -> Spool {
        Spool {
            memory: Vec::new(),
            limit: limit.max(1),
            spill_dir,
            runs: Vec::new(),
            counts: FindingCounts::default(),
        }
    }

    /// Adds findings (in any order).
    pub fn extend(&mut self, found: Vec<Finding>) -> Result<(), FindingsError> {
        self.counts.add(&found);
        self.memory.extend(found);
        if self.memory.len() >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Findings so far, per rule and severity.
    pub fn counts(&self) -> &FindingCounts {
        &self.counts
    }

    /// Sorted runs written to disk so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> Result<(), FindingsError> {
        let dir = self.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
        let io = |source| FindingsError::Io {
            path: dir.clone(),
            source,
        };
        sort(&mut self.memory);
        let mut file = tempfile::tempfile_in(&dir).map_err(io)?;
        {
            let mut out = BufWriter::new(&mut file);
            let schema = super::archive_schema();
            let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema)
                .map_err(|e| batch_error(&e))?;
            for chunk in self.memory.chunks(RUN_BATCH) {
                w.write(&to_record_batch(chunk)?)
                    .map_err(|e| batch_error(&e))?;
            }
            w.finish().map_err(|e| batch_error(&e))?;
            out.flush().map_err(io)?;
        }
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        self.runs.push(file);
        self.memory = Vec::new();
        Ok(())
    }

    /// Hands out every finding in file order, `chunk` at a time.
    pub fn drain_sorted(
        mut self,
        chunk: usize,
        mut on: impl FnMut(&[Finding]) -> Result<(), FindingsError>,
    ) -> Result<(), FindingsError> {
        let chunk = chunk.max(1);
        sort(&mut self.memory);
        if self.runs.is_empty() {
            for part in self.memory.chunks(chunk) {
                on(part)?;
            }
            return Ok(());
        }
        let mut sources: Vec<Source> = Vec::with_capacity(self.runs.len() + 1);
        for file in self.runs.drain(..) {
            let reader = arrow_ipc::reader::StreamReader::try_new(BufReader::new(file), None)
                .map_err(|e| batch_error(&e))?;
            sources.push(Source::Run {
                reader,
                current: Vec::new().into_iter(),
            });
        }
        sources.push(Source::Memory(std::mem::take(&mut self.memory).into_iter()));

        // One head per source; the smallest key comes out first. Keys are unique (one
        // finding per rule and event), so the order is total.
        let mut heads: Vec<Option<Finding>> = Vec::with_capacity(sources.len());
        let mut heap = BinaryHeap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            let head = s.next()?;
            if let Some(f) = &head {
                heap.push(Reverse((key(f), i)));
            }
            heads.push(head);
        }
        let mut out = Vec::with_capacity(chunk);
        while let Some(Reverse((_, i))) = heap.pop() {
            let Some(f) = heads.get_mut(i).and_then(Option::take) else {
                continue;
            };
            out.push(f);
            if out.len() == chunk {
                on(&out)?;
                out.clear();
            }
            if let Some(s) = sources.get_mut(i) {
                let next = s.next()?;
                if let Some(n) = &next {
                    heap.push(Reverse((key(n), i)));
                }
                heads[i] = next;
            }
        }
        if !out.is_empty() {
            on(&out)?;
        }
        Ok(())
    }
}

fn key(f: &Finding) -> (i64, &'static str, String) {
    (f.timestamp, f.rule.as_str(), f.event_id.clone())
}

fn batch_error(e: &arrow_schema::ArrowError) -> FindingsError {
    FindingsError::Batch {
        message: format!("findings spill file: {e}"),
    }
}

enum Source {
    Memory(std::vec::IntoIter<Finding>),
    Run {
        reader: arrow_ipc::reader::StreamReader<BufReader<File>>,
        current: std::vec::IntoIter<Finding>,
    },
}

impl Source {
    fn next(&mut self) -> Result<Option<Finding>, FindingsError> {
        match self {
            Source::Memory(it) => Ok(it.next()),
            Source::Run { reader, current } => loop {
                if let Some(f) = current.next() {
                    return Ok(Some(f));
                }
                match reader.next() {
                    Some(batch) => {
                        let batch = batch.map_err(|e| batch_error(&e))?;
                        *current = from_record_batch(&batch)?.into_iter();
                    }
                    None => return Ok(None),
                }
            },
        }
    }
}
