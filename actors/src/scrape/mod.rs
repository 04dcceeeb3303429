//! Scraping: one Scraper actor per target, reconciled by the ScrapeManager from discovery's
//! target lists, working like Prometheus's scrape loops.
//!
//! The hard logic is pure and tested without IO: the schedule (`offset`), the scrape cache
//! (`cache`), staleness (`staleness`), label merging (`label_merge`), limits (`limits`), the
//! report series (`report`) and the per-target state machine that ties them into one WAL
//! append per scrape (`scrape_loop`). The actors (`scraper`, `manager`) and the HTTP client
//! (`client`) only move bytes and messages around it.

mod cache;
mod client;
mod error;
mod fast_hash;
mod label_merge;
mod limits;
mod manager;
mod metadata;
mod offset;
mod reconcile;
mod report;
mod rfc3339;
mod scrape_loop;
mod scraper;
mod series_labels;
mod settings;
mod staleness;
mod status;
#[cfg(test)]
mod test_support;

pub use client::{ScrapeClient, ACCEPT_HEADER, TIMEOUT_HEADER, USER_AGENT};
pub use error::ScrapeError;
pub use limits::LabelLimits;
pub use manager::{ApplyConfig, GetMetadata, GetTargets, ScrapeManager};
pub use metadata::{MetricMetadata, SharedMetadata, TargetMetadata};
pub use offset::{target_hash, Schedule};
pub use report::{ScrapeReport, REPORT_SERIES};
pub use scrape_loop::{Body, ScrapeLoop};
pub use scraper::{Scraper, StopScraper, UpdateScraper};
pub use settings::{HttpSettings, ScrapeSettings};
pub use status::{ActiveTarget, DroppedTarget, Health, SharedHealth, TargetHealth, TargetsStatus};
