//! Target status for the agent's `/api/v1/targets`, in exactly the shape of Prometheus's
//! `data` object, so tools written for Prometheus read it unchanged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::rfc3339::{format_rfc3339, ZERO_TIME};
use crate::config::PromDuration;
use crate::discovery::Target;
use crate::labels::Labels;

/// The outcome of a target's last scrape, written by its Scraper and read by the manager.
#[derive(Clone, Debug, Default)]
pub struct TargetHealth {
    pub last_scrape: Option<SystemTime>,
    pub last_duration: Duration,
    /// The last scrape's error; `None` after a successful scrape.
    pub last_error: Option<String>,
}

/// A target's health, shared between its Scraper and the manager.
pub type SharedHealth = Arc<Mutex<TargetHealth>>;

/// `up`, `down`, or `unknown` before the first scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Up,
    Down,
    Unknown,
}

/// The `data` of `/api/v1/targets`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetsStatus {
    pub active_targets: Vec<ActiveTarget>,
    pub dropped_targets: Vec<DroppedTarget>,
}

/// One scraped target.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveTarget {
    pub discovered_labels: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub scrape_pool: String,
    pub scrape_url: String,
    /// Prometheus rewrites local host names here for federation; the agent reports the URL.
    pub global_url: String,
    pub last_error: String,
    pub last_scrape: String,
    /// Seconds.
    pub last_scrape_duration: f64,
    pub health: Health,
    pub scrape_interval: String,
    pub scrape_timeout: String,
}

/// A target that `relabel_configs` dropped.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DroppedTarget {
    pub discovered_labels: BTreeMap<String, String>,
}

impl ActiveTarget {
    pub fn new(target: &Target, health: &TargetHealth) -> Self {
        Self {
            discovered_labels: label_map(&target.discovered_labels),
            labels: label_map(&target.labels),
            scrape_pool: target.job.clone(),
            scrape_url: target.url.clone(),
            global_url: target.url.clone(),
            last_error: health.last_error.clone().unwrap_or_default(),
            last_scrape: health
                .last_scrape
                .map_or_else(|| ZERO_TIME.to_owned(), format_rfc3339),
            last_scrape_duration: health.last_duration.as_secs_f64(),
            health: match (&health.last_scrape, &health.last_error) {
                (None, _) => Health::Unknown,
                (Some(_), None) => Health::Up,
                (Some(_), Some(_)) => Health::Down,
            },
            scrape_interval: PromDuration(target.interval).to_string(),
            scrape_timeout: PromDuration(target.timeout).to_string(),
        }
    }
}

impl DroppedTarget {
    pub fn new(discovered: &Labels) -> Self {
        Self {
            discovered_labels: label_map(discovered),
        }
    }
}

fn label_map(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_prometheus_shape() {
        let target = Target {
            job: "node".into(),
            url: "http://h:9100/metrics".into(),
            labels: Labels::from_pairs([("job", "node"), ("instance", "h:9100")]),
            discovered_labels: Labels::from_pairs([("__address__", "h:9100")]),
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
        };
        let never = ActiveTarget::new(&target, &TargetHealth::default());
        assert_eq!(
            (never.health, never.last_scrape.as_str()),
            (Health::Unknown, ZERO_TIME)
        );
        let failed = TargetHealth {
            last_scrape: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_675_245_600)),
            last_duration: Duration::from_millis(10),
            last_error: Some("server returned HTTP status 500".into()),
        };
        let status = TargetsStatus {
            active_targets: vec![ActiveTarget::new(&target, &failed)],
            dropped_targets: vec![DroppedTarget::new(&Labels::from_pairs([(
                "__address__",
                "x:1",
            )]))],
        };
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "activeTargets": [{
                    "discoveredLabels": {"__address__": "h:9100"},
                    "labels": {"instance": "h:9100", "job": "node"},
                    "scrapePool": "node",
                    "scrapeUrl": "http://h:9100/metrics",
                    "globalUrl": "http://h:9100/metrics",
                    "lastError": "server returned HTTP status 500",
                    "lastScrape": "2023-02-01T10:00:00Z",
                    "lastScrapeDuration": 0.01,
                    "health": "down",
                    "scrapeInterval": "15s",
                    "scrapeTimeout": "10s"
                }],
                "droppedTargets": [{"discoveredLabels": {"__address__": "x:1"}}]
            })
        );
    }
}
