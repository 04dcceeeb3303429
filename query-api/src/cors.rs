//! Cross-origin headers on `/api/v1/*`, as Prometheus 2.42 sets them (`--web.cors.origin`):
//! a browser dashboard on another origin (Grafana in "browser" access mode, the Prometheus UI
//! served elsewhere) may call the API.
//!
//! - A request with an `Origin` header gets `Access-Control-Allow-{Headers,Methods}`,
//!   `Access-Control-Expose-Headers` and `Vary: Origin`, whatever its origin.
//! - `Access-Control-Allow-Origin` is `*` under the default pattern `.*`, else the request's
//!   origin when the fully anchored pattern matches it, else absent.
//! - `OPTIONS` on any `/api/v1/` path is a preflight: `204 No Content` with those headers.
//!
//! Other paths (`/federate`, `/metrics`, `/-/*`) get no CORS headers, as in Prometheus.

use std::fmt;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use regex::Regex;

/// The prefix of the paths CORS applies to.
const API_PREFIX: &str = "/api/v1/";

/// Prometheus's default `--web.cors.origin`: every origin.
pub const ANY_ORIGIN: &str = ".*";

/// The origins allowed to read the API.
#[derive(Debug, Clone, Default)]
pub enum CorsOrigin {
    /// `.*`: `Access-Control-Allow-Origin: *`.
    #[default]
    Any,
    /// A pattern the `Origin` header must match, as given and as compiled (fully anchored).
    Matching { pattern: String, anchored: Regex },
}

impl CorsOrigin {
    /// `pattern` as `--web.cors.origin` takes it (anchored on both ends, as Prometheus does);
    /// the error names the bad pattern.
    pub fn parse(pattern: &str) -> Result<Self, regex::Error> {
        if pattern == ANY_ORIGIN {
            return Ok(Self::Any);
        }
        Regex::new(&format!("^(?:{pattern})$")).map(|anchored| Self::Matching {
            pattern: pattern.to_owned(),
            anchored,
        })
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if it is allowed.
    fn allowed(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match self {
            Self::Any => Some(HeaderValue::from_static("*")),
            Self::Matching { anchored, .. } => origin
                .to_str()
                .is_ok_and(|o| anchored.is_match(o))
                .then(|| origin.clone()),
        }
    }
}

/// The middleware (for `axum::middleware::from_fn_with_state`). Layer it over the whole
/// server's router, so that preflights reach it on paths no route of this crate serves.
pub async fn cors_headers(
    State(origin): State<CorsOrigin>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with(API_PREFIX) {
        return next.run(request).await;
    }
    let request_origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = if request.method() == Method::OPTIONS {
        (StatusCode::NO_CONTENT, Body::empty()).into_response()
    } else {
        next.run(request).await
    };
    if let Some(request_origin) = request_origin {
        set_headers(response.headers_mut(), &origin, &request_origin);
    }
    response
}

/// The pattern as given (what `/api/v1/status/flags` reports).
impl fmt::Display for CorsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str(ANY_ORIGIN),
            Self::Matching { pattern, .. } => f.write_str(pattern),
        }
    }
}

fn set_headers(headers: &mut HeaderMap, origin: &CorsOrigin, request_origin: &HeaderValue) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Accept, Authorization, Content-Type, Origin"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Date"),
    );
    // Appended: the compression layer's `Vary: accept-encoding` must stay.
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(allowed) = origin.allowed(request_origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(pattern: &str, origin: &'static str) -> Option<HeaderValue> {
        CorsOrigin::parse(pattern)
            .unwrap()
            .allowed(&HeaderValue::from_static(origin))
    }

    #[test]
    fn patterns_are_fully_anchored() {
        assert_eq!(allowed(".*", "http://x").unwrap(), "*");
        let pattern = r"https?://(a|b)\.com";
        assert_eq!(allowed(pattern, "https://a.com").unwrap(), "https://a.com");
        assert_eq!(allowed(pattern, "http://b.com").unwrap(), "http://b.com");
        assert_eq!(allowed(pattern, "http://b.com.evil"), None);
        assert_eq!(allowed(pattern, "xhttp://b.com"), None);
        assert!(CorsOrigin::parse("(").is_err());
        assert_eq!(CorsOrigin::parse(pattern).unwrap().to_string(), pattern);
        assert_eq!(CorsOrigin::default().to_string(), ".*");
    }
}
