//! One job's targets: runs [`populate`] over every group the job's providers hold, and decides
//! whether the result differs from what was last announced.
//!
//! Kept pure so the "announce once at start, then only on change" rule and the de-duplication
//! (two groups listing the same target yield one scrape loop, as in Prometheus) are unit-tested
//! without an actor.

use std::collections::HashSet;

use super::group::TargetGroup;
use super::populate::{populate, PopulateError, Populated};
use super::target::Target;
use crate::config::{GlobalConfig, ScrapeConfig};
use crate::labels::Labels;

/// The targets of one job after populating; `failures` pairs a discovered label set with why it
/// could not become a target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobTargets {
    pub active: Vec<Target>,
    pub dropped: Vec<Labels>,
    pub failures: Vec<(Labels, PopulateError)>,
}

impl JobTargets {
    /// Populates every target of `groups` for `config`.
    pub fn compute<'a>(
        config: &ScrapeConfig,
        global: &GlobalConfig,
        groups: impl IntoIterator<Item = &'a TargetGroup>,
    ) -> Self {
        let mut out = Self::default();
        let mut seen = HashSet::new();
        for group in groups {
            for discovered in group.target_labels() {
                match populate(&discovered, config, global) {
                    Ok(Populated::Active(target)) => {
                        if seen.insert((target.labels.clone(), target.url.clone())) {
                            out.active.push(target);
                        }
                    }
                    Ok(Populated::Dropped(labels)) => out.dropped.push(labels),
                    Err(e) => out.failures.push((discovered, e)),
                }
            }
        }
        out
    }
}

/// Remembers what was last announced for a job.
#[derive(Debug, Default)]
pub struct Announced {
    last: Option<(Vec<Target>, Vec<Labels>)>,
}

impl Announced {
    /// Whether `targets` must be announced: always the first time, then only when the active or
    /// dropped targets changed. Records them as announced when it returns true.
    pub fn should_announce(&mut self, targets: &JobTargets) -> bool {
        let current = (&targets.active, &targets.dropped);
        if self.last.as_ref().is_some_and(|(a, d)| (a, d) == current) {
            return false;
        }
        self.last = Some((targets.active.clone(), targets.dropped.clone()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StaticConfig;

    fn group(source: &str, targets: &[&str]) -> TargetGroup {
        let config = StaticConfig {
            targets: targets.iter().map(|t| t.to_string()).collect(),
            labels: Default::default(),
        };
        TargetGroup {
            source: source.into(),
            ..TargetGroup::from_static(0, &config)
        }
    }

    fn job() -> ScrapeConfig {
        serde_yaml_ng::from_str(
            "job_name: j\nrelabel_configs: [{source_labels: [__address__], regex: 'drop:.*', action: drop}]",
        )
        .unwrap()
    }

    #[test]
    fn splits_active_dropped_and_failed_and_dedups() {
        let global = GlobalConfig::default();
        let groups = [
            group("0", &["a:1", "drop:1", "x/y"]),
            group("1", &["a:1", "b:1"]),
        ];
        let t = JobTargets::compute(&job(), &global, &groups);
        let urls: Vec<_> = t.active.iter().map(|t| t.url.as_str()).collect();
        assert_eq!(urls, ["http://a:1/metrics", "http://b:1/metrics"]);
        assert_eq!(t.dropped.len(), 1);
        assert_eq!(t.failures.len(), 1);
        assert!(matches!(
            t.failures[0].1,
            PopulateError::InvalidAddress { .. }
        ));
    }

    #[test]
    fn announces_first_time_even_empty_then_only_changes() {
        let global = GlobalConfig::default();
        let mut announced = Announced::default();
        let empty = JobTargets::compute(&job(), &global, []);
        assert!(announced.should_announce(&empty));
        assert!(!announced.should_announce(&empty));
        let one = JobTargets::compute(&job(), &global, &[group("0", &["a:1"])]);
        assert!(announced.should_announce(&one));
        assert!(!announced.should_announce(&one.clone()));
        let dropped = JobTargets::compute(&job(), &global, &[group("0", &["a:1", "drop:2"])]);
        assert!(
            announced.should_announce(&dropped),
            "a new dropped target is a change"
        );
    }
}
