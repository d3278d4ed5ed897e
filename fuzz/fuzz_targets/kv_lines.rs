//! Fuzzes the oplog-kv v1 decoder (see `common.rs` for what is checked).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use tenken::normalize::Format;

fuzz_target!(|data: &[u8]| common::decode_everything(Format::Kv, data));
