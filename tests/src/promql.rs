//! A small client for the Prometheus HTTP query API (`/api/v1/query`).
//!
//! Prometheus and VictoriaMetrics both answer it, so the tests ask the receivers the same
//! questions (`count_over_time(up[10m])`, `count(...)`) and compare the answers with what the
//! agent and the synthetic targets counted.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One series of a range vector, with its raw samples `(timestamp_seconds, value)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(f64, f64)>,
}

/// A query client bound to one server's base URL (`http://host:port`).
#[derive(Clone, Debug)]
pub struct PromQl {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<VectorElement>),
    Scalar((f64, String)),
    Matrix(Vec<MatrixElement>),
    String((f64, String)),
}

#[derive(Deserialize)]
struct MatrixElement {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct VectorElement {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

impl PromQl {
    pub fn new(base: impl Into<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            base: base.into(),
            http,
        })
    }

    /// Evaluates `query` at the server's current time and returns the instant vector (a scalar
    /// result becomes one sample with no labels).
    pub async fn query(&self, query: &str) -> Result<Vec<InstantSample>> {
        let body = self.get_query(query).await?;
        parse_response(&body).with_context(|| format!("query {query} at {}", self.base))
    }

    async fn get_query(&self, query: &str) -> Result<bytes::Bytes> {
        let url = format!("{}/api/v1/query", self.base);
        let response = self
            .http
            .get(&url)
            .query(&[("query", query)])
            .send()
            .await
            .with_context(|| format!("GET {url} query={query}"))?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            bail!(
                "query {query} at {url}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(body)
    }

    /// Evaluates a range-vector selector (`{job="node"}[10m]`) at the server's current time
    /// and returns every raw sample it selects.
    ///
    /// This is how samples of many metric names are counted: `count_over_time` drops the
    /// metric name, and Prometheus refuses a result in which two series then share a label set.
    pub async fn query_range_vector(&self, selector: &str) -> Result<Vec<RangeSeries>> {
        let body = self.get_query(selector).await?;
        parse_matrix(&body).with_context(|| format!("range selector {selector}"))
    }

    /// The value of a query expected to give at most one sample; `None` when it gives none.
    pub async fn query_value(&self, query: &str) -> Result<Option<f64>> {
        let samples = self.query(query).await?;
        match samples.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.value)),
            many => bail!(
                "query {query} returned {} samples, expected at most one",
                many.len()
            ),
        }
    }

    /// Like [`Self::query_value`] with an empty result read as 0 (a count of nothing).
    pub async fn query_count(&self, query: &str) -> Result<f64> {
        Ok(self.query_value(query).await?.unwrap_or(0.0))
    }
}

fn parse_data(body: &[u8]) -> Result<Option<Data>> {
    let envelope: Envelope = serde_json::from_slice(body)
        .with_context(|| format!("decoding {}", String::from_utf8_lossy(body)))?;
    if envelope.status != "success" {
        bail!(
            "query failed: {}",
            envelope.error.unwrap_or_else(|| envelope.status.clone())
        );
    }
    Ok(envelope.data)
}

fn parse_matrix(body: &[u8]) -> Result<Vec<RangeSeries>> {
    match parse_data(body)? {
        Some(Data::Matrix(elements)) => elements
            .into_iter()
            .map(|e| {
                let samples = e
                    .values
                    .iter()
                    .map(|(t, v)| Ok((*t, parse_value(v)?)))
                    .collect::<Result<_>>()?;
                Ok(RangeSeries {
                    labels: e.metric,
                    samples,
                })
            })
            .collect(),
        Some(_) => bail!("expected a range vector"),
        None => bail!("a successful response without data"),
    }
}

fn parse_response(body: &[u8]) -> Result<Vec<InstantSample>> {
    match parse_data(body)? {
        Some(Data::Vector(elements)) => elements
            .into_iter()
            .map(|e| {
                Ok(InstantSample {
                    value: parse_value(&e.value.1)?,
                    labels: e.metric,
                })
            })
            .collect(),
        Some(Data::Scalar((_, v))) => Ok(vec![InstantSample {
            labels: BTreeMap::new(),
            value: parse_value(&v)?,
        }]),
        Some(Data::Matrix(_)) => bail!("expected an instant vector or scalar, got a range vector"),
        Some(Data::String((_, s))) => bail!("expected an instant vector or scalar, got {s:?}"),
        None => bail!("a successful response without data"),
    }
}

/// Prometheus encodes sample values as strings, including `NaN`, `+Inf` and `-Inf`.
/// A sample value as the Prometheus API spells it (Go's `strconv.FormatFloat`): `NaN`, `+Inf`,
/// `-Inf`, or a finite number. Any other spelling of a special value is refused, so a
/// comparison notices it.
pub fn parse_value(text: &str) -> Result<f64> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        other => {
            let v: f64 = other
                .parse()
                .with_context(|| format!("sample value {other:?} is not a number"))?;
            anyhow::ensure!(
                v.is_finite(),
                "sample value {other:?} is not Prometheus's spelling of {v}"
            );
            Ok(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_vector() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"node"},"value":[1700000000.5,"42"]},
            {"metric":{},"value":[1700000000.5,"+Inf"]}]}}"#;
        let samples = parse_response(body).unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].labels["job"], "node");
        assert_eq!(samples[0].value, 42.0);
        assert_eq!(samples[1].value, f64::INFINITY);
    }

    #[test]
    fn parses_a_matrix() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"a"},"values":[[1.0,"1"],[2.0,"2"]]},
            {"metric":{"__name__":"b"},"values":[[1.5,"NaN"]]}]}}"#;
        let series = parse_matrix(body).unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].samples, vec![(1.0, 1.0), (2.0, 2.0)]);
        assert!(series[1].samples[0].1.is_nan());
        assert!(
            parse_response(body).is_err(),
            "a matrix is not an instant vector"
        );
    }

    #[test]
    fn parses_a_scalar() {
        let body = br#"{"status":"success","data":{"resultType":"scalar","result":[1.0,"3"]}}"#;
        assert_eq!(parse_response(body).unwrap()[0].value, 3.0);
    }

    #[test]
    fn an_error_response_is_an_error() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let err = parse_response(body).unwrap_err().to_string();
        assert!(err.contains("parse error"), "{err}");
    }
}
