//! Fuzzes the oplog-csv v1 decoder (see `common.rs` for what is checked).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use tenken::normalize::Format;

fuzz_target!(|data: &[u8]| common::decode_everything(Format::Csv, data));
