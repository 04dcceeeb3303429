//! A scrape target after discovery and `relabel_configs`: what a Scraper needs to do its job.

use std::time::Duration;

use crate::labels::Labels;

/// One target to scrape, with its final labels. Two targets are the same target when their
/// `labels` and `url` are equal (this is how scrape loops survive a reload).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The job (scrape config) it belongs to.
    pub job: String,
    /// The full URL scraped, including `params`.
    pub url: String,
    /// Final target labels (`job`, `instance` and whatever relabelling kept; no `__` labels).
    pub labels: Labels,
    /// Labels before relabelling (`__address__`, `__meta_*`, ...), for `/api/v1/targets`.
    pub discovered_labels: Labels,
    pub interval: Duration,
    pub timeout: Duration,
}
