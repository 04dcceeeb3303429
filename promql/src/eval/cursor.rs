//! Per-series search positions carried from one evaluation step to the next.
//!
//! A range query evaluates each selector at increasing times, so the sample a step needs is
//! usually a few samples after the one the previous step found. Galloping from there touches one
//! or two cache lines, where a binary search over the whole series touches one per halving; on
//! large queries those misses were most of the evaluation time. Evaluation times that move
//! backwards (nested subqueries) gallop backwards, so any order stays correct. The positions
//! live in the evaluator, per selector node.
//!
//! A range selector keeps both ends of its window: searching the start from the end instead
//! would gallop back over the whole window at every step, which for `increase(x[1h])` is
//! hundreds of samples per series and step.

use crate::value::Sample;

/// Where one series' window was found at the previous step.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cursor {
    /// Samples before the window (timestamps before its start).
    pub start: usize,
    /// Samples up to the window's end (timestamps `<=` the reference time).
    pub end: usize,
}

impl Cursor {
    /// The positions of the samples in `[start, end]` (both inclusive), searched from where the
    /// previous window was found; remembers them for the next step.
    pub(crate) fn window(&mut self, samples: &[Sample], start: i64, end: i64) -> (usize, usize) {
        let hi = upper_bound_from(samples, self.end, end);
        // Timestamps are integers: `t >= start` is `t > start - 1`.
        let lo = upper_bound_from(samples, self.start, start.saturating_sub(1));
        *self = Cursor { start: lo, end: hi };
        (lo, hi)
    }
}

/// The number of samples with timestamps `<= t` (`partition_point(|s| s.t <= t)`), searched
/// outwards from `hint`, a previous answer for this series.
pub(crate) fn upper_bound_from(samples: &[Sample], hint: usize, t: i64) -> usize {
    let n = samples.len();
    let hint = hint.min(n);
    if hint > 0 && samples[hint - 1].t > t {
        // The answer is before the hint: gallop backwards.
        let mut hi = hint - 1;
        let mut step = 1;
        loop {
            let lo = hi.saturating_sub(step);
            if lo == 0 || samples[lo - 1].t <= t {
                return lo + samples[lo..hi].partition_point(|s| s.t <= t);
            }
            hi = lo - 1;
            step *= 2;
        }
    }
    // Every sample before the hint is <= t: gallop forwards.
    let mut lo = hint;
    let mut step = 1;
    while lo + step <= n && samples[lo + step - 1].t <= t {
        lo += step;
        step *= 2;
    }
    let hi = (lo + step - 1).min(n);
    lo + samples[lo..hi].partition_point(|s| s.t <= t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_binary_search_from_any_hint() {
        let samples: Vec<Sample> = [0, 10, 10, 20, 35, 40, 41, 90, 100]
            .iter()
            .map(|&t| Sample { t, v: 0.0 })
            .collect();
        for t in -5..110 {
            let want = samples.partition_point(|s| s.t <= t);
            for hint in 0..=samples.len() + 2 {
                assert_eq!(
                    upper_bound_from(&samples, hint, t),
                    want,
                    "t={t} hint={hint}"
                );
            }
        }
        assert_eq!(upper_bound_from(&[], 3, 5), 0);
    }
}
