//! What a receiver must hold after a test's writes, compared exactly with what it returns.
//!
//! A test records every request it got acknowledged; the receiver must then return exactly
//! those series, each with exactly those samples: one per timestamp (a duplicate means a retry
//! was applied twice, invariant I2), none missing (I1), none foreign, and the values written
//! (bit for bit, NaN included). Retrying a request does not change what is expected, which is
//! the point: the expectation is a set.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use skyview_api::remote_write::{TimeSeries, WriteRequest};

use crate::remote_write_client::StoredSeries;

/// Series labels (sorted by name) -> timestamp -> value.
#[derive(Clone, Debug, Default)]
pub struct Expected {
    series: BTreeMap<Vec<(String, String)>, BTreeMap<i64, f64>>,
}

impl Expected {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the samples of an acknowledged request.
    pub fn add_request(&mut self, request: &WriteRequest) {
        for series in &request.timeseries {
            self.add_series(series);
        }
    }

    /// Records the samples of one acknowledged series (labels with an empty value are absent,
    /// as the receiver treats them).
    pub fn add_series(&mut self, series: &TimeSeries) {
        let mut labels: Vec<(String, String)> = series
            .labels
            .iter()
            .filter(|l| !l.value.is_empty())
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        labels.sort();
        let samples = self.series.entry(labels).or_default();
        for sample in &series.samples {
            samples.insert(sample.timestamp, sample.value);
        }
    }

    /// Number of distinct samples expected.
    pub fn samples(&self) -> usize {
        self.series.values().map(BTreeMap::len).sum()
    }

    /// Number of series expected.
    pub fn series(&self) -> usize {
        self.series.len()
    }

    /// Compares `stored` with the expectation; the error lists every defect.
    pub fn check(&self, stored: &[StoredSeries]) -> Result<()> {
        let mut defects = Vec::new();
        let mut seen = BTreeMap::new();
        for series in stored {
            let labels: Vec<(String, String)> = series.labels.clone().into_iter().collect();
            if seen.insert(labels.clone(), ()).is_some() {
                defects.push(format!("{labels:?}: returned twice"));
            }
            match self.series.get(&labels) {
                None => defects.push(format!(
                    "{labels:?}: never written, holds {} samples",
                    series.samples.len()
                )),
                Some(want) => {
                    if let Some(defect) = sample_defect(want, &series.samples) {
                        defects.push(format!("{labels:?}: {defect}"));
                    }
                }
            }
        }
        for (labels, want) in &self.series {
            if !seen.contains_key(labels) {
                defects.push(format!(
                    "{labels:?}: missing ({} samples written)",
                    want.len()
                ));
            }
        }
        if !defects.is_empty() {
            bail!(
                "the receiver does not hold exactly what was acknowledged ({} series, {} \
                 samples):\n{}",
                self.series(),
                self.samples(),
                defects.join("\n")
            );
        }
        Ok(())
    }
}

/// What differs between the expected samples of a series and the returned ones.
fn sample_defect(want: &BTreeMap<i64, f64>, got: &[(i64, f64)]) -> Option<String> {
    let mut counts: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for &(t, v) in got {
        counts.entry(t).or_default().push(v);
    }
    let duplicated: Vec<i64> = counts
        .iter()
        .filter(|(_, vs)| vs.len() > 1)
        .map(|(t, _)| *t)
        .collect();
    let missing: Vec<i64> = want
        .keys()
        .filter(|t| !counts.contains_key(t))
        .copied()
        .collect();
    let foreign: Vec<i64> = counts
        .keys()
        .filter(|t| !want.contains_key(t))
        .copied()
        .collect();
    let altered: Vec<(i64, f64, f64)> = want
        .iter()
        .filter_map(|(t, w)| {
            let v = *counts.get(t)?.first()?;
            (v.to_bits() != w.to_bits() && !(v.is_nan() && w.is_nan())).then_some((*t, *w, v))
        })
        .collect();
    if duplicated.is_empty() && missing.is_empty() && foreign.is_empty() && altered.is_empty() {
        return None;
    }
    Some(format!(
        "{} samples returned, {} written; duplicated timestamps {duplicated:?}, missing \
         {missing:?}, never written {foreign:?}, values changed (t, written, returned) \
         {altered:?}",
        got.len(),
        want.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote_write_client::{time_series, write_request};

    fn stored(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> StoredSeries {
        StoredSeries {
            labels: labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            samples: samples.to_vec(),
        }
    }

    #[test]
    fn a_retried_request_is_expected_once() {
        let mut expected = Expected::new();
        let request = write_request(vec![time_series(
            &[("__name__", "m"), ("empty", ""), ("a", "1")],
            &[(1, 1.0), (2, f64::NAN)],
        )]);
        expected.add_request(&request);
        expected.add_request(&request);
        assert_eq!((expected.series(), expected.samples()), (1, 2));
        let labels = [("__name__", "m"), ("a", "1")];
        expected
            .check(&[stored(&labels, &[(1, 1.0), (2, f64::NAN)])])
            .unwrap();
    }

    #[test]
    fn names_every_defect() {
        let mut expected = Expected::new();
        expected.add_series(&time_series(&[("__name__", "m")], &[(1, 1.0), (2, 2.0)]));
        expected.add_series(&time_series(&[("__name__", "gone")], &[(1, 1.0)]));
        let err = expected
            .check(&[
                stored(&[("__name__", "m")], &[(1, 1.0), (1, 1.0), (3, 3.0)]),
                stored(&[("__name__", "extra")], &[(1, 1.0)]),
            ])
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicated timestamps [1]"), "{err}");
        assert!(err.contains("missing [2]"), "{err}");
        assert!(err.contains("never written [3]"), "{err}");
        assert!(err.contains("\"extra\")]: never written"), "{err}");
        assert!(err.contains("\"gone\")]: missing"), "{err}");
        let err = expected
            .check(&[
                stored(&[("__name__", "m")], &[(1, 1.0), (2, 2.5)]),
                stored(&[("__name__", "gone")], &[(1, 1.0)]),
            ])
            .unwrap_err()
            .to_string();
        assert!(err.contains("(2, 2.0, 2.5)"), "{err}");
    }
}
