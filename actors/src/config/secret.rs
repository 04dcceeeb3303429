//! Secrets: reading `password_file`/`credentials_file`, and redacting secrets for display.
//!
//! Files are read when asked (not at load) so a rotated secret is picked up by the next request,
//! as Prometheus does; the content is trimmed of surrounding whitespace, as Prometheus does.

use std::path::Path;

use super::error::ConfigError;
use super::model::{Authorization, BasicAuth, Config, RemoteWriteConfig, ScrapeConfig};

/// What Prometheus shows in place of a secret.
pub const REDACTED: &str = "<secret>";

impl BasicAuth {
    /// The password, from `password` or the content of `password_file`; `None` when neither
    /// is set.
    pub fn password(&self) -> Result<Option<String>, ConfigError> {
        secret(
            self.password.as_deref(),
            self.password_file.as_deref(),
            "password_file",
        )
    }
}

impl Authorization {
    /// The credentials, from `credentials` or the content of `credentials_file`; `None` when
    /// neither is set.
    pub fn credentials(&self) -> Result<Option<String>, ConfigError> {
        secret(
            self.credentials.as_deref(),
            self.credentials_file.as_deref(),
            "credentials_file",
        )
    }
}

fn secret(
    inline: Option<&str>,
    file: Option<&Path>,
    field: &'static str,
) -> Result<Option<String>, ConfigError> {
    if let Some(value) = inline {
        return Ok(Some(value.to_owned()));
    }
    let Some(file) = file else { return Ok(None) };
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::SecretFile {
        field,
        file: file.to_owned(),
        source,
    })?;
    Ok(Some(text.trim().to_owned()))
}

impl Config {
    /// The configuration as YAML with secrets replaced by `<secret>`, for
    /// `/api/v1/status/config`. Defaults resolved at load (intervals, timeouts, absolute file
    /// paths) are shown as resolved, as Prometheus shows them.
    pub fn to_redacted_yaml(&self) -> String {
        let mut config = self.clone();
        for job in &mut config.scrape_configs {
            *job = job.redacted();
        }
        for remote in &mut config.remote_write {
            *remote = remote.redacted();
        }
        // Plain data always serialises; an empty document is the safe fallback.
        serde_yaml_ng::to_string(&config).unwrap_or_default()
    }
}

impl ScrapeConfig {
    fn redacted(&self) -> Self {
        let mut c = self.clone();
        redact(&mut c.basic_auth, &mut c.authorization);
        c
    }
}

impl RemoteWriteConfig {
    /// A copy with inline secrets replaced by `<secret>`.
    pub(super) fn redacted(&self) -> Self {
        let mut c = self.clone();
        redact(&mut c.basic_auth, &mut c.authorization);
        c
    }
}

fn redact(basic: &mut Option<BasicAuth>, auth: &mut Option<Authorization>) {
    if let Some(password) = basic.as_mut().and_then(|b| b.password.as_mut()) {
        *password = REDACTED.to_owned();
    }
    if let Some(credentials) = auth.as_mut().and_then(|a| a.credentials.as_mut()) {
        *credentials = REDACTED.to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_trims_secret_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let auth = BasicAuth {
            username: "u".into(),
            password: None,
            password_file: Some(file),
        };
        assert_eq!(auth.password().unwrap().as_deref(), Some("s3cret"));
        let inline = Authorization {
            kind: "Bearer".into(),
            credentials: Some("tok".into()),
            credentials_file: None,
        };
        assert_eq!(inline.credentials().unwrap().as_deref(), Some("tok"));
    }

    #[test]
    fn missing_secret_file_names_the_file() {
        let auth = Authorization {
            kind: "Bearer".into(),
            credentials: None,
            credentials_file: Some("/nonexistent/token".into()),
        };
        let err = auth.credentials().unwrap_err().to_string();
        assert!(
            err.contains("credentials_file") && err.contains("/nonexistent/token"),
            "{err}"
        );
    }

    #[test]
    fn redacted_yaml_hides_inline_secrets_only() {
        let config: Config = serde_yaml_ng::from_str(
            "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: hunter2}\n\
             remote_write:\n  - url: http://r\n    authorization: {credentials: tok}\n",
        )
        .unwrap();
        let yaml = config.to_redacted_yaml();
        assert!(
            !yaml.contains("hunter2") && !yaml.contains("tok\n"),
            "{yaml}"
        );
        assert_eq!(yaml.matches(REDACTED).count(), 2, "{yaml}");
        assert!(yaml.contains("username: u"));
    }
}
