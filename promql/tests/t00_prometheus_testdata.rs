//! Runs Prometheus's own `promql/testdata/*.test` files (from a Prometheus 2.42 checkout) when
//! asked to: `PROMQL_TESTDATA_DIR=/path/to/prometheus/promql/testdata cargo test -p
//! skyview-promql --test t00_prometheus_testdata -- --ignored`. The files are not vendored;
//! the cases this crate always runs are in `t10_promql_cases.rs`.

mod script;

#[test]
#[ignore = "needs PROMQL_TESTDATA_DIR pointing at Prometheus 2.42's promql/testdata"]
fn prometheus_testdata() {
    let dir = std::env::var("PROMQL_TESTDATA_DIR")
        .expect("set PROMQL_TESTDATA_DIR to a Prometheus v2.42.0 checkout's promql/testdata");
    let mut failures = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("PROMQL_TESTDATA_DIR is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {dir}");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable test file");
        if let Err(e) = script::run(&text) {
            failures.push(format!("{}:\n{e}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
