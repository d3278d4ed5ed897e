//! The flags of `tenken gen`, validated once into a [`GenConfig`], and the `gen.toml`
//! record of them that lets a data set be re-made.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::time::{self, Day};

/// A log format of `oplog.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// oplog-csv v1 (`.csv`).
    Csv,
    /// oplog-kv v1 key-value lines (`.log`).
    Kv,
}

/// A text encoding of the log files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8 without a byte-order mark.
    #[value(name = "utf8")]
    #[serde(rename = "utf8")]
    Utf8,
    /// UTF-8 with a byte-order mark, as spreadsheet software saves "CSV UTF-8".
    #[value(name = "utf8-bom")]
    #[serde(rename = "utf8-bom")]
    Utf8Bom,
    /// CP932 (Windows Shift_JIS) with CRLF line ends, as Windows terminals export.
    Cp932,
}

/// The compression of one log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compress {
    /// Plain text.
    None,
    /// gzip (`.gz`).
    Gz,
    /// Zstandard (`.zst`).
    Zst,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Kv => "kv",
        }
    }

    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Kv => "log",
        }
    }
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Utf8Bom => "utf8-bom",
            Encoding::Cp932 => "cp932",
        }
    }
}

impl Compress {
    pub fn as_str(self) -> &'static str {
        match self {
            Compress::None => "none",
            Compress::Gz => "gz",
            Compress::Zst => "zst",
        }
    }

    /// The suffix after the format's extension (`""`, `.gz`, `.zst`).
    pub fn suffix(self) -> &'static str {
        match self {
            Compress::None => "",
            Compress::Gz => ".gz",
            Compress::Zst => ".zst",
        }
    }
}

/// Shown after `tenken gen --help`.
const GEN_HELP: &str = "\
Writes OUT/logs/<office>/<date>.<csv|log>[.gz|.zst], OUT/ledgers/, OUT/labels.csv (the findings
and rejects a correct engine must report, written from what was injected), OUT/anomalies.csv and
OUT/gen.toml (the parameters and the command that re-makes the set).

Sizes: --scale 1 gives 8 operators per office and about 900 events (0.13 MB of CSV) per office
and working day; above 1 the operators grow with the scale, below 1 they also work less
(--days 2 --offices 2 --scale 0.1 is a fixture of about 200 events). Plain UTF-8 CSV takes about
142 bytes an event, 7.1 million events a GiB:

  tenken gen --out bench-data/1g --days 30 --offices 10 --scale 31 \\
      --formats csv --encodings utf8 --compress none

writes 1.05 GiB of logs (7.56 million events) and 120 MB of ledgers.";

/// Flags of `tenken gen`.
///
/// Sizes: `--scale 1` gives 8 operators per office and about 900 events (0.13 MB of CSV)
/// per office and working day; above 1 the number of operators grows with the scale,
/// below 1 the operators also work less (`--days 2 --offices 2 --scale 0.1` is a fixture
/// of about 200 events). Plain UTF-8 CSV takes about 142 bytes an event, so 1 GiB is
/// about 7.1 million events: `--days 30 --offices 10 --scale 31 --formats csv --encodings
/// utf8 --compress none` writes 1.05 GiB of logs (7.56 million events) and 120 MB of
/// ledgers, mostly the request register.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = GEN_HELP)]
pub struct GenArgs {
    /// Folder to write the data set into (created if missing; must be empty unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Master seed: the same seed and flags give byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of consecutive days, working or not.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// First day, YYYY-MM-DD.
    #[arg(long, default_value = "2026-04-01")]
    pub start: String,
    /// Number of offices (KW01, KW02, …); the last of two or more is a branch office.
    #[arg(long, default_value_t = 3)]
    pub offices: u32,
    /// Traffic multiplier: more operators per office above 1, less activity below 1.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Injected anomalies per office and working day (0 switches them off); closed days
    /// get half as many, all of them off-hours work.
    #[arg(long, default_value_t = 1.0)]
    pub anomalies: f64,
    /// Malformed lines inserted per event line (0 switches them off).
    #[arg(long, default_value_t = 0.001)]
    pub malformed: f64,
    /// Log formats to use, one per office in turn.
    #[arg(long, value_delimiter = ',', default_values = ["csv", "kv"])]
    pub formats: Vec<Format>,
    /// Encodings to use, one per office in turn.
    #[arg(long, value_delimiter = ',',
          default_values = ["utf8", "utf8-bom", "cp932"])]
    pub encodings: Vec<Encoding>,
    /// Compressions to use, file by file in turn.
    #[arg(long, value_delimiter = ',',
          default_values = ["none", "gz", "zst"])]
    pub compress: Vec<Compress>,
    /// Do not export any day twice.
    #[arg(long)]
    pub no_duplicates: bool,
    /// Keep every file in time order.
    #[arg(long)]
    pub no_shuffle: bool,
    /// Worker threads (default: one per core); the output does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write into a folder that already holds a data set, replacing it.
    #[arg(long)]
    pub force: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

/// The validated parameters of one generation. Everything that shapes the output is here
/// (and in `gen.toml`); the output folder, thread count and verbosity are not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenParams {
    pub seed: u64,
    pub days: u32,
    pub start: String,
    pub offices: u32,
    pub scale: f64,
    pub anomalies: f64,
    pub malformed: f64,
    pub formats: Vec<Format>,
    pub encodings: Vec<Encoding>,
    pub compress: Vec<Compress>,
    pub duplicates: bool,
    pub shuffle: bool,
}

/// The runtime configuration of a generation.
#[derive(Debug, Clone)]
pub struct GenConfig {
    pub out: PathBuf,
    pub params: GenParams,
    /// `params.start` parsed.
    pub start: Day,
    pub threads: Option<usize>,
    pub force: bool,
    pub quiet: bool,
}

/// Upper bounds that keep ids in their fixed widths and a run finite.
const MAX_DAYS: u32 = 3660;
const MAX_OFFICES: u32 = 99;
const MAX_SCALE: f64 = 5000.0;

impl GenParams {
    /// Checks the parameters once; the message names the flag and the offending value.
    pub fn build(self, out: PathBuf) -> Result<GenConfig, String> {
        let start = time::parse_day(&self.start)
            .ok_or_else(|| format!("--start {:?}: expected a date YYYY-MM-DD", self.start))?;
        if !(1..=MAX_DAYS).contains(&self.days) {
            return Err(format!("--days {}: expected 1 to {MAX_DAYS}", self.days));
        }
        let (y0, _, _) = time::civil_from_days(start);
        let (y1, _, _) = time::civil_from_days(start + self.days as i32 - 1);
        if y0 < 2000 || y1 > 2099 {
            return Err(format!(
                "--start {} --days {}: the data set must lie within 2000 to 2099",
                self.start, self.days
            ));
        }
        if !(1..=MAX_OFFICES).contains(&self.offices) {
            return Err(format!(
                "--offices {}: expected 1 to {MAX_OFFICES}",
                self.offices
            ));
        }
        if !(self.scale.is_finite() && self.scale > 0.0 && self.scale <= MAX_SCALE) {
            return Err(format!(
                "--scale {}: expected a number above 0 and at most {MAX_SCALE}",
                self.scale
            ));
        }
        let operators = ((8.0 * self.scale).round() as u64).max(5) * self.offices as u64;
        if operators >= 100_000 {
            return Err(format!(
                "--scale {} --offices {}: {operators} operators; at most 99,999 fit the \
                 register's ids (OP00001…)",
                self.scale, self.offices
            ));
        }
        if !(self.anomalies.is_finite() && (0.0..=20.0).contains(&self.anomalies)) {
            return Err(format!(
                "--anomalies {}: expected 0 to 20 per office and day",
                self.anomalies
            ));
        }
        if !(self.malformed.is_finite() && (0.0..=0.5).contains(&self.malformed)) {
            return Err(format!(
                "--malformed {}: expected 0 to 0.5 per line",
                self.malformed
            ));
        }
        for (flag, empty) in [
            ("--formats", self.formats.is_empty()),
            ("--encodings", self.encodings.is_empty()),
            ("--compress", self.compress.is_empty()),
        ] {
            if empty {
                return Err(format!("{flag}: give at least one value"));
            }
        }
        let mut params = self;
        dedup(&mut params.formats);
        dedup(&mut params.encodings);
        dedup(&mut params.compress);
        Ok(GenConfig {
            out,
            params,
            start,
            threads: None,
            force: false,
            quiet: false,
        })
    }

    /// The parameters as the TOML of `gen.toml` (written by hand: the `toml` crate is
    /// built without its writer), with the command line that re-makes the data set.
    pub fn to_toml(&self, out: &str) -> String {
        let list = |v: Vec<&str>| {
            let items: Vec<String> = v.iter().map(|s| format!("\"{s}\"")).collect();
            format!("[{}]", items.join(", "))
        };
        format!(
            "# tenken gen: the parameters of this data set. Re-make it with:\n\
             # {}\n\
             seed = {}\n\
             days = {}\n\
             start = \"{}\"\n\
             offices = {}\n\
             scale = {:?}\n\
             anomalies = {:?}\n\
             malformed = {:?}\n\
             formats = {}\n\
             encodings = {}\n\
             compress = {}\n\
             duplicates = {}\n\
             shuffle = {}\n",
            self.command_line(out),
            self.seed,
            self.days,
            self.start,
            self.offices,
            self.scale,
            self.anomalies,
            self.malformed,
            list(self.formats.iter().map(|f| f.as_str()).collect()),
            list(self.encodings.iter().map(|e| e.as_str()).collect()),
            list(self.compress.iter().map(|c| c.as_str()).collect()),
            self.duplicates,
            self.shuffle,
        )
    }

    /// The command line that re-makes the data set into `out`.
    pub fn command_line(&self, out: &str) -> String {
        let join = |v: Vec<&str>| v.join(",");
        let mut s = format!(
            "tenken gen --out {out} --seed {} --days {} --start {} --offices {} --scale {} \
             --anomalies {} --malformed {} --formats {} --encodings {} --compress {}",
            self.seed,
            self.days,
            self.start,
            self.offices,
            self.scale,
            self.anomalies,
            self.malformed,
            join(self.formats.iter().map(|f| f.as_str()).collect()),
            join(self.encodings.iter().map(|e| e.as_str()).collect()),
            join(self.compress.iter().map(|c| c.as_str()).collect()),
        );
        if !self.duplicates {
            s.push_str(" --no-duplicates");
        }
        if !self.shuffle {
            s.push_str(" --no-shuffle");
        }
        s
    }
}

fn dedup<T: PartialEq + Copy>(v: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(v.len());
    v.retain(|x| {
        if seen.contains(x) {
            false
        } else {
            seen.push(*x);
            true
        }
    });
}

impl GenConfig {
    /// Validates the command-line flags.
    pub fn from_args(args: &GenArgs) -> Result<GenConfig, String> {
        let params = GenParams {
            seed: args.seed,
            days: args.days,
            start: args.start.trim().to_owned(),
            offices: args.offices,
            scale: args.scale,
            anomalies: args.anomalies,
            malformed: args.malformed,
            formats: args.formats.clone(),
            encodings: args.encodings.clone(),
            compress: args.compress.clone(),
            duplicates: !args.no_duplicates,
            shuffle: !args.no_shuffle,
        };
        if args.threads == Some(0) {
            return Err("--threads 0: expected at least 1".into());
        }
        let mut cfg = params.build(args.out.clone())?;
        cfg.threads = args.threads;
        cfg.force = args.force;
        cfg.quiet = args.quiet;
        Ok(cfg)
    }

    /// The last day (inclusive).
    pub fn end(&self) -> Day {
        self.start + self.params.days as i32 - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> GenParams {
        GenParams {
            seed: 1,
            days: 7,
            start: "2026-04-01".into(),
            offices: 3,
            scale: 1.0,
            anomalies: 1.0,
            malformed: 0.001,
            formats: vec![Format::Csv, Format::Kv],
            encodings: vec![Encoding::Utf8],
            compress: vec![Compress::None, Compress::None],
            duplicates: true,
            shuffle: true,
        }
    }

    #[test]
    fn builds_and_dedups() {
        let cfg = params().build("x".into()).unwrap();
        assert_eq!(cfg.params.compress, vec![Compress::None]);
        assert_eq!(time::format_day(cfg.end()), "2026-04-07");
    }

    #[test]
    fn rejects_bad_values_naming_the_flag() {
        let bad = [
            GenParams {
                start: "2026-13-01".into(),
                ..params()
            },
            GenParams {
                days: 0,
                ..params()
            },
            GenParams {
                scale: f64::NAN,
                ..params()
            },
            GenParams {
                anomalies: -1.0,
                ..params()
            },
            GenParams {
                formats: vec![],
                ..params()
            },
        ];
        let flags = ["--start", "--days", "--scale", "--anomalies", "--formats"];
        for (p, flag) in bad.into_iter().zip(flags) {
            let err = p.build("x".into()).unwrap_err();
            assert!(err.starts_with(flag), "{err}");
        }
    }

    #[test]
    fn gen_toml_round_trips() {
        let p = params();
        let text = p.to_toml("out");
        let back: GenParams = toml::from_str(&text).unwrap();
        assert_eq!(back, p);
        assert!(toml::from_str::<GenParams>(&format!("{text}\nextra = 1\n")).is_err());
    }
}
