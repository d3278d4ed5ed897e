//! `tenken scan`: read the logs, judge them against the ledgers, write findings and rejects,
//! print a summary.
//!
//! The stages run side by side: ingest and normalize fill the day store on the reading
//! side, files in date order, and each day goes to the rules as soon as every file that
//! may hold it has been read ([`read_and_judge`], shared with the nightly `ingest` job).
//! Memory holds the days still being read, not the input.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::days::{DayEvents, DayStore, DaysError, DaysOptions, OpenDays};
use crate::detect::{Detector, PendingChange};
use crate::error::{Error, Exit};
use crate::findings::{self, FindingCounts, Lang, Spool};
use crate::ingest::dates::DaySpan;
use crate::ingest::{self, InputError, InputFile, Message, ReadOptions};
use crate::ledger::Ledgers;
use crate::model::{RuleId, Severity};
use crate::normalize::{DecodeStats, Encoding, Reject, RejectReason};
use crate::output::RejectsWriter;
use crate::progress::Progress;
use crate::time::Day;

use rayon::prelude::*;

/// Flags of `tenken scan`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = SCAN_HELP)]
pub struct ScanArgs {
    /// Log files or folders (folders are searched for *.csv and *.log, optionally .gz or .zst).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The ledger folder (operators.csv, terminals.csv, calendars.toml, …; see ledgers.md).
    #[arg(long, value_name = "DIR")]
    pub ledgers: PathBuf,
    /// Write the findings here; the format follows the extension: .csv, .jsonl or .parquet.
    #[arg(long, value_name = "FILE")]
    pub findings: Option<PathBuf>,
    /// Write every rejected line here (file,line,reason,raw); .csv, .jsonl or .parquet.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Exit with status 1 when a finding of this severity or higher is found.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
}

const SCAN_HELP: &str = "\
Examples:
  tenken scan logs/ --ledgers ledgers/ --findings findings.csv --rejects rejects.csv
  tenken scan logs/2026-04/*.csv.gz --ledgers ledgers/ --lang en --fail-on high

The summary goes to standard output; the progress bar (on a terminal) to standard error.
Exit status: 0 success (findings or not), 1 a finding at or above --fail-on,
2 an error (an unreadable input or ledger, bad flags). An unreadable input does not stop
the others: they are still read and judged, and the exit status is 2.";

/// Flags shared by the commands that read logs.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Language of messages and the summary: ja (日本語) or en.
    #[arg(long, value_enum, default_value_t = Lang::Ja)]
    pub lang: Lang,
    /// Encoding of the logs; by default detected per file (BOM, then UTF-8 validity, else CP932).
    #[arg(long, value_enum)]
    pub encoding: Option<Encoding>,
    /// Read plain files with read(2) instead of memory-mapping them.
    #[arg(long)]
    pub no_mmap: bool,
    /// Memory for events of days after the one being read, in MiB; beyond it those days
    /// spill to a temporary file (the day being read always stays in memory).
    #[arg(long, value_name = "MIB", default_value_t = 32)]
    pub memory: usize,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar and no summary (errors are still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Parses `--fail-on` (low, medium, high).
pub(crate) fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse::<Severity>().map_err(|e| e.to_string())
}

impl CommonArgs {
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            encoding: self.encoding,
            mmap: !self.no_mmap,
            ..ReadOptions::default()
        }
    }

    pub fn days_options(&self) -> DaysOptions {
        DaysOptions {
            memory_budget: self.memory.max(1) << 20,
            spill_dir: None,
        }
    }

    /// Sets the size of the worker pool once per process.
    pub fn init_threads(&self) {
        if let Some(n) = self.threads {
            // Fails only if a pool was already built, which then keeps its size.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build_global();
        }
    }
}

/// What the read phase saw.
#[derive(Debug, Default)]
pub struct ReadSummary {
    pub files: usize,
    pub disk_bytes: u64,
    pub text_bytes: u64,
    pub stats: DecodeStats,
    pub rejects_by_reason: BTreeMap<RejectReason, u64>,
    /// The first rejects, to show in the summary.
    pub sample_rejects: Vec<Reject>,
    pub input_errors: Vec<InputError>,
    pub elapsed: Duration,
    /// Bytes of events the day store wrote to its spill file.
    pub spilled_bytes: u64,
}

const SAMPLE_REJECTS: usize = 5;

/// Writes rejects in input-file order although files finish in any order.
struct RejectsInOrder<'a> {
    writer: Option<&'a mut RejectsWriter>,
    next: usize,
    waiting: BTreeMap<usize, (Vec<Reject>, bool)>,
}

impl RejectsInOrder<'_> {
    fn add(&mut self, file: usize, rejects: Vec<Reject>) -> Result<(), Error> {
        if file == self.next {
            self.write(&rejects)
        } else {
            self.waiting.entry(file).or_default().0.extend(rejects);
            Ok(())
        }
    }

    fn done(&mut self, file: usize) -> Result<(), Error> {
        self.waiting.entry(file).or_default().1 = true;
        while let Some((rejects, done)) = self.waiting.remove(&self.next) {
            self.write(&rejects)?;
            if !done {
                self.waiting.insert(self.next, (Vec::new(), false));
                break;
            }
            self.next += 1;
        }
        Ok(())
    }

    fn write(&mut self, rejects: &[Reject]) -> Result<(), Error> {
        if let Some(w) = self.writer.as_deref_mut() {
            w.write(rejects)?;
        }
        Ok(())
    }
}

/// The days of a read, as the judging side takes them: earliest first, each as soon as
/// every file that may hold events of it has been read, with the time its assembly took
/// (bringing it back, sorting, deduplicating).
pub struct DayFeed {
    rx: crossbeam_channel::Receiver<Fed>,
    peeked: Option<Option<(DayEvents, Duration)>>,
}

/// What the reading side sends the judging side.
enum Fed {
    Day(DayEvents, Duration),
    /// Every day has been sent.
    End,
    Failed(Error),
}

impl DayFeed {
    /// The next day, waiting for it; `None` once every day has been handed out.
    pub fn next_day(&mut self) -> Result<Option<(DayEvents, Duration)>, Error> {
        match self.peeked.take() {
            Some(Some(next)) => return Ok(Some(next)),
            // The end stays the end.
            Some(None) => {
                self.peeked = Some(None);
                return Ok(None);
            }
            None => {}
        }
        match self.rx.recv() {
            Ok(Fed::Day(day, took)) => Ok(Some((day, took))),
            Ok(Fed::End) => {
                self.peeked = Some(None);
                Ok(None)
            }
            Ok(Fed::Failed(e)) => Err(e),
            // Gone without saying it was done (it panicked): never taken for the end of
            // the input, which would archive a night without its last days.
            Err(_) => Err(DaysError::Abandoned.into()),
        }
    }

    /// Whether no day is left (waits until that is known).
    pub fn is_empty(&mut self) -> Result<bool, Error> {
        if self.peeked.is_none() {
            let next = self.next_day()?;
            self.peeked = Some(next);
        }
        Ok(matches!(self.peeked, Some(None)))
    }
}

/// Why the read phase stopped early.
enum ReadStop {
    /// The judging side stopped taking days.
    Gone,
    /// An error the judging side could not be told of (it had stopped).
    Failed(Error),
}

/// The read phase of `scan` and `ingest`, run beside the judging: every input is read into
/// a day store, rejects go to `rejects` in input order, unreadable inputs are reported
/// (and the others read), and `consume` takes the days from the feed while files are
/// still being read. Files are read in date order (see [`crate::ingest::dates`]), so a
/// day is usually complete, and leaves memory, long before reading ends.
///
/// Returns what the read saw and what `consume` returned. `consume` must take every day
/// (until [`DayFeed::next_day`] gives `None`) unless it fails.
pub fn read_and_judge<T>(
    paths: &[PathBuf],
    common: &CommonArgs,
    rejects: Option<&mut RejectsWriter>,
    consume: impl FnOnce(&mut DayFeed) -> Result<T, Error>,
) -> Result<(ReadSummary, T), Error> {
    // A rendezvous: one day offered while one is judged, two beyond the store.
    let (tx, rx) = crossbeam_channel::bounded(0);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_phase(paths, common, rejects, &tx));
        let mut feed = DayFeed { rx, peeked: None };
        let consumed = consume(&mut feed);
        // Reading stops at its next send once nobody listens.
        drop(feed);
        let read = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match (consumed, read) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(ReadStop::Failed(e))) => Err(e),
            (Ok(_), Err(ReadStop::Gone)) => Err(DaysError::Abandoned.into()),
            (Ok(t), Ok(read)) => Ok((read, t)),
        }
    })
}

type DaySender = crossbeam_channel::Sender<Fed>;

/// [`read_and_judge`]'s reading side. An error goes to the judging side through the feed
/// (so that it stops instead of seeing an input that merely ended).
fn read_phase(
    paths: &[PathBuf],
    common: &CommonArgs,
    rejects: Option<&mut RejectsWriter>,
    tx: &DaySender,
) -> Result<ReadSummary, ReadStop> {
    let mut store = DayStore::new(common.days_options());
    match read_into_days(paths, common, rejects, &mut store, tx) {
        Ok(mut summary) => {
            summary.spilled_bytes = store.spilled_bytes;
            // The judging side may have stopped already; then it needs no end.
            let _ = tx.send(Fed::End);
            Ok(summary)
        }
        Err(ReadStop::Failed(e)) => match tx.send(Fed::Failed(e)) {
            Ok(()) => Err(ReadStop::Gone),
            Err(crossbeam_channel::SendError(Fed::Failed(e))) => Err(ReadStop::Failed(e)),
            Err(_) => Err(ReadStop::Gone),
        },
        Err(ReadStop::Gone) => Err(ReadStop::Gone),
    }
}

/// Sends every day of `store` before `limit` to the judging side.
fn send_days_before(store: &mut DayStore, limit: Day, tx: &DaySender) -> Result<(), ReadStop> {
    loop {
        let t = Instant::now();
        match store.pop_before(limit) {
            Ok(Some(day)) => tx
                .send(Fed::Day(day, t.elapsed()))
                .map_err(|_| ReadStop::Gone)?,
            Ok(None) => return Ok(()),
            Err(e) => return Err(ReadStop::Failed(e.into())),
        }
    }
}

fn read_into_days(
    paths: &[PathBuf],
    common: &CommonArgs,
    rejects: Option<&mut RejectsWriter>,
    store: &mut DayStore,
    tx: &DaySender,
) -> Result<ReadSummary, ReadStop> {
    let start = Instant::now();
    let (files, mut input_errors) = ingest::discover(paths);
    for e in &input_errors {
        eprintln!("tenken: error: {e}");
    }
    let total: u64 = files.iter().map(|f: &InputFile| f.size).sum();
    let progress = Progress::bytes(
        total,
        if common.lang == Lang::Ja {
            "読込"
        } else {
            "reading"
        },
        common.quiet,
    );
    let counter = ingest::pipeline::counter();
    let mut summary = ReadSummary::default();
    let mut order = RejectsInOrder {
        writer: rejects,
        next: 0,
        waiting: BTreeMap::new(),
    };
    let options = common.read_options();
    let spans: Vec<DaySpan> = files
        .par_iter()
        .map(|f| ingest::dates::span(f, options.mmap, options.block_size))
        .collect();
    let mut open = OpenDays::new(&spans);
    let schedule = open.order().to_vec();
    let failed = |e: Error| ReadStop::Failed(e);
    ingest::read_files_in_order(
        &files,
        &schedule,
        &options,
        &counter,
        |msg| -> Result<(), ReadStop> {
            progress.set(ingest::pipeline::load(&counter));
            match msg {
                Message::Data {
                    file,
                    batches,
                    rejects,
                } => {
                    for b in &batches {
                        store.push(b).map_err(|e| failed(e.into()))?;
                    }
                    for r in &rejects {
                        *summary.rejects_by_reason.entry(r.reason).or_default() += 1;
                        if summary.sample_rejects.len() < SAMPLE_REJECTS {
                            summary.sample_rejects.push(r.clone());
                        }
                    }
                    order.add(file, rejects).map_err(failed)?;
                }
                Message::Done {
                    file,
                    report,
                    error,
                } => {
                    summary.files += 1;
                    summary.disk_bytes += files.get(file).map_or(0, |f| f.size);
                    summary.text_bytes += report.text_bytes;
                    summary.stats.add(&report.stats);
                    if let Some(e) = error {
                        progress.println(&format!("tenken: error: {e}"));
                        input_errors.push(e);
                    }
                    order.done(file).map_err(failed)?;
                    open.done(file);
                    send_days_before(store, open.complete_before(), tx)?;
                }
            }
            Ok(())
        },
    )?;
    progress.finish();
    send_days_before(store, Day::MAX, tx)?;
    summary.input_errors = input_errors;
    summary.elapsed = start.elapsed();
    Ok(summary)
}

/// What the judge phase concluded.
#[derive(Debug, Clone, Default)]
pub struct JudgeSummary {
    pub days: usize,
    pub events: u64,
    pub duplicates: u64,
    pub findings: FindingCounts,
    pub pending: Vec<PendingChange>,
    /// Time spent judging (beside the reading, which goes on meanwhile).
    pub elapsed: Duration,
    /// Time the reading side spent bringing back, sorting and deduplicating the days.
    pub assemble: Duration,
}

/// Writes the findings file (if asked for, with `write`) and puts the rejects file in
/// place.
pub fn write_outputs(
    findings_path: Option<&std::path::Path>,
    write: impl FnOnce(&std::path::Path) -> Result<(), findings::FindingsError>,
    rejects: Option<RejectsWriter>,
) -> Result<(), Error> {
    if let Some(path) = findings_path {
        write(path)?;
    }
    if let Some(w) = rejects {
        w.finish()?;
    }
    Ok(())
}

/// The exit status of `cli.md`: 2 when an input could not be read (the others were
/// judged), else 1 when a finding reaches `fail_on`, else 0.
pub fn exit_status(found: &FindingCounts, fail_on: Option<Severity>, read: &ReadSummary) -> Exit {
    if !read.input_errors.is_empty() {
        Exit::Error
    } else if fail_on.is_some_and(|level| found.max_severity().is_some_and(|max| max >= level)) {
        Exit::Findings
    } else {
        Exit::Success
    }
}

/// Runs `tenken scan`.
pub fn run(args: &ScanArgs) -> crate::Result<Exit> {
    args.common.init_threads();
    let start = Instant::now();
    let mut rejects = args
        .rejects
        .as_deref()
        .map(RejectsWriter::create)
        .transpose()?;
    // The ledgers load while the first files are read: a city's request register alone
    // takes seconds. A ledger error stops the run before anything is judged.
    let (read, (judge, spool)) =
        read_and_judge(&args.paths, &args.common, rejects.as_mut(), |feed| {
            let ledgers = Arc::new(Ledgers::load(&args.ledgers)?);
            let mut detector = Detector::new(Arc::clone(&ledgers));
            let mut judge = JudgeSummary::default();
            let mut spool = Spool::default();
            while let Some((day, assembled)) = feed.next_day()? {
                let t = Instant::now();
                judge.assemble += assembled;
                judge.days += 1;
                judge.events += day.len() as u64;
                judge.duplicates += day.duplicates;
                spool.extend(detector.judge_rows(day.day, day.rows())?)?;
                judge.elapsed += t.elapsed();
            }
            judge.pending = detector.pending_changes();
            judge.findings = spool.counts().clone();
            Ok((judge, spool))
        })?;
    let spilled = read.spilled_bytes;

    write_outputs(
        args.findings.as_deref(),
        |path| findings::write_spool(path, spool, args.common.lang),
        rejects,
    )?;
    if !args.common.quiet {
        print!(
            "{}",
            render_summary(&read, &judge, args.common.lang, start.elapsed(), spilled)
        );
    }
    Ok(exit_status(&judge.findings, args.fail_on, &read))
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` and the English noun for it: "1 file", "2,000 files".
pub(crate) fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Chooses the Japanese or the English text of a summary line.
pub fn pick(lang: Lang, ja: String, en: String) -> String {
    if lang == Lang::Ja { ja } else { en }
}

/// The lines about the input that `scan` and `ingest` both print: files, rejected lines
/// by reason with the first few, blank lines, unreadable inputs.
pub fn render_read(read: &ReadSummary, lang: Lang) -> String {
    let mut out = Vec::new();
    out.push(pick(
        lang,
        format!(
            "  入力       {} ファイル, {} (展開後 {}), {} 行",
            read.files,
            mb(read.disk_bytes),
            mb(read.text_bytes),
            thousands(read.stats.lines)
        ),
        format!(
            "  input      {}, {} ({} of text), {}",
            counted(read.files as u64, "file", "files"),
            mb(read.disk_bytes),
            mb(read.text_bytes),
            counted(read.stats.lines, "line", "lines")
        ),
    ));
    let rejected: u64 = read.rejects_by_reason.values().sum();
    let by_reason: Vec<String> = read
        .rejects_by_reason
        .iter()
        .map(|(r, n)| format!("{r} {}", thousands(*n)))
        .collect();
    let reasons = if by_reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", by_reason.join(", "))
    };
    out.push(pick(
        lang,
        format!("  不正行     {} 件{reasons}", thousands(rejected)),
        format!(
            "  rejected   {}{reasons}",
            counted(rejected, "line", "lines")
        ),
    ));
    for r in &read.sample_rejects {
        let raw: String = r.raw.chars().take(60).collect();
        out.push(format!(
            "             {}:{}: {}: {raw}",
            r.file, r.line, r.reason
        ));
    }
    if rejected > read.sample_rejects.len() as u64 {
        out.push(pick(
            lang,
            "             … 全件は --rejects FILE で出力できます".into(),
            "             … write them all with --rejects FILE".into(),
        ));
    }
    if read.stats.blank > 0 {
        out.push(pick(
            lang,
            format!(
                "  空行       {} 行 (読み飛ばし)",
                thousands(read.stats.blank)
            ),
            format!(
                "  blank      {} skipped",
                counted(read.stats.blank, "line", "lines")
            ),
        ));
    }
    if !read.input_errors.is_empty() {
        out.push(pick(
            lang,
            format!(
                "  読めない入力 {} 件 (上のエラーを参照; 終了コード 2)",
                read.input_errors.len()
            ),
            format!(
                "  unreadable {} (see the errors above; exit status 2)",
                counted(read.input_errors.len() as u64, "input", "inputs")
            ),
        ));
    }
    out.join("\n") + "\n"
}

/// The summary printed after a scan, in the reviewer's language.
pub fn render_summary(
    read: &ReadSummary,
    judge: &JudgeSummary,
    lang: Lang,
    total: Duration,
    spilled: u64,
) -> String {
    let secs = total.as_secs_f64().max(1e-9);
    let rate = read.disk_bytes as f64 / 1e6 / secs;
    let mut s = pick(
        lang,
        "点検結果 (tenken scan)\n".into(),
        "tenken scan summary\n".into(),
    );
    s += &render_read(read, lang);
    let mut out = vec![pick(
        lang,
        format!(
            "  イベント   {} 件 ({} 日分), 重複 {} 件は 1 件として扱いました",
            thousands(judge.events),
            judge.days,
            thousands(judge.duplicates)
        ),
        format!(
            "  events     {} over {}; {} kept once",
            thousands(judge.events),
            counted(judge.days as u64, "day", "days"),
            counted(
                judge.duplicates,
                "duplicate event id",
                "duplicate event ids"
            )
        ),
    )];
    let per_rule = &judge.findings.per_rule;
    let sev = |v: Severity| judge.findings.per_severity.get(&v).copied().unwrap_or(0);
    let n = thousands(judge.findings.total);
    let (h, m, l) = (
        sev(Severity::High),
        sev(Severity::Medium),
        sev(Severity::Low),
    );
    out.push(pick(
        lang,
        format!("  所見       {n} 件 (高 {h}, 中 {m}, 低 {l})"),
        format!("  findings   {n} (high {h}, medium {m}, low {l})"),
    ));
    for rule in RuleId::ALL {
        if let Some(n) = per_rule.get(&rule) {
            let severity = pick(
                lang,
                rule.severity().name_ja().into(),
                rule.severity().as_str().into(),
            );
            out.push(format!(
                "    {:<24} {:<6} {:>8}  {}",
                rule.as_str(),
                severity,
                thousands(*n),
                rule.regulation()
            ));
        }
    }
    if !judge.pending.is_empty() {
        let p = judge.pending.len();
        out.push(pick(
            lang,
            format!("  保留       照合期限前の変更 {p} 件 (次回以降に判定)"),
            format!(
                "  pending    {} not yet due for verification (judged by a later run)",
                counted(p as u64, "change", "changes")
            ),
        ));
    }
    let (read_s, regroup, rules) = (
        read.elapsed.as_secs_f64(),
        judge.assemble.as_secs_f64(),
        judge.elapsed.as_secs_f64(),
    );
    let spill = |label: &str| {
        if spilled > 0 {
            format!(", {label} {}", mb(spilled))
        } else {
            String::new()
        }
    };
    out.push(pick(
        lang,
        format!(
            "  処理時間   {secs:.2} 秒 (読込 {read_s:.2} 秒, 並行して日別整列 {regroup:.2} 秒と判定 {rules:.2} 秒), {rate:.0} MB/s{}",
            spill("一時退避")
        ),
        format!(
            "  time       {secs:.2} s (reading {read_s:.2} s, alongside it regrouping by day {regroup:.2} s and rules {rules:.2} s), {rate:.0} MB/s{}",
            spill("spilled")
        ),
    ));
    s + &out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_ends_only_when_the_reader_says_so() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut feed = DayFeed { rx, peeked: None };
        tx.send(Fed::End).unwrap();
        assert!(feed.is_empty().unwrap());
        assert!(feed.next_day().unwrap().is_none());
        assert!(feed.next_day().unwrap().is_none());

        // A reader gone without saying it was done is an error, not the end of the input.
        let (tx, rx) = crossbeam_channel::bounded::<Fed>(1);
        let mut feed = DayFeed { rx, peeked: None };
        drop(tx);
        assert!(matches!(
            feed.next_day(),
            Err(Error::Days(DaysError::Abandoned))
        ));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn english_counts_agree_with_their_nouns() {
        assert_eq!(counted(0, "day", "days"), "0 days");
        assert_eq!(counted(1, "day", "days"), "1 day");
        assert_eq!(counted(2000, "file", "files"), "2,000 files");
    }
}
