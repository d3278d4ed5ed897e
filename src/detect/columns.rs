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

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Int32Type, Int64Type, TimestampMillisecondType, UInt64Type,
};
use arrow_array::{Array, ArrayRef, DictionaryArray, PrimitiveArray, RecordBatch, StringArray};
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

/// One day's rows as they are handed to the rules: one or more batches of the event
/// schema and the day's order over them.
///
/// The day store files each input batch's rows under their date and sorts the day by
/// reference, as `(part, row)` pairs; gathering every column into one sorted batch would
/// copy each string once more for nothing when the rules read only a few of them. A single
/// batch already in order needs no `order`.
#[derive(Debug, Clone, Copy)]
pub struct DayRows<'a> {
    pub parts: &'a [RecordBatch],
    /// `order[i]` is the `(part, row)` of the day's `i`-th row; `None`: part 0 as it is.
    pub order: Option<&'a [(u32, u32)]>,
}

impl<'a> DayRows<'a> {
    /// One batch, already in the day's order.
    pub fn single(batch: &'a RecordBatch) -> DayRows<'a> {
        DayRows {
            parts: std::slice::from_ref(batch),
            order: None,
        }
    }

    /// Number of rows of the day.
    pub fn len(&self) -> usize {
        match self.order {
            Some(o) => o.len(),
            None => self.parts.first().map_or(0, RecordBatch::num_rows),
        }
    }

    /// Whether the day has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every `(part, row)` of `order` within the parts.
    fn check(&self) -> Result<(), DetectError> {
        let Some(order) = self.order else {
            return Ok(());
        };
        let sizes: Vec<u32> = self.parts.iter().map(|b| b.num_rows() as u32).collect();
        let bad = order
            .iter()
            .find(|&&(p, r)| sizes.get(p as usize).is_none_or(|&n| r >= n));
        match bad {
            Some(&(part, row)) => Err(DetectError::Schema {
                column: "(order)",
                found: format!("row {row} of part {part}, beyond the {} parts", sizes.len()),
            }),
            None => Ok(()),
        }
    }

    /// One value per row of the day, in order, from each part's `values`.
    fn gather<T: Copy>(&self, values: Vec<&'a [T]>) -> Cow<'a, [T]> {
        match self.order {
            None => Cow::Borrowed(values.first().copied().unwrap_or(&[])),
            Some(order) => Cow::Owned(
                order
                    .iter()
                    .map(|&(p, r)| values[p as usize][r as usize])
                    .collect(),
            ),
        }
    }
}

/// A dictionary column as per-row symbols over its distinct values.
#[derive(Debug)]
pub(crate) struct DictCol<'a> {
    /// One symbol per row; [`NONE`] for an absent value.
    pub syms: Vec<u32>,
    /// The distinct values, indexed by symbol.
    pub values: Vec<&'a str>,
}

impl<'a> DictCol<'a> {
    fn new(rows: DayRows<'a>, c: usize) -> Result<DictCol<'a>, DetectError> {
        // Map each part's dictionary keys to symbols over distinct, non-null values: a
        // dictionary may hold a value twice, parts may have different dictionaries, and the
        // rules compare values, not keys. Parts sharing one dictionary share the mapping.
        let mut distinct: Vec<&'a str> = Vec::new();
        let mut seen: HashMap<&'a str, u32> = HashMap::new();
        // `maps[map_of[p]]` maps part `p`'s keys.
        let mut maps: Vec<Vec<u32>> = Vec::new();
        let mut map_of: Vec<usize> = Vec::with_capacity(rows.parts.len());
        let mut keys: Vec<&'a DictionaryArray<Int32Type>> = Vec::with_capacity(rows.parts.len());
        let mut last: Option<&'a ArrayRef> = None;
        for batch in rows.parts {
            let dict = dictionary(batch, c)?;
            keys.push(dict);
            if let Some(prev) = last
                && Arc::ptr_eq(prev, dict.values())
                && !maps.is_empty()
            {
                map_of.push(maps.len() - 1);
                continue;
            }
            let values = dict.values().as_string_opt::<i32>().ok_or_else(|| {
                schema_error(
                    c,
                    format!("dictionary values of type {}", dict.values().data_type()),
                )
            })?;
            let map: Vec<u32> = (0..values.len())
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
            maps.push(map);
            map_of.push(maps.len() - 1);
            last = Some(dict.values());
        }
        // Each part's symbols in its own row order (a sequential pass), then gathered in
        // the day's order: cheaper than resolving part, nulls and map row by row.
        let part_syms: Vec<Vec<u32>> = keys
            .iter()
            .zip(&map_of)
            .map(|(d, &m)| {
                let map = maps[m].as_slice();
                let keys = d.keys();
                let mut syms: Vec<u32> = keys
                    .values()
                    .iter()
                    .map(|&k| map.get(k as usize).copied().unwrap_or(NONE))
                    .collect();
                if let Some(nulls) = keys.nulls().filter(|n| n.null_count() > 0) {
                    for r in (!nulls.inner()).set_indices() {
                        if let Some(s) = syms.get_mut(r) {
                            *s = NONE;
                        }
                    }
                }
                syms
            })
            .collect();
        let syms = rows
            .gather(part_syms.iter().map(Vec::as_slice).collect())
            .into_owned();
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

    /// Checks what [`DictCol::new`] checks, without laying the column out.
    fn check(rows: DayRows<'a>, c: usize) -> Result<(), DetectError> {
        for batch in rows.parts {
            let dict = dictionary(batch, c)?;
            if dict.values().as_string_opt::<i32>().is_none() {
                return Err(schema_error(
                    c,
                    format!("dictionary values of type {}", dict.values().data_type()),
                ));
            }
        }
        Ok(())
    }
}

/// A dictionary column that no built-in rule reads (`auth_method`, `source_file`): checked
/// with the day, laid out only when a predicate or an error message asks for it.
pub(crate) struct LazyDict<'a> {
    rows: DayRows<'a>,
    c: usize,
    col: std::cell::OnceCell<DictCol<'a>>,
}

impl<'a> LazyDict<'a> {
    /// The column of `rows`, checked now.
    fn new(rows: DayRows<'a>, c: usize) -> Result<LazyDict<'a>, DetectError> {
        DictCol::check(rows, c)?;
        Ok(LazyDict {
            rows,
            c,
            col: std::cell::OnceCell::new(),
        })
    }

    /// The laid-out column.
    pub fn col(&self) -> &DictCol<'a> {
        self.col.get_or_init(|| {
            // Checked in `new`, so this cannot fail; every row absent if it ever did.
            DictCol::new(self.rows, self.c).unwrap_or_else(|_| DictCol {
                syms: vec![NONE; self.rows.len()],
                values: Vec::new(),
            })
        })
    }

    #[inline]
    pub fn get(&self, row: usize) -> Option<&'a str> {
        self.col().get(row)
    }
}

/// A string column of the day, read through the day's order.
#[derive(Debug, Clone)]
pub(crate) struct Strs<'a> {
    parts: Vec<&'a StringArray>,
    order: Option<&'a [(u32, u32)]>,
}

impl<'a> Strs<'a> {
    fn new(rows: DayRows<'a>, c: usize) -> Result<Strs<'a>, DetectError> {
        Ok(Strs {
            parts: rows
                .parts
                .iter()
                .map(|b| text(b, c))
                .collect::<Result<_, _>>()?,
            order: rows.order,
        })
    }

    #[inline]
    fn at(&self, row: usize) -> (&'a StringArray, usize) {
        match self.order {
            None => (self.parts[0], row),
            Some(order) => {
                let (p, r) = order[row];
                (self.parts[p as usize], r as usize)
            }
        }
    }

    /// The value of `row`, `None` if null.
    #[inline]
    pub fn get(&self, row: usize) -> Option<&'a str> {
        let (a, r) = self.at(row);
        (!a.is_null(r)).then(|| a.value(r))
    }

    fn null_count(&self) -> usize {
        self.parts.iter().map(|a| a.null_count()).sum()
    }
}

/// A text column; empty text counts as absent, like an empty CSV field.
#[derive(Debug, Clone)]
pub(crate) struct TextCol<'a>(Strs<'a>);

impl<'a> TextCol<'a> {
    #[inline]
    pub fn get(&self, row: usize) -> Option<&'a str> {
        self.0.get(row).filter(|v| !v.is_empty())
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
    pub ts: Cow<'a, [i64]>,
    pub event_id: Strs<'a>,
    pub op: Vec<Op>,
    /// `result == "OK"`.
    pub ok: Vec<bool>,
    pub terminal: DictCol<'a>,
    pub operator: DictCol<'a>,
    pub auth_method: LazyDict<'a>,
    pub business: DictCol<'a>,
    pub result: DictCol<'a>,
    pub source_file: LazyDict<'a>,
    pub target: TextCol<'a>,
    pub record_count: Cow<'a, [i64]>,
    pub request_no: TextCol<'a>,
    pub approval_no: TextCol<'a>,
    pub ref_event_id: TextCol<'a>,
    pub detail: TextCol<'a>,
    pub extras: TextCol<'a>,
    pub source_line: Cow<'a, [u64]>,
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

/// Column `c` of `batch` as a primitive array of type `expected`.
fn primitive<T: ArrowPrimitiveType>(
    batch: &RecordBatch,
    c: usize,
    expected: DataType,
) -> Result<&PrimitiveArray<T>, DetectError> {
    column(batch, c, &expected)?;
    batch
        .column(c)
        .as_primitive_opt::<T>()
        .ok_or_else(|| schema_error(c, format!("type {}", batch.column(c).data_type())))
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
    /// Checks `rows` against the event schema and the day contract, and lays them out.
    /// `latest` is the latest event time of the days judged before.
    pub fn new(
        day: Day,
        rows: DayRows<'a>,
        ledgers: &'a Ledgers,
        index: &'a LedgerIndex,
        latest: Option<i64>,
    ) -> Result<DayCtx<'a>, DetectError> {
        rows.check()?;
        let len = rows.len();
        let event_id = Strs::new(rows, col::EVENT_ID)?;
        let mut ts_parts = Vec::with_capacity(rows.parts.len());
        let mut record_counts = Vec::with_capacity(rows.parts.len());
        let mut source_lines = Vec::with_capacity(rows.parts.len());
        let mut ts_nulls = 0;
        for batch in rows.parts {
            let ts =
                primitive::<TimestampMillisecondType>(batch, col::TIMESTAMP, timestamp_type())?;
            ts_nulls += ts.null_count();
            ts_parts.push(ts.values().as_ref());
            record_counts.push(
                primitive::<Int64Type>(batch, col::RECORD_COUNT, DataType::Int64)?
                    .values()
                    .as_ref(),
            );
            source_lines.push(
                primitive::<UInt64Type>(batch, col::SOURCE_LINE, DataType::UInt64)?
                    .values()
                    .as_ref(),
            );
        }
        for (c, nulls) in [
            (col::EVENT_ID, event_id.null_count()),
            (col::TIMESTAMP, ts_nulls),
        ] {
            if nulls > 0 {
                return Err(schema_error(c, format!("{nulls} absent values")));
            }
        }
        let ts = rows.gather(ts_parts);
        let record_count = rows.gather(record_counts);
        let source_line = rows.gather(source_lines);

        let operation = DictCol::new(rows, col::OPERATION)?;
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
                        value: format!(
                            "(absent) at event {}",
                            event_id.get(row).unwrap_or_default()
                        ),
                    });
                }
            }
        }
        let result = DictCol::new(rows, col::RESULT)?;
        let ok_of_sym: Vec<bool> = result.values.iter().map(|v| *v == "OK").collect();
        let ok = result
            .syms
            .iter()
            .map(|&s| ok_of_sym.get(s as usize).copied().unwrap_or(false))
            .collect();
        let text_col = |c| Strs::new(rows, c).map(TextCol);

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
            terminal: DictCol::new(rows, col::TERMINAL_ID)?,
            operator: DictCol::new(rows, col::OPERATOR_ID)?,
            auth_method: LazyDict::new(rows, col::AUTH_METHOD)?,
            business: DictCol::new(rows, col::BUSINESS_CODE)?,
            result,
            source_file: LazyDict::new(rows, col::SOURCE_FILE)?,
            target: text_col(col::TARGET_CODE)?,
            record_count,
            request_no: text_col(col::REQUEST_NO)?,
            approval_no: text_col(col::APPROVAL_NO)?,
            ref_event_id: text_col(col::REF_EVENT_ID)?,
            detail: text_col(col::DETAIL)?,
            extras: text_col(col::EXTRAS)?,
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
                    event_id: self.id(row).to_owned(),
                    timestamp: time::format_jst(t),
                    day: time::format_day(self.day),
                });
            }
            if row > 0 {
                let p = row - 1;
                let ordered = match self.ts[p].cmp(&t) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Equal => self.id(p) < self.id(row),
                    std::cmp::Ordering::Greater => false,
                };
                if !ordered {
                    return Err(DetectError::Unsorted {
                        origin: self.origin(row),
                        event_id: self.id(row).to_owned(),
                        previous: self.id(p).to_owned(),
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
            Field::AuthMethod => self.auth_method.col(),
            Field::BusinessCode => &self.business,
            Field::Result => &self.result,
            Field::SourceFile => self.source_file.col(),
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
        // Checked non-null when the day was laid out.
        self.event_id.get(row).unwrap_or_default()
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
