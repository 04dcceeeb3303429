//! A system under test, whichever it is: where to send, which processes to measure, how to
//! count what it stored and how to measure its disk once it has flushed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;
use skyview_tests::peers::VictoriaMetrics;
use skyview_tests::receiver::ReceiverCluster;
use skyview_tests::remote_write_client::RemoteWriteClient;

use crate::count::{count_with_promql, count_with_select, SentRange};
use crate::prometheus::PrometheusReceiver;
use crate::report::{DiskFigure, PROMETHEUS, SKYVIEW_RF1, SKYVIEW_RF3, VICTORIA_METRICS};
use crate::{skyview, victoria};

/// The systems the benchmark can drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SystemKind {
    /// Prometheus 2.42 with the remote-write receiver.
    Prometheus,
    /// VictoriaMetrics 1.79 single node.
    VictoriaMetrics,
    /// One Skyview receiver node, replication factor 1.
    SkyviewRf1,
    /// Three Skyview receiver nodes on this machine, replication factor 3.
    SkyviewRf3,
}

impl SystemKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Prometheus => PROMETHEUS,
            Self::VictoriaMetrics => VICTORIA_METRICS,
            Self::SkyviewRf1 => SKYVIEW_RF1,
            Self::SkyviewRf3 => SKYVIEW_RF3,
        }
    }
}

/// A started system with its directory.
#[derive(Debug)]
pub enum Running {
    Prometheus(PrometheusReceiver),
    VictoriaMetrics(VictoriaMetrics, PathBuf),
    Skyview(ReceiverCluster),
}

impl Running {
    /// Starts `kind` with its data and logs under `dir` (fresh and empty).
    pub async fn start(kind: SystemKind, dir: &Path, shards: u32) -> Result<Self> {
        Ok(match kind {
            SystemKind::Prometheus => Self::Prometheus(PrometheusReceiver::start(dir).await?),
            SystemKind::VictoriaMetrics => {
                Self::VictoriaMetrics(VictoriaMetrics::start(dir).await?, dir.to_owned())
            }
            SystemKind::SkyviewRf1 => Self::Skyview(skyview::start(dir, 1, shards, 1).await?),
            SystemKind::SkyviewRf3 => Self::Skyview(skyview::start(dir, 3, shards, 3).await?),
        })
    }

    /// Base URLs to send writes to (every node of a cluster).
    pub fn endpoints(&self) -> Vec<String> {
        match self {
            Self::Prometheus(p) => vec![p.prometheus.peer.url("")],
            Self::VictoriaMetrics(vm, _) => vec![vm.peer.url("")],
            Self::Skyview(cluster) => cluster.urls(),
        }
    }

    /// Every process of the system.
    pub fn pids(&self) -> Result<Vec<u32>> {
        let pids = match self {
            Self::Prometheus(p) => p.prometheus.peer.pid().into_iter().collect(),
            Self::VictoriaMetrics(vm, _) => vm.peer.pid().into_iter().collect(),
            Self::Skyview(cluster) => skyview::pids(cluster),
        };
        if pids.is_empty() {
            anyhow::bail!("the system under test is not running");
        }
        Ok(pids)
    }

    /// Samples of the workload the system stored, through its query API.
    pub async fn stored_samples(
        &self,
        client: &RemoteWriteClient,
        range: SentRange,
    ) -> Result<u64> {
        let count = match self {
            Self::Prometheus(p) => count_with_promql(&p.prometheus.promql()?, range).await,
            Self::VictoriaMetrics(vm, _) => {
                vm.flush().await?;
                count_with_promql(&vm.promql()?, range).await
            }
            Self::Skyview(cluster) => count_with_select(client, &cluster.urls(), range).await,
        };
        count.context("counting the stored samples")
    }

    /// Makes the system flush (stopping it where a clean stop is what flushes) and measures
    /// the bytes its storage takes.
    pub async fn flush_and_measure_disk(&mut self) -> Result<DiskFigure> {
        Ok(match self {
            Self::Prometheus(p) => {
                let disk = p.disk().await?;
                DiskFigure {
                    bytes: disk.blocks,
                    replicas: 1,
                    detail: format!(
                        "blocks written from the head by a TSDB snapshot; the WAL holding the same data is {:.0} MB",
                        disk.wal as f64 / 1e6
                    ),
                }
            }
            Self::VictoriaMetrics(vm, dir) => {
                let disk = victoria::stop_and_measure(vm, dir).await?;
                DiskFigure {
                    bytes: disk.data + disk.index,
                    replicas: 1,
                    detail: format!(
                        "after a clean stop: data {:.1} MB + indexdb {:.1} MB",
                        disk.data as f64 / 1e6,
                        disk.index as f64 / 1e6
                    ),
                }
            }
            Self::Skyview(cluster) => {
                let nodes = skyview::stop_and_measure(cluster).await?;
                let each: Vec<String> = nodes
                    .iter()
                    .map(|n| {
                        format!(
                            "node {} tsdb {:.1} MB (raft log {:.1} MB)",
                            n.node,
                            n.tsdb as f64 / 1e6,
                            n.raft as f64 / 1e6
                        )
                    })
                    .collect();
                DiskFigure {
                    bytes: nodes.iter().map(|n| n.tsdb).sum(),
                    replicas: cluster.replication_factor() as u64,
                    detail: format!("after a clean stop: {}", each.join("; ")),
                }
            }
        })
    }
}
