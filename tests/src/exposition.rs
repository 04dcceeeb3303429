//! Reading Prometheus text exposition in tests: the agent's `/metrics` and node_exporter's.
//!
//! Only what the assertions need: split each sample line into name, labels and value, then sum
//! the samples of one metric whose labels include given pairs. Label values are parsed as
//! quoted strings with escapes, so a `,` or `}` inside a value (URLs do that) cannot confuse it.

use std::collections::BTreeMap;

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleLine {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Every sample line of `text`; lines that do not parse are skipped (comments, blanks).
pub fn sample_lines(text: &str) -> Vec<SampleLine> {
    text.lines().filter_map(parse_line).collect()
}

/// The sum of the samples named `name` whose labels include every `(label, value)` of
/// `matchers`, or `None` when no sample matches (the metric is absent).
pub fn sum_matching(text: &str, name: &str, matchers: &[(&str, &str)]) -> Option<f64> {
    sample_lines(text)
        .into_iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            matchers
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .reduce(|a, b| a + b)
}

fn parse_line(line: &str) -> Option<SampleLine> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        let (parsed, remaining) = parse_labels(after_brace)?;
        labels = parsed;
        rest = remaining;
    }
    let value_text = rest.split_whitespace().next()?;
    let value = match value_text {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(SampleLine {
        name,
        labels,
        value,
    })
}

/// Parses `a="x",b="y"}` and returns the labels and the text after `}`.
fn parse_labels(mut s: &str) -> Option<(BTreeMap<String, String>, &str)> {
    let mut labels = BTreeMap::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Some((labels, rest));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim().to_owned();
        let mut chars = s[eq + 1..].trim_start().char_indices();
        let quote_offset = s.len() - s[eq + 1..].trim_start().len();
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut value = String::new();
        let mut end = None;
        let mut escaped = false;
        for (i, c) in chars {
            match (escaped, c) {
                (true, 'n') => {
                    value.push('\n');
                    escaped = false;
                }
                (true, c) => {
                    value.push(c);
                    escaped = false;
                }
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(quote_offset + i + 1);
                    break;
                }
                (false, c) => value.push(c),
            }
        }
        labels.insert(key, value);
        s = s[end?..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP skyview_agent_scrapes_total Scrapes attempted
# TYPE skyview_agent_scrapes_total counter
skyview_agent_scrapes_total{job="node"} 7
skyview_agent_scrapes_total{job="synthetic"} 3
skyview_agent_remote_dropped_samples_total{remote_name="a",url="http://x/y?a=1,b=\"}\"",reason="http_4xx"} 12
skyview_agent_wal_corruptions_total 1
up 1 1700000000000
"#;

    #[test]
    fn sums_matching_samples() {
        assert_eq!(
            sum_matching(TEXT, "skyview_agent_scrapes_total", &[]),
            Some(10.0)
        );
        assert_eq!(
            sum_matching(TEXT, "skyview_agent_scrapes_total", &[("job", "node")]),
            Some(7.0)
        );
        assert_eq!(
            sum_matching(TEXT, "skyview_agent_wal_corruptions_total", &[]),
            Some(1.0)
        );
        assert_eq!(sum_matching(TEXT, "up", &[]), Some(1.0));
    }

    #[test]
    fn quoted_label_values_may_hold_separators() {
        let got = sum_matching(
            TEXT,
            "skyview_agent_remote_dropped_samples_total",
            &[("reason", "http_4xx")],
        );
        assert_eq!(got, Some(12.0));
        let line = sample_lines(TEXT)
            .into_iter()
            .find(|s| s.name.contains("dropped"))
            .unwrap();
        assert_eq!(line.labels["url"], r#"http://x/y?a=1,b="}""#);
    }

    #[test]
    fn an_absent_metric_is_none() {
        assert_eq!(
            sum_matching(TEXT, "skyview_agent_scrapes_total", &[("job", "nope")]),
            None
        );
        assert_eq!(sum_matching(TEXT, "missing_total", &[]), None);
    }
}
