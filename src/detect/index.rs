//! Look-up tables over the large ledgers, built once per detector.
//!
//! The request register and the watch list are asked about a large share of all events
//! (every view and output, every event touching a resident). Their ledger maps key rows by
//! heap strings, so each question follows several pointers into memory the cache has long
//! lost. These tables keep short keys inline (request numbers and resident codes are
//! short) and each register row flat, so a question costs about one cache miss. The
//! answers are exactly those of [`Requests::check`] and [`crate::ledger::Watchlist`]; a
//! test compares them.

use hashbrown::HashMap;

use crate::ledger::{Ledgers, RequestMismatch, Requests};
use crate::time::Day;

/// Text kept inline when short (no pointer to follow), on the heap otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Inline(u8, [u8; 22]),
    Heap(Box<str>),
}

impl std::hash::Hash for Key {
    /// The text's bytes only: one hasher call.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.bytes());
    }
}

impl Key {
    #[inline]
    fn bytes(&self) -> &[u8] {
        match self {
            Key::Inline(n, a) => &a[..*n as usize],
            Key::Heap(s) => s.as_bytes(),
        }
    }

    #[inline]
    fn new(s: &str) -> Key {
        let b = s.as_bytes();
        if b.len() <= 22 {
            let mut a = [0u8; 22];
            a[..b.len()].copy_from_slice(b);
            Key::Inline(b.len() as u8, a)
        } else {
            Key::Heap(s.into())
        }
    }
}

/// The request register, flat.
#[derive(Debug, Default)]
pub(crate) struct RequestIndex {
    /// Number → the range of its rows in `forms`, in register order.
    by_no: HashMap<Key, (u32, u32)>,
    /// `(received_on, target_code)` of every row.
    forms: Vec<(Day, Option<Key>)>,
}

impl RequestIndex {
    fn new(requests: &Requests) -> RequestIndex {
        let mut grouped: HashMap<&str, Vec<(Day, Option<Key>)>> = HashMap::new();
        for f in requests.iter() {
            grouped
                .entry(f.request_no.as_str())
                .or_default()
                .push((f.received_on, f.target_code.as_deref().map(Key::new)));
        }
        let mut idx = RequestIndex::default();
        for (no, rows) in grouped {
            let start = idx.forms.len() as u32;
            idx.forms.extend(rows);
            idx.by_no
                .insert(Key::new(no), (start, idx.forms.len() as u32 - start));
        }
        idx
    }

    /// [`Requests::check`]: the access is explained if any row of the number is about the
    /// resident touched (or names none) and was received by `day`; otherwise the reason of
    /// the first row in register order.
    #[inline]
    pub fn check(
        &self,
        request_no: &str,
        target: Option<&str>,
        day: Day,
    ) -> Result<(), RequestMismatch> {
        let Some(&(start, len)) = self.by_no.get(&Key::new(request_no)) else {
            return Err(RequestMismatch::NotInRegister);
        };
        let target = target.map(Key::new);
        let mut first = None;
        for (received_on, reg) in &self.forms[start as usize..(start + len) as usize] {
            let why = match (reg, &target) {
                (Some(reg), Some(t)) if reg != t => Some(RequestMismatch::OtherResident),
                _ if *received_on > day => Some(RequestMismatch::ReceivedLater {
                    received_on: *received_on,
                }),
                _ => None,
            };
            match why {
                None => return Ok(()),
                Some(w) => {
                    first.get_or_insert(w);
                }
            }
        }
        Err(first.unwrap_or(RequestMismatch::NotInRegister))
    }
}

/// The watch list, flat: resident → the operators allowed to touch the record.
#[derive(Debug, Default)]
pub(crate) struct WatchIndex {
    allowed: HashMap<Key, Box<[Box<str>]>>,
}

impl WatchIndex {
    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether touching `target` by `operator` is a watch-list access.
    #[inline]
    pub fn forbidden(&self, target: &str, operator: Option<&str>) -> bool {
        match self.allowed.get(&Key::new(target)) {
            None => false,
            Some(allowed) => !operator.is_some_and(|o| allowed.iter().any(|a| &**a == o)),
        }
    }
}

/// Both tables.
#[derive(Debug, Default)]
pub(crate) struct LedgerIndex {
    pub requests: Option<RequestIndex>,
    pub watch: WatchIndex,
}

impl LedgerIndex {
    pub fn new(ledgers: &Ledgers) -> LedgerIndex {
        LedgerIndex {
            requests: ledgers.requests.as_ref().map(RequestIndex::new),
            watch: WatchIndex {
                allowed: ledgers
                    .watchlist
                    .iter()
                    .map(|w| {
                        (
                            Key::new(&w.target_code),
                            w.allowed_operators
                                .iter()
                                .map(|o| o.as_str().into())
                                .collect(),
                        )
                    })
                    .collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ledger::{RequestForm, RequestKind, WatchEntry, Watchlist};

    fn form(no: String, received_on: Day, target: Option<String>) -> RequestForm {
        RequestForm {
            request_no: no,
            received_on,
            kind: RequestKind::Request,
            business_code: None,
            target_code: target,
        }
    }

    proptest! {
        #[test]
        fn request_index_answers_as_the_register(
            rows in proptest::collection::vec((0..6u8, 0..4i32, proptest::option::of(0..3u8)), 0..12),
            long in any::<bool>(),
            no in 0..7u8,
            target in proptest::option::of(0..3u8),
            day in 0..5i32,
        ) {
            // Long numbers exercise the heap keys.
            let name = |n: u8| if long { format!("REQ-{n}-{}", "x".repeat(30)) } else { format!("R{n}") };
            let code = |t: u8| format!("1000000000{t}");
            let reqs = Requests::from_rows(
                rows.iter().map(|&(n, d, t)| form(name(n), d, t.map(code))),
            );
            let idx = RequestIndex::new(&reqs);
            let t = target.map(code);
            prop_assert_eq!(
                idx.check(&name(no), t.as_deref(), day),
                reqs.check(&name(no), t.as_deref(), day)
            );
        }
    }

    #[test]
    fn watch_index_answers_as_the_list() {
        let list = Watchlist::from_rows([WatchEntry {
            target_code: "99999999999".into(),
            reason: "DV".into(),
            allowed_operators: ["OP2".to_owned()].into(),
        }]);
        let idx = WatchIndex {
            allowed: list
                .iter()
                .map(|w| {
                    (
                        Key::new(&w.target_code),
                        w.allowed_operators
                            .iter()
                            .map(|o| o.as_str().into())
                            .collect(),
                    )
                })
                .collect(),
        };
        assert!(!idx.forbidden("99999999999", Some("OP2")));
        assert!(idx.forbidden("99999999999", Some("OP1")));
        assert!(idx.forbidden("99999999999", None));
        assert!(!idx.forbidden("99999999990", Some("OP1")));
    }
}
