//! Loading the rule tables (台帳): the sample ledger folder with a request register of
//! 200,000 rows written in code, the register's largest part being what a city's nightly
//! export looks like (`REQ-KW01-260401-00001`, received date, kind, business, resident).
//!
//! `cargo bench --bench ledger` reports bytes per second (criterion's `Throughput::Bytes`)
//! over the whole folder. The register dominates: on the 2.17 M-row register of the
//! 1 GiB bench set the load is about 0.4 CPU-s and 70 MB resident.

// The same allocator as the binary, so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tenken::ledger::Ledgers;

const REQUESTS: usize = 200_000;
const KINDS: [&str; 4] = ["REQUEST", "APPLICATION", "NOTIFICATION", "EX_OFFICIO"];

fn folder(dir: &Path) -> std::io::Result<u64> {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ledgers/sample");
    let mut bytes = 0;
    for entry in std::fs::read_dir(&sample)? {
        let entry = entry?;
        if entry.file_name() != "requests.csv" {
            bytes += std::fs::copy(entry.path(), dir.join(entry.file_name()))?;
        }
    }
    let mut text = String::from("request_no,received_on,kind,business_code,target_code\n");
    // As an export lists them: office by office, each office's forms day by day.
    let per_day = REQUESTS / (10 * 28);
    for i in 0..REQUESTS {
        let block = (i / per_day).min(10 * 28 - 1);
        let _ = writeln!(
            text,
            "REQ-KW{:02}-2604{:02}-{:05},2026-04-{:02},{},W0{},{:011}",
            block / 28 + 1,
            block % 28 + 1,
            i,
            block % 28 + 1,
            KINDS[i % KINDS.len()],
            i % 3 + 1,
            10_000_000_000u64 + (i as u64 * 7_919) % 89_999_999_999
        );
    }
    std::fs::write(dir.join("requests.csv"), &text)?;
    Ok(bytes + text.len() as u64)
}

fn bench(c: &mut Criterion) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return eprintln!("ledger bench: no temporary folder: {e}"),
    };
    let bytes = match folder(dir.path()) {
        Ok(b) => b,
        Err(e) => return eprintln!("ledger bench: cannot write the ledger folder: {e}"),
    };
    // A folder the loader rejects would only measure how fast it fails.
    if let Err(e) = Ledgers::load(dir.path()) {
        return eprintln!("ledger bench: the generated folder does not load: {e}");
    }
    let mut group = c.benchmark_group("ledger");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(20);
    group.bench_function("load sample + 200k requests", |b| {
        b.iter(|| {
            let ledgers = Ledgers::load(dir.path());
            black_box(ledgers.map(|l| l.requests.map_or(0, |r| r.len())).ok())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
