//! VictoriaMetrics 1.79 single node, as a remote-write receiver that the tests query.
//!
//! By default VictoriaMetrics hides the newest 30 s of data from queries and caches responses;
//! the harness turns both off (`-search.latencyOffset=0s`, `-search.disableCache`) and flushes
//! its in-memory buffers (`/internal/force_flush`) before counting, so what was ingested is
//! what a query sees.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};

use super::{peer_binary, Peer};
use crate::ports::free_loopback_addr;
use crate::promql::PromQl;

/// Start options that change what queries see.
#[derive(Clone, Debug, Default)]
pub struct VictoriaMetricsOptions {
    /// `-dedup.minScrapeInterval`: keep one sample per series per interval. A 1 ms interval
    /// collapses exact re-deliveries (same series and timestamp), which at-least-once shipping
    /// may produce after a crash, without merging distinct scrapes.
    pub dedup_min_scrape_interval: Option<Duration>,
}

/// A running VictoriaMetrics.
#[derive(Debug)]
pub struct VictoriaMetrics {
    pub peer: Peer,
    http: reqwest::Client,
}

impl VictoriaMetrics {
    /// Starts VictoriaMetrics with default options; data lives in `dir/victoria-metrics-data`.
    pub async fn start(dir: &Path) -> Result<Self> {
        Self::start_with(dir, VictoriaMetricsOptions::default()).await
    }

    pub async fn start_with(dir: &Path, options: VictoriaMetricsOptions) -> Result<Self> {
        let program = peer_binary("victoria-metrics")?;
        let addr = free_loopback_addr()?;
        let mut args = vec![
            format!("-httpListenAddr={addr}"),
            format!(
                "-storageDataPath={}",
                dir.join("victoria-metrics-data").display()
            ),
            "-retentionPeriod=1d".to_owned(),
            "-search.latencyOffset=0s".to_owned(),
            "-search.disableCache".to_owned(),
        ];
        if let Some(interval) = options.dedup_min_scrape_interval {
            args.push(format!(
                "-dedup.minScrapeInterval={}ms",
                interval.as_millis()
            ));
        }
        let peer = Peer::start("victoria-metrics", &program, args, dir, addr, "/health").await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { peer, http })
    }

    /// The Prometheus remote-write endpoint.
    pub fn write_url(&self) -> String {
        self.peer.url("/api/v1/write")
    }

    pub fn promql(&self) -> Result<PromQl> {
        PromQl::new(self.peer.url(""))
    }

    /// Makes every ingested sample searchable now.
    pub async fn flush(&self) -> Result<()> {
        let url = self.peer.url("/internal/force_flush");
        let response = self.http.get(&url).send().await?;
        if !response.status().is_success() {
            bail!("{url} answered {}", response.status());
        }
        Ok(())
    }

    /// Flushes, then runs a query expected to give at most one sample, empty read as 0.
    pub async fn count(&self, query: &str) -> Result<f64> {
        self.flush().await?;
        self.promql()?.query_count(query).await
    }
}
