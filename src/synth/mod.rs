//! `tenken gen`: realistic synthetic data sets with exact labels.
//!
//! A data set is a ward's worth of operation logs and the rule tables that judge them,
//! plus `labels.csv`, the findings a correct engine must report — written by the
//! generator from what it injected, never by running the detector:
//!
//! ```text
//! OUT/ledgers/operators.csv terminals.csv calendars.toml approvals.csv requests.csv
//!             watchlist.csv rules.toml
//! OUT/logs/<office>/<YYYY-MM-DD>.<csv|log>[.gz|.zst]     one file per office and day
//! OUT/logs/<office>/<YYYY-MM-DD>-reexport.<…>            one day exported again (duplicates)
//! OUT/labels.csv       kind,rule_id,event_id,file,line,reason
//! OUT/anomalies.csv    variant,rules,office,date,event_ids      every injected anomaly
//! OUT/gen.toml         the parameters, and the command that re-makes the data set
//! ```
//!
//! The kinds of `labels.csv` rows are those of [`LabelKind`]. Clean traffic triggers no
//! rule at all (module `day`); each anomaly is isolated and labelled
//! with every finding it causes (module `anomaly`); malformed lines are extra lines between
//! real ones, one defect each (module `write`).
//!
//! **Determinism.** The world (offices, operators, calendars) comes from the master seed;
//! each office-day draws from its own generator seeded from (seed, office, day), and
//! writes its own file. Office-days run in parallel (rayon) in fixed-size batches whose
//! results are gathered in order, so the same seed and flags give byte-identical output
//! whatever the number of threads, with memory bounded by the batch.

mod anomaly;
mod config;
mod day;
mod labels;
mod text;
mod world;
mod write;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use rand::RngExt;
use rayon::prelude::*;

pub use config::{Compress, Encoding, Format, GenArgs, GenConfig, GenParams};
pub use labels::{Label, LabelKind};

use crate::time::{self, Day};
use anomaly::{CLOSED, Variant, WORKING};
use day::DayCtx;
use labels::settle_pending;
use world::{World, rng_for, stream};
use write::{Line, Renderer, junk_reasons, write_file};

/// The generator cannot write its data set.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The output folder holds something and `--force` was not given.
    #[error("{}: the folder is not empty (give --force to replace a data set in it)", path.display())]
    NotEmpty { path: PathBuf },
    /// The worker pool could not be started.
    #[error("cannot start {threads} worker threads: {message}")]
    Threads { threads: usize, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GenError + '_ {
    move |source| GenError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a generation wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Log files written.
    pub files: u64,
    /// Their size on disk (compressed where they are).
    pub bytes: u64,
    /// Their size decompressed.
    pub raw_bytes: u64,
    /// Events written (a re-exported event counts once).
    pub events: u64,
    /// Office-days with at least one event.
    pub office_days: u64,
    pub anomalies: u64,
    /// `finding` rows of `labels.csv`.
    pub findings: u64,
    /// `pending` rows.
    pub pending: u64,
    /// `reject` rows.
    pub rejects: u64,
    /// `duplicate` rows.
    pub duplicates: u64,
    pub requests: u64,
    pub approvals: u64,
}

/// One office-day of the plan.
#[derive(Debug, Clone)]
struct DayPlan {
    office: usize,
    day: Day,
    /// Days since the start.
    index: u32,
    working: bool,
    /// Index into [`WORKING`] or [`CLOSED`] of each anomaly's first choice.
    anomalies: Vec<usize>,
    shuffle: bool,
    duplicate: bool,
    compress: Compress,
}

/// Decides, before any event is drawn, how many anomalies each office-day gets and which
/// variants take their turn, which files are shuffled and which day is exported twice.
fn plan(w: &World, cfg: &GenConfig) -> Vec<DayPlan> {
    let p = &cfg.params;
    let mut out = Vec::new();
    // Error diffusion: the running totals hit exactly `rate` anomalies per office-day.
    let (mut acc_w, mut acc_c) = (0.0f64, 0.0f64);
    let (mut turn_w, mut turn_c) = (0usize, 0usize);
    let mut working_seen = 0usize;
    let mut dup_done = !p.duplicates;
    for index in 0..p.days {
        let day = cfg.start + index as i32;
        for office in 0..w.offices.len() {
            let working = w.hours(office, day).is_some();
            let n = if working {
                let n = (acc_w + p.anomalies).floor() - acc_w.floor();
                acc_w += p.anomalies;
                n as usize
            } else {
                let r = p.anomalies * 0.5;
                let n = (acc_c + r).floor() - acc_c.floor();
                acc_c += r;
                n as usize
            };
            let anomalies = (0..n)
                .map(|_| {
                    if working {
                        turn_w += 1;
                        (turn_w - 1) % WORKING.len()
                    } else {
                        turn_c += 1;
                        (turn_c - 1) % CLOSED.len()
                    }
                })
                .collect();
            let shuffle = p.shuffle && working && working_seen % 7 == 3;
            let duplicate = !dup_done && working && office == 0 && index >= 1;
            if duplicate {
                dup_done = true;
            }
            if working {
                working_seen += 1;
            }
            out.push(DayPlan {
                office,
                day,
                index,
                working,
                anomalies,
                shuffle,
                duplicate,
                compress: p.compress[(office + index as usize) % p.compress.len()],
            });
        }
    }
    out
}

/// What one office-day produced.
#[derive(Debug, Default)]
struct DayOut {
    files: u64,
    bytes: u64,
    raw_bytes: u64,
    events: u64,
    max_t: Option<i64>,
    labels: Vec<Label>,
    requests: String,
    approvals: String,
    /// `anomalies.csv` rows.
    injected: Vec<String>,
}

fn gen_day(w: &World, cfg: &GenConfig, p: &DayPlan) -> Result<DayOut, GenError> {
    let params = &cfg.params;
    let rng = rng_for(params.seed, stream::DAY, p.office as u64, p.day as u64);
    let mut ctx = DayCtx::new(w, p.office, p.day, rng);
    let list: &[Variant] = if p.working { &WORKING } else { &CLOSED };
    let mut variants = Vec::new();
    for &first in &p.anomalies {
        if let Some(v) = anomaly::inject(&mut ctx, list, first) {
            variants.push(v);
        }
    }
    day::clean_traffic(&mut ctx);
    let (dropped, unverified) = day::attach_verifies(&mut ctx);
    let n_uids = ctx.uids();
    let sessions = std::mem::take(&mut ctx.sessions);
    let (evs, rank) = day::flatten(sessions, &dropped, &unverified, n_uids);

    let office = &w.offices[p.office];
    let mut out = DayOut {
        requests: std::mem::take(&mut ctx.requests),
        approvals: std::mem::take(&mut ctx.approvals),
        ..DayOut::default()
    };
    if evs.is_empty() {
        return Ok(out);
    }
    let date = time::format_day(p.day);
    let rel_dir = format!("logs/{}", office.id);
    let ext = office.style.format.ext();
    let rel = format!("{rel_dir}/{date}.{ext}{}", p.compress.suffix());
    let mut r = Renderer::new(
        office.style,
        &office.id,
        p.day,
        rng_for(params.seed, stream::WRITE, p.office as u64, p.day as u64),
    );

    // Line order: by time, or (a shuffled export) grouped by terminal.
    let n = evs.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    if p.shuffle {
        order.sort_by(|a, b| evs[*a as usize].terminal.cmp(&evs[*b as usize].terminal));
    }
    // Malformed lines go between real lines, never before the second one (format
    // detection reads the first lines).
    let reasons = junk_reasons(office.style.format);
    let mut junk_at: Vec<usize> = Vec::new();
    if n >= 3 && params.malformed > 0.0 {
        let expect = params.malformed * n as f64 + r.rng.random::<f64>();
        for _ in 0..expect.floor() as usize {
            junk_at.push(r.rng.random_range(2..n));
        }
        junk_at.sort_unstable();
    }
    let mut lines: Vec<Line> = Vec::with_capacity(n + junk_at.len());
    let mut j = 0;
    let base = p.office * 7 + p.index as usize * 3;
    for (i, &pos) in order.iter().enumerate() {
        while j < junk_at.len() && junk_at[j] == i {
            lines.push(Line::Junk(reasons[(base + j) % reasons.len()]));
            j += 1;
        }
        lines.push(Line::Event(pos));
    }
    let rendered = r.render(&evs, &rank, &lines);
    let path = cfg.out.join(&rel);
    out.bytes += write_file(&path, &rendered.bytes, p.compress).map_err(io(&path))?;
    out.raw_bytes += rendered.bytes.len() as u64;
    out.files += 1;
    out.events = n as u64;
    out.max_t = evs.iter().map(|e| e.t).max();

    for (pos, e) in evs.iter().enumerate() {
        for rule in e.rules() {
            out.labels.push(Label {
                kind: LabelKind::Finding,
                rule: Some(rule),
                event_id: r.event_id(pos as u32),
                file: rel.clone(),
                line: rendered.event_line[pos],
                reason: None,
                deadline: (rule == crate::model::RuleId::UnverifiedChange)
                    .then_some(e.t + world::limits::VERIFY_WITHIN_MS),
            });
        }
    }
    for &(line, reason) in &rendered.junk {
        out.labels.push(Label {
            kind: LabelKind::Reject,
            rule: None,
            event_id: String::new(),
            file: rel.clone(),
            line,
            reason: Some(reason),
            deadline: None,
        });
    }

    if p.duplicate {
        // The afternoon's events exported once more into a second file.
        let cut = n / 2;
        let lines: Vec<Line> = (cut as u32..n as u32).map(Line::Event).collect();
        let compress = params.compress[(p.office + p.index as usize + 1) % params.compress.len()];
        let dup_rel = format!("{rel_dir}/{date}-reexport.{ext}{}", compress.suffix());
        let dup = r.render(&evs, &rank, &lines);
        let path = cfg.out.join(&dup_rel);
        out.bytes += write_file(&path, &dup.bytes, compress).map_err(io(&path))?;
        out.raw_bytes += dup.bytes.len() as u64;
        out.files += 1;
        for pos in cut..n {
            out.labels.push(Label {
                kind: LabelKind::Duplicate,
                rule: None,
                event_id: r.event_id(pos as u32),
                file: dup_rel.clone(),
                line: dup.event_line[pos],
                reason: None,
                deadline: None,
            });
        }
    }

    let pos_of = |uid: u32| rank.get(uid as usize).copied().filter(|&p| p != u32::MAX);
    for (inj, v) in ctx.injected.iter().zip(&variants) {
        let ids: Vec<String> = inj
            .uids
            .iter()
            .filter_map(|&u| pos_of(u))
            .map(|p| r.event_id(p))
            .collect();
        let name = if *v == Variant::OffHoursClosedDay {
            format!("off-hours-{}", anomaly::closed_day_kind(&ctx))
        } else {
            inj.variant.to_owned()
        };
        let rules: Vec<&str> = v.rules().iter().map(|r| r.as_str()).collect();
        out.injected.push(format!(
            "{name},{},{},{date},{}\n",
            rules.join(";"),
            office.id,
            ids.join(";")
        ));
    }
    Ok(out)
}

/// Office-days generated at once: enough to keep every core busy, few enough to bound
/// memory by a handful of files.
const BATCH: usize = 16;

fn prepare_out(cfg: &GenConfig) -> Result<(), GenError> {
    let out = &cfg.out;
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(io(out))?;
        if entries.next().is_some() {
            if !cfg.force {
                return Err(GenError::NotEmpty { path: out.clone() });
            }
            // Only what a previous generation wrote is removed.
            for dir in ["logs", "ledgers"] {
                let p = out.join(dir);
                if p.exists() {
                    std::fs::remove_dir_all(&p).map_err(io(&p))?;
                }
            }
            for f in ["labels.csv", "anomalies.csv", "gen.toml"] {
                let p = out.join(f);
                if p.exists() {
                    std::fs::remove_file(&p).map_err(io(&p))?;
                }
            }
        }
    }
    let ledgers = out.join("ledgers");
    std::fs::create_dir_all(&ledgers).map_err(io(&ledgers))?;
    Ok(())
}

fn put(path: PathBuf, bytes: &[u8]) -> Result<(), GenError> {
    std::fs::write(&path, bytes).map_err(io(&path))
}

/// Writes a data set as `cfg` says; `progress` shows a bar on the terminal.
pub fn generate(cfg: &GenConfig, progress: bool) -> Result<Summary, GenError> {
    match cfg.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| GenError::Threads {
                threads,
                message: e.to_string(),
            })?
            .install(|| generate_here(cfg, progress)),
        None => generate_here(cfg, progress),
    }
}

fn generate_here(cfg: &GenConfig, progress: bool) -> Result<Summary, GenError> {
    prepare_out(cfg)?;
    let w = World::build(cfg);
    let led = cfg.out.join("ledgers");
    put(led.join("operators.csv"), &world::operators_csv(&w))?;
    put(led.join("terminals.csv"), &world::terminals_csv(&w))?;
    put(led.join("calendars.toml"), &world::calendars_toml(&w))?;
    put(led.join("watchlist.csv"), &world::watchlist_csv(&w))?;
    put(led.join("rules.toml"), &world::rules_toml())?;
    for office in &w.offices {
        let d = cfg.out.join("logs").join(&*office.id);
        std::fs::create_dir_all(&d).map_err(io(&d))?;
    }

    let plan = plan(&w, cfg);
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new(plan.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} generating [{bar:40}] {pos}/{len} office-days ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });

    let mut requests = String::from(world::REQUESTS_HEADER);
    let mut approvals = String::from(world::APPROVALS_HEADER);
    let apv_path = led.join("approvals.csv");
    let mut apv_file =
        std::io::BufWriter::new(std::fs::File::create(&apv_path).map_err(io(&apv_path))?);
    let mut anomalies = String::from("variant,rules,office,date,event_ids\n");
    let req_path = led.join("requests.csv");
    let mut req_file =
        std::io::BufWriter::new(std::fs::File::create(&req_path).map_err(io(&req_path))?);
    let mut labels: Vec<Label> = Vec::new();
    let mut sum = Summary::default();
    let mut latest: Option<i64> = None;
    for batch in plan.chunks(BATCH) {
        let outs: Vec<Result<DayOut, GenError>> =
            batch.par_iter().map(|p| gen_day(&w, cfg, p)).collect();
        for o in outs {
            let o = o?;
            sum.files += o.files;
            sum.bytes += o.bytes;
            sum.raw_bytes += o.raw_bytes;
            sum.events += o.events;
            sum.office_days += u64::from(o.events > 0);
            sum.anomalies += o.injected.len() as u64;
            sum.requests += o.requests.lines().count() as u64;
            sum.approvals += o.approvals.lines().count() as u64;
            latest = latest.max(o.max_t);
            requests.push_str(&o.requests);
            approvals.push_str(&o.approvals);
            for row in &o.injected {
                anomalies.push_str(row);
            }
            labels.extend(o.labels);
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        // The registers grow with the data set: stream them out batch by batch.
        std::io::Write::write_all(&mut req_file, requests.as_bytes()).map_err(io(&req_path))?;
        requests.clear();
        std::io::Write::write_all(&mut apv_file, approvals.as_bytes()).map_err(io(&apv_path))?;
        approvals.clear();
    }
    std::io::Write::flush(&mut req_file).map_err(io(&req_path))?;
    std::io::Write::flush(&mut apv_file).map_err(io(&apv_path))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    settle_pending(&mut labels, latest);
    for l in &labels {
        match l.kind {
            LabelKind::Finding => sum.findings += 1,
            LabelKind::Pending => sum.pending += 1,
            LabelKind::Reject => sum.rejects += 1,
            LabelKind::Duplicate => sum.duplicates += 1,
        }
    }
    put(cfg.out.join("labels.csv"), &labels::to_csv(&mut labels))?;
    put(cfg.out.join("anomalies.csv"), anomalies.as_bytes())?;
    let out_text = cfg.out.display().to_string();
    put(
        cfg.out.join("gen.toml"),
        cfg.params.to_toml(&out_text).as_bytes(),
    )?;
    Ok(sum)
}

/// A byte count for people: `812 B`, `43.0 KiB`, `1.05 GiB`.
fn human(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

/// Runs `tenken gen`.
pub fn run(args: &GenArgs) -> crate::Result<crate::Exit> {
    let cfg = GenConfig::from_args(args).map_err(crate::Error::Usage)?;
    let progress = !cfg.quiet && std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let s = generate(&cfg, progress)?;
    if !cfg.quiet {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        println!("tenken gen: wrote {}", cfg.out.display());
        println!(
            "  logs       {} files, {} on disk ({} decompressed), {} events over {} office-days",
            s.files,
            human(s.bytes),
            human(s.raw_bytes),
            s.events,
            s.office_days
        );
        println!(
            "  ledgers    {} requests, {} approvals",
            s.requests, s.approvals
        );
        println!(
            "  labels     {} anomalies injected: {} findings, {} pending; {} malformed lines; {} duplicate lines",
            s.anomalies, s.findings, s.pending, s.rejects, s.duplicates
        );
        println!(
            "  took       {secs:.2} s ({}/s decompressed)",
            human((s.raw_bytes as f64 / secs) as u64)
        );
    }
    Ok(crate::Exit::Success)
}
