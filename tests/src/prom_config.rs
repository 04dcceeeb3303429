//! Writing the prometheus.yml files the tests and the benchmark hand to the agents.
//!
//! One description renders the same file for `skyview agent`, Prometheus in agent mode and
//! vmagent, so the benchmark compares them on identical scrape configs. The file is emitted as
//! JSON, which is valid YAML for all three parsers and needs no quoting rules of its own; only
//! fields every agent understands are used.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use skyview_actors::config::PromDuration;

/// A prometheus.yml: `global`, `scrape_configs`, and optionally `remote_write`.
#[derive(Clone, Debug, Serialize)]
pub struct PromConfig {
    pub global: Global,
    pub scrape_configs: Vec<ScrapeJob>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote_write: Vec<RemoteWrite>,
}

/// The `global` block.
#[derive(Clone, Debug, Serialize)]
pub struct Global {
    pub scrape_interval: PromDuration,
    pub scrape_timeout: PromDuration,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external_labels: BTreeMap<String, String>,
}

/// One `scrape_configs` entry with static targets.
#[derive(Clone, Debug, Serialize)]
pub struct ScrapeJob {
    pub job_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<PromDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<PromDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_limit: Option<u64>,
    pub static_configs: Vec<StaticConfig>,
}

/// A `static_configs` entry.
#[derive(Clone, Debug, Serialize)]
pub struct StaticConfig {
    pub targets: Vec<String>,
}

/// One `remote_write` entry.
#[derive(Clone, Debug, Serialize)]
pub struct RemoteWrite {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_config: Option<QueueConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_config: Option<MetadataConfig>,
}

/// Prometheus's `metadata_config`: whether and how often metric metadata is sent.
#[derive(Clone, Debug, Serialize)]
pub struct MetadataConfig {
    pub send: bool,
    pub send_interval: PromDuration,
}

/// The `queue_config` fields the tests tune; unset ones keep each agent's default.
#[derive(Clone, Debug, Default, Serialize)]
pub struct QueueConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_send_deadline: Option<PromDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_backoff: Option<PromDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_backoff: Option<PromDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_on_http_429: Option<bool>,
}

impl PromConfig {
    /// A config whose global interval is `interval` and timeout `min(interval, 10s)` (a
    /// Prometheus timeout may not exceed the interval).
    pub fn new(interval: Duration) -> Self {
        Self {
            global: Global {
                scrape_interval: PromDuration(interval),
                scrape_timeout: PromDuration(interval.min(Duration::from_secs(10))),
                external_labels: BTreeMap::new(),
            },
            scrape_configs: Vec::new(),
            remote_write: Vec::new(),
        }
    }

    pub fn job(mut self, job: ScrapeJob) -> Self {
        self.scrape_configs.push(job);
        self
    }

    pub fn remote(mut self, remote: RemoteWrite) -> Self {
        self.remote_write.push(remote);
        self
    }

    pub fn external_label(mut self, name: &str, value: &str) -> Self {
        self.global
            .external_labels
            .insert(name.to_owned(), value.to_owned());
        self
    }

    /// The same scrape config without `remote_write` (vmagent takes its URL as a flag).
    pub fn scrape_only(&self) -> Self {
        Self {
            remote_write: Vec::new(),
            ..self.clone()
        }
    }

    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).expect("the config model always serialises")
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.render()).with_context(|| format!("writing {}", path.display()))
    }
}

impl ScrapeJob {
    pub fn new(job_name: &str, targets: impl IntoIterator<Item = String>) -> Self {
        Self {
            job_name: job_name.to_owned(),
            scrape_interval: None,
            scrape_timeout: None,
            sample_limit: None,
            static_configs: vec![StaticConfig {
                targets: targets.into_iter().collect(),
            }],
        }
    }

    /// Overrides the global interval and timeout for this job.
    pub fn interval(mut self, interval: Duration, timeout: Duration) -> Self {
        self.scrape_interval = Some(PromDuration(interval));
        self.scrape_timeout = Some(PromDuration(timeout));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.scrape_timeout = Some(PromDuration(timeout));
        self
    }

    pub fn sample_limit(mut self, limit: u64) -> Self {
        self.sample_limit = Some(limit);
        self
    }
}

impl RemoteWrite {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            name: None,
            queue_config: None,
            metadata_config: None,
        }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub fn queue(mut self, queue: QueueConfig) -> Self {
        self.queue_config = Some(queue);
        self
    }

    /// Send metric metadata every `interval` (Prometheus's default is every minute).
    pub fn metadata_every(mut self, interval: Duration) -> Self {
        self.metadata_config = Some(MetadataConfig {
            send: true,
            send_interval: PromDuration(interval),
        });
        self
    }
}

impl QueueConfig {
    /// Settings for tests: send within a second of a scrape and retry quickly.
    pub fn fast() -> Self {
        Self {
            batch_send_deadline: Some(PromDuration(Duration::from_millis(500))),
            min_backoff: Some(PromDuration(Duration::from_millis(30))),
            max_backoff: Some(PromDuration(Duration::from_secs(1))),
            retry_on_http_429: None,
        }
    }

    pub fn retry_on_http_429(mut self, retry: bool) -> Self {
        self.retry_on_http_429 = Some(retry);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_field_names() {
        let config = PromConfig::new(Duration::from_secs(1))
            .external_label("agent", "a1")
            .job(ScrapeJob::new("node", ["127.0.0.1:9100".to_owned()]).sample_limit(10))
            .remote(RemoteWrite::new("http://127.0.0.1:1/api/v1/write").queue(QueueConfig::fast()));
        let v: serde_json::Value = serde_json::from_str(&config.render()).unwrap();
        assert_eq!(v["global"]["scrape_interval"], "1s");
        assert_eq!(v["global"]["scrape_timeout"], "1s");
        assert_eq!(v["global"]["external_labels"]["agent"], "a1");
        assert_eq!(
            v["scrape_configs"][0]["static_configs"][0]["targets"][0],
            "127.0.0.1:9100"
        );
        assert_eq!(v["scrape_configs"][0]["sample_limit"], 10);
        assert!(v["scrape_configs"][0].get("scrape_timeout").is_none());
        assert_eq!(
            v["remote_write"][0]["queue_config"]["batch_send_deadline"],
            "500ms"
        );
        assert!(v["remote_write"][0]["queue_config"]
            .get("retry_on_http_429")
            .is_none());
    }

    #[test]
    fn scrape_only_drops_remote_write_and_keeps_the_rest() {
        let config = PromConfig::new(Duration::from_secs(30))
            .job(ScrapeJob::new("j", ["a:1".to_owned()]))
            .remote(RemoteWrite::new("http://x"));
        let v: serde_json::Value = serde_json::from_str(&config.scrape_only().render()).unwrap();
        assert!(v.get("remote_write").is_none());
        assert_eq!(v["global"]["scrape_timeout"], "10s");
        assert_eq!(v["scrape_configs"][0]["job_name"], "j");
    }
}
