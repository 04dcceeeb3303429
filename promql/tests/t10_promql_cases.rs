//! PromQL behaviour case by case, written in the format of Prometheus's testdata (see `script`)
//! with Skyview's own data and expectations worked out from Prometheus 2.42's definitions.
//! Every `eval` also runs as a range query (see `script`).

mod script;

/// Counters (one with a reset between 4m and 5m), a gappy gauge, a linear gauge, a series with
/// a staleness marker, and a classic histogram; samples every minute from t=0.
const DATA: &str = r#"
load 1m
  reqs{job="api", inst="a"} 0+10x10
  reqs{job="api", inst="b"} 0+20x10
  reqs{job="db", inst="a"}  0+5x4 0+5x5
  temp{room="x"}            1 5 3 7 2 _ _ 4
  lin                       0+2x10
  flaky{i="1"}              1 2 stale 4
  lat_bucket{le="0.1"}      0+1x10
  lat_bucket{le="0.5"}      0+3x10
  lat_bucket{le="+Inf"}     0+4x10
"#;

fn run(cases: &str) {
    if let Err(e) = script::run(&format!("{DATA}\n{cases}")) {
        panic!("{e}");
    }
}

#[test]
fn selectors_lookback_offset_and_at() {
    run(r#"
eval instant at 10m reqs{job="api"}
  reqs{job="api", inst="a"} 100
  reqs{job="api", inst="b"} 200

# The newest sample within 5m; the window's left edge is inclusive in 2.42.
eval instant at 6m temp
  temp{room="x"} 2

eval instant at 12m temp
  temp{room="x"} 4

eval instant at 12m1s temp

eval instant at 10m reqs{inst="a", job="api"} offset 5m
  reqs{job="api", inst="a"} 50

eval instant at 5m reqs{inst="a", job="api"} offset -2m
  reqs{job="api", inst="a"} 70

eval instant at 10m reqs{inst="a", job="api"} @ 120
  reqs{job="api", inst="a"} 20

eval instant at 10m reqs{inst="a", job="api"} @ 300 offset 1m
  reqs{job="api", inst="a"} 40

# Regex matchers are anchored at both ends.
eval instant at 10m reqs{job=~"d"}

eval instant at 10m reqs{job=~"d.*", inst!~"b"}
  reqs{job="db", inst="a"} 25

eval instant at 10m reqs{job!="api"}
  reqs{job="db", inst="a"} 25

eval instant at 10m reqs{missing=""}
  reqs{job="api", inst="a"} 100
  reqs{job="api", inst="b"} 200
  reqs{job="db", inst="a"} 25

eval instant at 10m {__name__=~"re.s", inst="b"}
  reqs{job="api", inst="b"} 200
"#);
}

#[test]
fn staleness_markers_end_the_lookback() {
    run(r#"
eval instant at 1m30s flaky
  flaky{i="1"} 2

eval instant at 2m30s flaky

eval instant at 3m flaky
  flaky{i="1"} 4

# Range selectors skip the marker.
eval instant at 3m count_over_time(flaky[3m])
  {i="1"} 3
"#);
}

#[test]
fn counter_functions() {
    run(r#"
eval instant at 10m rate(reqs[5m])
  {job="api", inst="a"} 0.16666666666666666
  {job="api", inst="b"} 0.3333333333333333
  {job="db", inst="a"} 0.08333333333333333

# The reset inside the window is added back.
eval instant at 10m rate(reqs{job="db"}[6m])
  {job="db", inst="a"} 0.06944444444444445

eval instant at 10m increase(reqs{job="db"}[6m])
  {job="db", inst="a"} 25

# Extrapolated by half a minute at each end.
eval instant at 10m30s increase(reqs{job="api", inst="a"}[5m])
  {job="api", inst="a"} 50

eval instant at 10m30s delta(reqs{job="api", inst="a"}[5m])
  {job="api", inst="a"} 50

eval instant at 5m irate(reqs{job="db"}[5m])
  {job="db", inst="a"} 0

eval instant at 6m irate(reqs{job="db"}[5m])
  {job="db", inst="a"} 0.08333333333333333

eval instant at 5m idelta(reqs{job="db"}[5m])
  {job="db", inst="a"} -20

eval instant at 10m resets(reqs{job="db"}[10m])
  {job="db", inst="a"} 1

eval instant at 10m changes(reqs{job="db"}[10m])
  {job="db", inst="a"} 10

# One sample is not enough for a rate.
eval instant at 10m rate(reqs[30s])
"#);
}

#[test]
fn regression_and_smoothing() {
    run(r#"
eval instant at 10m deriv(lin[5m])
  {} 0.03333333333333333

eval instant at 10m predict_linear(lin[5m], 60)
  {} 22

eval instant at 10m holt_winters(lin[5m], 0.5, 0.5)
  {} 20

eval_fail instant at 10m holt_winters(lin[5m], 1, 0.5)
"#);
}

#[test]
fn over_time_functions() {
    run(r#"
eval instant at 7m min_over_time(temp[10m])
  {room="x"} 1

eval instant at 7m max_over_time(temp[10m])
  {room="x"} 7

eval instant at 7m sum_over_time(temp[10m])
  {room="x"} 22

eval instant at 7m count_over_time(temp[10m])
  {room="x"} 6

eval instant at 7m avg_over_time(temp[10m])
  {room="x"} 3.6666666666666665

eval instant at 7m stdvar_over_time(temp[10m])
  {room="x"} 3.8888888888888893

eval instant at 7m stddev_over_time(temp[10m])
  {room="x"} 1.9720265943665387

eval instant at 7m quantile_over_time(0.5, temp[10m])
  {room="x"} 3.5

eval instant at 7m present_over_time(temp[10m])
  {room="x"} 1

# last_over_time keeps the metric name.
eval instant at 7m last_over_time(temp[10m])
  temp{room="x"} 4

eval instant at 7m absent_over_time(temp[10m])

eval instant at 7m absent_over_time(nothing{a="b", c=~"d"}[5m])
  {a="b"} 1
"#);
}

#[test]
fn absent_and_scalar_vector() {
    run(r#"
eval instant at 10m absent(reqs)

eval instant at 10m absent(nothing{job="x", job="y", inst="i"})
  {inst="i"} 1

eval instant at 10m scalar(reqs{job="db"})
  25

eval instant at 10m scalar(reqs)
  NaN

eval instant at 10m vector(time())
  {} 600

eval instant at 10m timestamp(temp)
  {room="x"} 420

eval instant at 10m timestamp(temp + 1)
  {room="x"} 600

eval instant at 10m timestamp(temp offset 5m)
  {room="x"} 240

# With `@`, Prometheus 2.42's timestamp() ignores the offset.
eval instant at 10m timestamp(temp @ 420 offset 5m)
  {room="x"} 420
"#);
}

#[test]
fn histogram_quantile_over_classic_buckets() {
    run(r#"
eval instant at 10m histogram_quantile(0.5, lat_bucket)
  {} 0.3

eval instant at 10m histogram_quantile(0.9, rate(lat_bucket[5m]))
  {} 0.5

eval instant at 10m histogram_quantile(1.5, lat_bucket)
  {} +Inf

eval instant at 10m histogram_quantile(0.5, lat_bucket{le!="+Inf"})
  {} NaN
"#);
}

#[test]
fn label_functions() {
    run(r#"
eval instant at 10m label_replace(reqs{job="db"}, "svc", "$1-x", "job", "(d)b")
  reqs{job="db", inst="a", svc="d-x"} 25

eval instant at 10m label_replace(reqs{job="db"}, "svc", "$1", "job", "nomatch")
  reqs{job="db", inst="a"} 25

eval instant at 10m label_replace(reqs{job="db"}, "job", "", "job", ".*")
  reqs{inst="a"} 25

eval instant at 10m label_join(reqs{job="db"}, "id", ":", "job", "inst")
  reqs{job="db", inst="a", id="db:a"} 25

eval_fail instant at 10m label_replace(reqs, "1bad", "", "job", ".*")

eval_fail instant at 10m label_replace(reqs, "x", "", "job", "(")

# Both api series lose the only label that told them apart.
eval_fail instant at 10m label_replace(reqs{job="api"}, "inst", "", "inst", ".*")
"#);
}

#[test]
fn math_functions() {
    run(r#"
eval instant at 7m clamp(temp, 5, 10)
  {room="x"} 5

eval instant at 7m clamp(temp, 10, 5)

eval instant at 7m clamp_max(temp, 3)
  {room="x"} 3

eval instant at 7m clamp_min(temp, 6)
  {room="x"} 6

eval instant at 7m sqrt(temp)
  {room="x"} 2

eval instant at 0m round(vector(2.5))
  {} 3

eval instant at 0m round(vector(-2.5))
  {} -2

eval instant at 0m round(vector(7), 5)
  {} 5

eval instant at 0m sgn(vector(-3))
  {} -1

eval instant at 0m abs(vector(-3))
  {} 3

eval instant at 0m ceil(vector(1.2)) + floor(vector(1.8))
  {} 3

eval instant at 0m exp(vector(0)) + ln(vector(1)) + log2(vector(8)) + log10(vector(100))
  {} 6

eval instant at 0m deg(vector(pi())) + rad(vector(180))
  {} 183.14159265358979

eval instant at 0m sin(vector(0)) + cos(vector(0)) + tan(vector(0))
  {} 1

eval instant at 0m asin(vector(1)) * 2
  {} 3.141592653589793

eval instant at 0m acos(vector(1)) + atan(vector(0)) + sinh(vector(0)) + tanh(vector(0)) + asinh(vector(0)) + atanh(vector(0))
  {} 0

eval instant at 0m cosh(vector(0)) + acosh(vector(1))
  {} 1

eval instant at 0m ln(vector(-1))
  {} NaN
"#);
}

#[test]
fn time_functions() {
    run(r#"
# 1700000000 is 2023-11-14T22:13:20Z, a Tuesday.
eval instant at 0m hour(vector(1700000000))
  {} 22

eval instant at 0m minute(vector(1700000000))
  {} 13

eval instant at 0m day_of_week(vector(1700000000))
  {} 2

eval instant at 0m day_of_month(vector(1700000000))
  {} 14

eval instant at 0m day_of_year(vector(1700000000))
  {} 318

eval instant at 0m days_in_month(vector(1700000000))
  {} 30

eval instant at 0m month(vector(1700000000))
  {} 11

eval instant at 0m year(vector(1700000000))
  {} 2023

eval instant at 10m year()
  {} 1970

eval instant at 10m minute()
  {} 10

eval instant at 10m time()
  600

eval instant at 7m hour(temp)
  {room="x"} 0
"#);
}

#[test]
fn aggregations() {
    run(r#"
eval instant at 10m sum by (job) (reqs)
  {job="api"} 300
  {job="db"} 25

eval instant at 10m sum without (inst) (reqs)
  {job="api"} 300
  {job="db"} 25

eval instant at 10m sum(reqs)
  {} 325

eval instant at 10m avg by (job) (reqs)
  {job="api"} 150
  {job="db"} 25

eval instant at 10m max by (inst) (reqs)
  {inst="a"} 100
  {inst="b"} 200

eval instant at 10m min(reqs)
  {} 25

eval instant at 10m count(reqs)
  {} 3

eval instant at 10m group by (job) (reqs)
  {job="api"} 1
  {job="db"} 1

eval instant at 10m stdvar(reqs)
  {} 5138.88888888889

eval instant at 10m stddev(reqs)
  {} 71.6860438920219

eval instant at 10m quantile(0.5, reqs)
  {} 100

eval instant at 10m quantile by (job) (0.5, reqs)
  {job="api"} 150
  {job="db"} 25

eval instant at 10m count_values("v", reqs)
  {v="100"} 1
  {v="200"} 1
  {v="25"} 1

eval instant at 10m count_values without (inst) ("v", reqs)
  {job="api", v="100"} 1
  {job="api", v="200"} 1
  {job="db", v="25"} 1

eval_ordered instant at 10m topk(2, reqs)
  reqs{job="api", inst="b"} 200
  reqs{job="api", inst="a"} 100

eval_ordered instant at 10m bottomk(2, reqs)
  reqs{job="db", inst="a"} 25
  reqs{job="api", inst="a"} 100

eval instant at 10m topk by (job) (1, reqs)
  reqs{job="api", inst="b"} 200
  reqs{job="db", inst="a"} 25

eval instant at 10m topk(0, reqs)

eval instant at 10m sum by (__name__) (reqs)
  reqs 325
"#);
}

#[test]
fn sorting() {
    run(r#"
eval_ordered instant at 10m sort(reqs)
  reqs{job="db", inst="a"} 25
  reqs{job="api", inst="a"} 100
  reqs{job="api", inst="b"} 200

eval_ordered instant at 10m sort_desc(reqs)
  reqs{job="api", inst="b"} 200
  reqs{job="api", inst="a"} 100
  reqs{job="db", inst="a"} 25
"#);
}

#[test]
fn arithmetic_and_comparison_operators() {
    run(r#"
eval instant at 10m reqs{job="db"} * 2 + 1
  {job="db", inst="a"} 51

eval instant at 10m 2 ^ 3 % 5
  3

eval instant at 10m -reqs{job="db"}
  {job="db", inst="a"} -25

# Filtering comparisons keep the name; bool drops it.
eval instant at 10m reqs > 50
  reqs{job="api", inst="a"} 100
  reqs{job="api", inst="b"} 200

eval instant at 10m reqs > bool 50
  {job="api", inst="a"} 1
  {job="api", inst="b"} 1
  {job="db", inst="a"} 0

eval instant at 10m 150 < reqs
  reqs{job="api", inst="b"} 200

eval instant at 10m 1 == bool 1
  1

eval instant at 10m reqs{job="api"} - reqs{job="api"} offset 5m
  {job="api", inst="a"} 50
  {job="api", inst="b"} 100

eval instant at 10m reqs / on(job) group_left sum by (job) (reqs)
  {job="api", inst="a"} 0.3333333333333333
  {job="api", inst="b"} 0.6666666666666666
  {job="db", inst="a"} 1

eval instant at 10m sum by (job) (reqs) * on(job) group_right reqs
  {job="api", inst="a"} 30000
  {job="api", inst="b"} 60000
  {job="db", inst="a"} 625

eval instant at 10m reqs * on(job, inst) group_left(room) label_replace(reqs, "room", "r-$1", "inst", "(.*)")
  {job="api", inst="a", room="r-a"} 10000
  {job="api", inst="b", room="r-b"} 40000
  {job="db", inst="a", room="r-a"} 625

eval instant at 10m reqs{job="db"} + ignoring(job) reqs{job="api", inst="a"}
  {inst="a"} 125

eval instant at 10m reqs atan2 reqs
  reqs{job="api", inst="a"} 0.7853981633974483
  reqs{job="api", inst="b"} 0.7853981633974483
  reqs{job="db", inst="a"} 0.7853981633974483
"#);
}

#[test]
fn set_operators() {
    run(r#"
eval instant at 10m reqs and on(job) reqs{job="db"}
  reqs{job="db", inst="a"} 25

eval instant at 10m reqs unless on(inst) reqs{job="db"}
  reqs{job="api", inst="b"} 200

eval instant at 10m reqs{job="api"} or reqs
  reqs{job="api", inst="a"} 100
  reqs{job="api", inst="b"} 200
  reqs{job="db", inst="a"} 25

eval instant at 10m reqs{job="db"} or on() vector(1)
  reqs{job="db", inst="a"} 25
"#);
}

#[test]
fn matching_errors() {
    run(r#"
eval_fail instant at 10m reqs + on(inst) reqs

eval_fail instant at 10m reqs * on(job) sum by (job) (reqs)

eval_fail instant at 10m reqs{job="api"} + on(job) group_left reqs
"#);
}

#[test]
fn subqueries() {
    run(r#"
eval instant at 10m max_over_time(reqs{job="api", inst="a"}[5m:1m])
  {job="api", inst="a"} 100

eval instant at 10m rate(reqs{job="api", inst="a"}[5m:1m])
  {job="api", inst="a"} 0.16666666666666666

eval instant at 10m sum_over_time(vector(1)[5m:1m])
  {} 6

# Without a step, subqueries use the 1m default.
eval instant at 10m count_over_time(vector(1)[5m:])
  {} 6

# Steps are aligned to multiples of the step, not to the evaluation time.
eval instant at 10m30s count_over_time(vector(1)[5m:1m])
  {} 5

# Inner steps 4m..9m; the windows ending at 5m and 6m contain the reset.
eval instant at 10m min_over_time(rate(reqs{job="db"}[2m])[5m:1m] offset 1m)
  {job="db", inst="a"} 0.041666666666666664

eval instant at 10m sum_over_time(timestamp(lin)[3m:1m] @ 180)
  {} 360
"#);
}

#[test]
fn literals_and_strings() {
    run(r#"
eval instant at 0m 1e3 + -2
  998

eval instant at 0m -(2 ^ 2)
  -4

eval instant at 0m 0x10 + Inf
  +Inf

eval instant at 0m NaN
  NaN

eval instant at 0m 1 > bool NaN
  0
"#);
}

#[test]
fn duplicate_label_sets_are_errors() {
    run(r#"
load 1m
  other{job="db", inst="a"} 1 1

# Dropping the name makes the two series identical.
eval_fail instant at 1m rate({__name__=~"reqs|other", job="db"}[5m])

eval_fail instant at 1m -{__name__=~"reqs|other", job="db"}

# Keeping the name keeps them apart.
eval instant at 1m last_over_time({__name__=~"reqs|other", job="db"}[5m])
  reqs{job="db", inst="a"} 5
  other{job="db", inst="a"} 1
"#);
}

#[test]
fn more_matching() {
    run(r#"
# group_left labels that the "one" side lacks are removed.
eval instant at 10m reqs{job="db"} * on() group_left(job) vector(2)
  {inst="a"} 50

eval_fail instant at 10m vector(2) + on() reqs

eval instant at 10m reqs{job="db"} * on() group_left vector(2)
  {job="db", inst="a"} 50

eval instant at 10m reqs{job="db"} == bool on(inst) reqs{job="api", inst="a"} / 4
  {inst="a"} 1

# One-to-one results lose the ignored labels but keep the name for comparisons.
eval instant at 10m reqs{job="db"} != ignoring(job) reqs{job="api"}
  reqs{inst="a"} 25

eval instant at 10m reqs{job="api"} and reqs{inst="b"}
  reqs{job="api", inst="b"} 200

eval instant at 10m (reqs{job="api"} or reqs{job="db"}) unless reqs{inst="a"}
  reqs{job="api", inst="b"} 200
"#);
}

#[test]
fn aggregation_edge_cases() {
    run(r#"
eval instant at 10m quantile(2, reqs)
  {} +Inf

eval instant at 10m quantile(-1, reqs)
  {} -Inf

eval instant at 10m topk(scalar(reqs{job="db"}) - 24, reqs)
  reqs{job="api", inst="b"} 200

eval instant at 10m count_values("val", reqs / reqs)
  {val="1"} 3

eval instant at 10m stddev by (inst) (reqs{job="api"})
  {inst="a"} 0
  {inst="b"} 0

eval instant at 10m avg(vector(Inf) or vector(1))
  {} +Inf

eval instant at 10m max(vector(NaN) or on() vector(1))
  {} NaN
"#);
}

#[test]
fn at_modifier_with_subqueries_and_functions() {
    run(r#"
eval instant at 10m rate(reqs{job="api", inst="a"}[5m] @ 300)
  {job="api", inst="a"} 0.16666666666666666

eval instant at 1m max_over_time(reqs{job="db"}[10m:1m] @ 600)
  {job="db", inst="a"} 25

eval instant at 10m reqs{job="db"} @ 240 + reqs{job="db"} @ 600
  {job="db", inst="a"} 45

eval instant at 10m count_over_time(reqs{job="db"}[3m:1m] @ 300 offset -2m)
  {job="db", inst="a"} 4
"#);
}
