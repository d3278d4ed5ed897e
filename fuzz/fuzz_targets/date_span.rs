//! Fuzzes the date pass that orders files (`ingest::dates`): for arbitrary bytes read as a
//! whole file, its span must hold the local date of every event the decoder makes of
//! the same bytes (a narrower span would let a day be judged before all its events).
#![no_main]

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use libfuzzer_sys::fuzz_target;
use tenken::ingest::dates::{DaySpan, span_of_text};
use tenken::ingest::sniff::{self, Sniffed};
use tenken::normalize::DecoderBuilder;
use tenken::normalize::schema::col;
use tenken::time::jst_day;

fuzz_target!(|data: &[u8]| {
    let Sniffed::Format(format) = sniff::format(data) else {
        return;
    };
    let encoding = sniff::encoding(data, true).unwrap_or(tenken::normalize::Encoding::Utf8);
    let mut d = DecoderBuilder::new(format, "fuzz").with_encoding(encoding).build();
    d.decode_final(data).expect("decode_final");
    let span = span_of_text(data);
    for b in d.flush().expect("flush") {
        let ts = b.column(col::TIMESTAMP).as_primitive::<TimestampMillisecondType>();
        for &t in ts.values() {
            let day = jst_day(t);
            match span {
                DaySpan::Unknown => {}
                DaySpan::Empty => panic!("an event on day {day} in a file whose span is empty"),
                DaySpan::Days { first, last } => {
                    assert!((first..=last).contains(&day), "day {day} outside {first}..={last}")
                }
            }
        }
    }
});
