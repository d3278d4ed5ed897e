//! `tenken ingest`: the nightly job.
//!
//! Reads the night's logs like `scan`, then, for every local date they touch, merges the
//! new events into the archived day (union by `event_id`; an archived row is kept as it
//! is) and re-judges from the earliest day that changed, resuming the rule engine from
//! the state archived for the day before. Judging goes on through the later archived days
//! until the engine's state at the end of a day equals the state archived for that day:
//! from there on nothing can differ, because the rules see a day only through its events
//! and the state carried into it. Each judged day's findings replace that day's findings
//! partition (findings are filed under the day whose judging produced them). Everything
//! is one archive transaction: a night is archived whole or not at all.
//!
//! So ingesting day by day — late files and repeated files included — archives exactly
//! the findings of one `scan` over all the days, and the same file twice changes nothing.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{RecordBatch, UInt32Array};

use crate::archive::{Archive, DayJob, Kind, Level, StagedFile, StateJob, Transaction};
use crate::detect::{Detector, STATE_TAG, State};
use crate::error::{Error, Exit};
use crate::findings::{self, FindingCounts, Lang, Spool};
use crate::ledger::Ledgers;
use crate::model::Severity;
use crate::normalize::schema::{col, event_schema};
use crate::output::RejectsWriter;
use crate::scan::{
    CommonArgs, DayFeed, counted, exit_status, parse_severity, pick, read_and_judge, render_read,
    write_outputs,
};
use crate::time::{Day, format_day};

/// Flags of `tenken ingest`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = INGEST_HELP)]
pub struct IngestArgs {
    /// Log files or folders (folders are searched for *.csv and *.log, optionally .gz or .zst).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The ledger folder (operators.csv, terminals.csv, calendars.toml, …; see ledgers.md).
    #[arg(long, value_name = "DIR")]
    pub ledgers: PathBuf,
    /// The archive's root folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub archive: PathBuf,
    /// Also write the findings judged by this run here (.csv, .jsonl or .parquet).
    #[arg(long, value_name = "FILE")]
    pub findings: Option<PathBuf>,
    /// Write every rejected line here (file,line,reason,raw); .csv, .jsonl or .parquet.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Wait up to this many seconds for another writer of the archive to finish
    /// (default: refuse at once).
    #[arg(long, value_name = "SECS")]
    pub lock_wait: Option<u64>,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Exit with status 1 when this run judges a finding of this severity or higher.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
}

const INGEST_HELP: &str = "\
Run it every night on the day's logs; run `tenken rollup` after it (or weekly):

  tenken ingest /exports/2026-04-01/ --ledgers ledgers/ --archive /archive/tenken
  tenken rollup --archive /archive/tenken

Late logs for days already archived are merged into them and the days after are
re-judged as far as the rules can reach; handing over the same file twice changes
nothing. One writer at a time: a second run refuses (or waits with --lock-wait).
Exit status: 0 success, 1 a finding at or above --fail-on judged by this run,
2 an error (an unreadable input or ledger, the archive locked or damaged).";

/// What one night did.
#[derive(Debug, Default)]
pub struct NightReport {
    pub new_events: u64,
    pub already_archived: u64,
    pub duplicates: u64,
    pub days_changed: Vec<Day>,
    pub days_judged: Vec<Day>,
    /// The findings judged by this run (bounded memory: sorted runs spill to disk).
    pub findings: Spool,
    pub pending: usize,
}

/// Sorts an event batch by (timestamp, event_id).
fn sort_by_time(batch: &RecordBatch) -> Result<RecordBatch, Error> {
    let ts = batch
        .column(col::TIMESTAMP)
        .as_primitive::<TimestampMillisecondType>();
    let ids = batch.column(col::EVENT_ID).as_string::<i32>();
    let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        ts.value(a)
            .cmp(&ts.value(b))
            .then_with(|| ids.value(a).cmp(ids.value(b)))
    });
    arrow_select::take::take_record_batch(batch, &UInt32Array::from(order)).map_err(|source| {
        Error::Arrow {
            context: "sorting a merged day",
            source,
        }
    })
}

/// Unions `new` into `archived` by `event_id` (archived rows win). Returns the merged day
/// and how many new events it gained; `None` when nothing was new.
fn merge_day(
    archived: Option<RecordBatch>,
    new: &RecordBatch,
) -> Result<(Option<RecordBatch>, u64), Error> {
    let Some(old) = archived else {
        return Ok((Some(new.clone()), new.num_rows() as u64));
    };
    let old_ids: HashSet<&str> = old
        .column(col::EVENT_ID)
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    let new_ids = new.column(col::EVENT_ID).as_string::<i32>();
    let keep: Vec<u32> = (0..new.num_rows())
        .filter(|&i| !old_ids.contains(new_ids.value(i)))
        .map(|i| i as u32)
        .collect();
    if keep.is_empty() {
        return Ok((None, 0));
    }
    let arrow = |source| Error::Arrow {
        context: "merging late events into an archived day",
        source,
    };
    let added = arrow_select::take::take_record_batch(new, &UInt32Array::from(keep.clone()))
        .map_err(arrow)?;
    // The archived batch comes back from Parquet; align it to the event schema's fields.
    let old = RecordBatch::try_new(event_schema(), old.columns().to_vec()).map_err(arrow)?;
    let merged =
        arrow_select::concat::concat_batches(&event_schema(), [&old, &added]).map_err(arrow)?;
    Ok((Some(sort_by_time(&merged)?), keep.len() as u64))
}

/// Runs `tenken ingest`.
pub fn run(args: &IngestArgs) -> crate::Result<Exit> {
    args.common.init_threads();
    let start = Instant::now();
    let ledgers = Arc::new(Ledgers::load(&args.ledgers)?);
    let mut archive = Archive::open_write(&args.archive, args.lock_wait.map(Duration::from_secs))?;
    let mut rejects = args
        .rejects
        .as_deref()
        .map(RejectsWriter::create)
        .transpose()?;
    let (read, mut report) = read_and_judge(&args.paths, &args.common, rejects.as_mut(), |feed| {
        ingest_days(&mut archive, &ledgers, feed, args.common.quiet)
    })?;
    // The spool goes to the findings file; its counts stay for the summary and exit status.
    let found = std::mem::take(&mut report.findings);
    let counts = found.counts().clone();
    write_outputs(
        args.findings.as_deref(),
        |path| findings::write_spool(path, found, args.common.lang),
        rejects,
    )?;
    if !args.common.quiet {
        print!(
            "{}",
            render(&read, &report, &counts, args.common.lang, start.elapsed())
        );
    }
    Ok(exit_status(&counts, args.fail_on, &read))
}

/// The archive half of the nightly job, given the night's days as they are read.
///
/// Days are handled one at a time in date order — merged, judged, staged, dropped — so
/// memory holds one day, whatever the night's size.
pub fn ingest_days(
    archive: &mut Archive,
    ledgers: &Arc<Ledgers>,
    store: &mut DayFeed,
    quiet: bool,
) -> Result<NightReport, Error> {
    let mut report = NightReport::default();

    // 1. The first day the night changes: days that only repeat archived events change
    // nothing and start nothing.
    let first = loop {
        let Some((day, _)) = store.next_day()? else {
            // Nothing new: report what the archive's latest state still has pending.
            if let Some(&last) = archive.state_days().iter().next_back() {
                let bytes = archive.state(last)?.unwrap_or_default();
                let state = State::decode(&bytes)?;
                report.pending = Detector::resume(Arc::clone(ledgers), state)?
                    .pending_changes()
                    .len();
            }
            return Ok(report);
        };
        let d = day.day;
        if let Some(batch) = merge_night_day(&mut report, archive, day)? {
            break (d, batch);
        }
    };
    let first_changed = first.0;

    // 2. Where to resume: the latest archived state before the first changed day. Days
    // between that state and the first change (states pruned by retention) are judged
    // again from their archived events, so the resumed engine is exactly the one that
    // would have run.
    let event_days: BTreeSet<Day> = archive.days(Kind::Events);
    let resume_from = archive
        .state_days()
        .range(..first_changed)
        .next_back()
        .copied();
    let mut detector = match resume_from {
        Some(d) => {
            let bytes = archive.state(d)?.unwrap_or_default();
            Detector::resume(Arc::clone(ledgers), State::decode(&bytes)?)?
        }
        None => Detector::new(Arc::clone(ledgers)),
    };
    let start_day = match resume_from {
        Some(d) => d + 1,
        None => event_days
            .iter()
            .next()
            .copied()
            .map_or(first_changed, |d| d.min(first_changed)),
    };
    if !quiet
        && event_days
            .range(start_day..)
            .next()
            .is_some_and(|&d| d <= first_changed)
    {
        eprintln!(
            "tenken: late events for {}: re-judging from {} as far as the rules reach",
            format_day(first_changed),
            format_day(start_day)
        );
    }

    // 3. Judge day by day, the night's days and the archived ones in date order, and stop
    // once the night is used up and the state is what the archive already holds. The
    // files are written by a second thread, a day behind: Parquet encoding, digests and
    // the state's compression overlap the judging of the next day. The staged files
    // come back in the order they were staged, so the transaction (one per night, still
    // committed only once everything is written) records exactly what writing them in
    // line would have.
    let mut archived_days = event_days.range(start_day..).copied().peekable();
    let mut next_new: Option<(Day, Option<RecordBatch>)> = Some((first.0, Some(first.1)));
    let mut txn = archive.begin();
    std::thread::scope(|scope| -> Result<(), Error> {
        // One job queued behind the one being written: memory holds at most one day
        // more than judging alone does.
        let (jobs, job_rx) = std::sync::mpsc::sync_channel::<Job>(0);
        let (done_tx, done) = std::sync::mpsc::channel::<Result<StagedFile, Error>>();
        scope.spawn(move || {
            for job in job_rx {
                let result = job.run();
                let failed = result.is_err();
                if done_tx.send(result).is_err() || failed {
                    break;
                }
            }
        });
        let mut writer = Writer {
            jobs: Some(jobs),
            done,
            in_flight: 0,
        };
        // The last day judged, if its state is not staged yet.
        let mut unsaved: Option<Day> = None;
        loop {
            if next_new.is_none()
                && let Some((day, _)) = store.next_day()?
            {
                let d = day.day;
                next_new = Some((d, merge_night_day(&mut report, txn.archive(), day)?));
            }
            let day = match (
                next_new.as_ref().map(|(d, _)| *d),
                archived_days.peek().copied(),
            ) {
                (None, None) => break,
                (Some(n), Some(o)) => n.min(o),
                (Some(n), None) => n,
                (None, Some(o)) => o,
            };
            if archived_days.peek() == Some(&day) {
                archived_days.next();
            }
            let changed = match next_new.take_if(|(d, _)| *d == day) {
                Some((_, batch)) => batch,
                None => None,
            };
            let events = match changed {
                Some(batch) => {
                    let job = txn.stage_day(Kind::Events, day, batch.clone())?;
                    writer.send(&mut txn, Job::Day(job))?;
                    batch
                }
                None => match txn.archive().read_day(Kind::Events, day)? {
                    Some(b) => RecordBatch::try_new(event_schema(), b.columns().to_vec()).map_err(
                        |source| Error::Arrow {
                            context: "reading an archived day",
                            source,
                        },
                    )?,
                    None => continue,
                },
            };
            let found = detector.judge_day(day, &events)?;
            drop(events);
            let job = txn.stage_day(Kind::Findings, day, findings::to_record_batch(&found)?)?;
            writer.send(&mut txn, Job::Day(job))?;
            report.days_judged.push(day);
            report.findings.extend(found)?;
            // A state is kept where one is needed, not after every day: at each ISO
            // week's end (so late logs re-judge at most a week of archived days), where
            // the archive already has one (replaced, never left stale, and the only
            // place a night can settle), and after the last day judged (below). A
            // night of one day, the usual case, still saves a state for its day.
            if !(txn.archive().has_state(day) || Level::Weekly.period_of(day).last_day() == day) {
                unsaved = Some(day);
                continue;
            }
            unsaved = None;
            let bytes = detector.encode_state()?;
            // Only once the night is used up can it settle: compare with the archived
            // state. The bytes decide when both are of the current format; a state saved
            // in an older format is compared as a state. (Asked only here: telling
            // whether the night is used up waits for the next day to be assembled.)
            let settled = next_new.is_none()
                && store.is_empty()?
                && match txn.archive().state(day)? {
                    None => false,
                    Some(old) if old.starts_with(STATE_TAG) => old == bytes,
                    Some(old) => match (State::decode(&old), State::decode(&bytes)) {
                        (Ok(old), Ok(new)) => old == new,
                        _ => false,
                    },
                };
            writer.send_state(&mut txn, day, bytes)?;
            if settled {
                break;
            }
        }
        if let Some(day) = unsaved {
            // The next night resumes from here.
            writer.send_state(&mut txn, day, detector.encode_state()?)?;
        }
        writer.finish(&mut txn)
    })?;
    report.pending = detector.pending_changes().len();
    txn.commit()?;
    Ok(report)
}

/// A file for the writer thread.
enum Job {
    Day(DayJob),
    /// A serialized state to compress and store.
    State(StateJob, Vec<u8>),
}

impl Job {
    fn run(self) -> Result<StagedFile, Error> {
        Ok(match self {
            Job::Day(job) => job.write()?,
            Job::State(job, bytes) => job.write(&bytes)?,
        })
    }
}

/// The judging side's end of the writer thread.
struct Writer {
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    done: std::sync::mpsc::Receiver<Result<StagedFile, Error>>,
    in_flight: usize,
}

impl Writer {
    /// Hands a job over, first recording the files already written.
    fn send(&mut self, txn: &mut Transaction<'_>, job: Job) -> Result<(), Error> {
        self.collect(txn, false)?;
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !sent {
            // The writer stopped at an error: report it.
            self.jobs = None;
            return self.collect(txn, true);
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Stages the rule state at the end of `day` and hands it over.
    fn send_state(
        &mut self,
        txn: &mut Transaction<'_>,
        day: Day,
        bytes: Vec<u8>,
    ) -> Result<(), Error> {
        let job = txn.stage_state(day)?;
        self.send(txn, Job::State(job, bytes))
    }

    /// Records finished files in order; with `wait`, until the writer is done.
    fn collect(&mut self, txn: &mut Transaction<'_>, wait: bool) -> Result<(), Error> {
        while self.in_flight > 0 {
            let next = if wait {
                self.done.recv().ok()
            } else {
                self.done.try_recv().ok()
            };
            let Some(result) = next else {
                if wait {
                    return Err(crate::archive::ArchiveError::Internal {
                        context: "archive writer".into(),
                        message: "the writer thread stopped without a result".into(),
                    }
                    .into());
                }
                break;
            };
            self.in_flight -= 1;
            txn.add_staged(result?);
        }
        Ok(())
    }

    /// Waits for every file and records it.
    fn finish(mut self, txn: &mut Transaction<'_>) -> Result<(), Error> {
        self.jobs = None;
        self.collect(txn, true)
    }
}

/// Merges one of the night's days into the archived day; `None` when it adds nothing.
fn merge_night_day(
    report: &mut NightReport,
    archive: &Archive,
    day: crate::days::DayEvents,
) -> Result<Option<RecordBatch>, Error> {
    report.duplicates += day.duplicates;
    let archived = archive.read_day(Kind::Events, day.day)?;
    let day_no = day.day;
    let batch = day.into_batch()?;
    let (merged, added) = merge_day(archived, &batch)?;
    report.already_archived += batch.num_rows() as u64 - added;
    report.new_events += added;
    if merged.is_some() {
        report.days_changed.push(day_no);
    }
    Ok(merged)
}

fn render(
    read: &crate::scan::ReadSummary,
    night: &NightReport,
    counts: &FindingCounts,
    lang: Lang,
    total: Duration,
) -> String {
    let days = |v: &[Day]| match (v.first(), v.last()) {
        (Some(a), Some(b)) if a != b => format!("{}〜{}", format_day(*a), format_day(*b)),
        (Some(a), _) => format_day(*a),
        _ => "-".into(),
    };
    let (changed, judged) = (days(&night.days_changed), days(&night.days_judged));
    let (nc, nj) = (night.days_changed.len(), night.days_judged.len());
    let (new, old, dup) = (night.new_events, night.already_archived, night.duplicates);
    let high = counts
        .per_severity
        .get(&Severity::High)
        .copied()
        .unwrap_or(0);
    let (n, p, secs) = (counts.total, night.pending, total.as_secs_f64());
    let mut s = pick(
        lang,
        "取込結果 (tenken ingest)\n".into(),
        "tenken ingest summary\n".into(),
    );
    s += &render_read(read, lang);
    let lines = [
        pick(
            lang,
            format!("  イベント   新規 {new} 件, 取込済み {old} 件, 重複 {dup} 件"),
            format!(
                "  events     {new} new, {old} already archived, {}",
                counted(dup, "duplicate", "duplicates")
            ),
        ),
        pick(
            lang,
            format!("  日次       更新 {nc} 日 ({changed}), 判定 {nj} 日 ({judged})"),
            format!("  days       {nc} updated ({changed}), {nj} judged ({judged})"),
        ),
        pick(
            lang,
            format!("  所見       {n} 件 (うち高 {high} 件), 保留中の変更 {p} 件"),
            format!(
                "  findings   {n} (high {high}), {} pending verification",
                counted(p as u64, "change", "changes")
            ),
        ),
        pick(
            lang,
            format!("  処理時間   {secs:.2} 秒"),
            format!("  time       {secs:.2} s"),
        ),
    ];
    s + &lines.join("\n") + "\n"
}
