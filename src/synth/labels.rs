//! `labels.csv`: what the data set must make a correct engine report, written from what
//! the generator injected.
//!
//! `kind,rule_id,event_id,file,line,reason`, UTF-8, one header line, rows sorted by file,
//! line, kind and rule so that two data sets diff cleanly:
//! * `finding,<rule_id>,<event_id>,<file>,<line>,` — a finding of the flagged event;
//! * `pending,unverified-change,<event_id>,<file>,<line>,` — a change too close to the
//!   end of the data to be judged (its 24 hours reach past the last event);
//! * `reject,,,<file>,<line>,<reason>` — a malformed line and its reject reason;
//! * `duplicate,,<event_id>,<file>,<line>,` — a line repeating an event already written in
//!   another file.
//!
//! `file` is relative to the data set's folder with `/` separators; `line` is 1-based in
//! the decompressed text, the CSV header being line 1.

use std::cmp::Ordering;

use crate::model::RuleId;
use crate::normalize::RejectReason;

/// The kind of a `labels.csv` row (`kind,rule_id,event_id,file,line,reason`; `file`
/// relative to the data set with `/`, `line` 1-based in the decompressed text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LabelKind {
    /// `finding,<rule_id>,<event_id>,<file>,<line>,`: the data must produce this finding.
    Finding,
    /// `pending,unverified-change,<event_id>,<file>,<line>,`: a change whose 24 hours reach
    /// past the last event of the data: reported as pending, not as a finding.
    Pending,
    /// `reject,,,<file>,<line>,<reason>`: a malformed line and its reject reason.
    Reject,
    /// `duplicate,,<event_id>,<file>,<line>,`: a line repeating an event written in
    /// another file.
    Duplicate,
}

impl LabelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelKind::Finding => "finding",
            LabelKind::Pending => "pending",
            LabelKind::Reject => "reject",
            LabelKind::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<LabelKind> {
        [
            LabelKind::Finding,
            LabelKind::Pending,
            LabelKind::Reject,
            LabelKind::Duplicate,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One row of `labels.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub kind: LabelKind,
    pub rule: Option<RuleId>,
    pub event_id: String,
    pub file: String,
    pub line: u64,
    pub reason: Option<RejectReason>,
    /// For an unverified change: the instant the data must reach for it to be judged.
    pub deadline: Option<i64>,
}

impl Label {
    fn key(&self) -> (&str, u64, LabelKind, &str) {
        (
            &self.file,
            self.line,
            self.kind,
            self.rule.map_or("", |r| r.as_str()),
        )
    }
}

impl PartialOrd for Label {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Label {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// Turns the unverified changes whose deadline lies after `latest` (the last event time of
/// the data set) into `pending` rows.
pub fn settle_pending(labels: &mut [Label], latest: Option<i64>) {
    for l in labels.iter_mut() {
        if let Some(d) = l.deadline
            && latest.is_none_or(|m| m < d)
        {
            l.kind = LabelKind::Pending;
        }
    }
}

/// The text of `labels.csv`, rows sorted.
pub fn to_csv(labels: &mut [Label]) -> Vec<u8> {
    labels.sort();
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(labels.len() * 60 + 64));
    // Writing into a Vec cannot fail; an error would be a bug in the csv crate.
    let _ = w.write_record(["kind", "rule_id", "event_id", "file", "line", "reason"]);
    for l in labels.iter() {
        let line = l.line.to_string();
        let _ = w.write_record([
            l.kind.as_str(),
            l.rule.map_or("", |r| r.as_str()),
            &l.event_id,
            &l.file,
            &line,
            l.reason.map_or("", |r| r.as_str()),
        ]);
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(kind: LabelKind, file: &str, line: u64) -> Label {
        Label {
            kind,
            rule: (kind == LabelKind::Finding).then_some(RuleId::OffHours),
            event_id: "E1".into(),
            file: file.into(),
            line,
            reason: (kind == LabelKind::Reject).then_some(RejectReason::Quote),
            deadline: None,
        }
    }

    #[test]
    fn rows_sort_by_file_then_line_numerically() {
        let mut v = vec![
            label(LabelKind::Finding, "logs/KW01/b.csv", 10),
            label(LabelKind::Reject, "logs/KW01/a.csv", 9),
            label(LabelKind::Finding, "logs/KW01/a.csv", 10),
        ];
        let text = String::from_utf8(to_csv(&mut v)).unwrap();
        assert_eq!(
            text,
            "kind,rule_id,event_id,file,line,reason\n\
             reject,,E1,logs/KW01/a.csv,9,quote\n\
             finding,off-hours,E1,logs/KW01/a.csv,10,\n\
             finding,off-hours,E1,logs/KW01/b.csv,10,\n"
        );
    }

    #[test]
    fn pending_only_past_the_last_event() {
        let mut v = vec![
            label(LabelKind::Finding, "f", 1),
            label(LabelKind::Finding, "f", 2),
        ];
        v[0].deadline = Some(100);
        v[1].deadline = Some(101);
        settle_pending(&mut v, Some(100));
        assert_eq!(v[0].kind, LabelKind::Finding, "deadline reached exactly");
        assert_eq!(v[1].kind, LabelKind::Pending);
    }
}
