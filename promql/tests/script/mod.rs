//! A runner for scripts in the format of Prometheus's `promql/testdata/*.test` files, so cases
//! read like Prometheus's own and Prometheus's files can be run as they are:
//!
//! ```text
//! load 5m
//!   http_requests{job="api"} 0+10x10
//!
//! eval instant at 50m sum(http_requests)
//!   {} 100
//!
//! eval_fail instant at 0m a + on() b
//! eval_ordered instant at 50m sort(x)
//! clear
//! ```
//!
//! Like Prometheus's runner, every successful instant evaluation is repeated as a range query
//! from one minute before to one minute after, step one minute, and the point at the
//! evaluation time must give the same answer. Values compare with a relative tolerance of 1e-6
//! (NaN equals NaN), as Prometheus's `almostEqual`.

use std::collections::HashMap;

use futures::executor::block_on;
use promql_parser::label::MatchOp;
use promql_parser::parser::{parse, Expr};
use skyview_promql::{Engine, EngineOptions, Labels, MemoryQueryable, QueryValue, METRIC_NAME};

/// What an `eval` expects.
#[derive(Debug)]
enum Expected {
    Scalar(f64),
    Vector(Vec<(Labels, f64)>),
}

/// Runs a whole script, continuing past failures; the error lists every failing line.
pub fn run(script: &str) -> Result<(), String> {
    let mut failures = Vec::new();
    run_commands(script, &mut failures);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

fn run_commands(script: &str, failures: &mut Vec<String>) {
    let engine = Engine::new(EngineOptions::default());
    let mut store = MemoryQueryable::new();
    let lines: Vec<&str> = script
        .lines()
        .map(|l| {
            if l.trim_start().starts_with('#') {
                ""
            } else {
                l.trim()
            }
        })
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let lineno = i + 1;
        i += 1;
        if line.is_empty() {
            continue;
        }
        if line == "clear" {
            store = MemoryQueryable::new();
            continue;
        }
        if line.starts_with("load ") {
            let mut block = vec![line];
            while i < lines.len() && !lines[i].is_empty() {
                block.push(lines[i]);
                i += 1;
            }
            if let Err(e) = store.load(&block.join("\n")) {
                failures.push(format!("line {lineno}: {e}"));
            }
            continue;
        }
        let mut expected_lines = Vec::new();
        while i < lines.len() && !lines[i].is_empty() {
            expected_lines.push(lines[i]);
            i += 1;
        }
        if let Err(e) = eval_command(&engine, &store, line, &expected_lines) {
            failures.push(format!("line {lineno} `{line}`: {e}"));
        }
    }
}

/// Runs one `eval`, `eval_ordered` or `eval_fail` command.
fn eval_command(
    engine: &Engine,
    store: &MemoryQueryable,
    line: &str,
    expected_lines: &[&str],
) -> Result<(), String> {
    let (mode, rest) = line
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("bad command {line:?}"))?;
    let rest = rest
        .trim_start()
        .strip_prefix("instant at ")
        .ok_or("expected `instant at`")?;
    let (at, query) = rest
        .split_once(char::is_whitespace)
        .ok_or("missing query")?;
    let t = parse_time(at)?;
    match mode {
        "eval_fail" => match block_on(engine.instant_query(store, query, t)) {
            Ok(v) => Err(format!("expected an error, got {v:?}")),
            Err(_) => Ok(()),
        },
        "eval" | "eval_ordered" => {
            let expected = parse_expected(expected_lines)?;
            let got = block_on(engine.instant_query(store, query, t))
                .map_err(|e| format!("error: {e}"))?;
            compare(&expected, &got, mode == "eval_ordered")?;
            let range = block_on(engine.range_query(store, query, t - 60_000, t + 60_000, 60_000))
                .map_err(|e| format!("range mode error: {e}"))?;
            compare(&expected, &point_at(&range, t, &expected), false)
                .map_err(|e| format!("range mode: {e}"))
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

/// `50m`, `1h30m`, `0` or `10s` after the epoch, in milliseconds.
fn parse_time(s: &str) -> Result<i64, String> {
    // Prometheus's durations allow zero (`0m`); the parser's do not.
    if s.trim_end_matches(char::is_alphabetic)
        .chars()
        .all(|c| c == '0')
    {
        return Ok(0);
    }
    promql_parser::util::parse_duration(s)
        .map(|d| d.as_millis() as i64)
        .map_err(|e| format!("bad time {s:?}: {e}"))
}

fn parse_number(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn parse_labels(desc: &str) -> Result<Labels, String> {
    if desc == "{}" {
        return Ok(Labels::empty());
    }
    let Expr::VectorSelector(vs) = parse(desc)? else {
        return Err(format!("{desc:?} is not a series description"));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(name) = vs.name {
        pairs.push((METRIC_NAME.to_string(), name));
    }
    for m in vs.matchers.matchers {
        if m.op != MatchOp::Equal {
            return Err(format!("{desc:?} has a non-equality matcher"));
        }
        pairs.push((m.name, m.value));
    }
    Ok(Labels::from_pairs(pairs))
}

fn parse_expected(lines: &[&str]) -> Result<Expected, String> {
    if let [only] = lines {
        if let Some(v) = parse_number(only) {
            return Ok(Expected::Scalar(v));
        }
    }
    let mut out = Vec::new();
    for l in lines {
        let (desc, value) = l
            .rsplit_once(char::is_whitespace)
            .ok_or_else(|| format!("bad expectation {l:?}"))?;
        let v = parse_number(value).ok_or_else(|| format!("bad value in {l:?}"))?;
        out.push((parse_labels(desc.trim())?, v));
    }
    Ok(Expected::Vector(out))
}

/// Prometheus's `almostEqual`.
fn almost_equal(a: f64, b: f64) -> bool {
    const EPSILON: f64 = 0.000001;
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || diff < MIN_NORMAL {
        return diff < EPSILON * MIN_NORMAL;
    }
    diff / (a.abs() + b.abs()) < EPSILON
}

fn compare(expected: &Expected, got: &QueryValue, ordered: bool) -> Result<(), String> {
    match (expected, got) {
        (Expected::Scalar(e), QueryValue::Scalar { v, .. }) => {
            if almost_equal(*e, *v) {
                Ok(())
            } else {
                Err(format!("expected scalar {e}, got {v}"))
            }
        }
        (Expected::Vector(e), QueryValue::Vector { samples, .. }) => {
            let want: HashMap<&Labels, (usize, f64)> = e
                .iter()
                .enumerate()
                .map(|(i, (l, v))| (l, (i, *v)))
                .collect();
            for (pos, s) in samples.iter().enumerate() {
                let Some(&(epos, ev)) = want.get(&s.labels) else {
                    return Err(format!(
                        "unexpected series {} = {} in {samples:?}",
                        s.labels, s.v
                    ));
                };
                if ordered && epos != pos {
                    return Err(format!("{} at position {pos}, expected {epos}", s.labels));
                }
                if !almost_equal(ev, s.v) {
                    return Err(format!("expected {ev} for {}, got {}", s.labels, s.v));
                }
            }
            if samples.len() != e.len() {
                return Err(format!(
                    "expected {} series, got {}: {samples:?}",
                    e.len(),
                    samples.len()
                ));
            }
            Ok(())
        }
        (e, g) => Err(format!("expected {e:?}, got {g:?}")),
    }
}

/// The range-mode result's points at `t`, shaped like the instant result.
fn point_at(range: &QueryValue, t: i64, expected: &Expected) -> QueryValue {
    let QueryValue::Matrix(series) = range else {
        return range.clone();
    };
    let samples: Vec<skyview_promql::VectorSample> = series
        .iter()
        .filter_map(|s| {
            s.samples
                .iter()
                .find(|p| p.t == t)
                .map(|p| skyview_promql::VectorSample {
                    labels: s.labels.clone(),
                    t,
                    v: p.v,
                })
        })
        .collect();
    match expected {
        Expected::Scalar(_) => QueryValue::Scalar {
            t,
            v: samples.first().map(|s| s.v).unwrap_or(f64::NAN),
        },
        Expected::Vector(_) => QueryValue::Vector { t, samples },
    }
}
