//! Prometheus 2.42 as the benchmark's single-node reference receiver.
//!
//! Started like the harness's receiver (`--web.enable-remote-write-receiver`, nothing
//! scraped) plus `--web.enable-admin-api`, which the disk figure needs: after ingest the whole
//! run sits in the head, whose on-disk form is the WAL, a write-ahead format rather than the
//! compacted one. A TSDB snapshot with the head (`POST /api/v1/admin/tsdb/snapshot`) writes the
//! head out as persistent blocks (chunks and index, exactly what head compaction produces), so
//! the snapshot's size is Prometheus's flushed-and-compacted footprint. The WAL's size is
//! reported next to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use skyview_tests::peers::Prometheus;

use crate::disk::tree_bytes;

/// Bytes of a Prometheus TSDB after ingest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrometheusDisk {
    /// The head written out as blocks (a snapshot with the head).
    pub blocks: u64,
    /// The write-ahead log holding the same data before compaction.
    pub wal: u64,
}

/// A Prometheus receiver with its data directory.
#[derive(Debug)]
pub struct PrometheusReceiver {
    pub prometheus: Prometheus,
    data: PathBuf,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct SnapshotReply {
    status: String,
    #[serde(default)]
    data: Option<SnapshotName>,
}

#[derive(Deserialize)]
struct SnapshotName {
    name: String,
}

impl PrometheusReceiver {
    /// Starts a receiver with its TSDB in `dir/prometheus-data`.
    pub async fn start(dir: &Path) -> Result<Self> {
        let prometheus = Prometheus::start_server(
            dir,
            "prometheus",
            "global:\n  scrape_interval: 15s\n",
            &[
                "--web.enable-remote-write-receiver",
                "--web.enable-admin-api",
            ],
        )
        .await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Self {
            prometheus,
            data: dir.join("prometheus-data"),
            http,
        })
    }

    /// Writes the head out as a snapshot and measures it and the WAL.
    pub async fn disk(&self) -> Result<PrometheusDisk> {
        let url = self
            .prometheus
            .peer
            .url("/api/v1/admin/tsdb/snapshot?skip_head=false");
        let response = self
            .http
            .post(&url)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            bail!(
                "{url} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let reply: SnapshotReply = serde_json::from_slice(&body)
            .with_context(|| format!("decoding {}", String::from_utf8_lossy(&body)))?;
        let name = match (reply.status.as_str(), reply.data) {
            ("success", Some(data)) => data.name,
            _ => bail!("snapshot failed: {}", String::from_utf8_lossy(&body)),
        };
        Ok(PrometheusDisk {
            blocks: tree_bytes(&self.data.join("snapshots").join(name))?,
            wal: tree_bytes(&self.data.join("wal"))?,
        })
    }
}
