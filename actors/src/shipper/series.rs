//! The endpoint's view of the WAL's series: reference -> queue and wire-ready labels.
//!
//! Built from the WAL's series records as the reader meets them. Each series is passed through
//! the endpoint's `write_relabel_configs`; a series they drop is remembered as dropped so its
//! samples are counted (`reason="relabel"`) rather than looked up again. External labels are
//! added to the survivors, a series' own label winning over an external one of the same name,
//! as in Prometheus. The result is kept only as pre-encoded protobuf label bytes (see
//! `encode.rs`) behind an `Arc`: about 32 bytes of table plus the label text per series, where
//! a `Labels` would cost two `String`s per label. Encoding a request then copies these bytes.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use super::encode::encode_labels;
use super::queues::queue_for;
use crate::labels::Labels;
use crate::relabel::{relabel, RelabelConfig};
use crate::sample::SeriesRef;
use crate::wal::RefHasher;

/// What the endpoint does with one series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesEntry {
    /// Dropped by `write_relabel_configs`.
    Dropped,
    /// Sent on `queue` with these encoded labels.
    Kept { queue: u32, labels: Arc<[u8]> },
}

/// Reference -> entry for every series the reader has met.
#[derive(Debug)]
pub struct SeriesTable {
    queues: u32,
    rules: Vec<RelabelConfig>,
    external: Vec<(String, String)>,
    /// Probed once per sample shipped; keyed by the WAL's own references, so the WAL's cheap
    /// reference hasher fits.
    entries: HashMap<SeriesRef, SeriesEntry, BuildHasherDefault<RefHasher>>,
}

impl SeriesTable {
    pub fn new(
        queues: u32,
        rules: Vec<RelabelConfig>,
        external_labels: &BTreeMap<String, String>,
    ) -> Self {
        let external = external_labels
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self {
            queues,
            rules,
            external,
            entries: HashMap::default(),
        }
    }

    /// Records a series definition (a later definition of the same reference replaces it).
    pub fn define(&mut self, series: SeriesRef, labels: &Labels) {
        let entry = match relabel(labels, &self.rules) {
            None => SeriesEntry::Dropped,
            Some(relabelled) if relabelled.is_empty() => SeriesEntry::Dropped,
            Some(relabelled) => {
                let wire = if self
                    .external
                    .iter()
                    .any(|(k, _)| relabelled.get(k).is_none())
                {
                    let mut b = relabelled.to_builder();
                    for (k, v) in &self.external {
                        if b.get(k).is_none() {
                            b.set(k.as_str(), v.as_str());
                        }
                    }
                    b.build()
                } else {
                    relabelled
                };
                SeriesEntry::Kept {
                    queue: queue_for(labels, self.queues),
                    labels: encode_labels(&wire),
                }
            }
        };
        self.entries.insert(series, entry);
    }

    pub fn get(&self, series: SeriesRef) -> Option<&SeriesEntry> {
        self.entries.get(&series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relabel::Action;

    fn rule(yaml: &str) -> RelabelConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn applies_relabel_and_external_labels_own_label_wins() {
        let external = BTreeMap::from([
            ("cluster".to_owned(), "eu".to_owned()),
            ("job".to_owned(), "x".to_owned()),
        ]);
        let rules = vec![rule(
            "source_labels: [__name__]\nregex: drop_me\naction: drop",
        )];
        assert_eq!(rules[0].action, Action::Drop);
        let mut table = SeriesTable::new(8, rules, &external);

        let up = Labels::from_pairs([("__name__", "up"), ("job", "node")]);
        table.define(1, &up);
        table.define(2, &Labels::from_pairs([("__name__", "drop_me")]));

        let want = Labels::from_pairs([("__name__", "up"), ("job", "node"), ("cluster", "eu")]);
        assert_eq!(
            table.get(1),
            Some(&SeriesEntry::Kept {
                queue: queue_for(&up, 8),
                labels: encode_labels(&want)
            })
        );
        assert_eq!(table.get(2), Some(&SeriesEntry::Dropped));
        assert_eq!(table.get(3), None);
    }

    #[test]
    fn queue_follows_wal_labels_not_relabelled_ones() {
        let up = Labels::from_pairs([("__name__", "up"), ("job", "node"), ("zone", "a")]);
        let plain = {
            let mut t = SeriesTable::new(8, vec![], &BTreeMap::new());
            t.define(1, &up);
            t.get(1).cloned()
        };
        let relabelled = {
            let mut t = SeriesTable::new(
                8,
                vec![rule("regex: zone\naction: labeldrop")],
                &BTreeMap::new(),
            );
            t.define(1, &up);
            t.get(1).cloned()
        };
        let queue = |e: Option<SeriesEntry>| match e {
            Some(SeriesEntry::Kept { queue, .. }) => queue,
            other => panic!("expected a kept series, got {other:?}"),
        };
        assert_eq!(queue(plain), queue(relabelled));
    }
}
