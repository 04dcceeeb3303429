//! The agent benchmark's figures and the table it prints.
//!
//! Every figure is reported next to its ratio against vmagent, measured in the same run, since
//! absolute numbers on a shared machine mean little (docs/benchmarks.md). Kept apart from the
//! benchmark binary so the arithmetic is unit-tested.

use std::fmt::Write as _;

/// What one agent's phase measured.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseResult {
    /// `skyview`, `prometheus-agent` or `vmagent`.
    pub agent: String,
    /// Length of the measured window, in minutes.
    pub minutes: f64,
    /// CPU-seconds (user + system) the agent used in the window.
    pub cpu_seconds: f64,
    /// `VmHWM` at the end of the window.
    pub peak_rss_bytes: u64,
    /// Samples the targets served during the whole phase (scrapes x series per target).
    pub samples_served: u64,
    /// Samples of the targets' series present at the phase's sink after draining.
    pub samples_delivered: u64,
}

impl PhaseResult {
    pub fn cpu_seconds_per_minute(&self) -> f64 {
        self.cpu_seconds / self.minutes
    }

    pub fn peak_rss_mb(&self) -> f64 {
        self.peak_rss_bytes as f64 / 1e6
    }

    /// Delivered over served; 0 when nothing was served.
    pub fn delivered_ratio(&self) -> f64 {
        if self.samples_served == 0 {
            0.0
        } else {
            self.samples_delivered as f64 / self.samples_served as f64
        }
    }
}

/// The results as a Markdown table, with CPU and RSS ratios against the `vmagent` row (`-`
/// when vmagent was not run).
pub fn render_table(results: &[PhaseResult]) -> String {
    let reference = results.iter().find(|r| r.agent == "vmagent");
    let ratio = |value: f64, base: Option<f64>| match base {
        Some(base) if base > 0.0 => format!("{:.2}x", value / base),
        _ => "-".to_owned(),
    };
    let mut out = String::new();
    out.push_str("| agent | CPU-s/min | peak RSS (MB) | samples served | samples delivered | delivered/served | CPU vs vmagent | RSS vs vmagent |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.1} | {} | {} | {:.4} | {} | {} |",
            r.agent,
            r.cpu_seconds_per_minute(),
            r.peak_rss_mb(),
            r.samples_served,
            r.samples_delivered,
            r.delivered_ratio(),
            ratio(
                r.cpu_seconds_per_minute(),
                reference.map(PhaseResult::cpu_seconds_per_minute)
            ),
            ratio(r.peak_rss_mb(), reference.map(PhaseResult::peak_rss_mb)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(agent: &str, cpu_seconds: f64, rss_mb: u64, delivered: u64) -> PhaseResult {
        PhaseResult {
            agent: agent.to_owned(),
            minutes: 2.0,
            cpu_seconds,
            peak_rss_bytes: rss_mb * 1_000_000,
            samples_served: 1_000,
            samples_delivered: delivered,
        }
    }

    #[test]
    fn computes_rates_and_ratios_against_vmagent() {
        let table = render_table(&[
            result("skyview", 3.0, 50, 1_000),
            result("vmagent", 4.0, 100, 990),
        ]);
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[2],
            "| skyview | 1.50 | 50.0 | 1000 | 1000 | 1.0000 | 0.75x | 0.50x |"
        );
        assert_eq!(
            rows[3],
            "| vmagent | 2.00 | 100.0 | 1000 | 990 | 0.9900 | 1.00x | 1.00x |"
        );
    }

    #[test]
    fn without_vmagent_ratios_are_dashes() {
        let table = render_table(&[result("skyview", 3.0, 50, 0)]);
        assert!(
            table
                .lines()
                .nth(2)
                .unwrap()
                .ends_with("| 0.0000 | - | - |"),
            "{table}"
        );
    }
}
