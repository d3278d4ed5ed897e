//! The vocabulary shared by every stage: operation codes, rule ids and severities.
//!
//! These are closed sets fixed by the contract (`oplog.md`, `rules.md`); their text forms
//! are what appears in logs, findings files, `disabled_rules` and the archive.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An operation code of `oplog.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Op {
    Login,
    LoginFail,
    Logout,
    Search,
    View,
    Extract,
    Print,
    Export,
    Input,
    Delete,
    Correct,
    Verify,
    Hardcopy,
    DeviceConnect,
}

impl Op {
    /// Every operation, in the order of the table in `oplog.md`.
    pub const ALL: [Op; 14] = [
        Op::Login,
        Op::LoginFail,
        Op::Logout,
        Op::Search,
        Op::View,
        Op::Extract,
        Op::Print,
        Op::Export,
        Op::Input,
        Op::Delete,
        Op::Correct,
        Op::Verify,
        Op::Hardcopy,
        Op::DeviceConnect,
    ];

    /// The code as written in logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Op::Login => "LOGIN",
            Op::LoginFail => "LOGIN_FAIL",
            Op::Logout => "LOGOUT",
            Op::Search => "SEARCH",
            Op::View => "VIEW",
            Op::Extract => "EXTRACT",
            Op::Print => "PRINT",
            Op::Export => "EXPORT",
            Op::Input => "INPUT",
            Op::Delete => "DELETE",
            Op::Correct => "CORRECT",
            Op::Verify => "VERIFY",
            Op::Hardcopy => "HARDCOPY",
            Op::DeviceConnect => "DEVICE_CONNECT",
        }
    }

    /// The Japanese name a reviewer knows the operation by.
    pub const fn name_ja(self) -> &'static str {
        match self {
            Op::Login => "ログイン",
            Op::LoginFail => "ログイン失敗",
            Op::Logout => "ログアウト",
            Op::Search => "検索",
            Op::View => "照会",
            Op::Extract => "抽出",
            Op::Print => "帳票出力",
            Op::Export => "媒体出力",
            Op::Input => "入力",
            Op::Delete => "削除",
            Op::Correct => "訂正",
            Op::Verify => "照合",
            Op::Hardcopy => "画面ハードコピー",
            Op::DeviceConnect => "記録装置接続",
        }
    }

    /// Parses a code exactly as written (case-sensitive, no surrounding space).
    ///
    /// Every line of a log carries one, so the codes are told apart by length and two
    /// word loads (the first and last four or eight bytes, which overlap for short codes
    /// and together cover every byte) rather than a byte comparison per candidate.
    #[inline]
    pub fn parse(b: &[u8]) -> Option<Op> {
        let key = Self::key(b)?;
        Some(match key {
            k if k == const { Self::key_of(b"LOGIN") } => Op::Login,
            k if k == const { Self::key_of(b"LOGIN_FAIL") } => Op::LoginFail,
            k if k == const { Self::key_of(b"LOGOUT") } => Op::Logout,
            k if k == const { Self::key_of(b"SEARCH") } => Op::Search,
            k if k == const { Self::key_of(b"VIEW") } => Op::View,
            k if k == const { Self::key_of(b"EXTRACT") } => Op::Extract,
            k if k == const { Self::key_of(b"PRINT") } => Op::Print,
            k if k == const { Self::key_of(b"EXPORT") } => Op::Export,
            k if k == const { Self::key_of(b"INPUT") } => Op::Input,
            k if k == const { Self::key_of(b"DELETE") } => Op::Delete,
            k if k == const { Self::key_of(b"CORRECT") } => Op::Correct,
            k if k == const { Self::key_of(b"VERIFY") } => Op::Verify,
            k if k == const { Self::key_of(b"HARDCOPY") } => Op::Hardcopy,
            k if k == const { Self::key_of(b"DEVICE_CONNECT") } => Op::DeviceConnect,
            _ => return None,
        })
    }

    /// `(length, first word, last word)` of a code of 4 to 16 bytes: four-byte words up
    /// to 8 bytes, eight-byte words above. Two texts of the same length with the same
    /// words are equal, since the words cover every byte.
    #[inline(always)]
    fn key(b: &[u8]) -> Option<(usize, u64, u64)> {
        let n = b.len();
        let word = |s: &[u8]| -> Option<u64> {
            Some(match s.len() {
                4 => u32::from_le_bytes(s.try_into().ok()?) as u64,
                _ => u64::from_le_bytes(s.try_into().ok()?),
            })
        };
        match n {
            4..=8 => Some((n, word(b.get(..4)?)?, word(b.get(n - 4..)?)?)),
            9..=16 => Some((n, word(b.get(..8)?)?, word(b.get(n - 8..)?)?)),
            _ => None,
        }
    }

    /// [`key`](Self::key) of a code known to be 4 to 16 bytes long, for constants.
    const fn key_of(s: &[u8]) -> (usize, u64, u64) {
        const fn word(s: &[u8], from: usize, w: usize) -> u64 {
            let mut v = 0u64;
            let mut i = 0;
            while i < w {
                v |= (s[from + i] as u64) << (8 * i);
                i += 1;
            }
            v
        }
        let n = s.len();
        let w = if n <= 8 { 4 } else { 8 };
        (n, word(s, 0, w), word(s, n - w, w))
    }

    /// `EXTRACT`, `PRINT`, `EXPORT`.
    pub const fn is_output(self) -> bool {
        matches!(self, Op::Extract | Op::Print | Op::Export)
    }

    /// `INPUT`, `DELETE`, `CORRECT`.
    pub const fn is_change(self) -> bool {
        matches!(self, Op::Input | Op::Delete | Op::Correct)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    pub const fn name_ja(self) -> &'static str {
        match self {
            Severity::Low => "低",
            Severity::Medium => "中",
            Severity::High => "高",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            _ => Err(UnknownName {
                kind: "severity",
                name: s.to_owned(),
                expected: "low, medium, high",
            }),
        }
    }
}

/// A name that is not one of a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}` (expected one of: {expected})")]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
    pub expected: &'static str,
}

/// A rule of the catalogue in `rules.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleId {
    UndesignatedOperator,
    OutOfScopeBusiness,
    UnassignedTerminal,
    OutputWithoutRequest,
    UnmatchedRequest,
    OffHours,
    UnapprovedMassOutput,
    SplitMassOutput,
    ScreenHardcopy,
    SelfVerification,
    UnverifiedChange,
    ConcurrentTerminals,
    AuthFailureBurst,
    RecordingDevice,
    BrowsingSpike,
    WatchlistAccess,
}

impl RuleId {
    /// The catalogue, in the order of `rules.md`.
    pub const ALL: [RuleId; 16] = [
        RuleId::UndesignatedOperator,
        RuleId::OutOfScopeBusiness,
        RuleId::UnassignedTerminal,
        RuleId::OutputWithoutRequest,
        RuleId::UnmatchedRequest,
        RuleId::OffHours,
        RuleId::UnapprovedMassOutput,
        RuleId::SplitMassOutput,
        RuleId::ScreenHardcopy,
        RuleId::SelfVerification,
        RuleId::UnverifiedChange,
        RuleId::ConcurrentTerminals,
        RuleId::AuthFailureBurst,
        RuleId::RecordingDevice,
        RuleId::BrowsingSpike,
        RuleId::WatchlistAccess,
    ];

    /// The stable id of `rules.md`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleId::UndesignatedOperator => "undesignated-operator",
            RuleId::OutOfScopeBusiness => "out-of-scope-business",
            RuleId::UnassignedTerminal => "unassigned-terminal",
            RuleId::OutputWithoutRequest => "output-without-request",
            RuleId::UnmatchedRequest => "unmatched-request",
            RuleId::OffHours => "off-hours",
            RuleId::UnapprovedMassOutput => "unapproved-mass-output",
            RuleId::SplitMassOutput => "split-mass-output",
            RuleId::ScreenHardcopy => "screen-hardcopy",
            RuleId::SelfVerification => "self-verification",
            RuleId::UnverifiedChange => "unverified-change",
            RuleId::ConcurrentTerminals => "concurrent-terminals",
            RuleId::AuthFailureBurst => "auth-failure-burst",
            RuleId::RecordingDevice => "recording-device",
            RuleId::BrowsingSpike => "browsing-spike",
            RuleId::WatchlistAccess => "watchlist-access",
        }
    }

    /// The severity fixed by the catalogue.
    pub const fn severity(self) -> Severity {
        match self {
            RuleId::UndesignatedOperator
            | RuleId::UnapprovedMassOutput
            | RuleId::SelfVerification
            | RuleId::ConcurrentTerminals
            | RuleId::RecordingDevice
            | RuleId::WatchlistAccess => Severity::High,
            RuleId::UnverifiedChange => Severity::Low,
            _ => Severity::Medium,
        }
    }

    /// The regulation the rule enforces, as the catalogue cites it.
    pub const fn regulation(self) -> &'static str {
        match self {
            RuleId::UndesignatedOperator => "川崎市要綱第5条、東京都規程第七条3(三)",
            RuleId::OutOfScopeBusiness => "東京都規程第十一条",
            RuleId::UnassignedTerminal => "川崎市要綱第10条、東京都規程第十四条",
            RuleId::OutputWithoutRequest => "川崎市要綱第6条(3)(4)、第7条",
            RuleId::UnmatchedRequest => "川崎市要綱第7条、区役所システム要綱第5条2",
            RuleId::OffHours => "区役所システム要綱第7条、東京都規程第十五条",
            RuleId::UnapprovedMassOutput => "川崎市要綱第6条(4)ウ",
            RuleId::SplitMassOutput => "川崎市要綱第6条(4)ウ",
            RuleId::ScreenHardcopy => "川崎市要綱第6条(1)ウ、区役所システム要綱第8条(1)ウ",
            RuleId::SelfVerification => "川崎市要綱第6条(2)ア",
            RuleId::UnverifiedChange => "川崎市要綱第6条(2)ア",
            RuleId::ConcurrentTerminals => "区役所システム要綱第7条2",
            RuleId::AuthFailureBurst => "区役所システム要綱第7条2、東京都規程第十六条",
            RuleId::RecordingDevice => "川崎市要綱第11条2",
            RuleId::BrowsingSpike => "川崎市要綱第6条(3)",
            RuleId::WatchlistAccess => "川崎市要綱第3条",
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleId {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleId::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "rule id",
                name: s.to_owned(),
                expected: "the ids of rules.md, e.g. off-hours, watchlist-access",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_codes_round_trip() {
        for op in Op::ALL {
            assert_eq!(Op::parse(op.as_str().as_bytes()), Some(op));
        }
        assert_eq!(Op::parse(b"view"), None);
        assert_eq!(Op::parse(b"VIEW "), None);
        assert_eq!(Op::ALL.iter().filter(|o| o.is_output()).count(), 3);
        assert_eq!(Op::ALL.iter().filter(|o| o.is_change()).count(), 3);
    }

    /// What `Op::parse` must answer: the code spelled exactly so, else nothing.
    fn exact(b: &[u8]) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.as_str().as_bytes() == b)
    }

    #[test]
    fn op_codes_differing_in_any_byte_do_not_parse() {
        for op in Op::ALL {
            let code = op.as_str().as_bytes();
            for i in 0..code.len() {
                for b in [b'A', b'_', b'Z', b'x', 0, 0xFF, code[i] ^ 0x20] {
                    let mut v = code.to_vec();
                    v[i] = b;
                    assert_eq!(Op::parse(&v), exact(&v), "{v:?}");
                }
            }
            for n in 0..code.len() {
                assert_eq!(Op::parse(&code[..n]), exact(&code[..n]));
            }
            let longer = [code, b"S"].concat();
            assert_eq!(Op::parse(&longer), None);
        }
    }

    proptest::proptest! {
        #[test]
        fn op_parse_is_exact_match(b in proptest::collection::vec(
            proptest::sample::select(b"ACDEFGHILNOPRSTUVWX_ ".to_vec()), 0..18)
        ) {
            proptest::prop_assert_eq!(Op::parse(&b), exact(&b));
        }
    }

    #[test]
    fn rule_ids_round_trip() {
        for r in RuleId::ALL {
            assert_eq!(r.as_str().parse::<RuleId>(), Ok(r));
        }
        assert!("off_hours".parse::<RuleId>().is_err());
        let high = RuleId::ALL
            .iter()
            .filter(|r| r.severity() == Severity::High)
            .count();
        assert_eq!(high, 6);
    }
}
