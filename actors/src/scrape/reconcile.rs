//! What to do with a job's running scrape loops when discovery sends a new target list: a
//! target identical to a running one (same labels and URL) keeps its loop and cache, a target
//! whose other attributes changed (interval, timeout, discovered labels) is updated in place,
//! a vanished target is stopped (writing its stale markers) and a new one is started.

use std::collections::{BTreeMap, BTreeSet};

use crate::discovery::Target;
use crate::labels::Labels;

/// A target's identity.
pub type TargetKey = (Labels, String);

pub fn target_key(target: &Target) -> TargetKey {
    (target.labels.clone(), target.url.clone())
}

/// The commands that take the running set to the desired one.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub start: Vec<Target>,
    pub update: Vec<Target>,
    pub stop: Vec<TargetKey>,
}

/// Plans the change from `running` to `desired` (duplicates in `desired` count once).
pub fn plan(running: &BTreeMap<TargetKey, Target>, desired: Vec<Target>) -> Plan {
    let mut plan = Plan::default();
    let mut wanted = BTreeSet::new();
    for target in desired {
        let key = target_key(&target);
        if !wanted.insert(key.clone()) {
            continue;
        }
        match running.get(&key) {
            None => plan.start.push(target),
            Some(current) if *current != target => plan.update.push(target),
            Some(_) => {}
        }
    }
    plan.stop = running
        .keys()
        .filter(|k| !wanted.contains(*k))
        .cloned()
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn target(instance: &str, interval: u64) -> Target {
        Target {
            job: "j".into(),
            url: format!("http://{instance}/metrics"),
            labels: Labels::from_pairs([("job", "j"), ("instance", instance)]),
            discovered_labels: Labels::default(),
            interval: Duration::from_secs(interval),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn keeps_updates_starts_and_stops() {
        let running: BTreeMap<_, _> = [target("a", 5), target("b", 5), target("c", 5)]
            .into_iter()
            .map(|t| (target_key(&t), t))
            .collect();
        let p = plan(
            &running,
            vec![
                target("a", 5),
                target("b", 10),
                target("d", 5),
                target("d", 5),
            ],
        );
        assert_eq!(p.start, [target("d", 5)]);
        assert_eq!(p.update, [target("b", 10)]);
        assert_eq!(p.stop, [target_key(&target("c", 5))]);
        assert_eq!(
            plan(&running, running.values().cloned().collect()),
            Plan::default()
        );
    }
}
