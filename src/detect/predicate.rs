//! Conditions over an event's columns.
//!
//! A [`Predicate`] is the shape the built-in pattern rules are written in, and the shape
//! user-defined rules will take: equality, sets and numeric comparisons over any column of
//! the event schema (`detail` included), plus a few facts derived from the ledgers
//! ([`Predicate::Covered`]). A predicate is *bound* to one day's batch before use:
//! conditions over dictionary columns are evaluated once per distinct value of the day and
//! become table look-ups, so a per-row test costs an array index whatever the condition.
//! (A regular-expression condition will bind the same way, once per dictionary value.)

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::columns::{DayCtx, DictCol, NONE};
use crate::model::Op;

/// A column of the event schema, by its name in `oplog.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    EventId,
    Timestamp,
    TerminalId,
    OperatorId,
    AuthMethod,
    Operation,
    BusinessCode,
    TargetCode,
    RecordCount,
    RequestNo,
    ApprovalNo,
    RefEventId,
    Result,
    Detail,
    Extras,
    SourceFile,
    SourceLine,
}

impl Field {
    pub const ALL: [Field; 17] = [
        Field::EventId,
        Field::Timestamp,
        Field::TerminalId,
        Field::OperatorId,
        Field::AuthMethod,
        Field::Operation,
        Field::BusinessCode,
        Field::TargetCode,
        Field::RecordCount,
        Field::RequestNo,
        Field::ApprovalNo,
        Field::RefEventId,
        Field::Result,
        Field::Detail,
        Field::Extras,
        Field::SourceFile,
        Field::SourceLine,
    ];

    /// The column name of the event schema.
    pub fn name(self) -> &'static str {
        crate::normalize::schema::COLUMN_NAMES[self as usize]
    }

    /// The field of a column name.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl CmpOp {
    #[inline]
    fn test(self, a: i64, b: i64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Ge => a >= b,
            CmpOp::Gt => a > b,
        }
    }
}

/// A condition over one event.
///
/// Absent values (null or empty text) never equal anything and are never in a set; a
/// numeric comparison on text holds only when the text is an integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    True,
    Not(Box<Predicate>),
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    /// The field has a value.
    Present(Field),
    /// The field's text is exactly this.
    Eq(Field, String),
    /// The field's text is one of these.
    OneOf(Field, BTreeSet<String>),
    /// The field's number compares so to this.
    Cmp(Field, CmpOp, i64),
    /// An approval of `approvals.csv` covers the event (`ledgers.md`).
    Covered,
}

impl Predicate {
    /// `operation` is one of `ops`.
    pub fn ops(ops: &[Op]) -> Predicate {
        Predicate::OneOf(
            Field::Operation,
            ops.iter().map(|o| o.as_str().to_owned()).collect(),
        )
    }

    /// `result` is `OK`.
    pub fn ok() -> Predicate {
        Predicate::Eq(Field::Result, "OK".into())
    }

    /// Binds the predicate to one day's batch.
    pub(crate) fn bind(&self, d: &DayCtx<'_>) -> Bound<'_> {
        match self {
            Predicate::True => Bound::Const(true),
            Predicate::Not(p) => match p.bind(d) {
                Bound::Const(b) => Bound::Const(!b),
                b => Bound::Not(Box::new(b)),
            },
            Predicate::All(ps) => {
                let mut v = Vec::new();
                for p in ps {
                    match p.bind(d) {
                        Bound::Const(true) => {}
                        Bound::Const(false) => return Bound::Const(false),
                        b => v.push(b),
                    }
                }
                // Cheap tests first: most rows fail on the operation. The operations and
                // the dictionary tables of a conjunction are hoisted out of the list, so
                // the common rule shape is a bit test and a few table look-ups.
                v.sort_by_key(Bound::cost);
                let mut ops = u16::MAX;
                let mut tables = Vec::new();
                let mut rest = Vec::new();
                for b in v {
                    match b {
                        Bound::Ops(m) => ops &= m,
                        Bound::Dict(f, t) => tables.push((f, t)),
                        b => rest.push(b),
                    }
                }
                if ops == u16::MAX && tables.is_empty() && rest.is_empty() {
                    Bound::Const(true)
                } else {
                    Bound::All(Conj { ops, tables, rest })
                }
            }
            Predicate::Any(ps) => {
                let mut v = Vec::new();
                for p in ps {
                    match p.bind(d) {
                        Bound::Const(false) => {}
                        Bound::Const(true) => return Bound::Const(true),
                        b => v.push(b),
                    }
                }
                if v.is_empty() {
                    Bound::Const(false)
                } else {
                    Bound::Any(v)
                }
            }
            // Text columns are read in place, without the generic per-row path.
            Predicate::Present(f) if is_text(*f) => Bound::TextPresent(*f),
            Predicate::Eq(f, s) if is_text(*f) => Bound::TextEq(*f, s),
            Predicate::Present(f) => bind_test(d, *f, |v| v.is_some()),
            Predicate::Eq(f, s) => bind_test(d, *f, |v| v == Some(s.as_str())),
            Predicate::OneOf(f, set) => bind_test(d, *f, |v| v.is_some_and(|v| set.contains(v))),
            Predicate::Cmp(f, op, n) => match f {
                Field::Timestamp | Field::RecordCount | Field::SourceLine => Bound::Int {
                    field: *f,
                    op: *op,
                    value: *n,
                },
                _ => bind_test(d, *f, |v| {
                    v.and_then(|v| v.parse::<i64>().ok())
                        .is_some_and(|x| op.test(x, *n))
                }),
            },
            Predicate::Covered => Bound::Covered,
        }
    }
}

/// Binds a test on a field's text: per distinct value for dictionary columns and the
/// operation, per row for the others.
fn bind_test<'p>(d: &DayCtx<'_>, f: Field, test: impl Fn(Option<&str>) -> bool + 'p) -> Bound<'p> {
    let table = |c: &DictCol<'_>| Table {
        values: c.values.iter().map(|v| test(Some(v))).collect(),
        absent: test(None),
    };
    match f {
        Field::Operation => {
            let mut mask = 0u16;
            for o in Op::ALL {
                if test(Some(o.as_str())) {
                    mask |= 1 << o as u16;
                }
            }
            Bound::Ops(mask)
        }
        Field::TerminalId => Bound::Dict(DictField::Terminal, table(&d.terminal)),
        Field::OperatorId => Bound::Dict(DictField::Operator, table(&d.operator)),
        Field::AuthMethod => Bound::Dict(DictField::AuthMethod, table(d.auth_method.col())),
        Field::BusinessCode => Bound::Dict(DictField::Business, table(&d.business)),
        Field::Result => Bound::Dict(DictField::Result, table(&d.result)),
        Field::SourceFile => Bound::Dict(DictField::SourceFile, table(d.source_file.col())),
        Field::EventId
        | Field::TargetCode
        | Field::RequestNo
        | Field::ApprovalNo
        | Field::RefEventId
        | Field::Detail
        | Field::Extras
        | Field::Timestamp
        | Field::RecordCount
        | Field::SourceLine => {
            // Text (and numbers compared as text) are tested per row.
            Bound::Text(f, Box::new(test))
        }
    }
}

/// Columns stored as text in the event schema (not dictionaries, not numbers).
fn is_text(f: Field) -> bool {
    matches!(
        f,
        Field::EventId
            | Field::TargetCode
            | Field::RequestNo
            | Field::ApprovalNo
            | Field::RefEventId
            | Field::Detail
            | Field::Extras
    )
}

/// The dictionary columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DictField {
    Terminal,
    Operator,
    AuthMethod,
    Business,
    Result,
    SourceFile,
}

impl DictField {
    #[inline]
    fn col<'c, 'a>(self, d: &'c DayCtx<'a>) -> &'c DictCol<'a> {
        match self {
            DictField::Terminal => &d.terminal,
            DictField::Operator => &d.operator,
            DictField::AuthMethod => d.auth_method.col(),
            DictField::Business => &d.business,
            DictField::Result => &d.result,
            DictField::SourceFile => d.source_file.col(),
        }
    }
}

/// A test evaluated per distinct value.
pub(crate) struct Table {
    values: Vec<bool>,
    absent: bool,
}

/// A per-row test on text.
type TextTest<'p> = Box<dyn Fn(Option<&str>) -> bool + 'p>;

/// A predicate bound to one day's batch.
/// A bound conjunction: operations, dictionary tables, then the other tests.
pub(crate) struct Conj<'p> {
    ops: u16,
    tables: Vec<(DictField, Table)>,
    rest: Vec<Bound<'p>>,
}

impl Conj<'_> {
    #[inline]
    fn eval(&self, d: &DayCtx<'_>, row: usize) -> bool {
        self.ops & (1 << d.op[row] as u16) != 0
            && self.tables.iter().all(|(f, t)| t.test(f.col(d).syms[row]))
            && self.rest.iter().all(|b| b.eval_inline(d, row))
    }
}

impl Table {
    #[inline]
    fn test(&self, sym: u32) -> bool {
        if sym == NONE {
            self.absent
        } else {
            self.values[sym as usize]
        }
    }
}

pub(crate) enum Bound<'p> {
    Const(bool),
    Not(Box<Bound<'p>>),
    All(Conj<'p>),
    Any(Vec<Bound<'p>>),
    /// One bit per [`Op`].
    Ops(u16),
    Dict(DictField, Table),
    Text(Field, TextTest<'p>),
    TextPresent(Field),
    TextEq(Field, &'p str),
    Int {
        field: Field,
        op: CmpOp,
        value: i64,
    },
    Covered,
}

impl Bound<'_> {
    fn cost(&self) -> u8 {
        match self {
            Bound::Const(_) | Bound::Ops(_) => 0,
            Bound::Dict(..) | Bound::Int { .. } => 1,
            Bound::TextPresent(_) | Bound::TextEq(..) => 1,
            Bound::Text(..) => 2,
            Bound::Not(_) | Bound::All(_) | Bound::Any(_) => 3,
            Bound::Covered => 4,
        }
    }

    /// The operations an event can have and satisfy the predicate (a superset): rules
    /// skip every other row with one bit test.
    pub fn op_mask(&self) -> u16 {
        const ALL: u16 = (1 << Op::ALL.len()) - 1;
        match self {
            Bound::Const(false) => 0,
            Bound::Ops(m) => *m,
            Bound::All(c) => c.rest.iter().fold(c.ops & ALL, |m, b| m & b.op_mask()),
            Bound::Any(v) => v.iter().fold(0, |m, b| m | b.op_mask()),
            _ => ALL,
        }
    }

    /// Whether `row` of the day satisfies the predicate.
    pub fn eval(&self, d: &DayCtx<'_>, row: usize) -> bool {
        match self {
            Bound::All(c) => c.eval(d, row),
            Bound::Any(v) => v.iter().any(|b| b.eval_inline(d, row)),
            Bound::Not(b) => !b.eval_inline(d, row),
            leaf => leaf.eval_inline(d, row),
        }
    }

    /// Leaves evaluated in place; only nested combinations recurse (a call per leaf
    /// costs more than most leaves).
    #[inline(always)]
    fn eval_inline(&self, d: &DayCtx<'_>, row: usize) -> bool {
        match self {
            Bound::Const(b) => *b,
            Bound::Ops(mask) => mask & (1 << d.op[row] as u16) != 0,
            Bound::Dict(f, t) => t.test(f.col(d).syms[row]),
            Bound::All(_) | Bound::Any(_) | Bound::Not(_) => self.eval(d, row),
            Bound::Int { field, op, value } => {
                let x = match field {
                    Field::Timestamp => d.ts[row],
                    Field::RecordCount => d.record_count[row],
                    _ => d.source_line[row] as i64,
                };
                op.test(x, *value)
            }
            Bound::TextPresent(f) => d.text(*f, row).is_some(),
            Bound::TextEq(f, v) => d.text(*f, row) == Some(*v),
            Bound::Text(f, test) => test(text_of(d, *f, row).as_deref()),
            Bound::Covered => covered(d, row),
        }
    }
}

/// The text of a non-dictionary field of `row`.
fn text_of<'a>(d: &DayCtx<'a>, f: Field, row: usize) -> Option<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    match f {
        Field::EventId => Some(Cow::Borrowed(d.id(row))),
        Field::TargetCode => d.target.get(row).map(Cow::Borrowed),
        Field::RequestNo => d.request_no.get(row).map(Cow::Borrowed),
        Field::ApprovalNo => d.approval_no.get(row).map(Cow::Borrowed),
        Field::RefEventId => d.ref_event_id.get(row).map(Cow::Borrowed),
        Field::Detail => d.detail.get(row).map(Cow::Borrowed),
        Field::Extras => d.extras.get(row).map(Cow::Borrowed),
        Field::Timestamp => Some(Cow::Owned(d.ts[row].to_string())),
        Field::RecordCount => Some(Cow::Owned(d.record_count[row].to_string())),
        Field::SourceLine => Some(Cow::Owned(d.source_line[row].to_string())),
        Field::Operation => Some(Cow::Borrowed(d.op[row].as_str())),
        Field::TerminalId => d.terminal.get(row).map(Cow::Borrowed),
        Field::OperatorId => d.operator.get(row).map(Cow::Borrowed),
        Field::AuthMethod => d.auth_method.get(row).map(Cow::Borrowed),
        Field::BusinessCode => d.business.get(row).map(Cow::Borrowed),
        Field::Result => d.result.get(row).map(Cow::Borrowed),
        Field::SourceFile => d.source_file.get(row).map(Cow::Borrowed),
    }
}

/// Whether an approval covers `row` (`ledgers.md`).
#[inline]
pub(crate) fn covered(d: &DayCtx<'_>, row: usize) -> bool {
    let Some(no) = d.approval_no.get(row) else {
        return false;
    };
    d.ledgers.approvals.covers(
        Some(no),
        d.operator.get(row),
        d.business.get(row),
        d.ts[row],
        d.record_count[row],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DayRows;
    use crate::detect::index::LedgerIndex;
    use crate::detect::tests::support::{e, ledgers};
    use crate::normalize::batch_from_rows;

    /// Which of the rows of the fixed batch below satisfy `p`.
    fn rows_matching(p: &Predicate) -> Vec<usize> {
        let evs = [
            e("R0", "2026-04-01 09:00:00", Op::View)
                .target("10000000001")
                .count(3),
            e("R1", "2026-04-01 09:00:01", Op::Print)
                .count(150)
                .res("NG")
                .biz(None),
            e("R2", "2026-04-01 09:00:02", Op::Search)
                .by("OP2")
                .req(None)
                .count(-1),
        ];
        let mut evs = evs.to_vec();
        evs[2].detail = Some("氏名で検索, 12 hits".into());
        let batch = batch_from_rows("p.csv", evs.iter().map(|e| e.row())).unwrap();
        let l = ledgers();
        let index = LedgerIndex::new(&l);
        let d = DayCtx::new(
            crate::time::jst_day(evs[0].ts),
            DayRows::single(&batch),
            &l,
            &index,
            None,
        )
        .unwrap();
        let b = p.bind(&d);
        (0..d.len).filter(|&r| b.eval(&d, r)).collect()
    }

    #[test]
    fn conditions_over_every_kind_of_column() {
        use Predicate as P;
        // Dictionary columns.
        assert_eq!(rows_matching(&P::ok()), [0, 2]);
        assert_eq!(rows_matching(&P::Eq(Field::OperatorId, "OP2".into())), [2]);
        assert_eq!(rows_matching(&P::Present(Field::BusinessCode)), [0, 2]);
        // The operation.
        assert_eq!(rows_matching(&P::ops(&[Op::View, Op::Search])), [0, 2]);
        // Text columns; absent values equal nothing.
        assert_eq!(rows_matching(&P::Present(Field::TargetCode)), [0]);
        assert_eq!(rows_matching(&P::Eq(Field::RequestNo, "R1".into())), [0, 1]);
        assert_eq!(
            rows_matching(&P::OneOf(
                Field::Detail,
                ["氏名で検索, 12 hits".into()].into()
            )),
            [2]
        );
        assert_eq!(rows_matching(&P::Eq(Field::EventId, "R1".into())), [1]);
        // Numbers, and numbers in text.
        assert_eq!(
            rows_matching(&P::Cmp(Field::RecordCount, CmpOp::Ge, 3)),
            [0, 1]
        );
        assert_eq!(
            rows_matching(&P::Cmp(Field::TargetCode, CmpOp::Gt, 10_000_000_000)),
            [0]
        );
        assert_eq!(rows_matching(&P::Eq(Field::RecordCount, "-1".into())), [2]);
        // Combinations.
        assert_eq!(
            rows_matching(&P::All(vec![
                P::ok(),
                P::Not(Box::new(P::ops(&[Op::View])))
            ])),
            [2]
        );
        assert_eq!(
            rows_matching(&P::Any(vec![
                P::Eq(Field::Result, "NG".into()),
                P::Present(Field::TargetCode)
            ])),
            [0, 1]
        );
        assert_eq!(rows_matching(&P::All(vec![])), [0, 1, 2]);
        assert_eq!(rows_matching(&P::Any(vec![])), Vec::<usize>::new());
        // No approval covers anything here.
        assert_eq!(rows_matching(&P::Covered), Vec::<usize>::new());
    }

    #[test]
    fn op_masks_are_supersets() {
        let l = ledgers();
        let index = LedgerIndex::new(&l);
        let batch = batch_from_rows("p.csv", std::iter::empty()).unwrap();
        let d = DayCtx::new(20_544, DayRows::single(&batch), &l, &index, None).unwrap();
        let view = 1u16 << Op::View as u16;
        let p = Predicate::All(vec![Predicate::ops(&[Op::View]), Predicate::ok()]);
        assert_eq!(p.bind(&d).op_mask(), view);
        let any = Predicate::Any(vec![Predicate::ops(&[Op::View]), Predicate::ok()]);
        assert_eq!(any.bind(&d).op_mask().count_ones(), 14);
        let never = Predicate::Not(Box::new(Predicate::True));
        assert_eq!(never.bind(&d).op_mask(), 0);
    }

    #[test]
    fn fields_round_trip_their_column_names() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
        assert_eq!(Field::from_name("nope"), None);
    }
}
