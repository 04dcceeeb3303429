//! The query benchmark's report, in Markdown for docs/benchmarks.md: a table with one row per
//! query (both systems' p50 and p99, Skyview's ratios against Prometheus, the bar's verdict),
//! then the geometric mean of the p50 ratios, how many queries pass the bar, how many answered
//! equally, and the CPU each system spent. Rendering only; the arithmetic is in
//! [`crate::stats`].

use std::fmt::Write as _;
use std::time::Duration;

use crate::stats::{geometric_mean, Comparison, P50_BAR};

/// Everything the run reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// What was measured, on what (data size, queries, cluster shape, cores).
    pub heading: String,
    pub rows: Vec<Row>,
    /// Queries whose warm-up answers were equal on both systems.
    pub answers_equal: usize,
    /// CPU-seconds of each system's processes over the timed rounds.
    pub cpu: CpuFigure,
}

/// CPU-seconds (user + system) of each system's processes over the timed rounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuFigure {
    /// Wall-clock length of the timed rounds.
    pub wall_seconds: f64,
    pub prometheus: f64,
    pub skyview: f64,
}

impl Report {
    /// The heading, the table and the bar, as Markdown for docs/benchmarks.md.
    pub fn markdown(&self) -> String {
        let mut text = format!(
            "{}

{}
",
            self.heading,
            markdown_table(&self.rows)
        );
        for line in bar_lines(&self.rows) {
            let _ = writeln!(text, "- {line}");
        }
        let _ = writeln!(
            text,
            "- answers equal: {}/{} (the warm-up lists the differences)",
            self.answers_equal,
            self.rows.len()
        );
        let cpu = &self.cpu;
        let cpu_ratio = (cpu.prometheus > 0.0).then(|| cpu.skyview / cpu.prometheus);
        let _ = writeln!(
            text,
            "- CPU over the {:.1} s of timed rounds: Prometheus {:.2} s, Skyview {:.2} s \
             (Skyview/Prometheus {})",
            cpu.wall_seconds,
            cpu.prometheus,
            cpu.skyview,
            times(cpu_ratio)
        );
        text
    }
}

/// One query's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub expr: String,
    pub comparison: Comparison,
}

/// The table, header and separator included, every line ending in a newline.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut table = format!(
        "| query | Prometheus p50 ms | Prometheus p99 ms | Skyview p50 ms | Skyview p99 ms \
         | p50 ratio | p99 ratio | p50 <= {P50_BAR:.1}x |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
    );
    for row in rows {
        let c = &row.comparison;
        let _ = writeln!(
            table,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            row.expr.replace('|', "\\|"),
            ms(c.prometheus.p50),
            ms(c.prometheus.p99),
            ms(c.skyview.p50),
            ms(c.skyview.p99),
            times(c.p50_ratio()),
            times(c.p99_ratio()),
            if c.meets_bar() { "pass" } else { "FAIL" }
        );
    }
    table
}

/// The geometric mean of the p50 ratios and the bar's verdict.
pub fn bar_lines(rows: &[Row]) -> Vec<String> {
    let ratios: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.comparison.p50_ratio())
        .collect();
    let passing = rows.iter().filter(|r| r.comparison.meets_bar()).count();
    let mean = if ratios.len() == rows.len() {
        geometric_mean(&ratios)
    } else {
        None
    };
    vec![
        format!(
            "geometric mean of the p50 ratios (Skyview/Prometheus): {}",
            times(mean)
        ),
        format!(
            "bar p50 <= {P50_BAR:.1}x Prometheus: {passing}/{} queries pass",
            rows.len()
        ),
    ]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Latency;

    fn row(expr: &str, prometheus_ms: [u64; 2], skyview_ms: [u64; 2]) -> Row {
        let latency = |[p50, p99]: [u64; 2]| Latency {
            p50: Duration::from_millis(p50),
            p99: Duration::from_millis(p99),
        };
        Row {
            expr: expr.to_owned(),
            comparison: Comparison {
                prometheus: latency(prometheus_ms),
                skyview: latency(skyview_ms),
            },
        }
    }

    #[test]
    fn renders_rows_with_ratios_and_verdicts() {
        let rows = [
            row("sum(rate(x[5m]))", [20, 40], [10, 60]),
            row("a or b | c", [10, 10], [30, 30]),
        ];
        let table = markdown_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[0].starts_with("| query | Prometheus p50 ms"),
            "{table}"
        );
        assert_eq!(
            lines[2],
            "| `sum(rate(x[5m]))` | 20.0 | 40.0 | 10.0 | 60.0 | 0.50x | 1.50x | pass |"
        );
        assert!(lines[3].starts_with("| `a or b \\| c` |"), "{table}");
        assert!(lines[3].ends_with("| 3.00x | 3.00x | FAIL |"), "{table}");
        let bar = bar_lines(&rows);
        // sqrt(0.5 * 3) = 1.22
        assert_eq!(
            bar,
            [
                "geometric mean of the p50 ratios (Skyview/Prometheus): 1.22x",
                "bar p50 <= 1.0x Prometheus: 1/2 queries pass",
            ]
        );
    }

    #[test]
    fn the_report_ends_with_the_bar_the_answers_and_the_cpu() {
        let report = Report {
            heading: "Query latency".to_owned(),
            rows: vec![row("up", [10, 20], [5, 10])],
            answers_equal: 1,
            cpu: CpuFigure {
                wall_seconds: 12.0,
                prometheus: 4.0,
                skyview: 2.0,
            },
        };
        let text = report.markdown();
        assert!(text.starts_with("Query latency\n\n| query |"), "{text}");
        let tail: Vec<&str> = text.lines().rev().take(4).collect();
        assert_eq!(
            tail,
            [
                "- CPU over the 12.0 s of timed rounds: Prometheus 4.00 s, Skyview 2.00 s \
                 (Skyview/Prometheus 0.50x)",
                "- answers equal: 1/1 (the warm-up lists the differences)",
                "- bar p50 <= 1.0x Prometheus: 1/1 queries pass",
                "- geometric mean of the p50 ratios (Skyview/Prometheus): 0.50x",
            ]
        );
    }
}
