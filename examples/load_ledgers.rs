//! Loads one ledger folder and prints what it holds: a stand-alone measure of the ledger
//! load (`/usr/bin/time`, `perf stat`) without the log scan around it.
//!
//! `cargo run --release --example load_ledgers -- DIR`

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: load_ledgers DIR"))?;
    let ledgers = tenken::ledger::Ledgers::load(std::path::Path::new(&dir))?;
    println!(
        "operators {} terminals {} approvals {} requests {}",
        ledgers.operators.len(),
        ledgers.terminals.len(),
        ledgers.approvals.len(),
        ledgers.requests.as_ref().map_or(0, |r| r.len())
    );
    Ok(())
}
