//! The rule engine: the catalogue of `rules.md` run over days of events.

/// The rule engine cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// Days must be judged in ascending order; the state says which day came last.
    #[error("day {day} judged after day {last}: days must be judged in ascending order")]
    OutOfOrder { day: String, last: String },
}
