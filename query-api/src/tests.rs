//! Router tests without sockets (`oneshot`) over a small in-memory data set, comparing bodies
//! with the literal JSON Prometheus 2.42 answers.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use futures::future::BoxFuture;
use promql_parser::label::Matcher;
use skyview_promql::{Labels, MemoryQueryable, Queryable, SelectError, Series};
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::{router, BuildInfo, QueryConfig, QueryState};

/// The clock of every test: t = 600s.
const NOW_MS: i64 = 600_000;

const DATA: &str = r#"
load 1m
  up{job="api", instance="a:1"} 1x10
  up{job="db", instance="b:1"} 0 0 0 stale
  http_requests_total{job="api", code="200"} 0+10x10
  http_requests_total{job="api", code="500"} 0+1x10
  gone 1x5 stale
"#;

fn data() -> MemoryQueryable {
    let mut q = MemoryQueryable::new();
    q.load(DATA).unwrap();
    q
}

fn state_with(queryable: Arc<dyn Queryable>, config: QueryConfig) -> QueryState {
    QueryState::new(queryable, config).with_clock(Arc::new(|| NOW_MS))
}

fn state() -> QueryState {
    let mut config = QueryConfig {
        build_info: BuildInfo::new("2.42.0-skyview"),
        storage_retention: "15d".to_string(),
        external_labels: Labels::empty(),
        ..QueryConfig::default()
    };
    config
        .flags
        .insert("query.timeout".to_string(), "2m".to_string());
    config
        .flags
        .insert("query.max-samples".to_string(), "50000000".to_string());
    state_with(Arc::new(data()), config)
}

/// Encodes query-string pairs.
fn qs(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: String,
}

async fn send(state: QueryState, req: Request<Body>) -> Answer {
    let response = router(state).oneshot(req).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer {
        status,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get_with(state: QueryState, path: &str, pairs: &[(&str, &str)]) -> Answer {
    let uri = if pairs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", qs(pairs))
    };
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get(path: &str, pairs: &[(&str, &str)]) -> Answer {
    get_with(state(), path, pairs).await
}

async fn post(path: &str, pairs: &[(&str, &str)]) -> Answer {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(qs(pairs)))
        .unwrap();
    send(state(), req).await
}

/// Asserts a JSON success with exactly `data`, by GET and by POST.
async fn assert_data(path: &str, pairs: &[(&str, &str)], data: &str) {
    let expected = format!(r#"{{"status":"success","data":{data}}}"#);
    for answer in [get(path, pairs).await, post(path, pairs).await] {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(answer.body, expected);
    }
}

/// Asserts a JSON error with `error_type`, `status` and exactly `message`, by GET and by POST.
async fn assert_error(
    path: &str,
    pairs: &[(&str, &str)],
    status: u16,
    error_type: &str,
    message: &str,
) {
    for answer in [get(path, pairs).await, post(path, pairs).await] {
        assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
        assert_eq!(answer.content_type, "application/json");
        let expected = format!(
            r#"{{"status":"error","errorType":"{error_type}","error":{}}}"#,
            serde_json::to_string(message).unwrap()
        );
        assert_eq!(answer.body, expected);
    }
}

fn error_message(answer: &Answer) -> String {
    let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(v["status"], "error");
    v["error"].as_str().unwrap().to_string()
}

const UP_API: &str = r#"{"__name__":"up","instance":"a:1","job":"api"}"#;
const UP_DB: &str = r#"{"__name__":"up","instance":"b:1","job":"db"}"#;

// ---- /api/v1/query ----

#[tokio::test]
async fn responses_are_gzipped_when_accepted() {
    use std::io::Read as _;

    let request = |gzip: bool| {
        let mut req = Request::get("/api/v1/query?query=up&time=600");
        if gzip {
            req = req.header(header::ACCEPT_ENCODING, "gzip, deflate, br");
        }
        req.body(Body::empty()).unwrap()
    };
    let plain = router(state()).oneshot(request(false)).await.unwrap();
    assert_eq!(plain.headers().get(header::CONTENT_ENCODING), None);
    let plain = to_bytes(plain.into_body(), usize::MAX).await.unwrap();

    let gzipped = router(state()).oneshot(request(true)).await.unwrap();
    assert_eq!(gzipped.status(), StatusCode::OK);
    assert_eq!(
        gzipped.headers().get(header::CONTENT_ENCODING).unwrap(),
        "gzip"
    );
    let body = to_bytes(gzipped.into_body(), usize::MAX).await.unwrap();
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain);
    assert!(decoded.starts_with(br#"{"status":"success""#));
}

#[tokio::test]
async fn instant_query_vector() {
    let data =
        format!(r#"{{"resultType":"vector","result":[{{"metric":{UP_API},"value":[600,"1"]}}]}}"#);
    assert_data("/api/v1/query", &[("query", "up"), ("time", "600")], &data).await;
    assert_data(
        "/api/v1/query",
        &[("query", "up"), ("time", "1970-01-01T00:10:00Z")],
        &data,
    )
    .await;
    // No `time`: now.
    assert_data("/api/v1/query", &[("query", "up")], &data).await;
}

#[tokio::test]
async fn instant_query_scalar_string_and_fractional_time() {
    assert_data(
        "/api/v1/query",
        &[("query", "1+1"), ("time", "1435781451.781")],
        r#"{"resultType":"scalar","result":[1435781451.781,"2"]}"#,
    )
    .await;
    assert_data(
        "/api/v1/query",
        &[("query", "\"hi\""), ("time", "1")],
        r#"{"resultType":"string","result":[1,"hi"]}"#,
    )
    .await;
    assert_data(
        "/api/v1/query",
        &[("query", "1/0"), ("time", "1")],
        r#"{"resultType":"scalar","result":[1,"+Inf"]}"#,
    )
    .await;
}

#[tokio::test]
async fn instant_query_parameter_errors() {
    assert_error(
        "/api/v1/query",
        &[("query", "up"), ("time", "x")],
        400,
        "bad_data",
        r#"invalid parameter "time": Invalid time value for 'time': cannot parse "x" to a valid timestamp"#,
    )
    .await;
    assert_error(
        "/api/v1/query",
        &[("query", "up"), ("timeout", "soon")],
        400,
        "bad_data",
        r#"invalid parameter "timeout": cannot parse "soon" to a valid duration"#,
    )
    .await;
    let answer = get("/api/v1/query", &[("query", "sum(")]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body.contains(r#""errorType":"bad_data""#));
    assert!(
        error_message(&answer).starts_with(r#"invalid parameter "query": parse error: "#),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn execution_errors_are_422() {
    let answer = get(
        "/api/v1/query",
        &[(
            "query",
            r#"label_replace(http_requests_total, "code", "x", "", "")"#,
        )],
    )
    .await;
    assert_eq!(answer.status.as_u16(), 422, "{}", answer.body);
    assert!(answer.body.contains(r#""errorType":"execution""#));
}

#[tokio::test]
async fn too_many_samples_is_422() {
    let mut config = QueryConfig::default();
    config.engine.max_samples = 2;
    let state = state_with(Arc::new(data()), config);
    let answer = get_with(
        state,
        "/api/v1/query",
        &[("query", "http_requests_total[10m]")],
    )
    .await;
    assert_eq!(answer.status.as_u16(), 422);
    assert_eq!(
        answer.body,
        r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}"#
    );
}

/// A store whose selects never finish, and which says when one has started.
struct Stuck {
    entered: Arc<Notify>,
}

impl Queryable for Stuck {
    fn select<'a>(
        &'a self,
        _: &'a [Matcher],
        _: i64,
        _: i64,
    ) -> BoxFuture<'a, Result<Vec<Series>, SelectError>> {
        Box::pin(async move {
            self.entered.notify_one();
            futures::future::pending().await
        })
    }
}

#[tokio::test]
async fn evaluation_timeout_is_503() {
    let stuck = Arc::new(Stuck {
        entered: Arc::new(Notify::new()),
    });
    let state = state_with(stuck, QueryConfig::default());
    let answer = get_with(
        state,
        "/api/v1/query",
        &[("query", "up"), ("timeout", "0.05")],
    )
    .await;
    assert_eq!(answer.status.as_u16(), 503);
    assert_eq!(
        answer.body,
        r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#
    );
}

#[tokio::test]
async fn full_queue_times_out_with_prometheus_error() {
    let entered = Arc::new(Notify::new());
    let stuck = Arc::new(Stuck {
        entered: entered.clone(),
    });
    let config = QueryConfig {
        max_concurrency: 1,
        ..QueryConfig::default()
    };
    let state = state_with(stuck, config);
    let holder = tokio::spawn(get_with(state.clone(), "/api/v1/query", &[("query", "up")]));
    // The first query holds the only slot once its select has started.
    entered.notified().await;
    let answer = get_with(
        state,
        "/api/v1/query_range",
        &[
            ("query", "up"),
            ("start", "0"),
            ("end", "60"),
            ("step", "15"),
            ("timeout", "50ms"),
        ],
    )
    .await;
    assert_eq!(answer.status.as_u16(), 503);
    assert_eq!(
        answer.body,
        r#"{"status":"error","errorType":"timeout","error":"query timed out in query queue"}"#
    );
    holder.abort();
}

/// A store that always fails.
struct Broken;

impl Queryable for Broken {
    fn select<'a>(
        &'a self,
        _: &'a [Matcher],
        _: i64,
        _: i64,
    ) -> BoxFuture<'a, Result<Vec<Series>, SelectError>> {
        Box::pin(async { Err(SelectError::new("disk on fire")) })
    }
}

#[tokio::test]
async fn storage_errors_are_500_internal() {
    let expected =
        r#"{"status":"error","errorType":"internal","error":"storage error: disk on fire"}"#;
    for (path, pairs) in [
        ("/api/v1/query", vec![("query", "up")]),
        ("/api/v1/series", vec![("match[]", "up")]),
        ("/api/v1/labels", vec![]),
    ] {
        let state = state_with(Arc::new(Broken), QueryConfig::default());
        let answer = get_with(state, path, &pairs).await;
        assert_eq!(answer.status.as_u16(), 500, "{path}");
        assert_eq!(answer.body, expected, "{path}");
    }
}

#[tokio::test]
async fn stats_are_reported_when_asked() {
    for stats in ["1", "all"] {
        let answer = get(
            "/api/v1/query_range",
            &[
                ("query", "up"),
                ("start", "0"),
                ("end", "600"),
                ("step", "60"),
                ("stats", stats),
            ],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        let s = &v["data"]["stats"];
        for key in [
            "evalTotalTime",
            "resultSortTime",
            "queryPreparationTime",
            "innerEvalTime",
            "execQueueTime",
            "execTotalTime",
        ] {
            assert!(s["timings"][key].is_number(), "{key}: {}", answer.body);
        }
        // 11 + 4 samples of `up` were selected; 11 + 4 points returned.
        assert_eq!(s["samples"]["totalQueryableSamples"], 15, "{}", answer.body);
        assert_eq!(s["samples"]["peakSamples"], 15);
    }
    let plain = get("/api/v1/query", &[("query", "up")]).await;
    assert!(!plain.body.contains("stats"));
}

// ---- /api/v1/query_range ----

#[tokio::test]
async fn range_query_matrix_with_every_step_form() {
    let data = format!(
        r#"{{"resultType":"matrix","result":[{{"metric":{UP_API},"values":[[0,"1"],[60,"1"],[120,"1"]]}},{{"metric":{UP_DB},"values":[[0,"0"],[60,"0"],[120,"0"]]}}]}}"#
    );
    for step in ["60", "60.0", "1m", "60s"] {
        assert_data(
            "/api/v1/query_range",
            &[
                ("query", "up"),
                ("start", "0"),
                ("end", "120"),
                ("step", step),
            ],
            &data,
        )
        .await;
    }
    assert_data(
        "/api/v1/query_range",
        &[
            ("query", "up"),
            ("start", "1970-01-01T00:00:00Z"),
            ("end", "1970-01-01T01:02:00+01:00"),
            ("step", "1m"),
        ],
        &data,
    )
    .await;
}

#[tokio::test]
async fn range_query_grafana_float_step() {
    // Grafana sends `step` as seconds, possibly fractional.
    let answer = get(
        "/api/v1/query_range",
        &[
            ("query", r#"up{job="api"}"#),
            ("start", "599"),
            ("end", "600"),
            ("step", "0.5"),
        ],
    )
    .await;
    assert_eq!(
        answer.body,
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{UP_API},"values":[[599,"1"],[599.5,"1"],[600,"1"]]}}]}}}}"#
        )
    );
}

#[tokio::test]
async fn range_query_parameter_errors() {
    let q = "/api/v1/query_range";
    assert_error(
        q,
        &[("query", "up"), ("start", "x"), ("end", "1"), ("step", "1")],
        400,
        "bad_data",
        r#"invalid parameter "start": cannot parse "x" to a valid timestamp"#,
    )
    .await;
    assert_error(
        q,
        &[
            ("query", "up"),
            ("start", "10"),
            ("end", "1"),
            ("step", "1"),
        ],
        400,
        "bad_data",
        r#"invalid parameter "end": end timestamp must not be before start time"#,
    )
    .await;
    assert_error(
        q,
        &[("query", "up"), ("start", "0"), ("end", "1"), ("step", "0")],
        400,
        "bad_data",
        r#"invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer"#,
    )
    .await;
    assert_error(
        q,
        &[("query", "up"), ("start", "0"), ("end", "100000"), ("step", "1")],
        400,
        "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    )
    .await;
    assert_error(
        q,
        &[("query", "up[5m]"), ("start", "0"), ("end", "1"), ("step", "1")],
        400,
        "bad_data",
        r#"invalid expression type "range vector" for range query, must be Scalar or instant Vector"#,
    )
    .await;
}

// ---- /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values ----

#[tokio::test]
async fn series_by_match_and_range() {
    assert_data(
        "/api/v1/series",
        &[("match[]", "up")],
        &format!("[{UP_API},{UP_DB}]"),
    )
    .await;
    // Repeated match[] are merged and deduplicated; `up{job="db"}` has no sample after 180s.
    assert_data(
        "/api/v1/series",
        &[
            ("match[]", r#"up{job="api"}"#),
            ("match[]", "up"),
            ("match[]", r#"http_requests_total{code="500"}"#),
            ("start", "300"),
            ("end", "2015-07-01T20:10:51.781Z"),
        ],
        &format!(r#"[{{"__name__":"http_requests_total","code":"500","job":"api"}},{UP_API}]"#),
    )
    .await;
}

#[tokio::test]
async fn series_errors() {
    assert_error(
        "/api/v1/series",
        &[],
        400,
        "bad_data",
        "no match[] parameter provided",
    )
    .await;
    assert_error(
        "/api/v1/series",
        &[("match[]", r#"{job=~".*"}"#)],
        400,
        "bad_data",
        r#"invalid parameter "match[]": match[] must contain at least one non-empty matcher"#,
    )
    .await;
    assert_error(
        "/api/v1/series",
        &[("match[]", "up"), ("start", "yesterday")],
        400,
        "bad_data",
        r#"invalid parameter "start": Invalid time value for 'start': cannot parse "yesterday" to a valid timestamp"#,
    )
    .await;
    let answer = get("/api/v1/series", &[("match[]", "up{")]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(error_message(&answer).starts_with(r#"invalid parameter "match[]": parse error"#));
}

#[tokio::test]
async fn label_names() {
    assert_data(
        "/api/v1/labels",
        &[],
        r#"["__name__","code","instance","job"]"#,
    )
    .await;
    // Grafana's call: match[] with start and end (GET and POST).
    assert_data(
        "/api/v1/labels",
        &[("match[]", "up"), ("start", "0"), ("end", "600")],
        r#"["__name__","instance","job"]"#,
    )
    .await;
    assert_data("/api/v1/labels", &[("match[]", "nothing_here")], "[]").await;
    assert_error(
        "/api/v1/labels",
        &[("match[]", r#"{a=""}"#)],
        400,
        "bad_data",
        "match[] must contain at least one non-empty matcher",
    )
    .await;
}

#[tokio::test]
async fn label_values() {
    let answer = get("/api/v1/label/job/values", &[]).await;
    assert_eq!(answer.body, r#"{"status":"success","data":["api","db"]}"#);
    let answer = get("/api/v1/label/__name__/values", &[]).await;
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":["gone","http_requests_total","up"]}"#
    );
    let answer = get(
        "/api/v1/label/job/values",
        &[("match[]", "up"), ("start", "300"), ("end", "600")],
    )
    .await;
    assert_eq!(answer.body, r#"{"status":"success","data":["api"]}"#);
    let answer = get("/api/v1/label/nope/values", &[]).await;
    assert_eq!(answer.body, r#"{"status":"success","data":[]}"#);
    let answer = get("/api/v1/label/1x/values", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        r#"{"status":"error","errorType":"bad_data","error":"invalid label name: \"1x\""}"#
    );
}

// ---- metadata, exemplars, status ----

#[tokio::test]
async fn metadata_is_empty() {
    let answer = get("/api/v1/metadata", &[("metric", "up")]).await;
    assert_eq!(answer.body, r#"{"status":"success","data":{}}"#);
    let answer = get("/api/v1/metadata", &[("limit", "ten")]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        r#"{"status":"error","errorType":"bad_data","error":"limit must be a number"}"#
    );
}

#[tokio::test]
async fn exemplars_are_empty() {
    assert_data(
        "/api/v1/query_exemplars",
        &[("query", "up"), ("start", "0"), ("end", "600")],
        "[]",
    )
    .await;
    assert_error(
        "/api/v1/query_exemplars",
        &[("query", "up"), ("start", "600"), ("end", "0")],
        400,
        "bad_data",
        "end timestamp must not be before start timestamp",
    )
    .await;
}

#[tokio::test]
async fn build_info() {
    let answer = get("/api/v1/status/buildinfo", &[]).await;
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"version":"2.42.0-skyview","revision":"unknown","branch":"unknown","buildUser":"skyview","buildDate":"unknown","goVersion":"none (Skyview is built with Rust)"}}"#
    );
}

#[tokio::test]
async fn runtime_info() {
    let answer = get("/api/v1/status/runtimeinfo", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.body.starts_with(
            r#"{"status":"success","data":{"startTime":"1970-01-01T00:10:00Z","CWD":""#
        ),
        "{}",
        answer.body
    );
    let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let keys: Vec<&String> = v["data"].as_object().unwrap().keys().collect();
    let mut expected = vec![
        "startTime",
        "CWD",
        "reloadConfigSuccess",
        "lastConfigTime",
        "corruptionCount",
        "goroutineCount",
        "GOMAXPROCS",
        "GOGC",
        "GODEBUG",
        "storageRetention",
    ];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(v["data"]["storageRetention"], "15d");
    assert_eq!(v["data"]["reloadConfigSuccess"], true);
    assert!(v["data"]["GOMAXPROCS"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn flags() {
    let answer = get("/api/v1/status/flags", &[]).await;
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"query.max-samples":"50000000","query.timeout":"2m"}}"#
    );
}

// ---- /federate ----

#[tokio::test]
async fn federate_text_format() {
    let answer = get(
        "/federate",
        &[
            ("match[]", "up"),
            ("match[]", "http_requests_total"),
            ("match[]", "gone"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    // `up{job="db"}` is outside the lookback window, `gone` ends in a staleness marker.
    assert_eq!(
        answer.body,
        "# TYPE http_requests_total untyped\n\
         http_requests_total{code=\"200\",job=\"api\",instance=\"\"} 100 600000\n\
         http_requests_total{code=\"500\",job=\"api\",instance=\"\"} 10 600000\n\
         # TYPE up untyped\n\
         up{instance=\"a:1\",job=\"api\"} 1 600000\n"
    );
}

#[tokio::test]
async fn federate_external_labels_and_errors() {
    let config = QueryConfig {
        external_labels: Labels::from_pairs([("cluster", "eu-1")]),
        ..QueryConfig::default()
    };
    let state = state_with(Arc::new(data()), config);
    let answer = get_with(state, "/federate", &[("match[]", r#"up{job="api"}"#)]).await;
    assert_eq!(
        answer.body,
        "# TYPE up untyped\nup{instance=\"a:1\",job=\"api\",cluster=\"eu-1\"} 1 600000\n"
    );
    let empty = get("/federate", &[]).await;
    assert_eq!((empty.status, empty.body.as_str()), (StatusCode::OK, ""));
    let bad = get("/federate", &[("match[]", "up{")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.content_type.starts_with("text/plain"));
}

// ---- methods ----

#[tokio::test]
async fn other_methods_are_405() {
    for (method, path) in [
        ("DELETE", "/api/v1/query"),
        ("PUT", "/api/v1/query_range"),
        ("PUT", "/api/v1/series"),
        ("POST", "/api/v1/label/job/values"),
        ("POST", "/api/v1/status/buildinfo"),
        ("POST", "/federate"),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let answer = send(state(), req).await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn post_body_wins_over_query_string() {
    let req = Request::post("/api/v1/query?query=nothing_here&time=600")
        .header(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(Body::from("query=up%7Bjob%3D%22api%22%7D"))
        .unwrap();
    let answer = send(state(), req).await;
    assert_eq!(
        answer.body,
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{UP_API},"value":[600,"1"]}}]}}}}"#
        )
    );
}

/// Tenant "a" sees the test data, tenant "b" sees nothing, and anything else is refused.
struct Tenants {
    a: Arc<dyn Queryable>,
    b: Arc<dyn Queryable>,
}

impl crate::QuerySource for Tenants {
    fn queryable(&self, tenant: Option<&str>) -> Result<Arc<dyn Queryable>, String> {
        match tenant {
            Some("a") | None => Ok(Arc::clone(&self.a)),
            Some("b") => Ok(Arc::clone(&self.b)),
            Some(other) => Err(format!("invalid tenant {other:?}")),
        }
    }
}

#[tokio::test]
async fn each_request_reads_its_tenant() {
    let source = Tenants {
        a: Arc::new(data()),
        b: Arc::new(MemoryQueryable::new()),
    };
    let state = QueryState::with_source(Arc::new(source), QueryConfig::default())
        .with_clock(Arc::new(|| NOW_MS));
    let query = |tenant: &'static str| {
        Request::get(format!("/api/v1/series?{}", qs(&[("match[]", "up")])))
            .header(crate::TENANT_HEADER, tenant)
            .body(Body::empty())
            .unwrap()
    };
    let a = send(state.clone(), query("a")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains(r#""job":"api""#), "{}", a.body);
    let b = send(state.clone(), query("b")).await;
    assert_eq!(b.body, r#"{"status":"success","data":[]}"#);
    let bad = send(state, query("../x")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains(r#""errorType":"bad_data""#),
        "{}",
        bad.body
    );
}
