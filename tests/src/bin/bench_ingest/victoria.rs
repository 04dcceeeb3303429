//! VictoriaMetrics 1.79 single node as the benchmark's fastest reference receiver.
//!
//! Disk is measured after a clean stop: on SIGTERM VictoriaMetrics flushes its in-memory
//! parts, so `data/` (samples) and `indexdb/` (the series index) then hold everything it
//! ingested; the `cache/` it persists at shutdown is not part of its storage and is left out.

use std::path::{Path, PathBuf};

use anyhow::Result;
use skyview_tests::peers::VictoriaMetrics;

use crate::disk::tree_bytes;

/// Bytes of a VictoriaMetrics storage directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VictoriaDisk {
    pub data: u64,
    pub index: u64,
}

/// Where [`VictoriaMetrics::start`] keeps its storage under `dir`.
fn storage_dir(dir: &Path) -> PathBuf {
    dir.join("victoria-metrics-data")
}

/// Stops VictoriaMetrics cleanly (flushing it) and measures its storage.
pub async fn stop_and_measure(vm: &mut VictoriaMetrics, dir: &Path) -> Result<VictoriaDisk> {
    vm.peer.stop().await?;
    let storage = storage_dir(dir);
    Ok(VictoriaDisk {
        data: tree_bytes(&storage.join("data"))?,
        index: tree_bytes(&storage.join("indexdb"))?,
    })
}
