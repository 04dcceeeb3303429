//! Reading `prometheus.yml`: the key check (`schema.rs`), typed parsing, making relative file
//! paths relative to the configuration file's directory (as Prometheus does), and validation.

use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::model::{Authorization, BasicAuth, Config, TlsConfig};
use super::schema;

impl Config {
    /// Reads, checks and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml(&text, path)
    }

    /// Checks and validates `text`, read from `path`. Relative file names in the configuration
    /// are resolved against `path`'s directory.
    pub fn from_yaml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        schema::check(text, path)?;
        let syntax = |e: serde_yaml_ng::Error| schema::syntax_error(path, &e);
        let mut doc = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).map_err(syntax)?;
        let mut config = if doc.is_null() {
            Config::default()
        } else if text.contains(schema::MERGE_KEY) {
            // Merge keys are applied on the value tree; type errors then lose their line, which
            // only files using `<<:` pay for.
            doc.apply_merge().map_err(syntax)?;
            serde_yaml_ng::from_value::<Config>(doc).map_err(syntax)?
        } else {
            serde_yaml_ng::from_str::<Config>(text).map_err(syntax)?
        };
        config.resolve_paths(path.parent().unwrap_or(Path::new("")));
        config.validate(path)
    }

    /// Joins relative secret, TLS and `file_sd` paths to `dir` (Prometheus's `SetDirectory`).
    fn resolve_paths(&mut self, dir: &Path) {
        for job in &mut self.scrape_configs {
            resolve_client(
                dir,
                &mut job.basic_auth,
                &mut job.authorization,
                &mut job.tls_config,
            );
            for sd in &mut job.file_sd_configs {
                for file in &mut sd.files {
                    if !file.is_empty() && Path::new(file.as_str()).is_relative() {
                        *file = dir.join(&*file).to_string_lossy().into_owned();
                    }
                }
            }
        }
        for remote in &mut self.remote_write {
            resolve_client(
                dir,
                &mut remote.basic_auth,
                &mut remote.authorization,
                &mut remote.tls_config,
            );
        }
    }
}

fn resolve_client(
    dir: &Path,
    basic: &mut Option<BasicAuth>,
    auth: &mut Option<Authorization>,
    tls: &mut Option<TlsConfig>,
) {
    let files = [
        basic.as_mut().and_then(|b| b.password_file.as_mut()),
        auth.as_mut().and_then(|a| a.credentials_file.as_mut()),
    ];
    let tls_files = tls.as_mut().map(|t| {
        [
            t.ca_file.as_mut(),
            t.cert_file.as_mut(),
            t.key_file.as_mut(),
        ]
    });
    for file in files
        .into_iter()
        .chain(tls_files.into_iter().flatten())
        .flatten()
    {
        join_dir(dir, file);
    }
}

fn join_dir(dir: &Path, file: &mut PathBuf) {
    if !file.as_os_str().is_empty() && file.is_relative() {
        *file = dir.join(&*file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_comment_only_files_are_the_defaults() {
        for text in ["", "# nothing\n"] {
            let c = Config::from_yaml(text, Path::new("p.yml")).unwrap();
            assert!(c.scrape_configs.is_empty());
            assert_eq!(c.global.scrape_interval.0.as_secs(), 60);
        }
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let text = "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password_file: pw}\n    tls_config: {ca_file: /abs/ca.pem}\n    file_sd_configs: [{files: ['sd/*.json']}]\n";
        let c = Config::from_yaml(text, Path::new("/etc/skyview/prometheus.yml")).unwrap();
        let job = &c.scrape_configs[0];
        assert_eq!(
            job.basic_auth.as_ref().unwrap().password_file.as_deref(),
            Some(Path::new("/etc/skyview/pw"))
        );
        assert_eq!(
            job.tls_config.as_ref().unwrap().ca_file.as_deref(),
            Some(Path::new("/abs/ca.pem"))
        );
        assert_eq!(job.file_sd_configs[0].files, ["/etc/skyview/sd/*.json"]);
    }

    #[test]
    fn type_errors_name_the_line() {
        let text = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_interval: soon\n";
        let e = Config::from_yaml(text, Path::new("prometheus.yml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("prometheus.yml:5:"), "{e}");
        assert!(e.contains("not a valid duration string"), "{e}");
        let e = Config::from_yaml(
            "scrape_configs:\n  - scrape_interval: 1s\n",
            Path::new("p.yml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("missing field `job_name`"), "{e}");
    }

    #[test]
    fn yaml_merge_keys_work_as_in_prometheus() {
        let text = "scrape_configs:\n  - &base\n    job_name: a\n    scrape_interval: 5s\n  - <<: *base\n    job_name: b\n";
        let c = Config::from_yaml(text, Path::new("p.yml")).unwrap();
        assert_eq!(c.scrape_configs[1].job_name, "b");
        assert_eq!(
            c.scrape_configs[1].scrape_interval,
            Some(crate::config::PromDuration::from_secs(5))
        );
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let e = Config::load(Path::new("/nonexistent/prometheus.yml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/nonexistent/prometheus.yml: cannot read"),
            "{e}"
        );
    }

    /// Every example under `deploy/agent` loads.
    #[test]
    fn deploy_examples_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/agent");
        let mut loaded = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yml") {
                Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
                loaded += 1;
            }
        }
        assert!(loaded > 0, "no example configs in {}", dir.display());
    }
}
