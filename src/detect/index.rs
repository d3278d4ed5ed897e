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
    /// A one-hash Bloom filter over the listed codes ([`filter_bit`]): nearly every code
    /// touched is not listed, and the filter says so without building a key or probing
    /// the map.
    filter: Box<[u64]>,
}

/// 4,096 bits: a few per code of a watch list of hundreds, in eight cache lines.
const FILTER_WORDS: usize = 64;

/// The filter bit of a code: its last eight bytes (all of them when shorter) and its
/// length, mixed.
#[inline]
fn filter_bit(code: &str) -> usize {
    let b = code.as_bytes();
    let word = match b.len().checked_sub(8) {
        Some(start) => {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[start..]);
            u64::from_le_bytes(w)
        }
        None => b.iter().fold(0u64, |w, &x| (w << 8) | u64::from(x)),
    };
    let mixed = (word ^ b.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> (u64::BITS - (FILTER_WORDS * 64).trailing_zeros())) as usize
}

impl WatchIndex {
    fn new(entries: impl IntoIterator<Item = (ShortKey, Box<[Box<str>]>)>) -> WatchIndex {
        let allowed: HashMap<ShortKey, Box<[Box<str>]>> = entries.into_iter().collect();
        let mut filter = vec![0u64; FILTER_WORDS].into_boxed_slice();
        for key in allowed.keys() {
            if let Ok(code) = std::str::from_utf8(key.as_bytes()) {
                let bit = filter_bit(code);
                filter[bit / 64] |= 1 << (bit % 64);
            }
        }
        WatchIndex { allowed, filter }
    }

    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether touching `target` by `operator` is a watch-list access.
    #[inline]
    pub fn forbidden(&self, target: &str, operator: Option<&str>) -> bool {
        let bit = filter_bit(target);
        if self
            .filter
            .get(bit / 64)
            .is_some_and(|w| w & (1 << (bit % 64)) == 0)
        {
            return false;
        }
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
            watch: WatchIndex::new(ledgers.watchlist.iter().map(|w| {
                (
                    ShortKey::new(&w.target_code),
                    w.allowed_operators
                        .iter()
                        .map(|o| o.as_str().into())
                        .collect(),
                )
            })),
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
        let idx = WatchIndex::new(list.iter().map(|w| {
            (
                ShortKey::new(&w.target_code),
                w.allowed_operators
                    .iter()
                    .map(|o| o.as_str().into())
                    .collect(),
            )
        }));
        assert!(!idx.forbidden("99999999999", Some("OP2")));
        assert!(idx.forbidden("99999999999", Some("OP1")));
        assert!(idx.forbidden("99999999999", None));
        assert!(!idx.forbidden("99999999990", Some("OP1")));
    }

    #[test]
    fn the_filter_never_hides_a_listed_code() {
        // Codes of every length up to 30, listed and looked up; and a list of 5,000.
        let codes: Vec<String> = (0..5_000u64)
            .map(|i| {
                let n = (i % 31) as usize;
                format!("{:0>n$}", i * 7919).chars().rev().take(n).collect()
            })
            .collect();
        let idx = WatchIndex::new(
            codes
                .iter()
                .map(|c| (ShortKey::new(c), Box::from([Box::from("OP1")]))),
        );
        for c in &codes {
            assert!(idx.forbidden(c, Some("OP2")), "{c:?}");
            assert!(!idx.forbidden(c, Some("OP1")), "{c:?}");
        }
        let small = WatchIndex::new([(ShortKey::new("10000000001"), Box::from([]))]);
        let passed = (0..10_000u64)
            .filter(|i| {
                let bit = filter_bit(&format!("{:011}", 20_000_000_000 + i));
                small.filter[bit / 64] & (1 << (bit % 64)) != 0
            })
            .count();
        assert!(
            passed < 50,
            "{passed} of 10,000 unlisted codes pass the filter"
        );
    }
}
