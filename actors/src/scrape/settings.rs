//! A job's scrape settings, resolved from its `scrape_configs` entry once and shared (behind
//! an `Arc`) by the job's scrape loops.

use std::sync::Arc;
use std::time::Duration;

use super::limits::LabelLimits;
use crate::config::{Authorization, BasicAuth, GlobalConfig, ScrapeConfig, TlsConfig};
use crate::relabel::RelabelConfig;

/// What a scrape loop needs from its job's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ScrapeSettings {
    pub job: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Samples allowed after metric relabelling (0: no limit).
    pub sample_limit: u64,
    pub label_limits: LabelLimits,
    /// Uncompressed body bytes allowed (0: no limit).
    pub body_size_limit: u64,
    pub http: HttpSettings,
}

/// How the job's targets are reached; one HTTP client is built per distinct value.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpSettings {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub tls_config: Option<TlsConfig>,
    pub follow_redirects: bool,
}

impl ScrapeSettings {
    pub fn from_config(sc: &ScrapeConfig, global: &GlobalConfig) -> Arc<Self> {
        Arc::new(Self {
            job: sc.job_name.clone(),
            interval: sc.interval(global),
            timeout: sc.timeout(global),
            honor_labels: sc.honor_labels,
            honor_timestamps: sc.honor_timestamps,
            metric_relabel_configs: sc.metric_relabel_configs.clone(),
            sample_limit: sc.sample_limit,
            label_limits: LabelLimits {
                label_limit: sc.label_limit,
                name_length: sc.label_name_length_limit,
                value_length: sc.label_value_length_limit,
            },
            body_size_limit: sc.body_size_limit.0,
            http: HttpSettings {
                basic_auth: sc.basic_auth.clone(),
                authorization: sc.authorization.clone(),
                tls_config: sc.tls_config.clone(),
                follow_redirects: sc.follow_redirects,
            },
        })
    }

    /// Whether a loop running with `self` may switch to `new` and keep its scrape cache:
    /// true when only settings that cannot change a series' final labels differ (timing,
    /// limits, HTTP), as Prometheus's `reusableCache` decides.
    pub fn cache_compatible(&self, new: &Self) -> bool {
        self.job == new.job
            && self.honor_labels == new.honor_labels
            && self.honor_timestamps == new.honor_timestamps
            && self.metric_relabel_configs == new.metric_relabel_configs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str) -> Arc<ScrapeSettings> {
        let sc: ScrapeConfig = serde_yaml_ng::from_str(yaml).unwrap();
        ScrapeSettings::from_config(&sc, &GlobalConfig::default())
    }

    #[test]
    fn resolves_defaults_and_limits() {
        let s =
            settings("{job_name: j, scrape_interval: 5s, sample_limit: 10, body_size_limit: 1MB}");
        assert_eq!(
            (s.interval, s.timeout),
            (Duration::from_secs(5), Duration::from_secs(5))
        );
        assert_eq!((s.sample_limit, s.body_size_limit), (10, 1 << 20));
        assert!(s.honor_timestamps && !s.honor_labels && s.http.follow_redirects);
    }

    #[test]
    fn cache_survives_only_label_neutral_changes() {
        let base = settings("{job_name: j}");
        assert!(base.cache_compatible(&settings(
            "{job_name: j, scrape_interval: 1s, sample_limit: 5}"
        )));
        assert!(!base.cache_compatible(&settings("{job_name: j, honor_labels: true}")));
        let relabel = "{job_name: j, metric_relabel_configs: [{action: drop, source_labels: [a]}]}";
        assert!(!base.cache_compatible(&settings(relabel)));
    }
}
