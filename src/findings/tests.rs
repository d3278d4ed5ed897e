//! Findings files and archive batches: formats, order, round trips.

use std::fs;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;
use crate::ledger::RequestMismatch;
use crate::model::{Op, RuleId};

/// 2026-04-01 09:00:00 JST.
const NINE: i64 = 1_775_001_600_000;

fn f(rule: RuleId, id: &str, ts: i64, facts: Facts) -> Finding {
    Finding {
        rule,
        event_id: id.into(),
        timestamp: ts,
        operator_id: Some("OP1".into()),
        terminal_id: Some("T1".into()),
        office: Some("川崎区".into()),
        evidence: vec![id.into()],
        facts,
        judged_on: 20_544,
    }
}

/// One finding of every kind of facts, deliberately out of file order.
fn samples() -> Vec<Finding> {
    let mut v = vec![
        f(
            RuleId::WatchlistAccess,
            "E9",
            NINE + 5_000,
            Facts::WatchlistAccess { op: Op::View },
        ),
        f(
            RuleId::UndesignatedOperator,
            "E2",
            NINE,
            Facts::UndesignatedOperator {
                op: Op::View,
                registered: false,
            },
        ),
        f(
            RuleId::OffHours,
            "E2",
            NINE,
            Facts::OffHours {
                op: Op::View,
                calendar: "default".into(),
                open_interval: None,
            },
        ),
        f(
            RuleId::OffHours,
            "E1",
            NINE,
            Facts::OffHours {
                op: Op::Login,
                calendar: "branch".into(),
                open_interval: Some((1, 2)),
            },
        ),
        f(
            RuleId::OutOfScopeBusiness,
            "E3",
            NINE + 1,
            Facts::OutOfScopeBusiness {
                op: Op::Search,
                business_code: None,
            },
        ),
        f(
            RuleId::UnassignedTerminal,
            "E4",
            NINE + 2,
            Facts::UnassignedTerminal {
                op: Op::View,
                why: TerminalWhy::OtherOffice {
                    terminal_office: "K1".into(),
                    operator_office: "K2".into(),
                },
            },
        ),
        f(
            RuleId::OutputWithoutRequest,
            "E5",
            NINE + 3,
            Facts::OutputWithoutRequest {
                op: Op::Print,
                record_count: 3,
            },
        ),
        f(
            RuleId::UnmatchedRequest,
            "E6",
            NINE + 4,
            Facts::UnmatchedRequest {
                op: Op::Export,
                request_no: "R, \"9\"".into(),
                why: RequestMismatch::ReceivedLater {
                    received_on: 20_545,
                },
            },
        ),
        f(
            RuleId::UnapprovedMassOutput,
            "E7",
            NINE + 6,
            Facts::UnapprovedMassOutput {
                op: Op::Extract,
                record_count: 500,
                threshold: 100,
                approval_no: Some("A1".into()),
            },
        ),
        f(
            RuleId::ScreenHardcopy,
            "E8",
            NINE + 7,
            Facts::ScreenHardcopy,
        ),
        f(
            RuleId::SelfVerification,
            "E10",
            NINE + 8,
            Facts::SelfVerification {
                change_event_id: "E0".into(),
                change_op: Op::Input,
            },
        ),
        f(
            RuleId::UnverifiedChange,
            "E11",
            NINE + 9,
            Facts::UnverifiedChange {
                op: Op::Delete,
                within_hours: 24,
            },
        ),
        f(
            RuleId::ConcurrentTerminals,
            "E12",
            NINE + 10,
            Facts::ConcurrentTerminals {
                other_terminal: "T2".into(),
                other_login: NINE - 60_000,
            },
        ),
        f(
            RuleId::AuthFailureBurst,
            "E13",
            NINE + 11,
            Facts::AuthFailureBurst {
                count: 5,
                by: BurstKey::Terminal,
                window_minutes: 10,
            },
        ),
        f(
            RuleId::RecordingDevice,
            "E14",
            NINE + 12,
            Facts::RecordingDevice,
        ),
        f(
            RuleId::BrowsingSpike,
            "E15",
            NINE + 13,
            Facts::BrowsingSpike {
                distinct: 51,
                window_minutes: 60,
                threshold: 50,
            },
        ),
    ];
    let mut split = f(
        RuleId::SplitMassOutput,
        "E16",
        NINE + 14,
        Facts::SplitMassOutput {
            total: 120,
            outputs: 2,
            window_minutes: 60,
            threshold: 100,
        },
    );
    split.evidence = vec!["E16".into(), "E0a".into()];
    split.operator_id = None;
    split.office = None;
    v.push(split);
    v
}

/// The (rule, event) pairs in the order of `cli.md`, worked out by hand from `samples`:
/// E1 and E2 share 09:00:00.000 — rule ids `off-hours` < `undesignated-operator`, then
/// event ids E1 < E2.
fn file_order() -> Vec<(String, String)> {
    [
        ("off-hours", "E1"),
        ("off-hours", "E2"),
        ("undesignated-operator", "E2"),
        ("out-of-scope-business", "E3"),
        ("unassigned-terminal", "E4"),
        ("output-without-request", "E5"),
        ("unmatched-request", "E6"),
        ("unapproved-mass-output", "E7"),
        ("screen-hardcopy", "E8"),
        ("self-verification", "E10"),
        ("unverified-change", "E11"),
        ("concurrent-terminals", "E12"),
        ("auth-failure-burst", "E13"),
        ("recording-device", "E14"),
        ("browsing-spike", "E15"),
        ("split-mass-output", "E16"),
        ("watchlist-access", "E9"),
    ]
    .iter()
    .map(|(r, e)| ((*r).to_owned(), (*e).to_owned()))
    .collect()
}

#[test]
fn csv_file_has_the_fixed_header_order_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("findings.csv");
    write(&path, &samples(), Lang::Ja).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(
        "rule_id,severity,event_id,timestamp,operator_id,terminal_id,office,message,evidence\n"
    ));
    let mut r = csv::Reader::from_path(&path).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let order: Vec<_> = rows
        .iter()
        .map(|r| (r[0].to_owned(), r[2].to_owned()))
        .collect();
    assert_eq!(order, file_order());
    assert_eq!(&rows[0][1], "medium");
    assert_eq!(&rows[0][3], "2026-04-01T09:00:00.000+09:00");
    assert_eq!(&rows[0][6], "川崎区");
    let split = rows.iter().find(|r| &r[0] == "split-mass-output").unwrap();
    assert_eq!(&split[4], "", "absent operator is an empty field");
    assert_eq!(&split[8], "E16;E0a");
    assert!(split[7].contains("計120件"), "{}", &split[7]);
    // Only the findings file is left in the folder.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn jsonl_file_has_arrays_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.JSONL");
    write(&path, &samples(), Lang::En).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 17);
    let first = rows[0].as_object().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    let mut expected = FILE_COLUMNS.to_vec();
    expected.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, expected);
    assert!(text.starts_with("{\"rule_id\":\"off-hours\",\"severity\":\"medium\",\"event_id\":\"E1\",\"timestamp\":\"2026-04-01T09:00:00.000+09:00\""));
    let split = rows
        .iter()
        .find(|r| r["rule_id"] == "split-mass-output")
        .unwrap();
    assert_eq!(split["operator_id"], serde_json::Value::Null);
    assert_eq!(split["evidence"], serde_json::json!(["E16", "E0a"]));
    assert!(
        split["message"]
            .as_str()
            .unwrap()
            .contains("totalling 120 records")
    );
}

#[test]
fn parquet_file_has_typed_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.parquet");
    write(&path, &samples(), Lang::Ja).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let batch = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
    let names: Vec<_> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, FILE_COLUMNS);
    assert_eq!(
        batch.schema().field(3).data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    assert!(matches!(
        batch.schema().field(8).data_type(),
        DataType::List(item) if item.data_type() == &DataType::Utf8
    ));
    let rules = batch.column(0).as_string::<i32>();
    let events = batch.column(2).as_string::<i32>();
    let order: Vec<_> = (0..batch.num_rows())
        .map(|i| (rules.value(i).to_owned(), events.value(i).to_owned()))
        .collect();
    assert_eq!(order, file_order());
    let ts = batch
        .column(3)
        .as_primitive::<arrow_array::types::TimestampMillisecondType>();
    assert_eq!(ts.value(0), NINE);
    let last_split = order
        .iter()
        .position(|(r, _)| r == "split-mass-output")
        .unwrap();
    assert!(batch.column(4).is_null(last_split));
    let ev = batch.column(8).as_list::<i32>().value(last_split);
    let ev: Vec<_> = ev.as_string::<i32>().iter().flatten().collect();
    assert_eq!(ev, ["E16", "E0a"]);
}

#[test]
fn unknown_extension_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("findings.xlsx");
    let err = write(&path, &samples(), Lang::Ja).unwrap_err();
    assert!(matches!(err, FindingsError::UnknownExtension { .. }));
    assert!(err.to_string().contains("findings.xlsx"), "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    let err = write(&dir.path().join("noext"), &[], Lang::Ja).unwrap_err();
    assert!(matches!(err, FindingsError::UnknownExtension { .. }));
}

#[test]
fn missing_folder_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/f.csv");
    let err = write(&path, &samples(), Lang::Ja).unwrap_err();
    assert!(matches!(err, FindingsError::Io { .. }), "{err}");
    assert!(err.to_string().contains("f.csv"), "{err}");
}

#[test]
fn rewriting_replaces_the_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    write(&path, &samples(), Lang::Ja).unwrap();
    write(&path, &samples()[..1], Lang::Ja).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2);
}

#[test]
fn archive_batch_round_trips_exactly() {
    let findings = samples();
    let batch = to_record_batch(&findings).unwrap();
    assert_eq!(batch.schema(), archive_schema());
    assert_eq!(batch.num_columns(), 12);
    assert_eq!(batch.schema().field(10).data_type(), &DataType::Date32);
    let back = from_record_batch(&batch).unwrap();
    assert_eq!(back, findings);
    let en = batch.column(9).as_string::<i32>();
    assert!(
        en.value(0).starts_with("At 2026-04-01 09:00:05"),
        "{}",
        en.value(0)
    );
    // Through Parquet too.
    let file = tempfile::tempfile().unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(file.try_clone().unwrap(), batch.schema(), None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let again: Vec<Finding> = reader
        .flat_map(|b| from_record_batch(&b.unwrap()).unwrap())
        .collect();
    assert_eq!(again, findings);
}

#[test]
fn from_record_batch_rejects_other_schemas() {
    let batch = to_file_batch(&samples().iter().collect::<Vec<_>>(), Lang::Ja).unwrap();
    let err = from_record_batch(&batch).unwrap_err();
    assert!(err.to_string().contains("judged_on"), "{err}");
}

/// Many findings in scrambled order: every sample repeated under new event ids, with
/// timestamps that collide so the rule and event id decide ties.
fn many() -> Vec<Finding> {
    let mut out = Vec::new();
    for k in 0..40u32 {
        for (i, s) in samples().into_iter().enumerate() {
            let mut f = s;
            f.event_id = format!("E{:03}-{}", (k * 37 + i as u32 * 11) % 97, f.event_id);
            f.timestamp += i64::from((k * 7919) % 13) * 1_000;
            out.push(f);
        }
    }
    out
}

#[test]
fn spool_spilling_in_runs_gives_the_sorted_findings() {
    let dir = tempfile::tempdir().unwrap();
    let all = many();
    let mut expected = all.clone();
    sort(&mut expected);
    for limit in [1, 7, 64, 100_000] {
        let mut spool = Spool::new(limit, Some(dir.path().to_path_buf()));
        for part in all.chunks(9) {
            spool.extend(part.to_vec()).unwrap();
        }
        assert_eq!(spool.counts(), &FindingCounts::of(&all));
        assert_eq!(spool.runs() > 0, limit < all.len(), "limit {limit}");
        let mut got = Vec::new();
        spool
            .drain_sorted(5, |part| {
                assert!(part.len() <= 5);
                got.extend_from_slice(part);
                Ok(())
            })
            .unwrap();
        assert_eq!(got, expected, "limit {limit}");
    }
}

#[test]
fn a_spilled_spool_writes_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let all = many();
    for ext in ["csv", "jsonl", "parquet"] {
        let direct = dir.path().join(format!("direct.{ext}"));
        let spooled = dir.path().join(format!("spooled.{ext}"));
        write(&direct, &all, Lang::En).unwrap();
        let mut spool = Spool::new(10, Some(dir.path().to_path_buf()));
        spool.extend(all.clone()).unwrap();
        spool.extend(Vec::new()).unwrap();
        assert!(spool.runs() > 0);
        write_spool(&spooled, spool, Lang::En).unwrap();
        assert_eq!(
            fs::read(&direct).unwrap(),
            fs::read(&spooled).unwrap(),
            "{ext}"
        );
    }
}
