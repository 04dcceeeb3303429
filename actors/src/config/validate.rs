//! The rules Prometheus 2.42 enforces when it loads `prometheus.yml` (`config.Load` and the
//! `UnmarshalYAML`/`Validate` methods it calls), plus the defaults it fills in, so the loaded
//! [`Config`] carries resolved intervals and timeouts.

use std::collections::BTreeSet;
use std::path::Path;

use super::error::{ConfigError, Problem};
use super::model::*;
use super::PromDuration;
use crate::relabel::{is_valid_label_name, RelabelConfig};

/// Headers `remote_write.headers` must not set (Prometheus's `reservedHeaders`), because the
/// sender owns them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

impl Config {
    /// Checks the configuration and resolves its defaults; `path` is only used in errors.
    pub fn validate(mut self, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |section: String, problem: Problem| ConfigError::Invalid {
            path: path.to_owned(),
            section,
            problem,
        };
        self.global
            .validate()
            .map_err(|p| invalid("global".into(), p))?;

        let mut jobs = BTreeSet::new();
        for (i, job) in self.scrape_configs.iter_mut().enumerate() {
            let section = format!("scrape_configs[{i}], job {:?}", job.job_name);
            job.validate(&self.global)
                .map_err(|p| invalid(section.clone(), p))?;
            if !jobs.insert(job.job_name.clone()) {
                return Err(invalid(
                    section,
                    Problem::DuplicateJob {
                        job: job.job_name.clone(),
                    },
                ));
            }
        }

        let mut names = BTreeSet::new();
        for (i, remote) in self.remote_write.iter_mut().enumerate() {
            let section = format!("remote_write[{i}], url {:?}", remote.url);
            remote.validate().map_err(|p| invalid(section.clone(), p))?;
            let name = remote.resolved_name();
            if !names.insert(name.clone()) {
                return Err(invalid(section, Problem::DuplicateRemoteWrite { name }));
            }
        }
        Ok(self)
    }
}

impl GlobalConfig {
    fn validate(&mut self) -> Result<(), Problem> {
        let (interval, timeout) = (self.scrape_interval.0, self.scrape_timeout.0);
        if !interval.is_zero() && timeout > interval {
            return Err(timeout_exceeds(timeout, interval));
        }
        self.scrape_interval = PromDuration(self.interval());
        self.scrape_timeout = PromDuration(self.timeout());
        if self.evaluation_interval.0.is_zero() {
            self.evaluation_interval = PromDuration::from_secs(60);
        }
        check_label_names(self.external_labels.keys())
    }
}

impl ScrapeConfig {
    fn validate(&mut self, global: &GlobalConfig) -> Result<(), Problem> {
        if self.job_name.is_empty() {
            return Err(Problem::EmptyJobName);
        }
        let interval = self.interval(global);
        if let Some(timeout) = self.scrape_timeout.filter(|t| t.0 > interval) {
            return Err(timeout_exceeds(timeout.0, interval));
        }
        // Resolved values are stored so `/api/v1/status/config` shows them, as Prometheus does.
        self.scrape_timeout = Some(PromDuration(self.timeout(global)));
        self.scrape_interval = Some(PromDuration(interval));

        check_http_client(
            &mut self.basic_auth,
            &mut self.authorization,
            &self.tls_config,
        )?;
        for group in &self.static_configs {
            check_label_names(group.labels.keys())?;
            if let Some(target) = group.targets.iter().find(|t| t.contains('/')) {
                return Err(Problem::InvalidTarget {
                    target: target.clone(),
                });
            }
        }
        for sd in &self.file_sd_configs {
            if let Some(file) = sd.files.iter().find(|f| !is_valid_file_sd_path(f)) {
                return Err(Problem::InvalidFileSdPath { file: file.clone() });
            }
        }
        check_relabel("relabel_configs", &self.relabel_configs)?;
        check_relabel("metric_relabel_configs", &self.metric_relabel_configs)
    }
}

impl RemoteWriteConfig {
    fn validate(&mut self) -> Result<(), Problem> {
        check_url(&self.url)?;
        for header in self.headers.keys() {
            let lower = header.to_ascii_lowercase();
            let hint = if lower == "authorization" {
                " (use `basic_auth` or `authorization`)"
            } else if RESERVED_HEADERS.contains(&lower.as_str()) {
                ""
            } else {
                continue;
            };
            return Err(Problem::ReservedHeader {
                header: header.clone(),
                hint,
            });
        }
        check_http_client(
            &mut self.basic_auth,
            &mut self.authorization,
            &self.tls_config,
        )?;
        check_relabel("write_relabel_configs", &self.write_relabel_configs)?;
        let q = &self.queue_config;
        for (field, value) in [
            ("queue_config.capacity", q.capacity),
            ("queue_config.max_shards", q.max_shards),
            ("queue_config.max_samples_per_send", q.max_samples_per_send),
            (
                "metadata_config.max_samples_per_send",
                self.metadata_config.max_samples_per_send,
            ),
            (
                "metadata_config.send_interval",
                self.metadata_config.send_interval.as_duration().as_millis() as usize,
            ),
        ] {
            if value == 0 {
                return Err(Problem::Zero { field });
            }
        }
        Ok(())
    }
}

fn timeout_exceeds(timeout: std::time::Duration, interval: std::time::Duration) -> Problem {
    Problem::TimeoutExceedsInterval {
        timeout: PromDuration(timeout).to_string(),
        interval: PromDuration(interval).to_string(),
    }
}

fn check_label_names<'a>(mut names: impl Iterator<Item = &'a String>) -> Result<(), Problem> {
    match names.find(|n| !is_valid_label_name(n)) {
        Some(name) => Err(Problem::InvalidLabelName { name: name.clone() }),
        None => Ok(()),
    }
}

fn check_relabel(field: &'static str, rules: &[RelabelConfig]) -> Result<(), Problem> {
    for (index, rule) in rules.iter().enumerate() {
        rule.validate().map_err(|source| Problem::Relabel {
            field,
            index,
            source,
        })?;
    }
    Ok(())
}

/// Prometheus's `HTTPClientConfig.Validate` for the subset we support; also normalises the
/// authorization type (trimmed, default `Bearer`).
fn check_http_client(
    basic: &mut Option<BasicAuth>,
    auth: &mut Option<Authorization>,
    tls: &Option<TlsConfig>,
) -> Result<(), Problem> {
    if let Some(b) = basic {
        if b.password.as_deref().is_some_and(|p| !p.is_empty()) && b.password_file.is_some() {
            return Err(Problem::Exclusive {
                first: "password",
                second: "password_file",
            });
        }
    }
    if let Some(a) = auth {
        if a.credentials.as_deref().is_some_and(|c| !c.is_empty()) && a.credentials_file.is_some() {
            return Err(Problem::Exclusive {
                first: "credentials",
                second: "credentials_file",
            });
        }
        a.kind = a.kind.trim().to_owned();
        if a.kind.is_empty() {
            "Bearer".clone_into(&mut a.kind);
        }
        if a.kind.eq_ignore_ascii_case("basic") {
            return Err(Problem::BasicAuthorizationType);
        }
        if basic.is_some() {
            return Err(Problem::Exclusive {
                first: "basic_auth",
                second: "authorization",
            });
        }
    }
    if let Some(t) = tls {
        match (&t.cert_file, &t.key_file) {
            (Some(_), None) => {
                return Err(Problem::TlsPair {
                    present: "cert_file",
                    missing: "key_file",
                })
            }
            (None, Some(_)) => {
                return Err(Problem::TlsPair {
                    present: "key_file",
                    missing: "cert_file",
                })
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), Problem> {
    let invalid = |reason: String| Problem::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".to_owned()));
    }
    Ok(())
}

/// Prometheus's `patFileSDName`: `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`.
fn is_valid_file_sd_path(file: &str) -> bool {
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return false;
    };
    if !["json", "yml", "yaml", "JSON", "YML", "YAML"].contains(&ext) {
        return false;
    }
    match stem.find('*') {
        None => true,
        Some(star) => !stem[star..].contains('/'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        let config: Config = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        config
            .validate(Path::new("p.yml"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn fills_intervals_and_timeouts() {
        let c = load("global: {scrape_interval: 5s}\nscrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 1m\n").unwrap();
        assert_eq!(c.global.scrape_timeout, PromDuration::from_secs(5));
        assert_eq!(
            c.scrape_configs[0].scrape_interval,
            Some(PromDuration::from_secs(5))
        );
        assert_eq!(
            c.scrape_configs[0].scrape_timeout,
            Some(PromDuration::from_secs(5))
        );
        assert_eq!(
            c.scrape_configs[1].scrape_timeout,
            Some(PromDuration::from_secs(5))
        );
        let d = load("{}").unwrap();
        assert_eq!(d.global.scrape_interval, PromDuration::from_secs(60));
        assert_eq!(d.global.scrape_timeout, PromDuration::from_secs(10));
    }

    #[test]
    fn rejects_timeout_above_interval() {
        let e = load("global: {scrape_interval: 5s, scrape_timeout: 10s}").unwrap_err();
        assert_eq!(
            e,
            "p.yml: global: scrape timeout 10s greater than scrape interval 5s"
        );
        let e = load("scrape_configs:\n  - {job_name: a, scrape_interval: 5s, scrape_timeout: 6s}")
            .unwrap_err();
        assert!(
            e.contains("scrape_configs[0], job \"a\": scrape timeout 6s"),
            "{e}"
        );
    }

    #[test]
    fn rejects_duplicate_jobs_and_remote_names() {
        let e = load("scrape_configs:\n  - job_name: a\n  - job_name: a\n").unwrap_err();
        assert!(
            e.contains("scrape_configs[1], job \"a\": found multiple scrape configs"),
            "{e}"
        );
        let e =
            load("remote_write:\n  - {url: 'http://a', name: x}\n  - {url: 'http://b', name: x}\n")
                .unwrap_err();
        assert!(
            e.contains("multiple remote write configs with name \"x\""),
            "{e}"
        );
        // Two identical unnamed entries hash to the same name: Prometheus refuses them too.
        let e = load("remote_write:\n  - url: 'http://a'\n  - url: 'http://a'\n").unwrap_err();
        assert!(e.contains("multiple remote write configs"), "{e}");
    }

    #[test]
    fn rejects_invalid_label_names() {
        let e = load("global: {external_labels: {'bad-name': x}}").unwrap_err();
        assert!(e.contains("\"bad-name\" is not a valid label name"), "{e}");
        let e = load("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: [h:1], labels: {'1x': y}}]\n").unwrap_err();
        assert!(e.contains("\"1x\" is not a valid label name"), "{e}");
    }

    #[test]
    fn rejects_bad_relabel_rules_with_their_position() {
        let e = load("scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - {action: keep}\n      - {action: hashmod, target_label: t}\n").unwrap_err();
        assert!(e.ends_with("metric_relabel_configs[1]: relabel configuration for hashmod requires non-zero modulus"), "{e}");
    }

    #[test]
    fn auth_rules() {
        let job = |auth: &str| load(&format!("scrape_configs:\n  - job_name: a\n    {auth}\n"));
        let e = job("basic_auth: {username: u, password: p, password_file: f}").unwrap_err();
        assert!(e.contains("`password` and `password_file`"), "{e}");
        let e = job("authorization: {credentials: c, credentials_file: f}").unwrap_err();
        assert!(e.contains("`credentials` and `credentials_file`"), "{e}");
        let e = job("authorization: {type: Basic, credentials: c}").unwrap_err();
        assert!(e.contains("use \"basic_auth\""), "{e}");
        let e = load("scrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n    authorization: {credentials: c}\n").unwrap_err();
        assert!(e.contains("`basic_auth` and `authorization`"), "{e}");
        let c = job("authorization: {type: ' ', credentials: c}").unwrap();
        assert_eq!(
            c.scrape_configs[0].authorization.as_ref().unwrap().kind,
            "Bearer"
        );
        let e = job("tls_config: {cert_file: c.pem}").unwrap_err();
        assert!(
            e.contains("`key_file` must be configured together with `cert_file`"),
            "{e}"
        );
    }

    #[test]
    fn remote_write_rules() {
        let e = load("remote_write: [{url: 'ftp://x'}]").unwrap_err();
        assert!(e.contains("not http or https"), "{e}");
        let e = load("remote_write: [{url: 'not a url'}]").unwrap_err();
        assert!(e.contains("is not a valid http(s) URL"), "{e}");
        let e = load("remote_write: [{url: 'http://x', headers: {Content-Type: x}}]").unwrap_err();
        assert!(e.contains("\"Content-Type\" is reserved"), "{e}");
        let e = load("remote_write: [{url: 'http://x', headers: {authorization: x}}]").unwrap_err();
        assert!(e.contains("use `basic_auth` or `authorization`"), "{e}");
        let e =
            load("remote_write: [{url: 'http://x', queue_config: {max_shards: 0}}]").unwrap_err();
        assert!(e.contains("queue_config.max_shards"), "{e}");
        load("remote_write: [{url: 'https://x:9090/api/v1/write', headers: {X-Scope-OrgID: t}}]")
            .unwrap();
    }

    #[test]
    fn targets_and_file_sd_paths() {
        let e = load(
            "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://h:1']}]\n",
        )
        .unwrap_err();
        assert!(
            e.contains("\"http://h:1\" is not a valid target address"),
            "{e}"
        );
        for ok in ["t.json", "dir/*.yml", "/etc/sd/node-*.yaml", "x.JSON"] {
            assert!(is_valid_file_sd_path(ok), "{ok}");
        }
        for bad in ["t.txt", "*/t.json", "t", "dir*/x/t.yml"] {
            assert!(!is_valid_file_sd_path(bad), "{bad}");
        }
    }
}
