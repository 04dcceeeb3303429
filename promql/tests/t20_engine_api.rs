//! The engine's API around evaluation: range-query results, JSON encoding, parameter checks,
//! the `errorType` of each failure, and the sample and time limits.

use std::time::Duration;

use futures::executor::block_on;
use skyview_promql::json::encode_data;
use skyview_promql::{Engine, EngineOptions, MemoryQueryable, QueryError, QueryValue};

fn data() -> MemoryQueryable {
    let mut q = MemoryQueryable::new();
    q.load(
        r#"load 1m
  reqs{job="api", inst="a"} 0+10x10
  reqs{job="api", inst="b"} 0+20x10
  gauge{i="1"} 1 2 stale 4 _ _ _ _ _ _ 5
"#,
    )
    .unwrap();
    q
}

fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

fn range(query: &str, start: i64, end: i64, step: i64) -> Result<QueryValue, QueryError> {
    block_on(engine().range_query(&data(), query, start, end, step))
}

fn instant(query: &str, t: i64) -> Result<QueryValue, QueryError> {
    block_on(engine().instant_query(&data(), query, t))
}

#[test]
fn range_query_returns_a_matrix_sorted_by_labels() {
    let v = range("reqs", 0, 600_000, 120_000).unwrap();
    assert_eq!(
        encode_data(&v),
        concat!(
            r#"{"resultType":"matrix","result":["#,
            r#"{"metric":{"__name__":"reqs","inst":"a","job":"api"},"values":[[0,"0"],[120,"20"],[240,"40"],[360,"60"],[480,"80"],[600,"100"]]},"#,
            r#"{"metric":{"__name__":"reqs","inst":"b","job":"api"},"values":[[0,"0"],[120,"40"],[240,"80"],[360,"120"],[480,"160"],[600,"200"]]}"#,
            "]}"
        )
    );
}

#[test]
fn range_query_leaves_out_stale_and_missing_points() {
    let QueryValue::Matrix(m) = range("gauge", 0, 600_000, 60_000).unwrap() else {
        panic!("not a matrix")
    };
    let ts: Vec<i64> = m[0].samples.iter().map(|s| s.t / 60_000).collect();
    // Stale at 2m; the 3m sample lasts five minutes of lookback (3m..8m); then 10m.
    assert_eq!(ts, vec![0, 1, 3, 4, 5, 6, 7, 8, 10]);
}

#[test]
fn scalar_range_query_is_one_unlabelled_series() {
    let v = range("time() * 2", 0, 2000, 1000).unwrap();
    assert_eq!(
        encode_data(&v),
        r#"{"resultType":"matrix","result":[{"metric":{},"values":[[0,"0"],[1,"2"],[2,"4"]]}]}"#
    );
}

#[test]
fn instant_results_encode_like_prometheus() {
    let v = instant(r#"reqs{inst="a"} @ 600 / 0"#, 1_435_781_451_781).unwrap();
    assert_eq!(
        encode_data(&v),
        r#"{"resultType":"vector","result":[{"metric":{"inst":"a","job":"api"},"value":[1435781451.781,"+Inf"]}]}"#
    );
    let v = instant("1 / 3", 1000).unwrap();
    assert_eq!(
        encode_data(&v),
        r#"{"resultType":"scalar","result":[1,"0.3333333333333333"]}"#
    );
    let v = instant(r#""hello""#, 1000).unwrap();
    assert_eq!(
        encode_data(&v),
        r#"{"resultType":"string","result":[1,"hello"]}"#
    );
    let v = instant(r#"reqs{inst="a"}[2m]"#, 120_000).unwrap();
    assert_eq!(
        encode_data(&v),
        r#"{"resultType":"matrix","result":[{"metric":{"__name__":"reqs","inst":"a","job":"api"},"values":[[0,"0"],[60,"10"],[120,"20"]]}]}"#
    );
}

#[test]
fn at_start_and_end_refer_to_the_range() {
    let QueryValue::Matrix(m) = range(
        r#"reqs{inst="a"} @ end() - reqs{inst="a"} @ start()"#,
        60_000,
        300_000,
        60_000,
    )
    .unwrap() else {
        panic!("not a matrix")
    };
    assert!(m[0].samples.iter().all(|s| s.v == 40.0));
    assert_eq!(m[0].samples.len(), 5);
}

#[test]
fn bad_queries_and_parameters_are_bad_data() {
    for err in [
        instant("sum(", 0).unwrap_err(),
        instant("sort_by_label(reqs)", 0).unwrap_err(),
        range("reqs[5m]", 0, 1, 1).unwrap_err(),
        range("reqs", 10, 0, 1).unwrap_err(),
        range("reqs", 0, 10, 0).unwrap_err(),
        range("reqs", 0, 11_001, 1).unwrap_err(),
    ] {
        assert_eq!(err.error_type(), "bad_data", "{err}");
    }
    assert_eq!(
        range("reqs[5m]", 0, 1, 1).unwrap_err().to_string(),
        r#"invalid expression type "range vector" for range query, must be Scalar or instant Vector"#
    );
}

#[test]
fn matching_errors_use_prometheus_messages() {
    let err = instant("reqs + on(job) reqs", 600_000).unwrap_err();
    assert_eq!(err.error_type(), "execution");
    assert_eq!(
        err.to_string(),
        r#"found duplicate series for the match group {job="api"} on the right hand-side of the operation: [{__name__="reqs", inst="b", job="api"}, {__name__="reqs", inst="a", job="api"}];many-to-many matching not allowed: matching labels must be unique on one side"#
    );
    let err = instant("reqs + on(job) group_right sum by (job) (reqs)", 600_000).unwrap_err();
    assert!(err.to_string().contains("on the left hand-side"), "{err}");
    let err = instant("reqs * on() group_left vector(1) + on() reqs", 600_000).unwrap_err();
    assert!(
        err.to_string().starts_with("found duplicate series"),
        "{err}"
    );
    let err = instant(r#"reqs / ignoring(inst) reqs{inst="a"}"#, 600_000).unwrap_err();
    assert_eq!(
        err.to_string(),
        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
    );
}

#[test]
fn max_samples_is_an_execution_error() {
    let engine = Engine::new(EngineOptions {
        max_samples: 10,
        ..EngineOptions::default()
    });
    let err = block_on(engine.instant_query(&data(), "reqs[10m]", 600_000)).unwrap_err();
    assert_eq!(err.error_type(), "execution");
    assert_eq!(
        err.to_string(),
        "query processing would load too many samples into memory in query execution"
    );
    // Range results held across steps count too.
    let err = block_on(engine.range_query(&data(), "reqs", 0, 600_000, 60_000)).unwrap_err();
    assert!(matches!(err, QueryError::TooManySamples { limit: 10 }));
    assert!(block_on(engine.instant_query(&data(), "reqs", 600_000)).is_ok());
}

#[test]
fn timeout_is_a_timeout_error() {
    let engine = Engine::new(EngineOptions {
        timeout: Duration::ZERO,
        ..EngineOptions::default()
    });
    let err = block_on(engine.instant_query(&data(), "reqs", 0)).unwrap_err();
    assert_eq!(err.error_type(), "timeout");
    assert_eq!(err.to_string(), "query timed out in expression evaluation");
}

#[test]
fn range_steps_equal_instant_queries() {
    // Subquery results are cached across steps; each step must still match a fresh instant
    // query, including for nested subqueries whose inner times do not move monotonically.
    for query in [
        "max_over_time(rate(reqs[2m])[5m:1m])",
        "max_over_time(sum_over_time(max_over_time(reqs[1m])[3m:30s])[4m:1m])",
        "avg_over_time(gauge[3m:20s] offset 1m)",
        "min_over_time(sum_over_time(reqs[2m:1m])[3m:1m])",
    ] {
        let QueryValue::Matrix(m) = range(query, 0, 600_000, 30_000).unwrap() else {
            panic!("not a matrix")
        };
        for t in (0..=600_000).step_by(30_000) {
            let QueryValue::Vector { samples, .. } = instant(query, t).unwrap() else {
                panic!("not a vector")
            };
            for s in &samples {
                let series = m
                    .iter()
                    .find(|x| x.labels == s.labels)
                    .expect("series in range");
                let p = series
                    .samples
                    .iter()
                    .find(|p| p.t == t)
                    .expect("point at t");
                assert_eq!(p.v, s.v, "{query} at {t}");
            }
            let in_range = m
                .iter()
                .filter(|x| x.samples.iter().any(|p| p.t == t))
                .count();
            assert_eq!(in_range, samples.len(), "{query} at {t}");
        }
    }
}

#[test]
fn extreme_inputs_do_not_panic() {
    let engine = engine();
    let data = data();
    for query in [
        "reqs offset 10000000y",
        "reqs offset -10000000y",
        "reqs @ -9999999999",
        "topk(NaN, reqs)",
        "quantile(NaN, reqs)",
        "round(reqs, 0)",
        "year(vector(NaN))",
        "year(vector(-1e300))",
        "predict_linear(reqs[10m], 1e300)",
        "max_over_time(reqs[10m:1m] offset 1m @ 300)",
        r#"label_replace(reqs, "y", "$1$2${3}$x$$", "inst", "(.)")"#,
    ] {
        for t in [0, 300_000, i64::MAX / 2, i64::MIN / 2] {
            let _ = block_on(engine.instant_query(&data, query, t));
        }
        assert!(block_on(engine.range_query(&data, query, 0, 600_000, 60_000)).is_ok());
    }
    let err = block_on(engine.instant_query(&data, "topk(1e300, reqs)", 0)).unwrap_err();
    assert_eq!(err.to_string(), "Scalar value 1e+300 overflows int64");
}

#[test]
fn range_functions_reject_colliding_series_across_steps() {
    // `a` and `b` differ only by name and never overlap in time: Prometheus 2.42 still rejects
    // rate() over both in a range query, as their results would share one label set.
    let mut q = MemoryQueryable::new();
    q.load("load 1m\n  a{x=\"1\"} 1 2 3 _ _ _ _ _ _ _ _\n  b{x=\"1\"} _ _ _ _ _ _ _ _ 1 2 3")
        .unwrap();
    let e = engine();
    let query = r#"rate({__name__=~"a|b"}[2m])"#;
    let err = block_on(e.range_query(&q, query, 0, 600_000, 60_000)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
    assert!(block_on(e.instant_query(&q, query, 120_000)).is_ok());
    let kept = r#"last_over_time({__name__=~"a|b"}[2m])"#;
    assert!(block_on(e.range_query(&q, kept, 0, 600_000, 60_000)).is_ok());
}
