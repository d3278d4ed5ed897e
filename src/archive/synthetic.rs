//! Synthetic event days for the archive's benchmarks and tests.
//!
//! The project's real generator is `tenken gen` (logs and ledgers with anomalies); the
//! archive only needs batches that *look* like a ward office's day to Parquet — a few
//! hundred operators and terminals, residents drawn from a large population, sessions of
//! log-in, searches and views, outputs with request numbers — so that sizes, dictionary
//! encoding and Bloom filters behave as they will in production. Deterministic per
//! `(seed, day)`.

use arrow_array::RecordBatch;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::model::Op;
use crate::normalize::{EventBatchBuilder, EventRow};
use crate::time::{self, Day};

/// The shape of a synthetic day.
#[derive(Debug, Clone, Copy)]
pub struct SynthDay {
    pub events: usize,
    pub operators: u32,
    pub terminals: u32,
    /// Residents events are drawn from (住民票コード space).
    pub residents: u64,
    pub seed: u64,
}

impl Default for SynthDay {
    fn default() -> Self {
        SynthDay {
            events: 10_000,
            operators: 300,
            terminals: 150,
            residents: 500_000,
            seed: 1,
        }
    }
}

/// The resident code of resident number `n`: eleven digits.
pub fn resident_code(n: u64) -> String {
    format!("{:011}", 10_000_000_000u64 + n % 90_000_000_000)
}

/// One day of events of the event schema, sorted by time, event ids unique per day.
pub fn day_batch(day: Day, shape: &SynthDay) -> RecordBatch {
    let mut rng =
        Pcg64Mcg::seed_from_u64(shape.seed ^ (day as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let open = time::jst_midnight(day) + 8 * 3_600_000 + 30 * 60_000;
    let span = 9 * 3_600_000i64;
    let mut stamps: Vec<i64> = (0..shape.events)
        .map(|_| open + rng.random_range(0..span))
        .collect();
    stamps.sort_unstable();
    let (y, m, d) = time::civil_from_days(day);
    let source = format!("logs/honcho/{y:04}-{m:02}-{d:02}.csv");
    let mut b = EventBatchBuilder::new(&source, shape.events.max(1));
    let ops = [
        (Op::Search, 30),
        (Op::View, 45),
        (Op::Print, 6),
        (Op::Login, 6),
        (Op::Logout, 6),
        (Op::Input, 3),
        (Op::Verify, 3),
        (Op::Correct, 1),
    ];
    let total: u32 = ops.iter().map(|o| o.1).sum();
    let businesses = ["A01", "A02", "B01", "C03", "Z01"];
    let details = [
        "住民票の写し交付",
        "転入届",
        "転出届",
        "印鑑登録",
        "世帯照会",
        "職権修正",
    ];
    for (i, ts) in stamps.into_iter().enumerate() {
        let mut pick = rng.random_range(0..total);
        let mut op = Op::View;
        for (o, w) in ops {
            if pick < w {
                op = o;
                break;
            }
            pick -= w;
        }
        let operator = format!("OP{:04}", rng.random_range(0..shape.operators));
        let terminal = format!("T{:04}", rng.random_range(0..shape.terminals));
        let target = matches!(
            op,
            Op::Search | Op::View | Op::Print | Op::Input | Op::Correct | Op::Verify
        )
        .then(|| resident_code(rng.random_range(0..shape.residents)));
        let event_id = format!("E{y:04}{m:02}{d:02}-{i:07}");
        let request = (op == Op::Print).then(|| format!("R{:06}", rng.random_range(0..999_999)));
        let detail = details[rng.random_range(0..details.len())];
        let business = businesses[rng.random_range(0..businesses.len())];
        let row = EventRow {
            terminal_id: Some(&terminal),
            operator_id: Some(&operator),
            auth_method: Some(if rng.random_range(0..10) < 8 {
                "VEIN"
            } else {
                "PIN"
            }),
            business_code: Some(business),
            target_code: target.as_deref(),
            record_count: if op == Op::Print {
                rng.random_range(1..5)
            } else {
                0
            },
            request_no: request.as_deref(),
            result: Some("OK"),
            detail: Some(detail),
            line: i as u64 + 2,
            ..EventRow::new(&event_id, ts, op)
        };
        b.push(&row);
    }
    // The builder's columns have the schema's types and equal lengths by construction.
    b.finish()
        .unwrap_or_else(|_| RecordBatch::new_empty(crate::normalize::schema::event_schema()))
}
