//! The normalized event schema (version 1).
//!
//! Every reader produces `RecordBatch`es of exactly this schema, the rule engine reads it,
//! and the archive stores it. Column names are the CSV column names of `oplog.md`, plus
//! provenance. Changing a column is a schema version bump: the archive records the version
//! it was written with.
//!
//! | # | column | Arrow type | null | notes |
//! |---|--------|-----------|------|-------|
//! | 0 | `event_id` | Utf8 | no | 1–40 characters |
//! | 1 | `timestamp` | Timestamp(ms, "UTC") | no | instant of the operation |
//! | 2 | `terminal_id` | Dictionary(Int32, Utf8) | yes | |
//! | 3 | `operator_id` | Dictionary(Int32, Utf8) | yes | |
//! | 4 | `auth_method` | Dictionary(Int32, Utf8) | yes | `VEIN`, `PIN`, `PASSWORD` as written |
//! | 5 | `operation` | Dictionary(Int32, Utf8) | no | a code of `oplog.md` (validated) |
//! | 6 | `business_code` | Dictionary(Int32, Utf8) | yes | |
//! | 7 | `target_code` | Utf8 | yes | 住民票コード as written |
//! | 8 | `record_count` | Int64 | no | empty field = 0 |
//! | 9 | `request_no` | Utf8 | yes | |
//! | 10 | `approval_no` | Utf8 | yes | |
//! | 11 | `ref_event_id` | Utf8 | yes | |
//! | 12 | `result` | Dictionary(Int32, Utf8) | yes | `OK`, `NG`, error codes |
//! | 13 | `detail` | Utf8 | yes | free text |
//! | 14 | `extras` | Utf8 | yes | key-value lines: unknown `key=value` pairs, as written |
//! | 15 | `source_file` | Dictionary(Int32, Utf8) | no | the path as given on the command line |
//! | 16 | `source_line` | UInt64 | no | 1-based line in the decompressed text |
//!
//! An empty field is null ("absent"), never an empty string.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The version of this schema, stored in archive metadata.
pub const SCHEMA_VERSION: u32 = 1;

/// Column positions in the event schema.
pub mod col {
    pub const EVENT_ID: usize = 0;
    pub const TIMESTAMP: usize = 1;
    pub const TERMINAL_ID: usize = 2;
    pub const OPERATOR_ID: usize = 3;
    pub const AUTH_METHOD: usize = 4;
    pub const OPERATION: usize = 5;
    pub const BUSINESS_CODE: usize = 6;
    pub const TARGET_CODE: usize = 7;
    pub const RECORD_COUNT: usize = 8;
    pub const REQUEST_NO: usize = 9;
    pub const APPROVAL_NO: usize = 10;
    pub const REF_EVENT_ID: usize = 11;
    pub const RESULT: usize = 12;
    pub const DETAIL: usize = 13;
    pub const EXTRAS: usize = 14;
    pub const SOURCE_FILE: usize = 15;
    pub const SOURCE_LINE: usize = 16;
    /// Number of columns.
    pub const COUNT: usize = 17;
}

/// Column names, in schema order.
pub const COLUMN_NAMES: [&str; col::COUNT] = [
    "event_id",
    "timestamp",
    "terminal_id",
    "operator_id",
    "auth_method",
    "operation",
    "business_code",
    "target_code",
    "record_count",
    "request_no",
    "approval_no",
    "ref_event_id",
    "result",
    "detail",
    "extras",
    "source_file",
    "source_line",
];

/// The Arrow type of interned id columns.
pub fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The Arrow type of the `timestamp` column.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

static EVENT_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let utf8 = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let dict = |name: &str, nullable: bool| Field::new(name, dict_type(), nullable);
    Arc::new(Schema::new(vec![
        utf8("event_id", false),
        Field::new("timestamp", timestamp_type(), false),
        dict("terminal_id", true),
        dict("operator_id", true),
        dict("auth_method", true),
        dict("operation", false),
        dict("business_code", true),
        utf8("target_code", true),
        Field::new("record_count", DataType::Int64, false),
        utf8("request_no", true),
        utf8("approval_no", true),
        utf8("ref_event_id", true),
        dict("result", true),
        utf8("detail", true),
        utf8("extras", true),
        dict("source_file", false),
        Field::new("source_line", DataType::UInt64, false),
    ]))
});

/// The normalized event schema.
pub fn event_schema() -> SchemaRef {
    Arc::clone(&EVENT_SCHEMA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_positions() {
        let schema = event_schema();
        assert_eq!(schema.fields().len(), col::COUNT);
        for (i, name) in COLUMN_NAMES.iter().enumerate() {
            assert_eq!(schema.field(i).name(), name);
        }
        assert_eq!(schema.index_of("source_line").ok(), Some(col::SOURCE_LINE));
        assert_eq!(
            schema.index_of("record_count").ok(),
            Some(col::RECORD_COUNT)
        );
    }
}
