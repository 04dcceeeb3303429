//! The one thing the evaluator needs from storage: series selected by label matchers over a
//! time range.
//!
//! The trait returns a boxed future so that it stays object safe (`&dyn Queryable`) on stable
//! Rust without extra crates; a storage implementation pushes the matchers and the range down to
//! its index and chunks. The evaluator selects each selector's data once per query, before
//! evaluating, so evaluation itself is pure and does no IO.

use futures::future::BoxFuture;
use promql_parser::label::Matcher;

use crate::value::Series;

/// A storage failure while selecting series.
#[derive(Debug, thiserror::Error)]
#[error("storage error: {message}")]
pub struct SelectError {
    /// What went wrong, for the API's error message.
    pub message: String,
}

impl SelectError {
    /// Wraps a storage failure's message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A source of series for the evaluator.
pub trait Queryable: Send + Sync {
    /// Returns every series whose labels satisfy all `matchers` (a missing label matches as the
    /// empty string; regex matchers are fully anchored), with its samples whose timestamps lie
    /// in `[min_t, max_t]` (milliseconds, inclusive), sorted by time.
    ///
    /// Staleness markers ([`crate::value::STALE_NAN_BITS`]) must be returned like any sample:
    /// the evaluator needs them to end the lookback. Series may come in any order and may have
    /// no samples in the range; the evaluator sorts them by labels.
    fn select<'a>(
        &'a self,
        matchers: &'a [Matcher],
        min_t: i64,
        max_t: i64,
    ) -> BoxFuture<'a, Result<Vec<Series>, SelectError>>;
}
