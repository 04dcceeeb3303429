//! Remote read and federation with a stock Prometheus 2.42: Skyview's data, read by the tools
//! operators already run.
//!
//! A 3-node Skyview cluster (RF 3, 4 shards) takes the PromQL suite's data set (counters with
//! resets, histograms, staleness markers, gaps, two clusters). Then two unmodified Prometheus
//! servers with empty TSDBs are pointed at it:
//! - the *reader* has `remote_read` to one node's `/api/v1/read` (`read_recent: true`); its
//!   answers to instant and range queries, evaluated by Prometheus's engine over the raw
//!   samples it read, must equal Skyview's own answers to the same queries;
//! - the *federator* scrapes another node's `/federate?match[]={cluster=~".+"}` every second
//!   (`honor_labels: true`); the scrape must be healthy, and its stored copy must answer an
//!   instant query exactly as Skyview does.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use skyview_tests::peers::{peer_binary, Prometheus};
use skyview_tests::promql_compat::{
    compare, summary, ApiRequest, DataSet, Order, Outcome, QueryClient, ResultData,
};
use skyview_tests::receiver::ReceiverCluster;
use skyview_tests::remote_write_client::{now_ms, RemoteWriteClient, WriteOptions};
use tokio::time::Instant;

/// The data ends this long before the test starts, so no sample is in the future.
const DATA_ENDS_AGO_MS: i64 = 2 * 60_000;
/// The number of remote-write requests the data set is cut into.
const WRITE_SLICES: i64 = 10;
/// What the federator asks for: every series of the data set (each has a `cluster`).
const FEDERATE_MATCH: &str = r#"{cluster=~".+"}"#;

/// Queries whose answers through remote read must equal Skyview's: raw selections (staleness
/// markers and gaps included), counter functions, aggregations, a histogram and a join.
const READ_QUERIES: &[&str] = &[
    "http_requests_total",
    r#"up{job=~"api|web",cluster!="us-2"}"#,
    "batch_job_progress",
    "jobs_processed_total",
    "flaky_gauge",
    "odd_values",
    "rate(http_requests_total[5m])",
    "increase(jobs_processed_total[10m])",
    "sum by (cluster, code) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (cluster, le) (rate(request_duration_seconds_bucket[5m])))",
    "topk(3, queue_depth)",
    "max_over_time(node_temperature_celsius[10m])",
    "rate(http_requests_total[5m]) / on(cluster, job, instance) group_left up",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_prometheus_reads_remotely_and_federates_from_skyview() -> Result<()> {
    // A missing Prometheus fails here, saying how to install it, before anything starts.
    peer_binary("prometheus")?;
    let dir = tempfile::tempdir()?;
    let cluster = ReceiverCluster::start(3, 4, 3).await?;
    let urls = cluster.urls();

    let data = DataSet::ending_at(now_ms() - DATA_ENDS_AGO_MS);
    let writer = RemoteWriteClient::new()?;
    for (i, request) in data.requests(WRITE_SLICES).iter().enumerate() {
        let url = &urls[i % urls.len()];
        let outcome = writer.write(url, request, WriteOptions::default()).await?;
        ensure!(
            outcome.is_success(),
            "Skyview ({url}) refused write {i}: HTTP {} {}",
            outcome.status,
            outcome.body
        );
    }

    let reader_config = format!(
        "global:\n  scrape_interval: 15s\nremote_read:\n  - url: {}/api/v1/read\n    \
         read_recent: true\n",
        urls[1]
    );
    let federated = urls[2]
        .strip_prefix("http://")
        .context("node URLs are http://host:port")?;
    let federator_config = format!(
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: skyview-federate\n    \
         scrape_interval: 1s\n    honor_labels: true\n    metrics_path: /federate\n    \
         params:\n      'match[]': ['{FEDERATE_MATCH}']\n    static_configs:\n      \
         - targets: ['{federated}']\n"
    );
    let (reader, federator) = tokio::try_join!(
        Prometheus::start_server(dir.path(), "prometheus-reader", &reader_config, &[]),
        Prometheus::start_server(dir.path(), "prometheus-federator", &federator_config, &[]),
    )?;
    let client = QueryClient::new()?;

    // Remote read: Prometheus's engine over the samples it read equals Skyview's engine.
    let reader_url = reader.peer.url("");
    let mut mismatches = Vec::new();
    let mut compared = 0usize;
    for expr in READ_QUERIES {
        let requests = [
            ApiRequest::range(expr, data.start_ms(), data.end_ms() + 60_000, "60s"),
            ApiRequest::instant(expr, data.end_ms()),
            ApiRequest::instant(expr, data.after_stale_ms()),
        ];
        for request in requests {
            let (through_read, direct) = tokio::join!(
                client.call(&reader_url, &request),
                client.call(&urls[0], &request)
            );
            if let Outcome::Data(result) = &direct {
                if request.path.ends_with("query_range") {
                    ensure!(!result.is_empty(), "Skyview has no data for {expr}");
                }
            }
            let differences = compare(&through_read, &direct, Order::Unordered);
            if !differences.is_empty() {
                mismatches.push(format!(
                    "{} {expr}: Skyview {} / Prometheus via remote read {}\n    {}",
                    request.path,
                    summary(&direct),
                    summary(&through_read),
                    differences.join("\n    ")
                ));
            }
            compared += 1;
        }
    }
    eprintln!(
        "remote read: {}/{compared} answers of Prometheus over remote read equal Skyview's",
        compared - mismatches.len()
    );
    ensure!(mismatches.is_empty(), "{}", mismatches.join("\n"));

    // Federation: the federator's scrape is healthy and its copy answers as Skyview does.
    let federator_url = federator.peer.url("");
    let scraped = wait_for_federation(&client, &federator_url).await?;
    let at = now_ms();
    let request = ApiRequest::instant(FEDERATE_MATCH, at);
    let (copy, original) = tokio::join!(
        client.call(&federator_url, &request),
        client.call(&urls[0], &request)
    );
    let Outcome::Data(ResultData::Vector(series)) = &original else {
        bail!(
            "Skyview's answer to {FEDERATE_MATCH}: {}",
            summary(&original)
        );
    };
    ensure!(
        series.len() as f64 == scraped,
        "the federator scraped {scraped} samples, Skyview has {} live series",
        series.len()
    );
    ensure!(!series.is_empty(), "no live series to federate");
    let differences = compare(&copy, &original, Order::Unordered);
    ensure!(
        differences.is_empty(),
        "the federated copy differs from Skyview:\n  {}",
        differences.join("\n  ")
    );
    eprintln!(
        "federation: {} series scraped from /federate, the copy equals Skyview's answer",
        series.len()
    );
    drop(cluster);
    Ok(())
}

/// Waits until the federator's scrape of `/federate` is up and has samples; their number.
async fn wait_for_federation(client: &QueryClient, federator: &str) -> Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = scalar_of(client, federator, r#"up{job="skyview-federate"}"#).await;
        let samples = scalar_of(
            client,
            federator,
            r#"scrape_samples_scraped{job="skyview-federate"}"#,
        )
        .await;
        match (up, samples) {
            (Some(up), Some(samples)) if up == 1.0 && samples > 0.0 => return Ok(samples),
            _ if Instant::now() > deadline => bail!(
                "the federator's scrape of /federate is not healthy after 30 s: up {up:?}, \
                 samples {samples:?}"
            ),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// The value of a one-element instant vector now, if there is one.
async fn scalar_of(client: &QueryClient, base: &str, expr: &str) -> Option<f64> {
    match client
        .call(base, &ApiRequest::instant(expr, now_ms()))
        .await
    {
        Outcome::Data(ResultData::Vector(v)) if v.len() == 1 => Some(v[0].point.v),
        _ => None,
    }
}
