//! The requests Grafana's stock Prometheus data source sends, each sent the same way to a real
//! Prometheus and to Skyview holding the same data, and their answers compared.
//!
//! The list follows what Grafana 9 and 10 send: the health check (`1+1` as an instant query),
//! `buildinfo` to detect the server's flavour and version, the metric browser's label names
//! and values (with and without `match[]`, GET and form-encoded POST), `series` for template
//! variables, `metadata` for the query builder's hints, exemplars, and panel queries with
//! `step` as a bare number of seconds and `time` as a float. Ranges are the dashboard's: whole
//! seconds. Each call carries an `Origin` header and is preceded by an `OPTIONS` preflight, as
//! from a browser in Grafana's browser access mode, so the CORS headers are compared too.
//!
//! How answers are compared depends on what Prometheus defines:
//! - label names, label values, series, metadata and exemplars are compared exactly, as sets
//!   where the API returns a list;
//! - the status endpoints describe the server itself, so only their shape is compared: the same
//!   fields, each of the same JSON type;
//! - queries are compared as the PromQL suite compares them ([`compare`]).

use anyhow::{Context, Result};
use serde_json::Value;

use crate::promql_compat::{compare, parse_outcome, unix_seconds, HttpMethod, Order};

/// How two answers to a call must agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Agreement {
    /// Equal `data`, lists compared as sets.
    Exact,
    /// `data` has the same fields with values of the same JSON types.
    Shape,
    /// A query result: equal as the PromQL suite compares them.
    Query,
}

/// One request as Grafana sends it.
#[derive(Clone, Debug)]
pub struct GrafanaCall {
    /// What Grafana uses it for.
    pub purpose: &'static str,
    pub method: HttpMethod,
    pub path: String,
    pub params: Vec<(String, String)>,
    agreement: Agreement,
}

/// What comparing every call found.
#[derive(Clone, Debug, Default)]
pub struct GrafanaReport {
    pub calls: usize,
    /// One entry per call whose answers differ, naming the call and the differences.
    pub mismatches: Vec<String>,
}

/// Grafana's calls for a dashboard over `[start_ms, end_ms]`, with `metric` (a counter with
/// `job` and `instance` labels) as the metric its panels and variables use.
pub fn grafana_calls(start_ms: i64, end_ms: i64, metric: &str) -> Vec<GrafanaCall> {
    let start = (start_ms / 1000).to_string();
    let end = (end_ms / 1000).to_string();
    let range = |mut params: Vec<(String, String)>| {
        params.push(("start".into(), start.clone()));
        params.push(("end".into(), end.clone()));
        params
    };
    let one = |name: &str, value: &str| vec![(name.to_owned(), value.to_owned())];
    let selector = format!("{{__name__=\"{metric}\"}}");
    let call = |purpose, method, path: &str, params, agreement| GrafanaCall {
        purpose,
        method,
        path: path.to_owned(),
        params,
        agreement,
    };
    use Agreement::{Exact, Query, Shape};
    use HttpMethod::{Get, Post};
    vec![
        call(
            "health check",
            Get,
            "/api/v1/query",
            vec![
                ("query".into(), "1+1".into()),
                ("time".into(), unix_seconds(end_ms)),
            ],
            Query,
        ),
        call(
            "flavour and version",
            Get,
            "/api/v1/status/buildinfo",
            vec![],
            Shape,
        ),
        call("runtime", Get, "/api/v1/status/runtimeinfo", vec![], Shape),
        call(
            "metric browser: label names",
            Get,
            "/api/v1/labels",
            range(vec![]),
            Exact,
        ),
        call(
            "metric browser: label names",
            Post,
            "/api/v1/labels",
            range(vec![]),
            Exact,
        ),
        call(
            "query builder: labels of a metric",
            Get,
            "/api/v1/labels",
            range(one("match[]", &selector)),
            Exact,
        ),
        call(
            "metric names",
            Get,
            "/api/v1/label/__name__/values",
            range(vec![]),
            Exact,
        ),
        call(
            "label_values(job)",
            Get,
            "/api/v1/label/job/values",
            range(vec![]),
            Exact,
        ),
        call(
            "label_values(metric, instance)",
            Get,
            "/api/v1/label/instance/values",
            range(one("match[]", &selector)),
            Exact,
        ),
        call(
            "label values of an absent label",
            Get,
            "/api/v1/label/no_such_label/values",
            range(vec![]),
            Exact,
        ),
        call(
            "template variable: series",
            Get,
            "/api/v1/series",
            range(one("match[]", &format!("{metric}{{job=~\".+\"}}"))),
            Exact,
        ),
        call(
            "template variable: series",
            Post,
            "/api/v1/series",
            range(vec![
                ("match[]".into(), selector.clone()),
                ("match[]".into(), "up".into()),
            ]),
            Exact,
        ),
        call("metadata", Get, "/api/v1/metadata", vec![], Exact),
        call(
            "metadata of a metric",
            Get,
            "/api/v1/metadata",
            vec![
                ("metric".into(), metric.to_owned()),
                ("limit".into(), "1".into()),
            ],
            Exact,
        ),
        call(
            "exemplars",
            Get,
            "/api/v1/query_exemplars",
            range(one("query", metric)),
            Exact,
        ),
        call(
            "time series panel",
            Post,
            "/api/v1/query_range",
            range(vec![
                (
                    "query".into(),
                    format!("sum by (job) (rate({metric}[1m0s]))"),
                ),
                ("step".into(), "15".into()),
            ]),
            Query,
        ),
        call(
            "time series panel, fractional step",
            Get,
            "/api/v1/query_range",
            range(vec![
                ("query".into(), format!("max(rate({metric}[2m]))")),
                ("step".into(), "22.5".into()),
            ]),
            Query,
        ),
        call(
            "stat panel (instant)",
            Post,
            "/api/v1/query",
            vec![
                ("query".into(), format!("sum(increase({metric}[5m]))")),
                ("time".into(), format!("{}.25", (end_ms - 120_000) / 1000)),
            ],
            Query,
        ),
    ]
}

/// Sends every call to both servers and compares the answers.
pub async fn compare_calls(
    http: &reqwest::Client,
    prometheus: &str,
    skyview: &str,
    calls: &[GrafanaCall],
) -> Result<GrafanaReport> {
    let mut report = GrafanaReport::default();
    for call in calls {
        let (expected, actual) =
            tokio::join!(send(http, prometheus, call), send(http, skyview, call));
        let ((expected_status, expected_cors, expected), (actual_status, actual_cors, actual)) =
            (expected?, actual?);
        let mut differences = differences(
            call.agreement,
            expected_status,
            &expected,
            actual_status,
            &actual,
        );
        if expected_cors != actual_cors {
            differences.push(format!(
                "CORS headers: Prometheus {expected_cors:?}, Skyview {actual_cors:?}"
            ));
        }
        let (expected, actual) = tokio::join!(
            preflight(http, prometheus, call),
            preflight(http, skyview, call)
        );
        let (expected, actual) = (expected?, actual?);
        if expected != actual {
            differences.push(format!(
                "preflight (status, CORS headers): Prometheus {expected:?}, Skyview {actual:?}"
            ));
        }
        if !differences.is_empty() {
            report.mismatches.push(format!(
                "{} {} {:?} ({}): {}",
                match call.method {
                    HttpMethod::Get => "GET",
                    HttpMethod::Post => "POST",
                },
                call.path,
                call.params,
                call.purpose,
                differences.join("; ")
            ));
        }
        report.calls += 1;
    }
    Ok(report)
}

/// The `Origin` a browser sends when Grafana's data source is in browser access mode.
const ORIGIN: &str = "http://grafana.example:3000";

/// The CORS headers of a response, sorted, as `name: value`, and whether `Vary` names
/// `Origin` (Skyview's `Vary` may also name `Accept-Encoding`, which Prometheus leaves out).
fn cors_headers(response: &reqwest::Response) -> Vec<String> {
    let headers = response.headers();
    let mut cors: Vec<String> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("<not text>")))
        .collect();
    cors.sort();
    let varies = headers
        .get_all(reqwest::header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"));
    cors.push(format!("vary names origin: {varies}"));
    cors
}

/// Status, CORS headers and body of `call` sent to `base`, with an `Origin` header.
async fn send(
    http: &reqwest::Client,
    base: &str,
    call: &GrafanaCall,
) -> Result<(u16, Vec<String>, Vec<u8>)> {
    let url = format!("{base}{}", call.path);
    let request = match call.method {
        HttpMethod::Get => http.get(&url).query(&call.params),
        HttpMethod::Post => http.post(&url).form(&call.params),
    };
    let response = request
        .header(reqwest::header::ORIGIN, ORIGIN)
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = response.status().as_u16();
    let cors = cors_headers(&response);
    let body = response
        .bytes()
        .await
        .with_context(|| format!("reading the answer of {url}"))?;
    Ok((status, cors, body.to_vec()))
}

/// Status and CORS headers of the browser's preflight before `call`.
async fn preflight(
    http: &reqwest::Client,
    base: &str,
    call: &GrafanaCall,
) -> Result<(u16, Vec<String>)> {
    let url = format!("{base}{}", call.path);
    let response = http
        .request(reqwest::Method::OPTIONS, &url)
        .header(reqwest::header::ORIGIN, ORIGIN)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .with_context(|| format!("preflight of {url}"))?;
    Ok((response.status().as_u16(), cors_headers(&response)))
}

fn differences(
    agreement: Agreement,
    expected_status: u16,
    expected: &[u8],
    actual_status: u16,
    actual: &[u8],
) -> Vec<String> {
    if agreement == Agreement::Query {
        return compare(
            &parse_outcome(expected_status, expected),
            &parse_outcome(actual_status, actual),
            Order::Unordered,
        );
    }
    let text = |body: &[u8]| String::from_utf8_lossy(body).into_owned();
    let (Ok(expected_json), Ok(actual_json)) = (
        serde_json::from_slice::<Value>(expected),
        serde_json::from_slice::<Value>(actual),
    ) else {
        return vec![format!(
            "not both JSON: Prometheus {expected_status} {}, Skyview {actual_status} {}",
            text(expected),
            text(actual)
        )];
    };
    let mut found = Vec::new();
    if expected_status != actual_status {
        found.push(format!(
            "HTTP {actual_status}, Prometheus {expected_status}"
        ));
    }
    if expected_json["status"] != actual_json["status"] {
        found.push(format!(
            "status {}, Prometheus {}",
            actual_json["status"], expected_json["status"]
        ));
    }
    let (expected_data, actual_data) = (&expected_json["data"], &actual_json["data"]);
    let agree = match agreement {
        Agreement::Exact => as_sets(expected_data) == as_sets(actual_data),
        Agreement::Shape => shape(expected_data) == shape(actual_data),
        Agreement::Query => true,
    };
    if !agree {
        found.push(format!(
            "data {}, Prometheus {}",
            actual_data, expected_data
        ));
    }
    found
}

/// `value` with every list sorted, so lists compare as sets.
fn as_sets(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(as_sets).collect();
            items.sort_by_key(Value::to_string);
            Value::Array(items)
        }
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), as_sets(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The field names of an object and the JSON type of each value.
fn shape(value: &Value) -> Vec<(String, &'static str)> {
    let type_of = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    match value {
        Value::Object(fields) => fields
            .iter()
            .map(|(name, value)| (name.clone(), type_of(value)))
            .collect(),
        other => vec![(String::new(), type_of(other))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_compare_as_sets_and_status_objects_by_shape() {
        let a = br#"{"status":"success","data":["b","a"]}"#;
        let b = br#"{"status":"success","data":["a","b"]}"#;
        assert!(differences(Agreement::Exact, 200, a, 200, b).is_empty());
        let c = br#"{"status":"success","data":["a"]}"#;
        assert_eq!(differences(Agreement::Exact, 200, a, 200, c).len(), 1);
        let d = br#"{"status":"success","data":{"version":"2.42.0","goVersion":"go1.19"}}"#;
        let e = br#"{"status":"success","data":{"version":"x","goVersion":"rustc"}}"#;
        assert!(differences(Agreement::Shape, 200, d, 200, e).is_empty());
        let f = br#"{"status":"success","data":{"version":"x"}}"#;
        assert_eq!(differences(Agreement::Shape, 200, d, 200, f).len(), 1);
        assert_eq!(differences(Agreement::Exact, 200, a, 400, a).len(), 1);
    }

    #[test]
    fn calls_cover_get_and_post_and_grafana_step_forms() {
        let calls = grafana_calls(1_700_000_000_000, 1_700_003_600_000, "hits_total");
        assert!(calls.iter().any(|c| c.method == HttpMethod::Post));
        assert!(calls
            .iter()
            .any(|c| c.params.iter().any(|(n, v)| n == "step" && v == "15")));
        assert!(calls
            .iter()
            .any(|c| c.path == "/api/v1/labels" && c.params.iter().any(|(n, _)| n == "match[]")));
    }
}
