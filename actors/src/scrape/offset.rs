//! When a target is scraped: every `interval`, at a phase derived from a stable hash of the
//! target, like Prometheus's `scrapeLoop.offset`. Targets of one job thereby spread over the
//! interval instead of being scraped in a burst, and a target keeps its phase across agent
//! restarts and reloads (its samples stay evenly spaced for `rate()`).

use std::time::Duration;

use crate::discovery::Target;

/// A stable hash of a target's identity (its labels and URL).
pub fn target_hash(target: &Target) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&target.labels.stable_hash().to_le_bytes());
    h.update(target.url.as_bytes());
    h.digest()
}

/// The scrape times of one target: all instants `t` (Unix nanoseconds) with
/// `t % interval == phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    interval_ns: u64,
    phase_ns: u64,
}

impl Schedule {
    pub fn new(target_hash: u64, interval: Duration) -> Self {
        let interval_ns = u64::try_from(interval.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        Self {
            interval_ns,
            phase_ns: target_hash % interval_ns,
        }
    }

    /// The offset of this target's ticks within each interval.
    pub fn phase(&self) -> Duration {
        Duration::from_nanos(self.phase_ns)
    }

    /// The first tick strictly after `after_ns`. Passing `max(now, last tick)` guarantees a
    /// tick is never scraped twice even when a timer fires early by the wall clock, and ticks
    /// missed while a slow scrape ran are skipped rather than caught up.
    pub fn next_tick(&self, after_ns: u64) -> u64 {
        let (after, interval, phase) = (
            u128::from(after_ns),
            u128::from(self.interval_ns),
            u128::from(self.phase_ns),
        );
        let into = (after % interval + interval - phase) % interval;
        u64::try_from(after + interval - into).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Labels;

    fn target(instance: &str) -> Target {
        Target {
            job: "node".into(),
            url: format!("http://{instance}/metrics"),
            labels: Labels::from_pairs([("job", "node"), ("instance", instance)]),
            discovered_labels: Labels::default(),
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn ticks_land_on_the_phase_and_advance() {
        let s = Schedule::new(7_300_000_000, Duration::from_secs(5));
        assert_eq!(s.phase(), Duration::from_millis(2300));
        let sec = 1_000_000_000u64;
        assert_eq!(s.next_tick(100 * sec), 102 * sec + 300_000_000);
        // Exactly on a tick: the next one, not the same one.
        assert_eq!(
            s.next_tick(102 * sec + 300_000_000),
            107 * sec + 300_000_000
        );
        assert_eq!(
            s.next_tick(102 * sec + 299_999_999),
            102 * sec + 300_000_000
        );
        // A scrape that overran several intervals skips the missed ticks.
        assert_eq!(s.next_tick(118 * sec), 122 * sec + 300_000_000);
    }

    #[test]
    fn phases_are_stable_and_spread() {
        let interval = Duration::from_secs(15);
        let a = Schedule::new(target_hash(&target("a:9100")), interval);
        assert_eq!(
            a,
            Schedule::new(target_hash(&target("a:9100")), interval),
            "stable"
        );
        let phases: std::collections::BTreeSet<u64> = (0..50)
            .map(|i| Schedule::new(target_hash(&target(&format!("h{i}:9100"))), interval))
            .map(|s| s.phase().as_secs())
            .collect();
        assert!(
            phases.len() >= 10,
            "50 targets spread over 15 one-second slots: {phases:?}"
        );
        assert!(phases.iter().all(|p| *p < 15));
    }
}
