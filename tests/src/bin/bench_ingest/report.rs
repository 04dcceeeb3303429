//! The ingest benchmark's figures, the ratios the bar is stated in, and the two renderings:
//! an aligned table for the terminal and a Markdown block for docs/benchmarks.md.
//!
//! Every figure comes with its ratio against the peers measured in the same run, since
//! absolute numbers on a shared machine mean little. Kept apart from the orchestration so the
//! arithmetic is unit-tested.

use std::fmt::Write as _;

/// System names, as the phases and the bar refer to them.
pub const PROMETHEUS: &str = "prometheus";
pub const VICTORIA_METRICS: &str = "victoria-metrics";
pub const SKYVIEW_RF1: &str = "skyview-rf1";
pub const SKYVIEW_RF3: &str = "skyview-rf3";

/// Bytes on disk after the system flushed, for one replica's worth of data per `replicas`.
#[derive(Clone, Debug, PartialEq)]
pub struct DiskFigure {
    /// Bytes of every replica together (data and index).
    pub bytes: u64,
    /// Copies of each sample those bytes hold.
    pub replicas: u64,
    /// What was measured, e.g. `blocks from a head snapshot; WAL 210 MB`.
    pub detail: String,
}

/// What one system's phase measured.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseResult {
    pub system: String,
    pub samples_sent: u64,
    /// Counted through the system's query API after the phase.
    pub samples_stored: u64,
    /// From the first request to the last acknowledgement.
    pub seconds: f64,
    /// Requests that had to be retried.
    pub retries: u32,
    /// CPU-seconds (user + system) of every process of the system during the sending.
    pub cpu_seconds: f64,
    /// `VmHWM` of each process of the system after the sending.
    pub peak_rss_bytes: Vec<u64>,
    pub disk: Option<DiskFigure>,
}

impl PhaseResult {
    pub fn samples_per_second(&self) -> f64 {
        per(self.samples_sent as f64, self.seconds)
    }

    pub fn samples_per_cpu_second(&self) -> f64 {
        per(self.samples_sent as f64, self.cpu_seconds)
    }

    pub fn peak_rss_total(&self) -> u64 {
        self.peak_rss_bytes.iter().sum()
    }

    pub fn bytes_per_sample_per_replica(&self) -> Option<f64> {
        let disk = self.disk.as_ref()?;
        Some(per(
            disk.bytes as f64,
            (self.samples_sent * disk.replicas) as f64,
        ))
    }

    pub fn complete(&self) -> bool {
        self.samples_stored == self.samples_sent
    }
}

fn per(value: f64, base: f64) -> f64 {
    if base > 0.0 {
        value / base
    } else {
        0.0
    }
}

/// `value / base` as `1.23x`, `-` without a base.
fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(base) if base > 0.0 => format!("{:.2}x", value / base),
        _ => "-".to_owned(),
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / 1e6)
}

/// A table's cells, rendered either aligned or as Markdown.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns padded to their widest cell, numbers right-aligned.
    pub fn aligned(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|c| {
                std::iter::once(&self.headers[c])
                    .chain(self.rows.iter().map(|r| &r[c]))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, &w))| {
                    if c == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        out
    }

    /// A GitHub Markdown table, first column left-aligned, the others right-aligned.
    pub fn markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.headers.join(" | "));
        let rule: Vec<&str> = (0..self.headers.len())
            .map(|c| if c == 0 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "| {} |", rule.join(" | "));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }
}

/// One row per system with throughput, CPU, memory and disk, and ratios against the peers.
pub fn ingest_table(results: &[PhaseResult]) -> Table {
    let rate_of = |name: &str| {
        results
            .iter()
            .find(|r| r.system == name)
            .map(PhaseResult::samples_per_second)
    };
    let (vm, prometheus) = (rate_of(VICTORIA_METRICS), rate_of(PROMETHEUS));
    let headers = [
        "system",
        "samples/s",
        "vs VictoriaMetrics",
        "vs Prometheus",
        "CPU-s",
        "samples per CPU-s",
        "peak RSS MB (per process)",
        "bytes/sample/replica",
        "stored/sent",
        "retries",
    ];
    let rows = results
        .iter()
        .map(|r| {
            let rate = r.samples_per_second();
            let rss = if r.peak_rss_bytes.len() > 1 {
                let each: Vec<String> = r.peak_rss_bytes.iter().map(|&b| mb(b)).collect();
                format!("{} ({})", mb(r.peak_rss_total()), each.join(" + "))
            } else {
                mb(r.peak_rss_total())
            };
            vec![
                r.system.clone(),
                format!("{:.0}k", rate / 1e3),
                ratio(rate, vm),
                ratio(rate, prometheus),
                format!("{:.1}", r.cpu_seconds),
                format!("{:.0}k", r.samples_per_cpu_second() / 1e3),
                rss,
                r.bytes_per_sample_per_replica()
                    .map_or_else(|| "-".to_owned(), |b| format!("{b:.2}")),
                format!("{}/{}", r.samples_stored, r.samples_sent),
                r.retries.to_string(),
            ]
        })
        .collect();
    Table {
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        rows,
    }
}

/// The bar's two throughput ratios, as far as this run measured them.
pub fn bar_lines(results: &[PhaseResult]) -> Vec<String> {
    let rate_of = |name: &str| {
        results
            .iter()
            .find(|r| r.system == name)
            .map(PhaseResult::samples_per_second)
    };
    let mut lines = Vec::new();
    for (skyview, peer, peer_label) in [
        (SKYVIEW_RF1, VICTORIA_METRICS, "VictoriaMetrics"),
        (SKYVIEW_RF3, PROMETHEUS, "Prometheus single node"),
    ] {
        if let (Some(ours), Some(theirs)) = (rate_of(skyview), rate_of(peer)) {
            let value = ours / theirs;
            let verdict = if value >= 1.0 { "met" } else { "NOT met" };
            lines.push(format!(
                "{skyview} vs {peer_label} samples/s: {value:.2}x (bar >= 1.0x: {verdict})"
            ));
        }
    }
    for r in results.iter().filter(|r| !r.complete()) {
        lines.push(format!(
            "INCOMPLETE: {} stored {} of {} samples sent",
            r.system, r.samples_stored, r.samples_sent
        ));
    }
    lines
}

/// What each disk figure measured, one line per system.
pub fn disk_notes(results: &[PhaseResult]) -> Vec<String> {
    results
        .iter()
        .filter_map(|r| {
            r.disk.as_ref().map(|d| {
                format!(
                    "{}: {} MB over {} replica(s); {}",
                    r.system,
                    mb(d.bytes),
                    d.replicas,
                    d.detail
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(system: &str, seconds: f64, stored: u64, rss: &[u64]) -> PhaseResult {
        PhaseResult {
            system: system.to_owned(),
            samples_sent: 4_000_000,
            samples_stored: stored,
            seconds,
            retries: 0,
            cpu_seconds: 8.0,
            peak_rss_bytes: rss.to_vec(),
            disk: Some(DiskFigure {
                bytes: 24_000_000,
                replicas: rss.len() as u64,
                detail: "x".to_owned(),
            }),
        }
    }

    #[test]
    fn computes_rates_and_per_replica_bytes() {
        let r = result(
            SKYVIEW_RF3,
            10.0,
            4_000_000,
            &[100_000_000, 200_000_000, 300_000_000],
        );
        assert_eq!(r.samples_per_second(), 400_000.0);
        assert_eq!(r.samples_per_cpu_second(), 500_000.0);
        assert_eq!(r.peak_rss_total(), 600_000_000);
        assert_eq!(r.bytes_per_sample_per_replica(), Some(2.0));
        assert!(r.complete());
    }

    #[test]
    fn table_has_ratios_against_both_peers() {
        let results = [
            result(PROMETHEUS, 20.0, 4_000_000, &[300_000_000]),
            result(VICTORIA_METRICS, 4.0, 4_000_000, &[200_000_000]),
            result(
                SKYVIEW_RF3,
                10.0,
                4_000_000,
                &[1_000_000, 2_000_000, 3_000_000],
            ),
        ];
        let table = ingest_table(&results);
        assert_eq!(
            table.rows[2],
            [
                "skyview-rf3",
                "400k",
                "0.40x",
                "2.00x",
                "8.0",
                "500k",
                "6 (1 + 2 + 3)",
                "2.00",
                "4000000/4000000",
                "0"
            ]
        );
        let markdown = table.markdown();
        assert!(markdown.starts_with("| system | samples/s |"), "{markdown}");
        assert_eq!(markdown.lines().count(), 5);
        // "victoria-metrics" sets the first column's width (16), then two spaces, then the
        // right-aligned "samples/s" column (9) ends at the same place on every line.
        let aligned = table.aligned();
        assert_eq!(aligned.lines().count(), 4);
        for line in aligned.lines() {
            assert_eq!(&line[16..18], "  ", "{aligned}");
            assert_ne!(&line[26..27], " ", "{aligned}");
            assert_eq!(&line[27..29], "  ", "{aligned}");
        }
    }

    #[test]
    fn bar_names_unmet_targets_and_incomplete_phases() {
        let results = [
            result(PROMETHEUS, 20.0, 4_000_000, &[1]),
            result(VICTORIA_METRICS, 4.0, 4_000_000, &[1]),
            result(SKYVIEW_RF1, 8.0, 3_999_000, &[1]),
            result(SKYVIEW_RF3, 10.0, 4_000_000, &[1, 1, 1]),
        ];
        let lines = bar_lines(&results);
        assert_eq!(
            lines,
            [
                "skyview-rf1 vs VictoriaMetrics samples/s: 0.50x (bar >= 1.0x: NOT met)",
                "skyview-rf3 vs Prometheus single node samples/s: 2.00x (bar >= 1.0x: met)",
                "INCOMPLETE: skyview-rf1 stored 3999000 of 4000000 samples sent",
            ]
        );
    }

    #[test]
    fn without_peers_there_are_no_ratios() {
        let table = ingest_table(&[result(SKYVIEW_RF1, 8.0, 4_000_000, &[1])]);
        assert_eq!(table.rows[0][2], "-");
        assert_eq!(table.rows[0][3], "-");
        assert!(bar_lines(&[result(SKYVIEW_RF1, 8.0, 4_000_000, &[1])]).is_empty());
    }
}
