//! The agent's configuration model: the subset of Prometheus's `prometheus.yml` that
//! `skyview agent` supports, with Prometheus's field names, defaults and semantics.
//!
//! Every struct denies unknown fields so a typo is an error that names the field. Fields that
//! Prometheus knows but Skyview does not support yet are rejected by name before these structs
//! are deserialised (see `unsupported.rs`), so the user learns which feature is missing rather
//! than being told a real Prometheus field is a typo.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::duration::PromDuration;
use crate::relabel::RelabelConfig;

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Defaults shared by every scrape config, and the agent's external labels.
    #[serde(default)]
    pub global: GlobalConfig,
    /// The jobs to scrape.
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Where scraped samples are shipped. An agent with none keeps samples in its WAL only.
    #[serde(default)]
    pub remote_write: Vec<RemoteWriteConfig>,
}

/// The `global:` section.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    /// How often targets are scraped unless a job overrides it. Default 1m.
    pub scrape_interval: PromDuration,
    /// How long a scrape may take unless a job overrides it. Default 10s, or the interval when
    /// that is shorter; a timeout set above the interval is an error. Left out of the file, it
    /// reads as 0 ("unset") and loading resolves it, as Prometheus does.
    #[serde(default = "unset_duration")]
    pub scrape_timeout: PromDuration,
    /// Accepted for compatibility with Prometheus files; the agent evaluates no rules.
    pub evaluation_interval: PromDuration,
    /// Labels added to every sample shipped by remote write (a sample's own label wins).
    pub external_labels: BTreeMap<String, String>,
    /// Accepted for compatibility with Prometheus files and ignored: an agent runs no queries,
    /// so it has no query log (a Prometheus agent ignores it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_log_file: Option<String>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            scrape_interval: PromDuration::from_secs(60),
            scrape_timeout: PromDuration::from_secs(10),
            evaluation_interval: PromDuration::from_secs(60),
            external_labels: BTreeMap::new(),
            query_log_file: None,
        }
    }
}

/// HTTP scheme of a scrape target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

/// One `scrape_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// The job name; it becomes the `job` label and must be unique.
    pub job_name: String,
    /// Overrides `global.scrape_interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<PromDuration>,
    /// Overrides `global.scrape_timeout` (capped at the interval, as in Prometheus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<PromDuration>,
    /// HTTP path of the metrics endpoint. Default `/metrics`.
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    /// `http` or `https`. Default `http`.
    #[serde(default)]
    pub scheme: Scheme,
    /// URL query parameters sent with each scrape.
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    /// When true, labels exposed by the target win over target labels; when false, clashing
    /// exposed labels are renamed `exported_<name>`.
    #[serde(default)]
    pub honor_labels: bool,
    /// When true, timestamps exposed by the target are kept; otherwise the scrape time is used.
    #[serde(default = "default_true")]
    pub honor_timestamps: bool,
    /// HTTP basic authentication for the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header credentials (bearer by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// TLS settings for `https` targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Whether HTTP redirects are followed. Default true.
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    /// Fixed target lists.
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    /// Target lists read from JSON or YAML files, watched for changes.
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Rules applied to each target's labels before it is scraped.
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Rules applied to each scraped series before it is stored.
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Fail the scrape when more samples than this remain after metric relabelling (0: none).
    #[serde(default)]
    pub sample_limit: u64,
    /// Fail the scrape when a series has more labels than this (0: no limit).
    #[serde(default)]
    pub label_limit: u64,
    /// Fail the scrape when a label name is longer than this (0: no limit).
    #[serde(default)]
    pub label_name_length_limit: u64,
    /// Fail the scrape when a label value is longer than this (0: no limit).
    #[serde(default)]
    pub label_value_length_limit: u64,
    /// Fail the scrape when the uncompressed body exceeds this many bytes (0: no limit).
    #[serde(default)]
    pub body_size_limit: ByteSize,
}

/// A size such as `10MB` or `512KiB`, as Prometheus writes `body_size_limit`. 0 means none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct ByteSize(pub u64);

/// `static_configs` entry.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels added to every target of this group.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// Paths or globs (in the last path component) of `.json`, `.yml` or `.yaml` files, each
    /// holding a list of `{targets: [...], labels: {...}}` groups.
    pub files: Vec<String>,
    /// How often files are re-read even without a change notification. Default 5m.
    #[serde(default = "default_file_sd_refresh")]
    pub refresh_interval: PromDuration,
}

/// HTTP basic authentication.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    pub username: String,
    /// The password; exclusive with `password_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A file whose content (surrounding whitespace trimmed) is the password, read at each use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

/// `authorization` section: sends `Authorization: <type> <credentials>`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme. Default `Bearer`.
    #[serde(default = "default_auth_type", rename = "type")]
    pub kind: String,
    /// The credentials; exclusive with `credentials_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// A file whose content (surrounding whitespace trimmed) is the credentials, read at each use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<PathBuf>,
}

/// `tls_config` section.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of CA certificates used to verify the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for mTLS (with `key_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// PEM private key for `cert_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Disable server certificate verification. Dangerous; for tests only.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// One `remote_write` entry.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    /// The endpoint, e.g. `http://receiver:9201/api/v1/write`.
    pub url: String,
    /// A name for metrics and logs; defaults to a hash of the entry, as in Prometheus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Timeout of one request. Default 30s.
    #[serde(default = "default_remote_timeout")]
    pub remote_timeout: PromDuration,
    /// Extra HTTP headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Rules applied to each series before it is sent to this endpoint.
    #[serde(default)]
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// HTTP basic authentication for the endpoint; exclusive with `authorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header credentials (bearer by default); exclusive with `basic_auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// TLS settings for an `https` endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Whether HTTP redirects are followed. Default true.
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    /// Batching, parallelism and retry settings.
    #[serde(default)]
    pub queue_config: QueueConfig,
    /// Whether and how often the scraped targets' metric metadata is sent.
    #[serde(default)]
    pub metadata_config: MetadataConfig,
}

/// `metadata_config`: Prometheus's defaults, and its meaning (every target's `TYPE`, `HELP`
/// and `UNIT` resent whole each interval, in requests of at most `max_samples_per_send`
/// families).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    /// Whether metadata is sent at all. Default true.
    pub send: bool,
    /// How often it is sent. Default 1m.
    pub send_interval: PromDuration,
    /// Metadata entries per request. Default 500.
    pub max_samples_per_send: usize,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        Self {
            send: true,
            send_interval: PromDuration::from_secs(60),
            max_samples_per_send: 500,
        }
    }
}

/// `queue_config`. Defaults are the ones Prometheus adopted in 2023 (capacity 10000,
/// max_shards 50, max_samples_per_send 2000) rather than 2.42's (2500, 200, 500): four times
/// fewer requests for the same samples, which is most of an agent's per-sample CPU, and the
/// values Prometheus's maintainers settled on after measuring. A file that sets them explicitly
/// gets exactly what it sets.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Samples buffered per queue before reading from the WAL pauses. Default 10000.
    pub capacity: usize,
    /// Number of parallel queues (Skyview uses a fixed count: series are pinned to queues by
    /// hash, so per-series order holds). Default 50; the shipper runs `min(max_shards, 8)`
    /// queues (see docs/remote-write.md).
    pub max_shards: usize,
    /// Accepted for compatibility; Skyview does not scale queues below `max_shards`.
    pub min_shards: usize,
    /// Samples per request. Default 2000.
    pub max_samples_per_send: usize,
    /// A partial batch is sent after waiting this long. Default 5s.
    pub batch_send_deadline: PromDuration,
    /// First retry delay. Default 30ms.
    pub min_backoff: PromDuration,
    /// Longest retry delay. Default 5s.
    pub max_backoff: PromDuration,
    /// Retry on 429 (honouring Retry-After) instead of dropping the batch. Default false.
    pub retry_on_http_429: bool,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            capacity: 10000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2000,
            batch_send_deadline: PromDuration::from_secs(5),
            min_backoff: PromDuration::from_millis(30),
            max_backoff: PromDuration::from_secs(5),
            retry_on_http_429: false,
        }
    }
}

fn unset_duration() -> PromDuration {
    PromDuration::from_secs(0)
}

fn default_metrics_path() -> String {
    "/metrics".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_auth_type() -> String {
    "Bearer".to_owned()
}

fn default_file_sd_refresh() -> PromDuration {
    PromDuration::from_secs(300)
}

fn default_remote_timeout() -> PromDuration {
    PromDuration::from_secs(30)
}
