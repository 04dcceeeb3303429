//! Checking that a receiver holds every scrape of a synthetic target exactly once.
//!
//! The target's [`SCRAPE_COUNTER`](crate::targets::SCRAPE_COUNTER) series carries the number of
//! the scrape that served it, so the samples a receiver holds for it must be the values
//! `1..=served`, each once, in timestamp order. Anything else is a named defect: a lost scrape,
//! a duplicate, or reordering. Staleness markers (Prometheus's StaleNaN, written when the
//! target stops answering) are not scrapes and are skipped.

use std::fmt;

use skyview_actors::sample::is_stale_nan;

/// What is wrong with a received scrape sequence.
#[derive(Clone, Debug, PartialEq)]
pub enum SequenceDefect {
    /// These scrape numbers never arrived.
    Missing(Vec<u64>),
    /// These scrape numbers arrived more than once.
    Duplicated(Vec<u64>),
    /// A value that is not a scrape number of this run (not an integer in `1..=served`).
    Foreign(f64),
    /// Timestamps do not increase with scrape numbers.
    Reordered {
        scrape: u64,
        timestamp_ms: i64,
        previous_ms: i64,
    },
}

impl fmt::Display for SequenceDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(n) => write!(f, "scrapes {n:?} never arrived"),
            Self::Duplicated(n) => write!(f, "scrapes {n:?} arrived more than once"),
            Self::Foreign(v) => write!(f, "value {v} is not a scrape number of this run"),
            Self::Reordered {
                scrape,
                timestamp_ms,
                previous_ms,
            } => {
                write!(
                    f,
                    "scrape {scrape} has timestamp {timestamp_ms} <= previous {previous_ms}"
                )
            }
        }
    }
}

/// Checks `samples` (`(timestamp_ms, value)` in any order) against `served` scrapes.
pub fn check_scrape_sequence(samples: &[(i64, f64)], served: u64) -> Result<(), SequenceDefect> {
    let samples: Vec<(i64, f64)> = samples
        .iter()
        .copied()
        .filter(|&(_, v)| !is_stale_nan(v))
        .collect();
    let mut seen = vec![0u32; served as usize + 1];
    for &(_, value) in &samples {
        if value.fract() != 0.0 || value < 1.0 || value > served as f64 {
            return Err(SequenceDefect::Foreign(value));
        }
        seen[value as usize] += 1;
    }
    let duplicated: Vec<u64> = (1..=served).filter(|&n| seen[n as usize] > 1).collect();
    if !duplicated.is_empty() {
        return Err(SequenceDefect::Duplicated(duplicated));
    }
    let missing: Vec<u64> = (1..=served).filter(|&n| seen[n as usize] == 0).collect();
    if !missing.is_empty() {
        return Err(SequenceDefect::Missing(missing));
    }
    let mut by_scrape: Vec<(u64, i64)> = samples.iter().map(|&(t, v)| (v as u64, t)).collect();
    by_scrape.sort_unstable();
    for pair in by_scrape.windows(2) {
        let ((_, previous_ms), (scrape, timestamp_ms)) = (pair[0], pair[1]);
        if timestamp_ms <= previous_ms {
            return Err(SequenceDefect::Reordered {
                scrape,
                timestamp_ms,
                previous_ms,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[u64]) -> Vec<(i64, f64)> {
        values
            .iter()
            .map(|&v| (1_000 * v as i64, v as f64))
            .collect()
    }

    #[test]
    fn a_complete_run_in_any_order_passes() {
        let mut samples = run(&[1, 2, 3, 4]);
        samples.reverse();
        assert_eq!(check_scrape_sequence(&samples, 4), Ok(()));
        assert_eq!(check_scrape_sequence(&[], 0), Ok(()));
    }

    #[test]
    fn names_missing_and_duplicated_scrapes() {
        assert_eq!(
            check_scrape_sequence(&run(&[1, 2, 4]), 4),
            Err(SequenceDefect::Missing(vec![3]))
        );
        assert_eq!(
            check_scrape_sequence(&run(&[1, 2, 2, 3]), 3),
            Err(SequenceDefect::Duplicated(vec![2]))
        );
        assert_eq!(
            check_scrape_sequence(&run(&[1, 2]), 3),
            Err(SequenceDefect::Missing(vec![3]))
        );
    }

    #[test]
    fn skips_staleness_markers_but_not_other_nans() {
        let mut samples = run(&[1, 2]);
        samples.push((3_000, skyview_actors::sample::stale_nan()));
        assert_eq!(check_scrape_sequence(&samples, 2), Ok(()));
        samples.push((4_000, f64::NAN));
        assert!(
            matches!(check_scrape_sequence(&samples, 2), Err(SequenceDefect::Foreign(v)) if v.is_nan())
        );
    }

    #[test]
    fn rejects_foreign_values_and_reordering() {
        assert_eq!(
            check_scrape_sequence(&run(&[1, 5]), 4),
            Err(SequenceDefect::Foreign(5.0))
        );
        assert_eq!(
            check_scrape_sequence(&[(1, 1.5)], 4),
            Err(SequenceDefect::Foreign(1.5))
        );
        let samples = [(2_000, 1.0), (1_000, 2.0)];
        assert_eq!(
            check_scrape_sequence(&samples, 2),
            Err(SequenceDefect::Reordered {
                scrape: 2,
                timestamp_ms: 1_000,
                previous_ms: 2_000
            })
        );
    }
}
