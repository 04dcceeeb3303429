//! The HTTP side of one endpoint: a `reqwest` client configured from its `remote_write` entry,
//! and one request per call, reduced to the [`Answer`] the retry policy needs.
//!
//! Every request to the endpoint (writes, and the committed-position query of `committed.rs`)
//! carries `User-Agent: Skyview/<version>`, the entry's `headers` and its credentials, over the
//! entry's TLS settings: a receiver behind an authenticating proxy sees both the same way.
//! Every write also carries the spec's headers (`Content-Encoding: snappy`, `Content-Type:
//! application/x-protobuf`, `X-Prometheus-Remote-Write-Version: 0.1.0`), `User-Agent:
//! Skyview/<version>`, the batch identity `X-Skyview-Batch`, the entry's `headers`, and its
//! credentials (`basic_auth` or `authorization`, secrets read from their files when the client
//! is built, i.e. at start and on each config reload).

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use skyview_api::remote_write::headers;
use skyview_api::remote_write::BatchId;

use super::retry::{Answer, RetryAfter};
use crate::config::{Credentials, HttpClientError, RemoteWriteConfig};

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("Skyview/", env!("CARGO_PKG_VERSION"));

/// Bytes of a rejected request's response body kept for the log.
const BODY_EXCERPT: usize = 512;

/// The result of one request.
#[derive(Debug)]
pub struct Exchange {
    pub answer: Answer,
    /// The start of the response body, or the error text when there was no response.
    pub detail: String,
    pub elapsed: Duration,
}

/// Why an endpoint's client could not be built from its config.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("remote_write url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("remote_write header {name:?}: invalid name or value")]
    Header { name: String },
    #[error("remote_write {0}")]
    Http(#[from] HttpClientError),
    #[error("remote_write client: {0}")]
    Build(#[source] reqwest::Error),
}

/// One endpoint's HTTP client.
#[derive(Debug, Clone)]
pub struct RemoteClient {
    http: reqwest::Client,
    url: reqwest::Url,
    credentials: Option<Credentials>,
    /// `remote_timeout`: the longest any request may take.
    timeout: Duration,
}

impl RemoteClient {
    pub fn new(cfg: &RemoteWriteConfig) -> Result<Self, ClientError> {
        let url = reqwest::Url::parse(&cfg.url).map_err(|e| ClientError::Url {
            url: cfg.url.clone(),
            reason: e.to_string(),
        })?;

        let mut defaults = HeaderMap::new();
        for (name, value) in &cfg.headers {
            let bad = || ClientError::Header { name: name.clone() };
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            defaults.insert(header, HeaderValue::from_str(value).map_err(|_| bad())?);
        }

        let redirects = if cfg.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(defaults)
            .timeout(cfg.remote_timeout.as_duration())
            .redirect(redirects)
            .pool_max_idle_per_host(super::queues::MAX_QUEUES);
        if let Some(tls) = &cfg.tls_config {
            builder = tls.apply_to(builder)?;
        }
        let http = builder.build().map_err(ClientError::Build)?;
        Ok(Self {
            http,
            url,
            credentials: Credentials::load(cfg.basic_auth.as_ref(), cfg.authorization.as_ref())?,
            timeout: cfg.remote_timeout.as_duration(),
        })
    }

    /// The endpoint's `remote_write` URL.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The endpoint's `remote_timeout`.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A request to `url` on this endpoint's connection pool, with its credentials.
    pub fn request(&self, method: reqwest::Method, url: reqwest::Url) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.credentials {
            Some(credentials) => credentials.apply(request),
            None => request,
        }
    }

    /// Sends one request body of samples under `id`. Never fails: every outcome is an
    /// [`Answer`].
    pub async fn send(&self, body: Bytes, id: &BatchId) -> Exchange {
        self.post(body, Some(id)).await
    }

    /// Sends one request body of metric metadata. It carries no batch identity: metadata is
    /// resent whole every interval, so a repeat is harmless.
    pub async fn send_metadata(&self, body: Bytes) -> Exchange {
        self.post(body, None).await
    }

    async fn post(&self, body: Bytes, id: Option<&BatchId>) -> Exchange {
        let started = Instant::now();
        let mut request = self
            .request(reqwest::Method::POST, self.url.clone())
            .header(CONTENT_ENCODING, headers::CONTENT_ENCODING)
            .header(CONTENT_TYPE, headers::CONTENT_TYPE)
            .header(
                headers::REMOTE_WRITE_VERSION_HEADER,
                headers::REMOTE_WRITE_VERSION,
            );
        if let Some(id) = id {
            request = request.header(headers::BATCH_HEADER, id.to_header_value());
        }
        let request = request.body(body);
        let (answer, detail) = match request.send().await {
            Ok(resp) => {
                let code = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(RetryAfter::parse);
                let detail = if resp.status().is_success() {
                    String::new()
                } else {
                    excerpt(resp.bytes().await.unwrap_or_default())
                };
                (Answer::Status { code, retry_after }, detail)
            }
            Err(e) if e.is_timeout() => (Answer::Timeout, e.to_string()),
            Err(e) => (Answer::Network, e.to_string()),
        };
        Exchange {
            answer,
            detail,
            elapsed: started.elapsed(),
        }
    }
}

/// The start of a response body, for logs.
pub fn excerpt(body: Bytes) -> String {
    let cut = body.len().min(BODY_EXCERPT);
    String::from_utf8_lossy(&body[..cut]).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_bounded_and_lossy() {
        let long = Bytes::from(vec![b'x'; 2000]);
        assert_eq!(excerpt(long).len(), BODY_EXCERPT);
        assert_eq!(
            excerpt(Bytes::from_static(b" bad \xff sample\n")),
            "bad \u{fffd} sample"
        );
    }
}
