//! The label sets behind `/api/v1/series`, `/api/v1/labels` and
//! `/api/v1/label/<name>/values`: every series that one of the `match[]` selectors selects and
//! that has a sample in `[start, end]`, found through [`Queryable::select`].
//!
//! Cost: `select` returns samples, not just labels, so these endpoints read every sample of
//! the selected series in the range. Without `match[]` (labels and label values only) the
//! selector is `{__name__=~".+"}` over the whole range, which with Prometheus's default range
//! (all time) reads the whole database. A storage-side label index lookup would avoid it;
//! the `Queryable` trait has none yet.

use std::collections::BTreeSet;

use promql_parser::label::Matcher;
use skyview_promql::{Labels, Queryable};

use crate::error::ApiError;

/// The distinct label sets, sorted as Prometheus sorts them, of the series any of
/// `matcher_sets` selects with a sample in `[start, end]`.
pub async fn select_label_sets(
    queryable: &dyn Queryable,
    matcher_sets: &[Vec<Matcher>],
    start: i64,
    end: i64,
) -> Result<BTreeSet<Labels>, ApiError> {
    let mut out = BTreeSet::new();
    for matchers in matcher_sets {
        let series = queryable
            .select(matchers, start, end)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        out.extend(
            series
                .into_iter()
                .filter(|s| !s.samples.is_empty())
                .map(|s| s.labels),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::parse_matcher_sets;
    use skyview_promql::MemoryQueryable;

    #[test]
    fn union_of_sets_with_samples_in_range() {
        let mut data = MemoryQueryable::new();
        data.load("load 1m\n  a{x=\"1\"} 1 2\n  a{x=\"2\"} _ _ 3\n  b 1")
            .unwrap();
        let sets = parse_matcher_sets(&["a", "b", "a{x=\"1\"}"]).unwrap();
        let got = futures::executor::block_on(select_label_sets(&data, &sets, 0, 60_000)).unwrap();
        let expected: BTreeSet<Labels> = [
            Labels::from_pairs([("__name__", "a"), ("x", "1")]),
            Labels::from_pairs([("__name__", "b")]),
        ]
        .into();
        assert_eq!(got, expected);
    }
}
