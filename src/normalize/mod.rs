//! Lines to Arrow: the parsers of `oplog.md` and the column builders behind them.
//!
//! [`csv`] and [`kv`] find the fields of one line; [`decoder`] validates them and feeds
//! [`builder`], which builds batches of the one event [`schema`]. Lines that cannot be
//! events become [`Reject`]s.

pub mod builder;
pub mod csv;
pub mod decoder;
pub mod kv;
pub mod reject;
pub mod schema;

pub use builder::{EventBatchBuilder, EventRow, batch_from_rows};
pub use decoder::{DecodeStats, Decoder, DecoderBuilder, Encoding, Format};
pub use reject::{Reject, RejectReason};
