//! Findings as Arrow: the findings-file columns, and the archive's findings schema.
//!
//! ## Archive findings schema, version 1
//!
//! | # | column | Arrow type | null | notes |
//! |---|--------|-----------|------|-------|
//! | 0 | `rule_id` | Utf8 | no | the id of `rules.md` |
//! | 1 | `severity` | Utf8 | no | `low`, `medium`, `high` |
//! | 2 | `event_id` | Utf8 | no | the flagged event |
//! | 3 | `timestamp` | Timestamp(ms, "UTC") | no | the flagged event's instant |
//! | 4 | `operator_id` | Utf8 | yes | |
//! | 5 | `terminal_id` | Utf8 | yes | |
//! | 6 | `office` | Utf8 | yes | terminal's office, else the operator's |
//! | 7 | `message` | Utf8 | no | Japanese |
//! | 8 | `evidence` | List(Utf8) | no | event ids, the flagged event first |
//! | 9 | `message_en` | Utf8 | no | English |
//! | 10 | `judged_on` | Date32 | no | the local day whose judging produced the finding |
//! | 11 | `facts` | Utf8 | no | JSON of [`Facts`] (serde's external tagging) |
//!
//! The first nine columns, with `message` in the chosen language, are the Parquet
//! findings file of `cli.md`. [`from_record_batch`] reads an archive batch back into
//! exactly the findings it was made of.

use std::sync::{Arc, LazyLock};

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, TimestampMillisecondType};
use arrow_array::{
    Array, ArrayRef, Date32Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::{Facts, Finding, FindingsError, Lang, message};
use crate::model::RuleId;
use crate::normalize::schema::timestamp_type;

/// The version of the archive findings schema.
pub const FINDINGS_SCHEMA_VERSION: u32 = 1;

/// The columns of the findings file, in order.
pub const FILE_COLUMNS: [&str; 9] = [
    "rule_id",
    "severity",
    "event_id",
    "timestamp",
    "operator_id",
    "terminal_id",
    "office",
    "message",
    "evidence",
];

fn evidence_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Utf8, false))
}

fn file_fields() -> Vec<Field> {
    vec![
        Field::new("rule_id", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("timestamp", timestamp_type(), false),
        Field::new("operator_id", DataType::Utf8, true),
        Field::new("terminal_id", DataType::Utf8, true),
        Field::new("office", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, false),
        Field::new("evidence", DataType::List(evidence_item()), false),
    ]
}

static FILE_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new(file_fields())));

static ARCHIVE_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = file_fields();
    fields.push(Field::new("message_en", DataType::Utf8, false));
    fields.push(Field::new("judged_on", DataType::Date32, false));
    fields.push(Field::new("facts", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
});

/// The schema of the Parquet findings file.
pub fn file_schema() -> SchemaRef {
    Arc::clone(&FILE_SCHEMA)
}

/// The archive findings schema (version 1).
pub fn archive_schema() -> SchemaRef {
    Arc::clone(&ARCHIVE_SCHEMA)
}

fn arrow_error(e: arrow_schema::ArrowError) -> FindingsError {
    FindingsError::Batch {
        message: e.to_string(),
    }
}

/// The nine columns of the findings file, in the given order of findings.
fn file_columns<'a>(
    findings: impl Iterator<Item = &'a Finding> + Clone,
    lang: Lang,
) -> Vec<ArrayRef> {
    let text = |f: fn(&Finding) -> Option<&str>| -> ArrayRef {
        Arc::new(findings.clone().map(f).collect::<StringArray>())
    };
    let mut evidence = ListBuilder::new(StringBuilder::new()).with_field(evidence_item());
    for f in findings.clone() {
        for id in &f.evidence {
            evidence.values().append_value(id);
        }
        evidence.append(true);
    }
    vec![
        text(|f| Some(f.rule.as_str())),
        text(|f| Some(f.severity().as_str())),
        text(|f| Some(&f.event_id)),
        Arc::new(
            findings
                .clone()
                .map(|f| Some(f.timestamp))
                .collect::<TimestampMillisecondArray>()
                .with_timezone("UTC"),
        ),
        text(|f| f.operator_id.as_deref()),
        text(|f| f.terminal_id.as_deref()),
        text(|f| f.office.as_deref()),
        Arc::new(
            findings
                .clone()
                .map(|f| Some(message(f, lang)))
                .collect::<StringArray>(),
        ),
        Arc::new(evidence.finish()),
    ]
}

/// The findings file's columns as one batch (for the Parquet writer), in the order given.
pub fn to_file_batch(findings: &[&Finding], lang: Lang) -> Result<RecordBatch, FindingsError> {
    RecordBatch::try_new(file_schema(), file_columns(findings.iter().copied(), lang))
        .map_err(arrow_error)
}

/// Findings as an archive batch (schema version 1), in the order given.
pub fn to_record_batch(findings: &[Finding]) -> Result<RecordBatch, FindingsError> {
    let mut columns = file_columns(findings.iter(), Lang::Ja);
    columns.push(Arc::new(
        findings
            .iter()
            .map(|f| Some(message(f, Lang::En)))
            .collect::<StringArray>(),
    ));
    columns.push(Arc::new(
        findings
            .iter()
            .map(|f| Some(f.judged_on))
            .collect::<Date32Array>(),
    ));
    let facts = findings
        .iter()
        .map(|f| {
            serde_json::to_string(&f.facts).map_err(|e| FindingsError::Batch {
                message: format!("facts of {} on {}: {e}", f.rule, f.event_id),
            })
        })
        .collect::<Result<Vec<String>, _>>()?;
    columns.push(Arc::new(StringArray::from(facts)));
    RecordBatch::try_new(archive_schema(), columns).map_err(arrow_error)
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, FindingsError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| FindingsError::Batch {
            message: format!("no column `{name}`"),
        })
}

fn strings<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray, FindingsError> {
    column(batch, name)?
        .as_string_opt::<i32>()
        .ok_or_else(|| FindingsError::Batch {
            message: format!("column `{name}` is not Utf8"),
        })
}

/// Reads an archive batch (schema version 1) back into findings.
pub fn from_record_batch(batch: &RecordBatch) -> Result<Vec<Finding>, FindingsError> {
    let rule = strings(batch, "rule_id")?;
    let event = strings(batch, "event_id")?;
    let ts = column(batch, "timestamp")?
        .as_primitive_opt::<TimestampMillisecondType>()
        .ok_or_else(|| FindingsError::Batch {
            message: "column `timestamp` is not Timestamp(ms)".into(),
        })?;
    let operator = strings(batch, "operator_id")?;
    let terminal = strings(batch, "terminal_id")?;
    let office = strings(batch, "office")?;
    let evidence = column(batch, "evidence")?
        .as_list_opt::<i32>()
        .ok_or_else(|| FindingsError::Batch {
            message: "column `evidence` is not a list".into(),
        })?;
    let judged = column(batch, "judged_on")?
        .as_primitive_opt::<Date32Type>()
        .ok_or_else(|| FindingsError::Batch {
            message: "column `judged_on` is not Date32".into(),
        })?;
    let facts = strings(batch, "facts")?;
    let opt = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_owned());
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let row = i + 1;
        let rule: RuleId = rule.value(i).parse().map_err(|e| FindingsError::Batch {
            message: format!("row {row}: {e}"),
        })?;
        let ids = evidence.value(i);
        let ids = ids
            .as_string_opt::<i32>()
            .ok_or_else(|| FindingsError::Batch {
                message: "evidence items are not Utf8".into(),
            })?;
        let facts: Facts =
            serde_json::from_str(facts.value(i)).map_err(|e| FindingsError::Batch {
                message: format!("row {row}: facts: {e}"),
            })?;
        out.push(Finding {
            rule,
            event_id: event.value(i).to_owned(),
            timestamp: ts.value(i),
            operator_id: opt(operator, i),
            terminal_id: opt(terminal, i),
            office: opt(office, i),
            evidence: ids.iter().flatten().map(str::to_owned).collect(),
            facts,
            judged_on: judged.value(i),
        });
    }
    Ok(out)
}
