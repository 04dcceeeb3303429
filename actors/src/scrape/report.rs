//! The synthetic series every scrape writes about itself, as Prometheus's `scrapeLoop.report`
//! does: `up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
//! `scrape_samples_post_metric_relabeling` and `scrape_series_added`. They carry the target's
//! labels and are not subject to `metric_relabel_configs`.

use std::time::Duration;

use super::error::ScrapeError;
use crate::labels::{Labels, METRIC_NAME};

/// The report series names, in the order they are appended.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// The outcome of one scrape.
#[derive(Debug)]
pub struct ScrapeReport {
    /// Why the scrape failed, if it did.
    pub error: Option<ScrapeError>,
    /// From the start of the request to the end of parsing.
    pub duration: Duration,
    /// Samples in the body (before relabelling), up to a parse error.
    pub scraped: u64,
    /// Samples left after metric relabelling (counted even past `sample_limit`).
    pub post_relabel: u64,
    /// Series not in the scrape cache before this scrape.
    pub series_added: u64,
}

impl ScrapeReport {
    /// The values of [`REPORT_SERIES`], in order.
    pub fn values(&self) -> [f64; 5] {
        [
            if self.error.is_none() { 1.0 } else { 0.0 },
            self.duration.as_secs_f64(),
            self.scraped as f64,
            self.post_relabel as f64,
            self.series_added as f64,
        ]
    }
}

/// The labels of report series `name` for a target.
pub fn report_labels(target: &Labels, name: &str) -> Labels {
    let mut builder = target.to_builder();
    builder.set(METRIC_NAME, name);
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_values_and_labels() {
        let ok = ScrapeReport {
            error: None,
            duration: Duration::from_millis(250),
            scraped: 10,
            post_relabel: 8,
            series_added: 3,
        };
        assert_eq!(ok.values(), [1.0, 0.25, 10.0, 8.0, 3.0]);
        let failed = ScrapeReport {
            error: Some(ScrapeError::HttpStatus { status: 500 }),
            ..ok
        };
        assert_eq!(failed.values()[0], 0.0);
        let target = Labels::from_pairs([("job", "node"), ("instance", "h:1")]);
        assert_eq!(
            report_labels(&target, "up").to_string(),
            r#"up{instance="h:1", job="node"}"#
        );
    }
}
