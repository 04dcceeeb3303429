//! The router against a real single-node cluster (RF 1, in a temporary directory), without
//! sockets: `router(node).oneshot(request)`. Every 400 case of the write path is checked to
//! answer Prometheus's error JSON naming the problem and to store nothing of the request.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::Value;
use skyview_raft::node::{Node, NodeConfig};
use tower::ServiceExt;

use super::{router, QueryConfig, ReceiverLimits};
use crate::remote_read::{LabelMatcher, MatchType, Query, ReadRequest, ReadResponse, ResponseType};
use crate::remote_write::codec::{decode_message, encode_message};
use crate::remote_write::{encode_write_request, Label, Sample, TimeSeries, WriteRequest};

struct Harness {
    app: Router,
    node: Arc<Node>,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start(limits: ReceiverLimits) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut config = NodeConfig::single(1, "http://127.0.0.1:1", dir.path().join("data"));
        config.shards = 4;
        config.replication_factor = 1;
        let node = Node::start(config).await.unwrap();
        let app = router(node.clone(), limits, QueryConfig::default());
        let harness = Harness {
            app,
            node,
            _dir: dir,
        };
        harness.wait_ready().await;
        harness
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, _) = self.get("/-/ready").await;
            if status == StatusCode::OK {
                return;
            }
            assert!(Instant::now() < deadline, "node not ready in 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, body.to_vec())
    }

    async fn get(&self, uri: &str) -> (StatusCode, Vec<u8>) {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn write_raw(&self, body: Vec<u8>, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut request = Request::post("/api/v1/write")
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (status, body) = self.send(request.body(Body::from(body)).unwrap()).await;
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        (status, json)
    }

    async fn write(&self, request: &WriteRequest, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        self.write_raw(encode_write_request(request).unwrap(), headers)
            .await
    }

    /// Every stored sample of series matching `selector`: (labels, [(t, value string)]).
    async fn select(&self, selector: &str) -> Vec<(Value, Vec<(f64, String)>)> {
        let uri = format!(
            "/api/v1/internal/select?match[]={}",
            form_urlencoded::byte_serialize(selector.as_bytes()).collect::<String>()
        );
        let (status, body) = self.get(&uri).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["status"], "success");
        json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let values = s["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().to_owned()))
                    .collect();
                (s["metric"].clone(), values)
            })
            .collect()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(name, value)| Label {
                name: (*name).into(),
                value: (*value).into(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
    }
}

fn request(timeseries: Vec<TimeSeries>) -> WriteRequest {
    WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_stored_once_and_read_back_in_prometheus_shape() {
    let h = Harness::start(ReceiverLimits::default()).await;
    let t = now_ms() / 1000 * 1000;
    let write = request(
        (0..20)
            .map(|i| {
                series(
                    &[
                        ("__name__", "up"),
                        ("empty", ""),
                        ("job", &format!("j{i:02}")),
                    ],
                    &[(t, 1.0), (t + 1500, f64::NAN), (t + 3000, f64::INFINITY)],
                )
            })
            .collect(),
    );
    let batch = [("X-Skyview-Batch", "edge-1/0/100-200")];
    assert_eq!(h.write(&write, &batch).await.0, StatusCode::NO_CONTENT);
    // The same identified batch again, then unidentified (a stock Prometheus retry).
    assert_eq!(h.write(&write, &batch).await.0, StatusCode::NO_CONTENT);
    assert_eq!(h.write(&write, &[]).await.0, StatusCode::NO_CONTENT);

    let got = h.select(r#"up{job=~"j0.*"}"#).await;
    assert_eq!(got.len(), 10, "j00..j09");
    for (i, (metric, values)) in got.iter().enumerate() {
        assert_eq!(
            metric,
            &serde_json::json!({"__name__": "up", "job": format!("j{i:02}")}),
            "empty label dropped, sorted by labels"
        );
        let seconds = t as f64 / 1000.0;
        assert_eq!(
            values,
            &[
                (seconds, "1".to_owned()),
                (seconds + 1.5, "NaN".to_owned()),
                (seconds + 3.0, "+Inf".to_owned())
            ],
            "stored exactly once"
        );
    }
    assert_eq!(h.select("up").await.len(), 20);

    // Tenants are apart.
    assert_eq!(
        h.write(&write, &[("X-Scope-OrgID", "other")]).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.select("up").await.len(), 20, "default tenant unchanged");

    // The agent's committed mark is recorded in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = h.get("/api/v1/agents/edge-1/queues/0/committed").await;
        assert_eq!(status, StatusCode::OK);
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["data"]["agent"], "edge-1");
        assert_eq!(json["data"]["queue"], 0);
        if json["data"]["committed"] == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "committed mark not recorded: {json}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, body) = h.get("/api/v1/agents/edge-2/queues/0/committed").await;
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"]["committed"], Value::Null);

    let (status, body) = h.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("skyview_receiver_samples_applied_total 120\n"),
        "20 series x 3 samples x 2 tenants applied:\n{text}"
    );
    h.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_request_is_refused_whole_with_a_message() {
    let limits = ReceiverLimits {
        max_labels_per_series: 4,
        max_label_name_len: 16,
        max_label_value_len: 32,
        ..ReceiverLimits::default()
    };
    let h = Harness::start(limits).await;
    let t = now_ms();
    let good = || series(&[("__name__", "good"), ("job", "x")], &[(t, 1.0)]);
    let cases: Vec<(TimeSeries, &str)> = vec![
        (
            series(&[("__name__", "up"), ("1job", "x")], &[(t, 1.0)]),
            "invalid label name \"1job\"",
        ),
        (
            series(&[("", "x"), ("__name__", "up")], &[(t, 1.0)]),
            "empty label name",
        ),
        (
            series(
                &[("__name__", "up"), ("job", "a"), ("job", "b")],
                &[(t, 1.0)],
            ),
            "duplicate label name \"job\"",
        ),
        (
            series(&[("job", "a"), ("__name__", "up")], &[(t, 1.0)]),
            "not sorted",
        ),
        (series(&[("job", "a")], &[(t, 1.0)]), "missing metric name"),
        (
            series(&[("__name__", "up-time")], &[(t, 1.0)]),
            "invalid metric name \"up-time\"",
        ),
        (
            series(
                &[
                    ("__name__", "up"),
                    ("a", "1"),
                    ("b", "1"),
                    ("c", "1"),
                    ("d", "1"),
                ],
                &[(t, 1.0)],
            ),
            "5 labels, above the limit of 4",
        ),
        (
            series(
                &[("__name__", "up"), ("a_very_long_label_name", "1")],
                &[(t, 1.0)],
            ),
            "above the limit of 16 bytes",
        ),
        (
            series(&[("__name__", "up"), ("job", &"v".repeat(33))], &[(t, 1.0)]),
            "above the limit of 32 bytes",
        ),
        (
            series(&[("__name__", "up")], &[(t + 11 * 60 * 1000, 1.0)]),
            "ahead of the receiver's clock",
        ),
    ];
    for (bad, expected) in cases {
        let (status, json) = h.write(&request(vec![good(), bad]), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{expected}: {json}");
        assert_eq!(json["status"], "error");
        assert_eq!(json["errorType"], "bad_data");
        let message = json["error"].as_str().unwrap();
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        assert!(
            message.starts_with("series {"),
            "names the series: {message}"
        );
    }

    // Transport-level refusals.
    let (status, json) = h.write_raw(vec![0xff; 16], &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(json["error"].as_str().unwrap().contains("snappy"), "{json}");
    let not_protobuf = snap::raw::Encoder::new()
        .compress_vec(&[0x0a, 0x05, 0x01])
        .unwrap();
    let (status, json) = h.write_raw(not_protobuf, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json["error"].as_str().unwrap().contains("protobuf"),
        "{json}"
    );
    let (status, json) = h
        .write(&request(vec![good()]), &[("X-Skyview-Batch", "edge/1/9-3")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json["error"].as_str().unwrap().contains("X-Skyview-Batch"),
        "{json}"
    );
    let (status, json) = h
        .write(&request(vec![good()]), &[("X-Scope-OrgID", "a/b")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json["error"].as_str().unwrap().contains("X-Scope-OrgID"),
        "{json}"
    );

    assert!(
        h.select("good").await.is_empty(),
        "nothing of any refused request stored"
    );
    h.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_refuse_before_buffering_or_decompressing() {
    let h = Harness::start(ReceiverLimits {
        max_body_bytes: 1024,
        max_decoded_bytes: 4096,
        ..ReceiverLimits::default()
    })
    .await;
    let t = now_ms();
    let repeated = |n: usize| {
        request(
            (0..n)
                .map(|i| {
                    series(
                        &[("__name__", "m"), ("i", &format!("{}", i % 5))],
                        &[(t, 0.0)],
                    )
                })
                .collect(),
        )
    };
    // Random label values do not compress: over the body limit.
    let noisy = request(
        (0..200)
            .map(|i| {
                let value = format!("{:x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                series(&[("__name__", "m"), ("v", &value)], &[(t, 0.0)])
            })
            .collect(),
    );
    let body = encode_write_request(&noisy).unwrap();
    assert!(body.len() > 1024);
    let (status, json) = h.write_raw(body, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json["error"], "request body exceeds the limit of 1024 bytes",
        "{json}"
    );
    // Repeated series compress well: under the body limit, over the decoded limit.
    let body = encode_write_request(&repeated(400)).unwrap();
    assert!(body.len() <= 1024, "{}", body.len());
    let (status, json) = h.write_raw(body, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = json["error"].as_str().unwrap();
    assert!(
        message.contains("above the limit of 4096 bytes"),
        "{message}"
    );
    assert!(h.select("m").await.is_empty());
    assert_eq!(h.write(&repeated(5), &[]).await.0, StatusCode::NO_CONTENT);
    assert_eq!(h.select("m").await.len(), 5);
    h.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_health_and_internal_routes() {
    let h = Harness::start(ReceiverLimits::default()).await;
    let (status, body) = h.get("/-/healthy").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    let (status, body) = h.get("/api/v1/status/cluster").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "success");
    assert_eq!(json["data"]["shards_total"], 4);
    assert_eq!(json["data"]["shards"].as_array().unwrap().len(), 4);

    let (status, body) = h
        .send(
            Request::post("/internal/no/such/route")
                .body(Body::from("x"))
                .unwrap(),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "{}",
        String::from_utf8_lossy(&body)
    );

    let (status, body) = h.get("/api/v1/internal/select?match[]=rate(up[5m])").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["errorType"], "bad_data");

    let (status, _) = h
        .send(
            Request::post("/api/v1/admin/nodes/42/remove")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "node 42 is not a member");
    h.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_paths_answer_preflights_and_carry_cors_headers() {
    let h = Harness::start(ReceiverLimits::default()).await;
    let with_origin = |method: &str, uri: &str| {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("Origin", "http://grafana.example")
            .body(Body::empty())
            .unwrap();
        h.app.clone().oneshot(request)
    };
    // A preflight on a query path and on a path the query API does not serve.
    for uri in [
        "/api/v1/query_range",
        "/api/v1/write",
        "/api/v1/no/such/path",
    ] {
        let response = with_origin("OPTIONS", uri).await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{uri}");
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], "*", "{uri}");
        assert_eq!(
            headers["access-control-allow-methods"],
            "GET, POST, OPTIONS"
        );
        assert_eq!(
            headers["access-control-allow-headers"],
            "Accept, Authorization, Content-Type, Origin"
        );
        assert_eq!(headers["access-control-expose-headers"], "Date");
        assert_eq!(headers["vary"], "Origin");
    }
    // A query, an error and a status call carry them; other paths and origin-less calls do not.
    for uri in [
        "/api/v1/query?query=1",
        "/api/v1/query?query=(",
        "/api/v1/status/buildinfo",
    ] {
        let response = with_origin("GET", uri).await.unwrap();
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{uri}"
        );
    }
    let response = with_origin("GET", "/metrics").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response
        .headers()
        .contains_key("access-control-allow-origin"));
    let response = h
        .app
        .clone()
        .oneshot(
            Request::get("/api/v1/query?query=1")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response
        .headers()
        .contains_key("access-control-allow-origin"));
    h.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_api_reads_every_shard_and_keeps_tenants_apart() {
    let h = Harness::start(ReceiverLimits::default()).await;
    let t = now_ms() / 1000 * 1000 - 60_000;
    let write = request(
        (0..12)
            .map(|i| {
                series(
                    &[
                        ("__name__", "hits_total"),
                        ("i", &i.to_string()),
                        ("job", &format!("j{}", i % 3)),
                    ],
                    &[(t, 0.0), (t + 30_000, 30.0 * f64::from(i))],
                )
            })
            .collect(),
    );
    let (status, _) = h.write(&write, &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let query = |q: &str| {
        format!(
            "/api/v1/query?query={}&time={}",
            form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>(),
            (t + 30_000) / 1000
        )
    };
    // Read your writes: the 12 series sit in all 4 shards; 30 x (0 + 1 + ... + 11) = 1980.
    let (status, body) = h.get(&query("sum(hits_total)")).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"]["resultType"], "vector");
    assert_eq!(json["data"]["result"][0]["value"][1], "1980");
    let (_, body) = h.get(&query("count by (job) (hits_total)")).await;
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"]["result"].as_array().unwrap().len(), 3);
    // Another tenant sees none of it; an invalid tenant is refused as bad data.
    let other = Request::get(query("count(hits_total)"))
        .header("X-Scope-OrgID", "other")
        .body(Body::empty())
        .unwrap();
    let (status, body) = h.send(other).await;
    assert_eq!(status, StatusCode::OK);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"]["result"], serde_json::json!([]));
    let invalid = Request::get(query("up"))
        .header("X-Scope-OrgID", "..")
        .body(Body::empty())
        .unwrap();
    let (status, body) = h.send(invalid).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["errorType"], "bad_data");
    h.node.shutdown().await;
}

impl Harness {
    /// Sends a remote-read request; the decoded response, or the status and error JSON.
    async fn remote_read(
        &self,
        request: &ReadRequest,
        tenant: Option<&str>,
    ) -> Result<ReadResponse, (StatusCode, Value)> {
        let mut builder = Request::post("/api/v1/read")
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf");
        if let Some(tenant) = tenant {
            builder = builder.header("X-Scope-OrgID", tenant);
        }
        let body = Body::from(encode_message(request).unwrap());
        let response = self
            .app
            .clone()
            .oneshot(builder.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        if status != StatusCode::OK {
            return Err((status, serde_json::from_slice(&body).unwrap()));
        }
        assert_eq!(headers["content-type"], "application/x-protobuf");
        assert_eq!(headers["content-encoding"], "snappy");
        Ok(decode_message(&body, usize::MAX).unwrap())
    }
}

fn read_query(start: i64, end: i64, matchers: &[(MatchType, &str, &str)]) -> Query {
    Query {
        start_timestamp_ms: start,
        end_timestamp_ms: end,
        matchers: matchers
            .iter()
            .map(|(op, name, value)| LabelMatcher {
                r#type: *op as i32,
                name: (*name).into(),
                value: (*value).into(),
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_read_returns_raw_samples_of_every_shard() {
    let h = Harness::start(ReceiverLimits {
        remote_read_sample_limit: 30,
        ..ReceiverLimits::default()
    })
    .await;
    let t = now_ms() / 1000 * 1000 - 60_000;
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let write = request(
        (0..8)
            .map(|i| {
                series(
                    &[
                        ("__name__", "temp"),
                        ("i", &i.to_string()),
                        ("room", if i % 2 == 0 { "even" } else { "odd" }),
                    ],
                    &[(t, 1.0), (t + 15_000, f64::from(i)), (t + 30_000, stale)],
                )
            })
            .collect(),
    );
    assert_eq!(h.write(&write, &[]).await.0, StatusCode::NO_CONTENT);

    // Two queries, answered in order: a regex over every shard, and a narrower range.
    let read = ReadRequest {
        queries: vec![
            read_query(t, t + 30_000, &[(MatchType::Re, "__name__", "te.*")]),
            read_query(
                t + 10_000,
                t + 20_000,
                &[
                    (MatchType::Eq, "__name__", "temp"),
                    (MatchType::Neq, "room", "odd"),
                    (MatchType::Nre, "i", "[02]"),
                ],
            ),
        ],
        accepted_response_types: vec![],
    };
    let response = h.remote_read(&read, None).await.unwrap();
    assert_eq!(response.results.len(), 2);
    let all = &response.results[0].timeseries;
    assert_eq!(all.len(), 8);
    for series in all {
        assert_eq!(series.labels[0].name, "__name__");
        assert_eq!(series.samples.len(), 3, "{series:?}");
        // The staleness marker travels bit for bit: the reader's engine applies it.
        assert_eq!(series.samples[2].value.to_bits(), stale.to_bits());
    }
    let narrow = &response.results[1].timeseries;
    let names: Vec<&str> = narrow
        .iter()
        .map(|s| {
            s.labels
                .iter()
                .find(|l| l.name == "i")
                .unwrap()
                .value
                .as_str()
        })
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"4") && names.contains(&"6"), "{names:?}");
    for series in narrow {
        assert_eq!(series.samples.len(), 1);
        assert_eq!(series.samples[0].timestamp, t + 15_000);
    }

    // Another tenant reads nothing; SAMPLES is chosen wherever the reader lists it.
    let mut other = read.clone();
    other.accepted_response_types = vec![
        ResponseType::StreamedXorChunks as i32,
        ResponseType::Samples as i32,
    ];
    let response = h.remote_read(&other, Some("other")).await.unwrap();
    assert!(response.results.iter().all(|r| r.timeseries.is_empty()));

    // Refusals: chunks only, a bad regex, an unknown matcher type, the sample limit (24 + 2
    // samples fit in 30, twice the first query does not), and a body that is not snappy.
    let mut chunks_only = read.clone();
    chunks_only.accepted_response_types = vec![ResponseType::StreamedXorChunks as i32];
    let refusals = [
        chunks_only,
        ReadRequest {
            queries: vec![read_query(t, t, &[(MatchType::Re, "i", "(")])],
            accepted_response_types: vec![],
        },
        ReadRequest {
            queries: vec![Query {
                matchers: vec![LabelMatcher {
                    r#type: 7,
                    name: "i".into(),
                    value: "1".into(),
                }],
                ..read_query(t, t, &[])
            }],
            accepted_response_types: vec![],
        },
        ReadRequest {
            queries: vec![read.queries[0].clone(), read.queries[0].clone()],
            accepted_response_types: vec![],
        },
    ];
    let expected = [
        "none of the requested response types",
        "invalid matcher for label \"i\"",
        "invalid matcher type 7",
        "exceeded sample limit (30)",
    ];
    for (request, expected) in refusals.iter().zip(expected) {
        let (status, json) = h.remote_read(request, None).await.unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
        assert_eq!(json["errorType"], "bad_data");
        let message = json["error"].as_str().unwrap();
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
    let garbage = Request::post("/api/v1/read")
        .body(Body::from(vec![0xffu8; 16]))
        .unwrap();
    let (status, body) = h.send(garbage).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("decoding the remote-read request"));
    h.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_sent_with_writes_is_served_per_tenant() {
    use crate::remote_write::{MetricMetadata, MetricType};
    let h = Harness::start(ReceiverLimits::default()).await;
    let entry = |family: &str, kind: MetricType, help: &str| MetricMetadata {
        r#type: kind as i32,
        metric_family_name: family.into(),
        help: help.into(),
        unit: String::new(),
    };
    // Metadata alone, as Prometheus sends it every minute.
    let metadata_only = WriteRequest {
        timeseries: vec![],
        metadata: vec![
            entry(
                "http_requests_total",
                MetricType::Counter,
                "Requests served.",
            ),
            entry("temperature", MetricType::Gauge, "Degrees \"C\"."),
        ],
    };
    assert_eq!(h.write(&metadata_only, &[]).await.0, StatusCode::NO_CONTENT);
    let (status, body) = h.get("/api/v1/metadata").await;
    assert_eq!(status, StatusCode::OK);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json["data"],
        serde_json::json!({
            "http_requests_total": [{"type": "counter", "help": "Requests served.", "unit": ""}],
            "temperature": [{"type": "gauge", "help": "Degrees \"C\".", "unit": ""}],
        })
    );
    let (_, body) = h.get("/api/v1/metadata?metric=temperature").await;
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"].as_object().unwrap().len(), 1);

    // An invalid entry is named in a 400; the samples and valid entries of its request stay.
    let t = now_ms() / 1000 * 1000 - 60_000;
    let mixed = WriteRequest {
        timeseries: vec![series(&[("__name__", "up")], &[(t, 1.0)])],
        metadata: vec![
            entry("up", MetricType::Gauge, "Target up."),
            entry("not a name", MetricType::Gauge, ""),
        ],
    };
    let (status, json) = h.write(&mixed, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json["error"].as_str().unwrap().contains("\"not a name\""),
        "{json}"
    );
    assert_eq!(h.select("up").await.len(), 1, "the samples were stored");
    let (_, body) = h.get("/api/v1/metadata?metric=up").await;
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"]["up"][0]["help"], "Target up.");

    // Another tenant has none.
    let other = Request::get("/api/v1/metadata")
        .header("X-Scope-OrgID", "other")
        .body(Body::empty())
        .unwrap();
    let (_, body) = h.send(other).await;
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"], serde_json::json!({}));
    h.node.shutdown().await;
}
