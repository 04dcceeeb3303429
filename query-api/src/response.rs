//! The success envelope, `{"status":"success","data":<data>}` with `"warnings"` only when there
//! are some, served as `application/json` with status 200 as Prometheus does.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use skyview_promql::json;

/// A successful API answer whose `data` is already encoded JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success {
    /// The encoded `data` value.
    pub data: String,
    /// Warnings to report next to the data (none today: no partial results exist yet).
    pub warnings: Vec<String>,
}

impl Success {
    /// Wraps already-encoded `data`.
    pub fn new(data: String) -> Self {
        Self {
            data,
            warnings: Vec::new(),
        }
    }

    /// The full JSON body.
    pub fn body(&self) -> String {
        let mut out = String::with_capacity(self.data.len() + 32);
        out.push_str("{\"status\":\"success\",\"data\":");
        out.push_str(&self.data);
        if !self.warnings.is_empty() {
            out.push_str(",\"warnings\":[");
            for (i, w) in self.warnings.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::write_string(w, &mut out);
            }
            out.push(']');
        }
        out.push('}');
        out
    }
}

impl IntoResponse for Success {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::OK, self.body()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// Encodes a list of strings as a JSON array (label names, label values).
pub fn string_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_string(item, &mut out);
    }
    out.push(']');
    out
}

/// Encodes `(key, value)` string pairs as a JSON object, in the given order.
pub fn string_object<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_string(k, &mut out);
        out.push(':');
        json::write_string(v, &mut out);
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_shapes() {
        assert_eq!(
            Success::new("[]".into()).body(),
            r#"{"status":"success","data":[]}"#
        );
        let with_warnings = Success {
            data: "{}".into(),
            warnings: vec!["partial".into()],
        };
        assert_eq!(
            with_warnings.body(),
            r#"{"status":"success","data":{},"warnings":["partial"]}"#
        );
    }

    #[test]
    fn arrays_and_objects() {
        assert_eq!(string_array(["a", "b\""]), r#"["a","b\""]"#);
        assert_eq!(string_array([]), "[]");
        assert_eq!(string_object([("k", "v")]), r#"{"k":"v"}"#);
    }
}
