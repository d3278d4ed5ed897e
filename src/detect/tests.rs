//! Hand-written cases for every rule, with their near misses, and the day-splitting
//! property. Expected findings are derived by hand from `rules.md`; the comments say how.

mod cases;
mod fixtures;
mod props;
pub(crate) mod support;
