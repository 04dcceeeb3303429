//! Request parameters as Go's `http.Request.Form` holds them: the form-encoded POST body
//! (`application/x-www-form-urlencoded`) first, then the URL's query string. A single-valued
//! parameter reads the first value, as `FormValue` does, so the body wins; `match[]` keeps every
//! value. The body is limited by axum's `DefaultBodyLimit` (2 MiB unless the router sets one).
//!
//! Deviation: `multipart/form-data` bodies, which Go's `FormValue` would also read, are ignored.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::TENANT_HEADER;
use crate::timestamp::parse_time;

/// The parameters of one request, in Go's `r.Form` order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// The request's `X-Scope-OrgID` header, raw (the [`QuerySource`](crate::QuerySource)
    /// checks it); `None` without the header.
    tenant: Option<String>,
}

impl Params {
    /// Parameters from a form-encoded body followed by a query string.
    pub fn from_parts(body: &[u8], query: Option<&str>) -> Self {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        if let Some(q) = query {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Self {
            pairs,
            tenant: None,
        }
    }

    /// The request's raw `X-Scope-OrgID` header, if any.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The first value of `name`, or `""` (Go's `FormValue`).
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, in order (Go's `r.Form[name]`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter with a default, as Prometheus's `parseTimeParam`: an invalid value is
    /// `invalid parameter "<name>": Invalid time value for '<name>': cannot parse ...`.
    pub fn time_or(&self, name: &str, default_ms: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            "" => Ok(default_ms),
            value => parse_time(value).map_err(|e| {
                ApiError::invalid_param(name, format!("Invalid time value for '{name}': {e}"))
            }),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().map(str::to_owned);
        let tenant = req
            .headers()
            .get(TENANT_HEADER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let is_form = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
            && req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| {
                    v.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                });
        let body = if is_form {
            Bytes::from_request(req, state)
                .await
                .map_err(IntoResponse::into_response)?
        } else {
            Bytes::new()
        };
        Ok(Self {
            tenant,
            ..Self::from_parts(&body, query.as_deref())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_comes_before_query_string() {
        let p = Params::from_parts(
            b"query=up&match%5B%5D=a",
            Some("query=down&match[]=b&time=1"),
        );
        assert_eq!(p.get("query"), "up");
        assert_eq!(p.get("time"), "1");
        assert_eq!(p.get("missing"), "");
        assert_eq!(p.all("match[]"), vec!["a", "b"]);
    }

    #[test]
    fn values_are_decoded() {
        let p = Params::from_parts(b"", Some("query=sum%28rate%28x%5B5m%5D%29%29+by+(job)"));
        assert_eq!(p.get("query"), "sum(rate(x[5m])) by (job)");
    }

    #[test]
    fn time_parameters_default_and_fail_like_prometheus() {
        let p = Params::from_parts(b"", Some("start=1.5&end=x"));
        assert_eq!(p.time_or("start", 0), Ok(1500));
        assert_eq!(p.time_or("time", 7), Ok(7));
        assert_eq!(
            p.time_or("end", 0).unwrap_err().to_string(),
            r#"invalid parameter "end": Invalid time value for 'end': cannot parse "x" to a valid timestamp"#
        );
    }
}
