//! days
