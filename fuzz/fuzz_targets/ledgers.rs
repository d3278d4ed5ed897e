//! Fuzzes the ledger readers (`ledger::Ledgers::load`): arbitrary bytes as one of the
//! eight ledger files of a folder whose other files are valid. Nothing may panic, and an
//! error that names a line must name the fuzzed file and a line that file has: a clerk
//! told "requests.csv:812" must find line 812 there.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tenken::ledger::{
    APPROVALS_FILE, CALENDARS_FILE, LedgerError, Ledgers, OPERATORS_COLUMNS, OPERATORS_FILE,
    REQUESTS_FILE, RULES_FILE, SYUKUJITSU_FILE, TERMINALS_COLUMNS, TERMINALS_FILE, WATCHLIST_FILE,
};

const FILES: [&str; 8] = [
    OPERATORS_FILE,
    TERMINALS_FILE,
    APPROVALS_FILE,
    REQUESTS_FILE,
    WATCHLIST_FILE,
    RULES_FILE,
    CALENDARS_FILE,
    SYUKUJITSU_FILE,
];

/// A folder of this process only: libFuzzer may run several processes side by side.
fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tenken-fuzz-ledgers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp folder");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let dir = folder();
    for f in FILES {
        let _ = std::fs::remove_file(dir.join(f));
    }
    // The two required files, valid and empty: the header alone.
    for (file, columns) in [
        (OPERATORS_FILE, OPERATORS_COLUMNS),
        (TERMINALS_FILE, TERMINALS_COLUMNS),
    ] {
        std::fs::write(dir.join(file), columns.join(",") + "\n").expect("write");
    }
    let name = FILES[pick as usize % FILES.len()];
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");

    // A CSV line ends at `\n`; a file without a final newline still has its last line.
    let lines = bytes.split(|&b| b == b'\n').count() as u64;
    match Ledgers::load(dir) {
        Ok(_) => {}
        Err(LedgerError::Cell {
            path: p,
            line,
            column,
            ..
        }) => {
            assert_eq!(p, path, "a cell error in a file that was not fuzzed");
            assert!(
                (1..=lines).contains(&line),
                "line {line} of a file of {lines} lines"
            );
            assert!(column >= 1, "column 0");
        }
        Err(LedgerError::Line { path: p, line, .. }) => {
            assert_eq!(p, path, "a line error in a file that was not fuzzed");
            assert!(
                (1..=lines).contains(&line),
                "line {line} of a file of {lines} lines"
            );
        }
        Err(LedgerError::File { .. } | LedgerError::Io { .. }) => {}
    }
});
