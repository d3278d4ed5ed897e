//! The watch-list look-up table, built once per detector.
//!
//! The watch list is asked about every event that touches a resident; its ledger map keys
//! rows by heap strings, so this table keeps the resident codes inline
//! ([`ShortKey`]) and a question costs about one cache miss. (The request register is
//! already flat in the ledger: [`crate::ledger::Requests::check`].) The answers are
//! exactly those of [`crate::ledger::Watchlist`]; a test compares them.

use hashbrown::HashMap;

use crate::ledger::{Ledgers, ShortKey};

/// The watch list, flat: resident → the operators allowed to touch the record.
#[derive(Debug, Default)]
pub(crate) struct WatchIndex {
    allowed: HashMap<ShortKey, Box<[Box<str>]>>,
}

impl WatchIndex {
    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether touching `target` by `operator` is a watch-list access.
    #[inline]
    pub fn forbidden(&self, target: &str, operator: Option<&str>) -> bool {
        match self.allowed.get(&ShortKey::new(target)) {
            None => false,
            Some(allowed) => !operator.is_some_and(|o| allowed.iter().any(|a| &**a == o)),
        }
    }
}

/// The look-up tables of a detector.
#[derive(Debug, Default)]
pub(crate) struct LedgerIndex {
    pub watch: WatchIndex,
}

impl LedgerIndex {
    pub fn new(ledgers: &Ledgers) -> LedgerIndex {
        LedgerIndex {
            watch: WatchIndex {
                allowed: ledgers
                    .watchlist
                    .iter()
                    .map(|w| {
                        (
                            ShortKey::new(&w.target_code),
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
    use super::*;
    use crate::ledger::{WatchEntry, Watchlist};

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
                        ShortKey::new(&w.target_code),
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
