//! How `tls_config`, `basic_auth` and `authorization` turn into a reqwest client and request
//! headers. Scrape clients and remote-write clients share these Prometheus sections, so they
//! share this one reading of them.

use std::fmt;
use std::path::{Path, PathBuf};

use reqwest::header::{HeaderValue, AUTHORIZATION};

use super::model::{Authorization, BasicAuth, TlsConfig};

/// Why a client could not be configured from these sections.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    #[error("tls_config file {path}: {reason}")]
    Tls { path: PathBuf, reason: String },
    #[error("tls_config: cert_file and key_file go together")]
    TlsPair,
    #[error("credentials: {reason}")]
    Credentials { reason: String },
}

impl TlsConfig {
    /// Applies the CA bundle, the client certificate (mTLS) and `insecure_skip_verify`.
    pub fn apply_to(
        &self,
        mut builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, HttpClientError> {
        let fail = |p: &Path, e: &dyn fmt::Display| HttpClientError::Tls {
            path: p.to_path_buf(),
            reason: e.to_string(),
        };
        let read = |p: &Path| std::fs::read(p).map_err(|e| fail(p, &e));
        if let Some(ca) = &self.ca_file {
            for cert in
                reqwest::Certificate::from_pem_bundle(&read(ca)?).map_err(|e| fail(ca, &e))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                let mut pem = read(cert)?;
                pem.push(b'\n');
                pem.extend(read(key)?);
                let identity = reqwest::Identity::from_pem(&pem).map_err(|e| fail(cert, &e))?;
                builder = builder.identity(identity);
            }
            (None, None) => {}
            _ => return Err(HttpClientError::TlsPair),
        }
        Ok(builder.danger_accept_invalid_certs(self.insecure_skip_verify))
    }
}

/// Credentials attached to a request, with secrets already read from their files.
#[derive(Clone)]
pub enum Credentials {
    Basic { username: String, password: String },
    Header(HeaderValue),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, <secret>)"),
            Self::Header(_) => f.write_str("Authorization(<secret>)"),
        }
    }
}

impl Credentials {
    /// Reads `basic_auth` or `authorization` (validation made them exclusive). Secret files
    /// are read now, so calling this per request picks up a rotated secret.
    pub fn load(
        basic: Option<&BasicAuth>,
        authorization: Option<&Authorization>,
    ) -> Result<Option<Self>, HttpClientError> {
        let reason = |e: &dyn fmt::Display| HttpClientError::Credentials {
            reason: e.to_string(),
        };
        if let Some(basic) = basic {
            let password = basic.password().map_err(|e| reason(&e))?;
            return Ok(Some(Self::Basic {
                username: basic.username.clone(),
                password: password.unwrap_or_default(),
            }));
        }
        if let Some(auth) = authorization {
            let credentials = auth.credentials().map_err(|e| reason(&e))?;
            let text = format!("{} {}", auth.kind, credentials.unwrap_or_default());
            let mut value = HeaderValue::from_str(&text)
                .map_err(|_| reason(&"authorization credentials are not a valid header value"))?;
            value.set_sensitive(true);
            return Ok(Some(Self::Header(value)));
        }
        Ok(None)
    }

    pub fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Self::Basic { username, password } => request.basic_auth(username, Some(password)),
            Self::Header(value) => request.header(AUTHORIZATION, value.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_defaults_to_bearer_and_reads_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret\n").unwrap();
        let auth = Authorization {
            kind: "Bearer".into(),
            credentials: None,
            credentials_file: Some(file),
        };
        match Credentials::load(None, Some(&auth)).unwrap() {
            Some(Credentials::Header(v)) => assert_eq!(v.to_str().unwrap(), "Bearer s3cret"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn half_a_client_certificate_is_an_error() {
        let tls = TlsConfig {
            cert_file: Some("cert.pem".into()),
            ..TlsConfig::default()
        };
        assert!(matches!(
            tls.apply_to(reqwest::Client::builder()),
            Err(HttpClientError::TlsPair)
        ));
    }
}
