//! Prometheus 2.42's `PopulateLabels`: turns one discovered target into a scrape [`Target`], a
//! dropped target, or an error.
//!
//! 1. Start from the discovered labels (group labels overlaid with the target's own).
//! 2. Add `job`, `__scheme__`, `__metrics_path__`, `__scrape_interval__` and
//!    `__scrape_timeout__` where discovery did not set them, and `__param_<name>` with the first
//!    value of each `params` entry. These are the labels shown as "discovered".
//! 3. Apply `relabel_configs`; a drop makes a dropped target.
//! 4. No `__address__` is an error. An address without a port gets the scheme's default port
//!    (`:80`/`:443`), as Prometheus 2.42 does without `--enable-feature=no-default-scrape-port`.
//!    An address containing `/` is an error.
//! 5. `__scrape_interval__`/`__scrape_timeout__` (possibly relabelled) are parsed: non-zero, and
//!    the timeout not above the interval.
//! 6. `__meta_*` labels go; `instance` defaults to the address. The URL is built from
//!    `__scheme__`, `__address__`, `__metrics_path__`, `params` and `__param_*` (which override a
//!    param's first value). The target's labels are the ones not starting with `__`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::group::ADDRESS_LABEL;
use super::hostport::needs_default_port;
use super::target::Target;
use crate::config::{GlobalConfig, PromDuration, Scheme, ScrapeConfig};
use crate::labels::{Labels, LabelsBuilder};
use crate::relabel::relabel_builder;

const SCHEME_LABEL: &str = "__scheme__";
const METRICS_PATH_LABEL: &str = "__metrics_path__";
const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
const PARAM_PREFIX: &str = "__param_";
const META_PREFIX: &str = "__meta_";
const RESERVED_PREFIX: &str = "__";

/// What became of one discovered target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Populated {
    /// To be scraped.
    Active(Target),
    /// Dropped by `relabel_configs`; carries the discovered labels, for `/api/v1/targets`.
    Dropped(Labels),
}

/// Why a discovered target could not become a scrape target. Prometheus logs these and skips
/// the target.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PopulateError {
    #[error("no address")]
    NoAddress,
    #[error("invalid scheme: {scheme:?}")]
    InvalidScheme { scheme: String },
    #[error("{address:?} is not a valid hostname")]
    InvalidAddress { address: String },
    #[error("error parsing scrape {which}: {reason}")]
    BadDuration { which: &'static str, reason: String },
    #[error("scrape {which} cannot be 0")]
    ZeroDuration { which: &'static str },
    #[error("scrape timeout cannot be greater than scrape interval ({timeout:?} > {interval:?})")]
    TimeoutExceedsInterval { timeout: String, interval: String },
    #[error("cannot build a scrape URL from scheme {scheme:?} and address {address:?}: {reason}")]
    InvalidUrl {
        scheme: String,
        address: String,
        reason: String,
    },
}

/// Populates one target of `config` from its discovered labels.
pub fn populate(
    discovered: &Labels,
    config: &ScrapeConfig,
    global: &GlobalConfig,
) -> Result<Populated, PopulateError> {
    let interval = PromDuration(config.interval(global)).to_string();
    let timeout = PromDuration(config.timeout(global)).to_string();
    let scheme = match config.scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
    };
    let mut lb = discovered.to_builder();
    for (name, value) in [
        ("job", config.job_name.as_str()),
        (SCRAPE_INTERVAL_LABEL, &interval),
        (SCRAPE_TIMEOUT_LABEL, &timeout),
        (METRICS_PATH_LABEL, &config.metrics_path),
        (SCHEME_LABEL, scheme),
    ] {
        if lb.get(name).is_none() {
            lb.set(name, value);
        }
    }
    for (name, values) in &config.params {
        if let Some(first) = values.first() {
            lb.set(format!("{PARAM_PREFIX}{name}"), first.as_str());
        }
    }
    let discovered = lb.clone().build();
    if !relabel_builder(&mut lb, &config.relabel_configs) {
        return Ok(Populated::Dropped(discovered));
    }

    let mut address = lb
        .get(ADDRESS_LABEL)
        .ok_or(PopulateError::NoAddress)?
        .to_owned();
    let scheme = lb.get(SCHEME_LABEL).unwrap_or("").to_owned();
    if needs_default_port(&address) {
        match scheme.as_str() {
            "http" | "" => address.push_str(":80"),
            "https" => address.push_str(":443"),
            _ => return Err(PopulateError::InvalidScheme { scheme }),
        }
        lb.set(ADDRESS_LABEL, address.as_str());
    }
    if address.contains('/') {
        return Err(PopulateError::InvalidAddress { address });
    }

    let (interval_text, interval) = duration_label(&lb, SCRAPE_INTERVAL_LABEL, "interval")?;
    let (timeout_text, timeout) = duration_label(&lb, SCRAPE_TIMEOUT_LABEL, "timeout")?;
    if timeout > interval {
        return Err(PopulateError::TimeoutExceedsInterval {
            timeout: timeout_text,
            interval: interval_text,
        });
    }

    lb.retain(|l| !l.name.starts_with(META_PREFIX));
    if lb.get("instance").is_none() {
        lb.set("instance", address.as_str());
    }
    let url = scrape_url(&lb, config, &scheme, &address)?;
    lb.retain(|l| !l.name.starts_with(RESERVED_PREFIX));
    Ok(Populated::Active(Target {
        job: config.job_name.clone(),
        url,
        labels: lb.build(),
        discovered_labels: discovered,
        interval,
        timeout,
    }))
}

/// Parses a (possibly relabelled) duration label; Prometheus's `model.ParseDuration` rules.
fn duration_label(
    lb: &LabelsBuilder,
    name: &str,
    which: &'static str,
) -> Result<(String, Duration), PopulateError> {
    let text = lb.get(name).unwrap_or("");
    let parsed = PromDuration::parse(text)
        .map_err(|reason| PopulateError::BadDuration { which, reason })?
        .as_duration();
    if parsed.is_zero() {
        return Err(PopulateError::ZeroDuration { which });
    }
    Ok((text.to_owned(), parsed))
}

/// The scrape URL: `params` with each `__param_<name>` label replacing (or adding) the first
/// value of `<name>`, encoded in name order as Go's `url.Values.Encode` does.
fn scrape_url(
    lb: &LabelsBuilder,
    config: &ScrapeConfig,
    scheme: &str,
    address: &str,
) -> Result<String, PopulateError> {
    let invalid = |reason: String| PopulateError::InvalidUrl {
        scheme: scheme.to_owned(),
        address: address.to_owned(),
        reason,
    };
    let mut params: BTreeMap<&str, Vec<&str>> = config
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
        .collect();
    for label in lb.iter() {
        if let Some(name) = label.name.strip_prefix(PARAM_PREFIX) {
            let values = params.entry(name).or_default();
            match values.first_mut() {
                Some(first) => *first = &label.value,
                None => values.push(&label.value),
            }
        }
    }
    let mut url = reqwest::Url::parse(&format!("{scheme}://{address}"))
        .map_err(|e| invalid(e.to_string()))?;
    url.set_path(lb.get(METRICS_PATH_LABEL).unwrap_or(""));
    if params.values().any(|v| !v.is_empty()) {
        let mut query = url.query_pairs_mut();
        for (name, values) in &params {
            for value in values {
                query.append_pair(name, value);
            }
        }
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::group::address_labels;

    fn job(yaml: &str) -> ScrapeConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn active(result: Result<Populated, PopulateError>) -> Target {
        match result.unwrap() {
            Populated::Active(t) => t,
            Populated::Dropped(l) => panic!("dropped: {l}"),
        }
    }

    fn pairs(labels: &Labels) -> Vec<(String, String)> {
        labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    }

    #[test]
    fn plain_target_gets_job_instance_and_url() {
        let global = GlobalConfig::default();
        let t = active(populate(
            &address_labels("node:9100"),
            &job("job_name: node"),
            &global,
        ));
        assert_eq!(t.url, "http://node:9100/metrics");
        assert_eq!(t.job, "node");
        assert_eq!(
            pairs(&t.labels),
            [
                ("instance".into(), "node:9100".into()),
                ("job".into(), "node".into())
            ]
        );
        assert_eq!(t.interval, Duration::from_secs(60));
        assert_eq!(t.timeout, Duration::from_secs(10));
        let discovered: Vec<_> = t
            .discovered_labels
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(
            discovered,
            [
                "__address__",
                "__metrics_path__",
                "__scheme__",
                "__scrape_interval__",
                "__scrape_timeout__",
                "job"
            ]
        );
        assert_eq!(t.discovered_labels.get("__scrape_interval__"), Some("1m"));
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        let global = GlobalConfig::default();
        let t = active(populate(
            &address_labels("example.com"),
            &job("job_name: a"),
            &global,
        ));
        assert_eq!(t.labels.get("instance"), Some("example.com:80"));
        // The URL omits the scheme's default port; the request is the same.
        assert_eq!(t.url, "http://example.com/metrics");
        let https = job("{job_name: a, scheme: https}");
        let t = active(populate(&address_labels("[::1]"), &https, &global));
        assert_eq!(t.labels.get("instance"), Some("[::1]:443"));
    }

    #[test]
    fn discovered_job_and_instance_win() {
        let global = GlobalConfig::default();
        let labels = Labels::from_pairs([
            ("__address__", "h:1"),
            ("job", "custom"),
            ("instance", "me"),
        ]);
        let t = active(populate(&labels, &job("job_name: a"), &global));
        assert_eq!(t.labels.get("job"), Some("custom"));
        assert_eq!(t.labels.get("instance"), Some("me"));
        assert_eq!(
            t.job, "a",
            "the scrape config owning the target is still `a`"
        );
    }

    #[test]
    fn params_and_param_labels_build_the_query() {
        let global = GlobalConfig::default();
        let cfg = job(
            "job_name: blackbox\nmetrics_path: /probe\nparams: {module: [http_2xx, x], b: [1]}\nrelabel_configs:\n  - {source_labels: [__address__], target_label: __param_target}\n  - {target_label: __address__, replacement: 'bb:9115'}\n",
        );
        let t = active(populate(
            &address_labels("https://site.example"),
            &cfg,
            &global,
        ));
        assert_eq!(
            t.url,
            "http://bb:9115/probe?b=1&module=http_2xx&module=x&target=https%3A%2F%2Fsite.example"
        );
        assert_eq!(t.labels.get("instance"), Some("bb:9115"));
        assert_eq!(t.discovered_labels.get("__param_module"), Some("http_2xx"));
    }

    #[test]
    fn relabel_drop_yields_the_discovered_labels() {
        let global = GlobalConfig::default();
        let cfg = job("job_name: a\nrelabel_configs: [{source_labels: [__address__], regex: 'h:.*', action: drop}]");
        match populate(&address_labels("h:1"), &cfg, &global).unwrap() {
            Populated::Dropped(l) => {
                assert_eq!(l.get("__address__"), Some("h:1"));
                assert_eq!(l.get("job"), Some("a"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn meta_labels_go_and_relabelled_labels_stay() {
        let global = GlobalConfig::default();
        let cfg = job(
            "job_name: a\nrelabel_configs: [{source_labels: [__meta_zone], target_label: zone}]",
        );
        let labels =
            Labels::from_pairs([("__address__", "h:1"), ("__meta_zone", "eu"), ("team", "x")]);
        let t = active(populate(&labels, &cfg, &global));
        assert_eq!(t.labels.get("zone"), Some("eu"));
        assert_eq!(t.labels.get("team"), Some("x"));
        assert!(t.labels.iter().all(|l| !l.name.starts_with("__")));
    }

    #[test]
    fn relabelled_interval_and_timeout_are_checked() {
        let global = GlobalConfig::default();
        let set = |label: &str, value: &str| {
            job(&format!(
                "job_name: a\nrelabel_configs: [{{target_label: {label}, replacement: '{value}'}}]"
            ))
        };
        let t = active(populate(
            &address_labels("h:1"),
            &set("__scrape_interval__", "2m"),
            &global,
        ));
        assert_eq!(t.interval, Duration::from_secs(120));
        let err = |cfg: ScrapeConfig| populate(&address_labels("h:1"), &cfg, &global).unwrap_err();
        assert_eq!(
            err(set("__scrape_interval__", "0s")),
            PopulateError::ZeroDuration { which: "interval" }
        );
        assert!(matches!(
            err(set("__scrape_timeout__", "soon")),
            PopulateError::BadDuration {
                which: "timeout",
                ..
            }
        ));
        assert_eq!(
            err(set("__scrape_timeout__", "2m")),
            PopulateError::TimeoutExceedsInterval {
                timeout: "2m".into(),
                interval: "1m".into()
            }
        );
    }

    #[test]
    fn address_errors() {
        let global = GlobalConfig::default();
        let cfg = job("job_name: a");
        assert_eq!(
            populate(&Labels::default(), &cfg, &global).unwrap_err(),
            PopulateError::NoAddress
        );
        assert!(matches!(
            populate(&address_labels("h:1/x"), &cfg, &global).unwrap_err(),
            PopulateError::InvalidAddress { .. }
        ));
        let ftp = Labels::from_pairs([("__address__", "h"), ("__scheme__", "ftp")]);
        assert_eq!(
            populate(&ftp, &cfg, &global).unwrap_err(),
            PopulateError::InvalidScheme {
                scheme: "ftp".into()
            }
        );
    }
}
