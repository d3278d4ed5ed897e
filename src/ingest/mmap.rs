//! Memory-mapped windows of plain files — the only `unsafe` in tenken.
//!
//! Mapping is a choice, not an assumption: [`map_window`] returns `None` whenever the
//! kernel refuses (special files, some network file systems, address-space limits) and
//! the caller falls back to `read`. Windows (not whole files) are mapped so that resident
//! memory stays bounded by the window size however large the file.

use std::fs::File;

use memmap2::{Mmap, MmapOptions};

/// Maps `len` bytes of `file` starting at `offset`, read-only; `None` if mapping fails.
pub fn map_window(file: &File, offset: u64, len: usize) -> Option<Mmap> {
    if len == 0 {
        return None;
    }
    // SAFETY: memmap2 requires that the mapped file is not modified or truncated while the
    // map is alive, or reads may see changed bytes or fault (SIGBUS). tenken maps only the
    // operation-log files it was asked to read — closed exports of past days — and holds
    // each window only while that window is parsed. A file changed underneath us is the
    // same hazard ripgrep accepts for the same speed; `--no-mmap` avoids it entirely.
    let map = unsafe { MmapOptions::new().offset(offset).len(len).map(file) };
    let map = map.ok()?;
    // Sequential access lets the kernel read ahead; a failed hint changes nothing.
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}
