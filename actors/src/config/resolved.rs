//! Settings whose effective value depends on defaults elsewhere in the file. Every component
//! asks these accessors instead of re-implementing Prometheus's defaulting rules.

use std::time::Duration;

use md5::{Digest, Md5};

use super::model::{GlobalConfig, RemoteWriteConfig, ScrapeConfig};

const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

impl GlobalConfig {
    /// The global scrape interval; 0 means the default, 1m.
    pub fn interval(&self) -> Duration {
        nonzero(self.scrape_interval.as_duration()).unwrap_or(DEFAULT_SCRAPE_INTERVAL)
    }

    /// The global scrape timeout; unset (0) means 10s, or the interval when that is shorter.
    pub fn timeout(&self) -> Duration {
        nonzero(self.scrape_timeout.as_duration())
            .unwrap_or_else(|| DEFAULT_SCRAPE_TIMEOUT.min(self.interval()))
    }
}

impl ScrapeConfig {
    /// The job's scrape interval: its own, else the global one.
    pub fn interval(&self, global: &GlobalConfig) -> Duration {
        self.scrape_interval
            .and_then(|d| nonzero(d.as_duration()))
            .unwrap_or_else(|| global.interval())
    }

    /// The job's scrape timeout: its own, else the global one capped at the job's interval
    /// (Prometheus's rule, so a job with a 5s interval under a 10s global timeout gets 5s).
    pub fn timeout(&self, global: &GlobalConfig) -> Duration {
        self.scrape_timeout
            .and_then(|d| nonzero(d.as_duration()))
            .unwrap_or_else(|| global.timeout().min(self.interval(global)))
    }
}

impl RemoteWriteConfig {
    /// The endpoint's name in metrics, logs and queue identities: `name` when set, else the
    /// first 6 hex digits of the MD5 of the entry's redacted YAML (as Prometheus names unnamed
    /// endpoints by a hash of their config). Secrets are redacted before hashing, so rotating a
    /// password does not rename the endpoint.
    pub fn resolved_name(&self) -> String {
        if let Some(name) = self.name.as_ref().filter(|n| !n.is_empty()) {
            return name.clone();
        }
        let mut entry = self.redacted();
        entry.name = None;
        // Serialising plain data to YAML cannot fail; fall back to the url alone if it ever did.
        let text = serde_yaml_ng::to_string(&entry).unwrap_or_else(|_| self.url.clone());
        let digest = Md5::digest(text.as_bytes());
        digest[..3].iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PromDuration;

    fn job(interval: Option<u64>, timeout: Option<u64>) -> ScrapeConfig {
        let mut c: ScrapeConfig = serde_yaml_ng::from_str("job_name: j").unwrap();
        c.scrape_interval = interval.map(PromDuration::from_secs);
        c.scrape_timeout = timeout.map(PromDuration::from_secs);
        c
    }

    #[test]
    fn intervals_and_timeouts_default_like_prometheus() {
        let global = GlobalConfig::default();
        assert_eq!(job(None, None).interval(&global), Duration::from_secs(60));
        assert_eq!(job(None, None).timeout(&global), Duration::from_secs(10));
        // The global timeout is capped at a shorter job interval.
        assert_eq!(job(Some(5), None).timeout(&global), Duration::from_secs(5));
        assert_eq!(
            job(Some(30), Some(20)).timeout(&global),
            Duration::from_secs(20)
        );
        // An unset global timeout under a short global interval is the interval.
        let short = GlobalConfig {
            scrape_interval: PromDuration::from_secs(3),
            scrape_timeout: PromDuration::from_secs(0),
            ..GlobalConfig::default()
        };
        assert_eq!(short.timeout(), Duration::from_secs(3));
        assert_eq!(job(None, None).interval(&short), Duration::from_secs(3));
    }

    #[test]
    fn unnamed_endpoints_get_a_stable_short_hash() {
        let parse = |y: &str| serde_yaml_ng::from_str::<RemoteWriteConfig>(y).unwrap();
        let a = parse("url: http://a/api/v1/write");
        let b = parse("url: http://b/api/v1/write");
        assert_eq!(a.resolved_name().len(), 6);
        assert_eq!(
            a.resolved_name(),
            parse("url: http://a/api/v1/write").resolved_name()
        );
        assert_ne!(a.resolved_name(), b.resolved_name());
        assert_eq!(
            parse("{url: 'http://a', name: main}").resolved_name(),
            "main"
        );
        let with_pw = |pw: &str| {
            parse(&format!(
                "{{url: 'http://a', basic_auth: {{username: u, password: {pw}}}}}"
            ))
            .resolved_name()
        };
        assert_eq!(
            with_pw("one"),
            with_pw("two"),
            "secrets do not change the name"
        );
    }
}
