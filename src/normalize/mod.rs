//! Lines to Arrow: the parsers of `oplog.md` and the column builders behind them.

pub mod builder;
pub mod reject;
pub mod schema;

pub use builder::{EventBatchBuilder, EventRow, batch_from_rows};
pub use reject::{Reject, RejectReason};
