//! The HTTP side of scraping: one `reqwest` client per job, and one GET per scrape, sent the
//! way Prometheus 2.42 sends it.
//!
//! - `Accept` is Prometheus's exact header (OpenMetrics preferred, then text 0.0.4);
//!   `Accept-Encoding: gzip` is added by reqwest, which also decompresses.
//! - `X-Prometheus-Scrape-Timeout-Seconds` tells the target the timeout; the whole request,
//!   body included, is bounded by it.
//! - Only `200 OK` is a successful scrape (Prometheus rejects every other status, 2xx too).
//! - `body_size_limit` applies to the decompressed body, read chunk by chunk, so a gzip bomb
//!   or an endless body is cut off early; as in Prometheus, a body of exactly the limit fails.
//! - `basic_auth` / `authorization` secrets are read from their files on each scrape, so a
//!   rotated secret is used without a reload.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;

use super::error::ScrapeError;
use super::settings::{HttpSettings, ScrapeSettings};
use crate::config::Credentials;

/// Prometheus 2.42's `scrapeAcceptHeader`.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// `User-Agent` of every scrape.
pub const USER_AGENT: &str = concat!("Skyview/", env!("CARGO_PKG_VERSION"));

/// The header that tells a target how long the scraper waits.
pub const TIMEOUT_HEADER: &str = "X-Prometheus-Scrape-Timeout-Seconds";

/// A job's HTTP client; cheap to clone (reqwest shares the connection pool).
#[derive(Clone, Debug)]
pub struct ScrapeClient {
    http: reqwest::Client,
    job: String,
    settings: HttpSettings,
}

/// A fetched body's metadata; the bytes are in the caller's buffer.
#[derive(Debug)]
pub struct Fetched {
    pub content_type: Option<String>,
}

impl ScrapeClient {
    pub fn new(settings: &ScrapeSettings) -> Result<Self, ScrapeError> {
        let fail = |message: String| ScrapeError::Client {
            job: settings.job.clone(),
            message,
        };
        let redirects = if settings.http.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .gzip(true)
            .redirect(redirects);
        if let Some(tls) = &settings.http.tls_config {
            builder = tls.apply_to(builder).map_err(|e| fail(e.to_string()))?;
        }
        let http = builder.build().map_err(|e| fail(error_chain(&e)))?;
        Ok(Self {
            http,
            job: settings.job.clone(),
            settings: settings.http.clone(),
        })
    }

    /// GETs `url` into `buf` (cleared first), within `timeout` and `body_size_limit` bytes
    /// (0: none). The buffer is passed by value so the future is `'static`; it always comes
    /// back, holding the body.
    pub async fn fetch(
        self,
        url: String,
        timeout: Duration,
        body_size_limit: u64,
        mut buf: Vec<u8>,
    ) -> (Vec<u8>, Result<Fetched, ScrapeError>) {
        buf.clear();
        let result = self
            .fetch_into(&url, timeout, body_size_limit, &mut buf)
            .await;
        (buf, result)
    }

    async fn fetch_into(
        &self,
        url: &str,
        timeout: Duration,
        limit: u64,
        buf: &mut Vec<u8>,
    ) -> Result<Fetched, ScrapeError> {
        let request_error = |e: reqwest::Error| {
            if e.is_timeout() {
                ScrapeError::Timeout { timeout }
            } else {
                ScrapeError::Request {
                    message: error_chain(&e),
                }
            }
        };
        let mut request = self
            .http
            .get(url)
            .timeout(timeout)
            .header(ACCEPT, ACCEPT_HEADER)
            .header(TIMEOUT_HEADER, timeout.as_secs_f64().to_string());
        request = self.authorize(request)?;
        let mut response = request.send().await.map_err(request_error)?;
        if response.status() != StatusCode::OK {
            return Err(ScrapeError::HttpStatus {
                status: response.status().as_u16(),
            });
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        while let Some(chunk) = response.chunk().await.map_err(request_error)? {
            if limit > 0 && (buf.len() + chunk.len()) as u64 >= limit {
                return Err(ScrapeError::BodyTooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Fetched { content_type })
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, ScrapeError> {
        let fail = |message: String| ScrapeError::Client {
            job: self.job.clone(),
            message,
        };
        let credentials = Credentials::load(
            self.settings.basic_auth.as_ref(),
            self.settings.authorization.as_ref(),
        )
        .map_err(|e| fail(e.to_string()))?;
        Ok(match credentials {
            Some(credentials) => credentials.apply(request),
            None => request,
        })
    }
}

/// An error with its causes, which is where reqwest says what actually went wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
