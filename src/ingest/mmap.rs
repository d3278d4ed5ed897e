//! Memory-mapped windows of plain files — the only `unsafe` in tenken.
//!
//! Mapping is a choice, not an assumption: [`map_window`] returns `None` whenever the
//! kernel refuses (special files, some network file systems, address-space limits) and
//! the caller falls back to `read`. Windows (not whole files) are mapped so that resident
//! memory stays bounded by the window size however large the file.
//!
//! [`map_private_buffer`] maps a range of tenken's own spill file as an Arrow buffer, so
//! that spilled days are read back without copying them out of the page cache.

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

/// Maps `len` bytes of `file` at `offset` as an Arrow [`Buffer`] that keeps the mapping
/// alive; `None` if mapping fails. Only for files this process created and alone holds
/// (an unlinked temporary file), and only for ranges that are written and never
/// rewritten.
pub fn map_private_buffer(file: &File, offset: u64, len: usize) -> Option<arrow_buffer::Buffer> {
    if len == 0 {
        return None;
    }
    // SAFETY: as in `map_window`, the mapped range must not change while mapped. The
    // callers' files are anonymous temporary files of this process (no other process can
    // open them by name), and the range is appended once and only read afterwards.
    let map = unsafe { MmapOptions::new().offset(offset).len(len).map(file) }.ok()?;
    let ptr = std::ptr::NonNull::new(map.as_ptr().cast_mut())?;
    let owner: std::sync::Arc<Mmap> = std::sync::Arc::new(map);
    // SAFETY: `ptr` points to `len` readable bytes owned by `owner`; the buffer holds
    // `owner` for as long as any slice of it lives, and nothing writes through a
    // read-only mapping.
    Some(unsafe { arrow_buffer::Buffer::from_custom_allocation(ptr, len, owner) })
}
