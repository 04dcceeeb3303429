//! A remote-write client and a reader for the receiver cluster, as a sender and a checker
//! outside the cluster see it: HTTP only.
//!
//! Writes are encoded with the workspace's remote-write codec (the one the agent ships with),
//! so what the tests send is exactly what a sender sends; a test that needs a malformed body
//! posts raw bytes with [`RemoteWriteClient::post_body`]. A write answers a [`WriteReply`]
//! (status and body), not an error, because the tests assert on refusals as much as on
//! acceptances; only a transport failure (connection refused, timeout) is an `Err`, which is
//! what a killed node produces.
//!
//! Reads go through the receiver's `GET /api/v1/internal/select` (Prometheus's matrix shape,
//! timestamps in seconds, values as strings) and come back as [`StoredSeries`] with
//! millisecond timestamps, so a test compares them with what it wrote, exactly.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use skyview_api::remote_write::headers::{
    BATCH_HEADER, CONTENT_ENCODING, CONTENT_TYPE, REMOTE_WRITE_VERSION, REMOTE_WRITE_VERSION_HEADER,
};
use skyview_api::remote_write::{
    encode_write_request, BatchId, Label, Sample, TimeSeries, WriteRequest,
};

/// The header naming the tenant (Cortex/Mimir's); absent means the `default` tenant.
pub const TENANT_HEADER: &str = "X-Scope-OrgID";

/// How long one request may take: long enough for a write that waits out a leader election,
/// short enough that a test retrying against a dead node moves on.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// [`RemoteWriteClient::deliver_with_retries`]: first retry delay, doubled up to the maximum.
const DELIVER_MIN_BACKOFF: Duration = Duration::from_millis(30);
const DELIVER_MAX_BACKOFF: Duration = Duration::from_secs(2);
/// A body still refused after this many attempts fails the benchmark run.
const DELIVER_MAX_ATTEMPTS: u32 = 30;

/// What the receiver answered to a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteReply {
    pub status: u16,
    pub body: String,
}

impl WriteReply {
    /// 2xx: every sample of the request is durable (or was already).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `error` field of a Prometheus error body (`{"status":"error","errorType":..,
    /// "error":..}`), failing if the body does not have that shape.
    pub fn error_message(&self) -> Result<PromError> {
        serde_json::from_str(&self.body).with_context(|| {
            format!(
                "HTTP {} body is not Prometheus error JSON: {}",
                self.status, self.body
            )
        })
    }
}

/// Prometheus's error JSON.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromError {
    pub status: String,
    pub error_type: String,
    pub error: String,
}

/// Optional per-request headers.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions<'a> {
    /// `X-Skyview-Batch`: the batch's idempotency identity.
    pub identity: Option<&'a BatchId>,
    /// `X-Scope-OrgID`.
    pub tenant: Option<&'a str>,
}

/// One series as read back: its labels and its samples `(timestamp_ms, value)` in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSeries {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(i64, f64)>,
}

/// A remote-write sender and select reader, usable against any node's base URL.
#[derive(Clone, Debug)]
pub struct RemoteWriteClient {
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct SelectEnvelope {
    status: String,
    #[serde(default)]
    data: Option<Vec<SelectedSeries>>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct SelectedSeries {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

impl RemoteWriteClient {
    pub fn new() -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self { http })
    }

    /// Encodes `request` and posts it to `{base}/api/v1/write`.
    pub async fn write(
        &self,
        base: &str,
        request: &WriteRequest,
        options: WriteOptions<'_>,
    ) -> Result<WriteReply> {
        let body = encode_write_request(request).context("encoding a write request")?;
        self.post_body(base, body, options).await
    }

    /// Posts `body` until it is accepted, as a benchmark's sender: a 429 or 5xx answer (or no
    /// answer) is retried with a doubling backoff, starting at endpoint `index mod n` and moving
    /// to the next endpoint on each attempt; any other refusal fails at once. Returns the
    /// number of retries it needed.
    pub async fn deliver_with_retries(
        &self,
        endpoints: &[String],
        index: usize,
        body: bytes::Bytes,
    ) -> Result<u32> {
        let mut backoff = DELIVER_MIN_BACKOFF;
        let mut last_error = String::new();
        for attempt in 0..DELIVER_MAX_ATTEMPTS {
            let endpoint = &endpoints[(index + attempt as usize) % endpoints.len()];
            match self
                .post_body(endpoint, body.clone(), WriteOptions::default())
                .await
            {
                Ok(reply) if reply.is_success() => return Ok(attempt),
                Ok(reply) if reply.status == 429 || reply.status >= 500 => {
                    last_error = format!("{endpoint} answered {}: {}", reply.status, reply.body);
                }
                Ok(reply) => bail!(
                    "{endpoint} refused the request with {}: {}",
                    reply.status,
                    reply.body
                ),
                Err(e) => last_error = format!("{e:#}"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(DELIVER_MAX_BACKOFF);
        }
        bail!("not accepted after {DELIVER_MAX_ATTEMPTS} attempts; last: {last_error}")
    }

    /// Posts an already encoded (or deliberately malformed) body with the remote-write headers.
    pub async fn post_body(
        &self,
        base: &str,
        body: impl Into<reqwest::Body>,
        options: WriteOptions<'_>,
    ) -> Result<WriteReply> {
        let url = format!("{base}/api/v1/write");
        let mut request = self
            .http
            .post(&url)
            .header("Content-Encoding", CONTENT_ENCODING)
            .header("Content-Type", CONTENT_TYPE)
            .header(REMOTE_WRITE_VERSION_HEADER, REMOTE_WRITE_VERSION)
            .body(body);
        if let Some(identity) = options.identity {
            request = request.header(BATCH_HEADER, identity.to_header_value());
        }
        if let Some(tenant) = options.tenant {
            request = request.header(TENANT_HEADER, tenant);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .with_context(|| format!("reading the reply of {url}"))?;
        Ok(WriteReply { status, body })
    }

    /// Every sample of the series matching `selector` with `start_ms <= t <= end_ms`, read
    /// through `{base}/api/v1/internal/select` (linearizable on the receiver's side).
    pub async fn select(
        &self,
        base: &str,
        selector: &str,
        start_ms: i64,
        end_ms: i64,
        tenant: Option<&str>,
    ) -> Result<Vec<StoredSeries>> {
        let url = format!("{base}/api/v1/internal/select");
        let mut request = self.http.get(&url).query(&[
            ("match[]", selector.to_owned()),
            ("start", start_ms.to_string()),
            ("end", end_ms.to_string()),
        ]);
        if let Some(tenant) = tenant {
            request = request.header(TENANT_HEADER, tenant);
        }
        let what = || format!("select {selector} [{start_ms}, {end_ms}] at {url}");
        let response = request.send().await.with_context(what)?;
        let status = response.status();
        let body = response.bytes().await.with_context(what)?;
        if !status.is_success() {
            bail!(
                "{}: HTTP {status}: {}",
                what(),
                String::from_utf8_lossy(&body)
            );
        }
        parse_select(&body).with_context(what)
    }
}

fn parse_select(body: &[u8]) -> Result<Vec<StoredSeries>> {
    let envelope: SelectEnvelope = serde_json::from_slice(body)
        .with_context(|| format!("decoding {}", String::from_utf8_lossy(body)))?;
    if envelope.status != "success" {
        bail!(
            "select failed: {}",
            envelope.error.unwrap_or(envelope.status)
        );
    }
    let Some(data) = envelope.data else {
        bail!("a successful select without data");
    };
    data.into_iter()
        .map(|series| {
            let samples = series
                .values
                .iter()
                .map(|(seconds, value)| {
                    Ok((seconds_to_ms(*seconds), crate::promql::parse_value(value)?))
                })
                .collect::<Result<_>>()?;
            Ok(StoredSeries {
                labels: series.metric,
                samples,
            })
        })
        .collect()
}

/// Prometheus writes timestamps as seconds with millisecond decimals; rounding undoes the
/// binary floating-point error of the division exactly for any realistic timestamp.
fn seconds_to_ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// A series with `labels` (any order; `__name__` first is conventional) and `samples`
/// `(timestamp_ms, value)`. The labels are sorted by name, as remote write requires.
pub fn time_series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    let mut labels: Vec<Label> = labels
        .iter()
        .map(|(name, value)| Label {
            name: (*name).to_owned(),
            value: (*value).to_owned(),
        })
        .collect();
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels,
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
    }
}

/// A request holding `series`, without metadata.
pub fn write_request(series: Vec<TimeSeries>) -> WriteRequest {
    WriteRequest {
        timeseries: series,
        metadata: Vec::new(),
    }
}

/// Milliseconds since the Unix epoch, now: test data is written near the present because the
/// receiver refuses samples too far behind a shard's newest one or too far in the future.
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_millis()).expect("a millisecond timestamp fits i64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_matrix_shape_with_special_values() {
        let body = br#"{"status":"success","data":[
            {"metric":{"__name__":"x","job":"a"},
             "values":[[1700000000.001,"1.5"],[1700000000.123,"NaN"],[1700000001,"+Inf"],[1700000002.999,"-Inf"]]}
        ]}"#;
        let series = parse_select(body).unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].labels["job"], "a");
        let times: Vec<i64> = series[0].samples.iter().map(|s| s.0).collect();
        assert_eq!(
            times,
            [
                1_700_000_000_001,
                1_700_000_000_123,
                1_700_000_001_000,
                1_700_000_002_999
            ]
        );
        assert_eq!(series[0].samples[0].1, 1.5);
        assert!(series[0].samples[1].1.is_nan());
        assert_eq!(series[0].samples[2].1, f64::INFINITY);
        assert_eq!(series[0].samples[3].1, f64::NEG_INFINITY);
    }

    #[test]
    fn an_error_envelope_is_an_error() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let err = parse_select(body).unwrap_err().to_string();
        assert!(err.contains("parse error"), "{err}");
    }

    #[test]
    fn builds_series_with_sorted_labels() {
        let series = time_series(&[("__name__", "m"), ("b", "2"), ("a", "1")], &[(5, 1.0)]);
        let names: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "a", "b"]);
        assert_eq!(series.samples[0].timestamp, 5);
    }

    #[test]
    fn reads_prometheus_error_json() {
        let reply = WriteReply {
            status: 400,
            body: r#"{"status":"error","errorType":"bad_data","error":"label name \"1x\" is invalid"}"#.into(),
        };
        let error = reply.error_message().unwrap();
        assert_eq!(error.error_type, "bad_data");
        assert!(error.error.contains("1x"));
        assert!(!reply.is_success());
    }
}
