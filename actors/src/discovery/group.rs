//! Target groups: what every discovery mechanism produces, before `relabel_configs`.
//!
//! As in Prometheus, a group is a list of targets (each a label set holding at least
//! `__address__`) plus labels common to the group, and carries a `source` that identifies it
//! within its provider so an update can replace exactly the groups it came from.

use crate::config::StaticConfig;
use crate::labels::{Labels, LabelsBuilder};

/// The label holding a target's `host:port`.
pub const ADDRESS_LABEL: &str = "__address__";

/// One group of targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroup {
    /// Identifies the group within its provider: the `static_configs` index, or `file:index`.
    pub source: String,
    /// One label set per target.
    pub targets: Vec<Labels>,
    /// Labels shared by every target of the group; a target's own labels win.
    pub labels: Labels,
}

impl TargetGroup {
    /// The group for `static_configs[index]`.
    pub fn from_static(index: usize, config: &StaticConfig) -> Self {
        Self {
            source: index.to_string(),
            targets: config.targets.iter().map(|t| address_labels(t)).collect(),
            labels: Labels::from_pairs(&config.labels),
        }
    }

    /// Each target's discovered labels: the group labels overlaid with the target's own.
    pub fn target_labels(&self) -> impl Iterator<Item = Labels> + '_ {
        self.targets.iter().map(|target| {
            let mut builder: LabelsBuilder = self.labels.to_builder();
            for label in target {
                builder.set(label.name.as_str(), label.value.as_str());
            }
            builder.build()
        })
    }
}

/// The label set of a target given as `host:port`.
pub fn address_labels(address: &str) -> Labels {
    Labels::from_pairs([(ADDRESS_LABEL, address)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_labels_win_over_group_labels() {
        let group = TargetGroup {
            source: "0".into(),
            targets: vec![Labels::from_pairs([(ADDRESS_LABEL, "a:1"), ("env", "own")])],
            labels: Labels::from_pairs([("env", "group"), ("team", "t")]),
        };
        let labels: Vec<_> = group.target_labels().collect();
        assert_eq!(
            labels[0],
            Labels::from_pairs([(ADDRESS_LABEL, "a:1"), ("env", "own"), ("team", "t")])
        );
    }

    #[test]
    fn static_groups_keep_order_and_labels() {
        let config: StaticConfig =
            serde_yaml_ng::from_str("{targets: ['a:1', 'b:2'], labels: {env: prod}}").unwrap();
        let group = TargetGroup::from_static(3, &config);
        assert_eq!(group.source, "3");
        assert_eq!(
            group.targets,
            [address_labels("a:1"), address_labels("b:2")]
        );
        assert_eq!(group.labels.get("env"), Some("prod"));
    }
}
