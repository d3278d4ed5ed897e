//! The check both fuzz targets make: arbitrary bytes through one decoder, in both
//! encodings, pushed in two pieces; every line must end up an event, a reject, a blank
//! line or the header, and nothing may panic.

use tenken::normalize::{DecoderBuilder, Encoding, Format};

pub fn decode_everything(format: Format, data: &[u8]) {
    let (split, encoding) = match data.first() {
        Some(&b) => (b as usize, if b & 1 == 0 { Encoding::Utf8 } else { Encoding::Cp932 }),
        None => (0, Encoding::Utf8),
    };
    let mut d = DecoderBuilder::new(format, "fuzz").with_encoding(encoding).with_batch_rows(7).build();
    let cut = split.min(data.len());
    let used = d.decode(&data[..cut]).expect("decode");
    d.decode_final(&data[used..]).expect("decode_final");
    let batches = d.flush().expect("flush");
    let rejects = d.take_rejects();
    let s = d.stats();
    assert_eq!(s.events + s.rejected + s.blank + s.header, s.lines);
    assert_eq!(batches.iter().map(|b| b.num_rows() as u64).sum::<u64>(), s.events);
    assert_eq!(rejects.len() as u64, s.rejected);
}
