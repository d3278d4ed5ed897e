//! One sentence per finding, for the reviewer.
//!
//! A message says when, who, on which terminal, what was done and why it matters, with
//! the numbers behind it (counts, windows, thresholds, the request number), and cites the
//! article the rule enforces. Resident codes (`target_code`) never appear: the findings
//! file is handed around, and the evidence ids lead to the event when it is needed.

use super::{BurstKey, Facts, Finding, Lang, TerminalWhy};
use crate::ledger::RequestMismatch;
use crate::model::Op;
use crate::time::{self, DAY_MS, JST_OFFSET_MS};

/// The message of a finding in `lang`.
pub fn message(f: &Finding, lang: Lang) -> String {
    match lang {
        Lang::Ja => ja(f),
        Lang::En => en(f),
    }
}

/// `YYYY-MM-DD HH:MM:SS` in Japan Standard Time (milliseconds only when not zero).
fn local_time(ms: i64) -> String {
    let iso = time::format_jst(ms);
    // `2026-04-01T08:45:12.345+09:00`
    let (date, rest) = iso.split_at(10);
    let clock = &rest[1..rest.len() - 6];
    let clock = clock.strip_suffix(".000").unwrap_or(clock);
    format!("{date} {clock}")
}

/// `HH:MM` of milliseconds after local midnight.
fn clock(ms: i64) -> String {
    format!("{:02}:{:02}", ms / 3_600_000, ms / 60_000 % 60)
}

fn local_date(ms: i64) -> String {
    time::format_day(((ms + JST_OFFSET_MS).div_euclid(DAY_MS)) as time::Day)
}

fn op_en(op: Op) -> &'static str {
    match op {
        Op::Login => "a log-in",
        Op::LoginFail => "a failed log-in",
        Op::Logout => "a log-out",
        Op::Search => "a search",
        Op::View => "a record view",
        Op::Extract => "an extraction",
        Op::Print => "a print-out",
        Op::Export => "an export to media",
        Op::Input => "an input",
        Op::Delete => "a deletion",
        Op::Correct => "a correction",
        Op::Verify => "a verification",
        Op::Hardcopy => "a screen hard copy",
        Op::DeviceConnect => "a device connection",
    }
}

fn ja(f: &Finding) -> String {
    let when = local_time(f.timestamp);
    let who = match &f.operator_id {
        Some(o) => format!("操作者{o}"),
        None => "操作者ID不明の利用者".to_owned(),
    };
    let term = match &f.terminal_id {
        Some(t) => format!("端末{t}"),
        None => "不明な端末".to_owned(),
    };
    let cite = f.rule.regulation();
    let body = match &f.facts {
        Facts::UndesignatedOperator { op, registered } => {
            let status = if f.operator_id.is_none() {
                "操作者IDの記録がない"
            } else if *registered {
                "指定期間外の"
            } else {
                "操作者指定簿に登録のない"
            };
            format!(
                "{when}、{status}{who}が{term}で{}を行いました",
                op.name_ja()
            )
        }
        Facts::OutOfScopeBusiness { op, business_code } => {
            let code = business_code.as_deref().unwrap_or("なし");
            format!(
                "{when}、{who}が{term}で指定された業務の範囲外（業務コード{code}）の{}を行いました",
                op.name_ja()
            )
        }
        Facts::UnassignedTerminal { op, why } => {
            let which = match why {
                TerminalWhy::NotRegistered => format!("端末台帳に登録のない{term}"),
                TerminalWhy::NotListed => format!("使用を認められていない{term}"),
                TerminalWhy::OtherOffice {
                    terminal_office,
                    operator_office,
                } => format!("所属（{operator_office}）以外の{terminal_office}の{term}"),
            };
            format!("{when}、{who}が{which}で{}を行いました", op.name_ja())
        }
        Facts::OutputWithoutRequest { op, record_count } => {
            if *op == Op::View {
                format!("{when}、{who}が{term}で請求書等の番号なしに住民の記録を照会しました")
            } else {
                format!(
                    "{when}、{who}が{term}で請求書等の番号なしに{}（{record_count}件）を行いました",
                    op.name_ja()
                )
            }
        }
        Facts::UnmatchedRequest {
            op,
            request_no,
            why,
        } => {
            let reason = match why {
                RequestMismatch::NotInRegister => "帳票等管理台帳にありません".to_owned(),
                RequestMismatch::OtherResident => "別の住民についての帳票です".to_owned(),
                RequestMismatch::ReceivedLater { received_on } => format!(
                    "受付日（{}）が操作日より後です",
                    time::format_day(*received_on)
                ),
            };
            format!(
                "{when}、{who}が{term}で行った{}の請求書等番号{request_no}は{reason}",
                op.name_ja()
            )
        }
        Facts::OffHours {
            op,
            calendar,
            open_interval,
        } => match open_interval {
            Some((lo, hi)) => format!(
                "{when}、{who}が{term}で運用時間外（{calendar}：{}〜{}）に{}を行いました",
                clock(*lo),
                clock(*hi),
                op.name_ja()
            ),
            None => format!(
                "{when}、{who}が{term}で閉庁日（{calendar}）に{}を行いました",
                op.name_ja()
            ),
        },
        Facts::UnapprovedMassOutput {
            op,
            record_count,
            threshold,
            approval_no,
        } => {
            let approval = match approval_no {
                Some(no) => format!("、承認番号{no}は該当する承認がない"),
                None => String::new(),
            };
            format!(
                "{when}、{who}が{term}で承認のない大量出力（{}{record_count}件、基準{threshold}件以上{approval}）を行いました",
                op.name_ja()
            )
        }
        Facts::SplitMassOutput {
            total,
            outputs,
            window_minutes,
            threshold,
        } => format!(
            "{when}までの{window_minutes}分間に、{who}が承認のない出力を{outputs}回に分けて計{total}件行いました（大量出力の基準は{threshold}件）"
        ),
        Facts::ScreenHardcopy => {
            format!("{when}、{who}が{term}で画面ハードコピーを取得しました")
        }
        Facts::SelfVerification {
            change_event_id,
            change_op,
        } => format!(
            "{when}、{who}が自ら行った{}（イベント{change_event_id}）を自分で照合しました",
            change_op.name_ja()
        ),
        Facts::UnverifiedChange { op, within_hours } => format!(
            "{when}に{who}が{term}で行った{}は、{within_hours}時間以内に他の職員による照合がありません",
            op.name_ja()
        ),
        Facts::ConcurrentTerminals {
            other_terminal,
            other_login,
        } => format!(
            "{when}、{who}が{term}にログインした時点で、端末{other_terminal}のセッション（{}ログイン）が継続しており、なりすましの疑いがあります",
            local_time(*other_login)
        ),
        Facts::AuthFailureBurst {
            count,
            by,
            window_minutes,
        } => match by {
            BurstKey::Operator => format!(
                "{when}までの{window_minutes}分間に、{who}のログイン失敗が{count}回ありました"
            ),
            BurstKey::Terminal => format!(
                "{when}までの{window_minutes}分間に、{term}でログイン失敗が{count}回ありました"
            ),
        },
        Facts::RecordingDevice => {
            format!("{when}、{term}に記録装置が接続されました（{who}）")
        }
        Facts::BrowsingSpike {
            distinct,
            window_minutes,
            threshold,
        } => format!(
            "{when}までの{window_minutes}分間に、{who}が{distinct}人の住民の記録を照会しました（基準は{threshold}人）"
        ),
        Facts::WatchlistAccess { op } => format!(
            "{when}、{who}が{term}で、保護対象（支援措置対象者等）の住民の記録に{}を行いました",
            op.name_ja()
        ),
    };
    format!("{body}（{cite}）。")
}

fn en(f: &Finding) -> String {
    let when = local_time(f.timestamp);
    let who = match &f.operator_id {
        Some(o) => format!("operator {o}"),
        None => "a user with no operator id".to_owned(),
    };
    let term = match &f.terminal_id {
        Some(t) => format!("terminal {t}"),
        None => "an unknown terminal".to_owned(),
    };
    let cite = f.rule.regulation();
    let body = match &f.facts {
        Facts::UndesignatedOperator { op, registered } => {
            let status = if f.operator_id.is_none() {
                "an operation without an operator id"
            } else if *registered {
                "an operator outside their designation period"
            } else {
                "an operator absent from the operator register"
            };
            format!("At {when}, {who} ({status}) made {} on {term}", op_en(*op))
        }
        Facts::OutOfScopeBusiness { op, business_code } => {
            let code = business_code.as_deref().unwrap_or("none");
            format!(
                "At {when}, {who} made {} on {term} outside their designated business (business code {code})",
                op_en(*op)
            )
        }
        Facts::UnassignedTerminal { op, why } => {
            let which = match why {
                TerminalWhy::NotRegistered => {
                    format!("{term}, which is not in the terminal register")
                }
                TerminalWhy::NotListed => format!("{term}, which they are not allowed to use"),
                TerminalWhy::OtherOffice {
                    terminal_office,
                    operator_office,
                } => format!(
                    "{term} of office {terminal_office}, not of their own office {operator_office}"
                ),
            };
            format!("At {when}, {who} made {} on {which}", op_en(*op))
        }
        Facts::OutputWithoutRequest { op, record_count } => {
            if *op == Op::View {
                format!(
                    "At {when}, {who} viewed a resident's record on {term} with no request form number"
                )
            } else {
                format!(
                    "At {when}, {who} made {} of {record_count} records on {term} with no request form number",
                    op_en(*op)
                )
            }
        }
        Facts::UnmatchedRequest {
            op,
            request_no,
            why,
        } => {
            let reason = match why {
                RequestMismatch::NotInRegister => "is not in the request-form register".to_owned(),
                RequestMismatch::OtherResident => "is about another resident".to_owned(),
                RequestMismatch::ReceivedLater { received_on } => {
                    format!("was received later ({})", time::format_day(*received_on))
                }
            };
            format!(
                "At {when}, {who} made {} on {term} citing request form {request_no}, which {reason}",
                op_en(*op)
            )
        }
        Facts::OffHours {
            op,
            calendar,
            open_interval,
        } => match open_interval {
            Some((lo, hi)) => format!(
                "At {when}, {who} made {} on {term} outside operating hours ({calendar}: {}-{})",
                op_en(*op),
                clock(*lo),
                clock(*hi)
            ),
            None => format!(
                "At {when}, {who} made {} on {term} on a closed day ({calendar}, {})",
                op_en(*op),
                local_date(f.timestamp)
            ),
        },
        Facts::UnapprovedMassOutput {
            op,
            record_count,
            threshold,
            approval_no,
        } => {
            let approval = match approval_no {
                Some(no) => format!("; approval {no} does not cover it"),
                None => String::new(),
            };
            format!(
                "At {when}, {who} made {} of {record_count} records on {term} without a mass-output approval (threshold {threshold}{approval})",
                op_en(*op)
            )
        }
        Facts::SplitMassOutput {
            total,
            outputs,
            window_minutes,
            threshold,
        } => format!(
            "In the {window_minutes} minutes up to {when}, {who} made {outputs} unapproved outputs totalling {total} records (mass-output threshold {threshold})"
        ),
        Facts::ScreenHardcopy => format!("At {when}, {who} took a screen hard copy on {term}"),
        Facts::SelfVerification {
            change_event_id,
            change_op,
        } => format!(
            "At {when}, {who} verified {} (event {change_event_id}) that they made themselves",
            op_en(*change_op)
        ),
        Facts::UnverifiedChange { op, within_hours } => format!(
            "{} made by {who} on {term} at {when} was not verified by another operator within {within_hours} hours",
            capitalize(op_en(*op))
        ),
        Facts::ConcurrentTerminals {
            other_terminal,
            other_login,
        } => format!(
            "At {when}, {who} logged in on {term} while their session on terminal {other_terminal} (logged in at {}) was still open: possible impersonation",
            local_time(*other_login)
        ),
        Facts::AuthFailureBurst {
            count,
            by,
            window_minutes,
        } => match by {
            BurstKey::Operator => format!(
                "In the {window_minutes} minutes up to {when}, log-in failed {count} times for {who}"
            ),
            BurstKey::Terminal => format!(
                "In the {window_minutes} minutes up to {when}, log-in failed {count} times on {term}"
            ),
        },
        Facts::RecordingDevice => {
            format!("At {when}, a storage device was connected to {term} ({who})")
        }
        Facts::BrowsingSpike {
            distinct,
            window_minutes,
            threshold,
        } => format!(
            "In the {window_minutes} minutes up to {when}, {who} viewed the records of {distinct} residents (threshold {threshold})"
        ),
        Facts::WatchlistAccess { op } => format!(
            "At {when}, {who} made {} on {term} on the record of a protected resident (watch list)",
            op_en(*op)
        ),
    };
    format!("{body} ({cite}).")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RuleId;

    fn finding(rule: RuleId, facts: Facts) -> Finding {
        Finding {
            rule,
            event_id: "E1".into(),
            // 2026-04-01 08:45:12 JST
            timestamp: 1_775_000_712_000,
            operator_id: Some("OP1".into()),
            terminal_id: Some("T1".into()),
            office: Some("K1".into()),
            evidence: vec!["E1".into()],
            facts,
            judged_on: 20_544,
        }
    }

    #[test]
    fn japanese_message_cites_the_article_and_the_facts() {
        let f = finding(
            RuleId::SplitMassOutput,
            Facts::SplitMassOutput {
                total: 120,
                outputs: 3,
                window_minutes: 60,
                threshold: 100,
            },
        );
        let m = message(&f, Lang::Ja);
        assert_eq!(
            m,
            "2026-04-01 08:45:12までの60分間に、操作者OP1が承認のない出力を3回に分けて計120件行いました（大量出力の基準は100件）（川崎市要綱第6条(4)ウ）。"
        );
        let en = message(&f, Lang::En);
        assert!(
            en.contains("3 unapproved outputs totalling 120 records"),
            "{en}"
        );
        assert!(en.ends_with("(川崎市要綱第6条(4)ウ)."), "{en}");
    }

    #[test]
    fn off_hours_message_shows_the_open_interval() {
        let f = finding(
            RuleId::OffHours,
            Facts::OffHours {
                op: Op::View,
                calendar: "default".into(),
                open_interval: Some((480 * 60_000, 1065 * 60_000)),
            },
        );
        let m = message(&f, Lang::Ja);
        assert!(
            m.contains("運用時間外（default：08:00〜17:45）に照会"),
            "{m}"
        );
        let closed = finding(
            RuleId::OffHours,
            Facts::OffHours {
                op: Op::View,
                calendar: "default".into(),
                open_interval: None,
            },
        );
        assert!(message(&closed, Lang::En).contains("on a closed day (default, 2026-04-01)"));
    }

    #[test]
    fn local_time_drops_zero_millis_only() {
        assert_eq!(local_time(1_775_000_712_000), "2026-04-01 08:45:12");
        assert_eq!(local_time(1_775_000_712_045), "2026-04-01 08:45:12.045");
    }

    #[test]
    fn every_message_is_one_sentence() {
        let facts = [
            (
                RuleId::UnmatchedRequest,
                Facts::UnmatchedRequest {
                    op: Op::Print,
                    request_no: "REQ-9".into(),
                    why: RequestMismatch::ReceivedLater {
                        received_on: 20_545,
                    },
                },
            ),
            (
                RuleId::WatchlistAccess,
                Facts::WatchlistAccess { op: Op::View },
            ),
            (
                RuleId::UnverifiedChange,
                Facts::UnverifiedChange {
                    op: Op::Input,
                    within_hours: 24,
                },
            ),
        ];
        for (rule, facts) in facts {
            let f = finding(rule, facts);
            let ja = message(&f, Lang::Ja);
            assert_eq!(ja.matches('。').count(), 1, "{ja}");
            assert!(
                ja.ends_with(&format!("（{}）。", rule.regulation())),
                "{ja}"
            );
            let en = message(&f, Lang::En);
            assert!(en.ends_with(&format!("({}).", rule.regulation())), "{en}");
        }
        let f = finding(
            RuleId::UnmatchedRequest,
            Facts::UnmatchedRequest {
                op: Op::Print,
                request_no: "REQ-9".into(),
                why: RequestMismatch::ReceivedLater {
                    received_on: 20_545,
                },
            },
        );
        assert!(
            message(&f, Lang::Ja)
                .contains("請求書等番号REQ-9は受付日（2026-04-02）が操作日より後です")
        );
    }
}
