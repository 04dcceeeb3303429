//! Metric metadata (`# TYPE`, `# HELP`, `# UNIT`) of one target, as its scrapes declare it.
//!
//! Prometheus keeps a target's metadata in its scrape cache and its remote-write queues send
//! every target's metadata each `metadata_config.send_interval`; receivers serve it from
//! `/api/v1/metadata`, which is where Grafana's metric browser gets types and help. The agent
//! does the same: each scrape loop keeps a [`TargetMetadata`], the Scraper publishes it in the
//! target's [`SharedMetadata`] when it changed, and each endpoint's metadata sender reads every
//! target's (`shipper/metadata_sender.rs`).
//!
//! A family's metadata stays until a successful scrape no longer declares it, the way
//! Prometheus's scrape cache forgets entries a scrape did not see.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::exposition::{Entry, MetricType};

/// One metric family's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricMetadata {
    pub family: String,
    pub kind: MetricType,
    pub help: String,
    pub unit: String,
}

/// A target's metadata as last published by its Scraper, read by the metadata senders.
pub type SharedMetadata = Arc<Mutex<Arc<[MetricMetadata]>>>;

#[derive(Debug)]
struct Family {
    kind: MetricType,
    help: String,
    unit: String,
    /// The scrape that last declared any of it.
    seen: u64,
}

/// The metadata of one target's scrapes.
#[derive(Debug, Default)]
pub struct TargetMetadata {
    families: BTreeMap<String, Family>,
    /// Scrapes begun, numbering them for `Family::seen`.
    scrape: u64,
    /// Whether anything changed since the last [`TargetMetadata::take_update`].
    changed: bool,
}

impl TargetMetadata {
    /// Starts noting a new scrape's declarations.
    pub fn begin_scrape(&mut self) {
        self.scrape += 1;
    }

    /// Notes `entry` if it is a metadata line. A family declared only by `HELP` (or `UNIT`) is
    /// of unknown type, as in Prometheus.
    pub fn note(&mut self, entry: &Entry<'_>) {
        let (metric, update): (&str, Update<'_>) = match entry {
            Entry::Type { metric, kind } => (metric, Update::Kind(*kind)),
            Entry::Help { metric, text } => (metric, Update::Help(text)),
            Entry::Unit { metric, unit } => (metric, Update::Unit(unit)),
            _ => return,
        };
        let scrape = self.scrape;
        let family = match self.families.get_mut(metric) {
            Some(family) => family,
            None => {
                self.changed = true;
                self.families.entry(metric.to_owned()).or_insert(Family {
                    kind: MetricType::Unknown,
                    help: String::new(),
                    unit: String::new(),
                    seen: scrape,
                })
            }
        };
        family.seen = scrape;
        let changed = match update {
            Update::Kind(kind) => replace(&mut family.kind, kind),
            Update::Help(text) => replace_str(&mut family.help, text),
            Update::Unit(unit) => replace_str(&mut family.unit, unit),
        };
        self.changed |= changed;
    }

    /// Ends a scrape. A successful one forgets the families it did not declare.
    pub fn end_scrape(&mut self, successful: bool) {
        if !successful {
            return;
        }
        let scrape = self.scrape;
        let before = self.families.len();
        self.families.retain(|_, f| f.seen == scrape);
        self.changed |= self.families.len() != before;
    }

    /// Every family's metadata if anything changed since the last call.
    pub fn take_update(&mut self) -> Option<Arc<[MetricMetadata]>> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        Some(
            self.families
                .iter()
                .map(|(name, f)| MetricMetadata {
                    family: name.clone(),
                    kind: f.kind,
                    help: f.help.clone(),
                    unit: f.unit.clone(),
                })
                .collect(),
        )
    }
}

enum Update<'a> {
    Kind(MetricType),
    Help(&'a str),
    Unit(&'a str),
}

fn replace(slot: &mut MetricType, value: MetricType) -> bool {
    let changed = *slot != value;
    *slot = value;
    changed
}

fn replace_str(slot: &mut String, value: &str) -> bool {
    if slot == value {
        return false;
    }
    value.clone_into(slot);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Format, Parser};

    fn scrape(m: &mut TargetMetadata, body: &str) -> Option<Arc<[MetricMetadata]>> {
        m.begin_scrape();
        for entry in Parser::new(body.as_bytes(), Format::PrometheusText) {
            m.note(&entry.unwrap());
        }
        m.end_scrape(true);
        m.take_update()
    }

    #[test]
    fn declarations_are_kept_updated_and_forgotten() {
        let mut m = TargetMetadata::default();
        let body = "# HELP a_total Requests.\n# TYPE a_total counter\na_total 1\n\
                    # HELP b Temperature.\nb 2\n";
        let first = scrape(&mut m, body).unwrap();
        assert_eq!(
            &*first,
            &[
                MetricMetadata {
                    family: "a_total".into(),
                    kind: MetricType::Counter,
                    help: "Requests.".into(),
                    unit: String::new(),
                },
                MetricMetadata {
                    family: "b".into(),
                    kind: MetricType::Unknown,
                    help: "Temperature.".into(),
                    unit: String::new(),
                },
            ]
        );
        assert_eq!(scrape(&mut m, body), None, "nothing changed");

        let changed = scrape(&mut m, "# TYPE a_total gauge\na_total 1\n").unwrap();
        assert_eq!(changed.len(), 1, "b is no longer declared");
        assert_eq!(changed[0].kind, MetricType::Gauge);
        assert_eq!(
            changed[0].help, "Requests.",
            "kept until the family goes away"
        );
    }

    #[test]
    fn a_failed_scrape_forgets_nothing() {
        let mut m = TargetMetadata::default();
        scrape(&mut m, "# TYPE a counter\na 1\n").unwrap();
        m.begin_scrape();
        m.end_scrape(false);
        assert_eq!(m.take_update(), None);
        assert_eq!(m.families.len(), 1);
    }
}
