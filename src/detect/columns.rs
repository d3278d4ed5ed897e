//! One day's batch, checked and laid out for the rules.
//!
//! The rules read every row many times (once per unit), so the batch is turned once into
//! flat per-row vectors: the operation as an [`Op`], `result == "OK"` as a bool, and every
//! dictionary column as a *symbol* — an index into that column's de-duplicated values.
//! Dictionaries differ from batch to batch (and may repeat a value), so symbols are only
//! meaningful within one [`DayCtx`]; anything carried to the next day is kept as text.
//!
//! The contract of [`crate::detect::Detector::judge_day`] (every row on the day, rows
//! sorted by `(timestamp, event_id)`, ids unique) is checked here rather than trusted: the
//! window and session semantics silently go wrong on unsorted input.

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, RecordBatch, StringArray};
use arrow_schema::DataType;
use hashbrown::HashMap;

use super::DetectError;
use super::index::LedgerIndex;
use super::predicate::Field;
use crate::findings::{Facts, Finding};
use crate::ledger::Ledgers;
use crate::model::{Op, RuleId};
use crate::normalize::schema::{COLUMN_NAMES, col, dict_type, timestamp_type};
use crate::time::{self, Day};

/// The symbol of an absent value.
pub(crate) const NONE: u32 = u32::MAX;

/// A dictionary column as per-row symbols over its distinct values.
#[derive(Debug)]
pub(crate) struct DictCol<'a> {
    /// One symbol per row; [`NONE`] for an absent value.
    pub syms: Vec<u32>,
    /// The distinct values, indexed by symbol.
    pub values: Vec<&'a str>,
}

impl<'a> DictCol<'a> {
    fn new(batch: &'a RecordBatch, c: usize) -> Result<DictCol<'a>, DetectError> {
        let dict = dictionary(batch, c)?;
        let values = dict.values().as_string_opt::<i32>().ok_or_else(|| {
            schema_error(
                c,
                format!("dictionary values of type {}", dict.values().data_type()),
            )
        })?;
        // Map dictionary keys to symbols over distinct, non-null values: a dictionary may
        // hold a value twice, and the rules compare values, not keys.
        let mut distinct: Vec<&'a str> = Vec::with_capacity(values.len());
        let mut seen: HashMap<&'a str, u32> = HashMap::with_capacity(values.len());
        let key_to_sym: Vec<u32> = (0..values.len())
            .map(|k| {
                if values.is_null(k) {
                    return NONE;
                }
                let v = values.value(k);
                *seen.entry(v).or_insert_with(|| {
                    distinct.push(v);
                    (distinct.len() - 1) as u32
                })
            })
            .collect();
        let keys = dict.keys();
        let raw = keys.values();
        let syms = if keys.null_count() == 0 {
            raw.iter()
                .map(|&k| key_to_sym.get(k as usize).copied().unwrap_or(NONE))
                .collect()
        } else {
            raw.iter()
                .enumerate()
                .map(|(i, &k)| {
                    if keys.is_null(i) {
                        NONE
                    } else {
                        key_to_sym.get(k as usize).copied().unwrap_or(NONE)
                    }
                })
                .collect()
        };
        Ok(DictCol {
            syms,
            values: distinct,
        })
    }

    /// The value of `row`, if present.
    #[inline]
    pub fn get(&self, row: usize) -> Option<&'a str> {
        self.value(self.syms[row])
    }

    /// The value of a symbol.
    #[inline]
    pub fn value(&self, sym: u32) -> Option<&'a str> {
        self.values.get(sym as usize).copied()
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

/// A text column; empty text counts as absent, like an empty CSV field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextCol<'a>(pub &'a StringArray);

impl<'a> TextCol<'a> {
    #[inline]
    pub fn get(&self, row: usize) -> Option<&'a str> {
        if self.0.is_null(row) {
            return None;
        }
        let v = self.0.value(row);
        (!v.is_empty()).then_some(v)
    }
}

/// One day's events, checked and laid out for the rules, with the ledgers they are judged by.
pub(crate) struct DayCtx<'a> {
    pub day: Day,
    /// The instant of local midnight that starts `day`.
    pub midnight: i64,
    pub ledgers: &'a Ledgers,
    /// Fast tables over the large ledgers.
    pub index: &'a LedgerIndex,
    /// The latest event time of all input so far, this day included.
    pub latest: Option<i64>,
    pub len: usize,
    pub ts: &'a [i64],
    pub event_id: &'a StringArray,
    pub op: Vec<Op>,
    /// `result == "OK"`.
    pub ok: Vec<bool>,
    pub terminal: DictCol<'a>,
    pub operator: DictCol<'a>,
    pub auth_method: DictCol<'a>,
    pub business: DictCol<'a>,
    pub result: DictCol<'a>,
    pub source_file: DictCol<'a>,
    pub target: TextCol<'a>,
    pub record_count: &'a [i64],
    pub request_no: TextCol<'a>,
    pub approval_no: TextCol<'a>,
    pub ref_event_id: TextCol<'a>,
    pub detail: TextCol<'a>,
    pub extras: TextCol<'a>,
    pub source_line: &'a [u64],
}

fn schema_error(c: usize, found: String) -> DetectError {
    DetectError::Schema {
        column: COLUMN_NAMES.get(c).copied().unwrap_or("?"),
        found,
    }
}

fn column(batch: &RecordBatch, c: usize, expected: &DataType) -> Result<ArrayRef, DetectError> {
    let a = batch
        .columns()
        .get(c)
        .ok_or_else(|| schema_error(c, "no such column".into()))?;
    if a.data_type() != expected {
        return Err(schema_error(
            c,
            format!("type {} (expected {expected})", a.data_type()),
        ));
    }
    Ok(a.clone())
}

fn dictionary(batch: &RecordBatch, c: usize) -> Result<&DictionaryArray<Int32Type>, DetectError> {
    let a = batch
        .columns()
        .get(c)
        .ok_or_else(|| schema_error(c, "no such column".into()))?;
    if a.data_type() != &dict_type() {
        return Err(schema_error(
            c,
            format!("type {} (expected {})", a.data_type(), dict_type()),
        ));
    }
    a.as_dictionary_opt::<Int32Type>()
        .ok_or_else(|| schema_error(c, format!("type {}", a.data_type())))
}

fn text(batch: &RecordBatch, c: usize) -> Result<&StringArray, DetectError> {
    column(batch, c, &DataType::Utf8)?;
    batch
        .column(c)
        .as_string_opt::<i32>()
        .ok_or_else(|| schema_error(c, format!("type {}", batch.column(c).data_type())))
}

impl<'a> DayCtx<'a> {
    /// Checks `batch` against the event schema and the day contract, and lays it out.
    /// `latest` is the latest event time of the days judged before.
    pub fn new(
        day: Day,
        batch: &'a RecordBatch,
        ledgers: &'a Ledgers,
        index: &'a LedgerIndex,
        latest: Option<i64>,
    ) -> Result<DayCtx<'a>, DetectError> {
        let len = batch.num_rows();
        let event_id = text(batch, col::EVENT_ID)?;
        column(batch, col::TIMESTAMP, &timestamp_type())?;
        let ts_array = batch
            .column(col::TIMESTAMP)
            .as_primitive_opt::<arrow_array::types::TimestampMillisecondType>()
            .ok_or_else(|| schema_error(col::TIMESTAMP, "not milliseconds".into()))?;
        for (c, nulls) in [
            (col::EVENT_ID, event_id.null_count()),
            (col::TIMESTAMP, ts_array.null_count()),
        ] {
            if nulls > 0 {
                return Err(schema_error(c, format!("{nulls} absent values")));
            }
        }
        let ts = ts_array.values().as_ref();
        column(batch, col::RECORD_COUNT, &DataType::Int64)?;
        let record_count = batch
            .column(col::RECORD_COUNT)
            .as_primitive::<arrow_array::types::Int64Type>()
            .values()
            .as_ref();
        column(batch, col::SOURCE_LINE, &DataType::UInt64)?;
        let source_line = batch
            .column(col::SOURCE_LINE)
            .as_primitive::<arrow_array::types::UInt64Type>()
            .values()
            .as_ref();

        let operation = DictCol::new(batch, col::OPERATION)?;
        let op_of_sym = operation
            .values
            .iter()
            .map(|v| {
                Op::parse(v.as_bytes()).ok_or_else(|| DetectError::UnknownOperation {
                    value: (*v).to_owned(),
                })
            })
            .collect::<Result<Vec<Op>, _>>()?;
        let mut op = Vec::with_capacity(len);
        for (row, &s) in operation.syms.iter().enumerate() {
            match op_of_sym.get(s as usize) {
                Some(&o) => op.push(o),
                None => {
                    return Err(DetectError::UnknownOperation {
                        value: format!("(absent) at event {}", event_id.value(row)),
                    });
                }
            }
        }
        let result = DictCol::new(batch, col::RESULT)?;
        let ok_of_sym: Vec<bool> = result.values.iter().map(|v| *v == "OK").collect();
        let ok = result
            .syms
            .iter()
            .map(|&s| ok_of_sym.get(s as usize).copied().unwrap_or(false))
            .collect();

        let ctx = DayCtx {
            day,
            midnight: time::jst_midnight(day),
            ledgers,
            index,
            latest: latest.max(ts.last().copied()),
            len,
            ts,
            event_id,
            op,
            ok,
            terminal: DictCol::new(batch, col::TERMINAL_ID)?,
            operator: DictCol::new(batch, col::OPERATOR_ID)?,
            auth_method: DictCol::new(batch, col::AUTH_METHOD)?,
            business: DictCol::new(batch, col::BUSINESS_CODE)?,
            result,
            source_file: DictCol::new(batch, col::SOURCE_FILE)?,
            target: TextCol(text(batch, col::TARGET_CODE)?),
            record_count,
            request_no: TextCol(text(batch, col::REQUEST_NO)?),
            approval_no: TextCol(text(batch, col::APPROVAL_NO)?),
            ref_event_id: TextCol(text(batch, col::REF_EVENT_ID)?),
            detail: TextCol(text(batch, col::DETAIL)?),
            extras: TextCol(text(batch, col::EXTRAS)?),
            source_line,
        };
        ctx.check_order()?;
        Ok(ctx)
    }

    /// Where a row came from, for error messages: `file:line`.
    fn origin(&self, row: usize) -> String {
        format!(
            "{}:{}",
            self.source_file.get(row).unwrap_or("?"),
            self.source_line.get(row).copied().unwrap_or(0)
        )
    }

    /// Every row on `day`, rows strictly ascending by `(timestamp, event_id)`.
    fn check_order(&self) -> Result<(), DetectError> {
        let (lo, hi) = (self.midnight, self.midnight + time::DAY_MS);
        for row in 0..self.len {
            let t = self.ts[row];
            if t < lo || t >= hi {
                return Err(DetectError::WrongDay {
                    origin: self.origin(row),
                    event_id: self.event_id.value(row).to_owned(),
                    timestamp: time::format_jst(t),
                    day: time::format_day(self.day),
                });
            }
            if row > 0 {
                let p = row - 1;
                let ordered = match self.ts[p].cmp(&t) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Equal => self.event_id.value(p) < self.event_id.value(row),
                    std::cmp::Ordering::Greater => false,
                };
                if !ordered {
                    return Err(DetectError::Unsorted {
                        origin: self.origin(row),
                        event_id: self.event_id.value(row).to_owned(),
                        previous: self.event_id.value(p).to_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The dictionary column behind a field, if it is one.
    #[inline]
    pub fn dict(&self, f: Field) -> Option<&DictCol<'a>> {
        Some(match f {
            Field::TerminalId => &self.terminal,
            Field::OperatorId => &self.operator,
            Field::AuthMethod => &self.auth_method,
            Field::BusinessCode => &self.business,
            Field::Result => &self.result,
            Field::SourceFile => &self.source_file,
            _ => return None,
        })
    }

    /// The text of a field of `row` as stored (`None` for an absent value and for the
    /// numeric fields): what windows group and count by.
    #[inline]
    pub fn text(&self, f: Field, row: usize) -> Option<&'a str> {
        match f {
            Field::EventId => Some(self.id(row)),
            Field::Operation => Some(self.op[row].as_str()),
            Field::TargetCode => self.target.get(row),
            Field::RequestNo => self.request_no.get(row),
            Field::ApprovalNo => self.approval_no.get(row),
            Field::RefEventId => self.ref_event_id.get(row),
            Field::Detail => self.detail.get(row),
            Field::Extras => self.extras.get(row),
            Field::Timestamp | Field::RecordCount | Field::SourceLine => None,
            _ => self.dict(f).and_then(|c| c.get(row)),
        }
    }

    #[inline]
    pub fn id(&self, row: usize) -> &'a str {
        self.event_id.value(row)
    }

    /// The end of the group of rows sharing `row`'s timestamp (exclusive).
    #[inline]
    pub fn group_end(&self, row: usize) -> usize {
        let t = self.ts[row];
        let mut end = row + 1;
        while end < self.len && self.ts[end] == t {
            end += 1;
        }
        end
    }

    /// A finding of `rule` on `row`, judged today.
    pub fn finding(
        &self,
        rule: RuleId,
        row: usize,
        evidence: Vec<String>,
        facts: Facts,
    ) -> Finding {
        Finding {
            rule,
            event_id: self.id(row).to_owned(),
            timestamp: self.ts[row],
            operator_id: self.operator.get(row).map(str::to_owned),
            terminal_id: self.terminal.get(row).map(str::to_owned),
            office: self.office(row),
            evidence,
            facts,
            judged_on: self.day,
        }
    }

    /// The office of a finding on `row` (terminal's office, else the operator's
    /// designation row's office on the day).
    pub fn office(&self, row: usize) -> Option<String> {
        office_of(
            self.ledgers,
            self.terminal.get(row),
            self.operator.get(row),
            self.day,
        )
    }
}

/// `office` of a finding: the terminal's office from `terminals.csv`, else the office of
/// the operator's designation row on `day`, else none.
pub(crate) fn office_of(
    ledgers: &Ledgers,
    terminal: Option<&str>,
    operator: Option<&str>,
    day: Day,
) -> Option<String> {
    terminal
        .and_then(|t| ledgers.terminals.get(t))
        .map(|t| t.office.clone())
        .or_else(|| {
            operator
                .and_then(|o| ledgers.operators.designation(o, day))
                .map(|d| d.office.clone())
        })
        .filter(|o| !o.is_empty())
}
