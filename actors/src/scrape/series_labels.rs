//! The final labels of a series seen for the first time (a scrape-cache miss): the exposed
//! labels, checked for duplicates, merged with the target's labels, passed through
//! `metric_relabel_configs`, then validated and checked against the label limits, in
//! Prometheus's order. Any failure fails the whole scrape, as in Prometheus.

use std::borrow::Cow;

use super::error::ScrapeError;
use super::label_merge::merge_target_labels;
use super::settings::ScrapeSettings;
use crate::exposition::{is_valid_metric_name, Series};
use crate::labels::{Labels, METRIC_NAME};
use crate::relabel::{is_valid_label_name, relabel_builder};

/// Longest series text quoted in an error.
const QUOTED: usize = 200;

/// `Ok(None)` when metric relabelling dropped the series.
pub fn series_labels(
    series: &Series<'_>,
    target: &Labels,
    settings: &ScrapeSettings,
) -> Result<Option<Labels>, ScrapeError> {
    let mut exposed: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(8);
    exposed.push((METRIC_NAME, Cow::Borrowed(series.name)));
    exposed.extend(series.labels());
    let mut names: Vec<&str> = exposed.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(ScrapeError::DuplicateLabel {
            name: w[0].to_owned(),
            series: quote(&String::from_utf8_lossy(series.key)),
        });
    }
    let pairs: Vec<(&str, &str)> = exposed.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    let mut builder = merge_target_labels(&pairs, target, settings.honor_labels);
    if !relabel_builder(&mut builder, &settings.metric_relabel_configs) {
        return Ok(None);
    }
    let labels = builder.build();
    if labels.is_empty() {
        return Ok(None);
    }
    let name = labels.metric_name();
    if name.is_empty() {
        return Err(ScrapeError::MissingMetricName {
            series: quote(&labels.to_string()),
        });
    }
    if !is_valid_metric_name(name) || !labels.iter().all(|l| is_valid_label_name(&l.name)) {
        return Err(ScrapeError::InvalidSeries {
            series: quote(&labels.to_string()),
        });
    }
    settings.label_limits.check(&labels)?;
    Ok(Some(labels))
}

fn quote(s: &str) -> String {
    s.chars().take(QUOTED).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GlobalConfig, ScrapeConfig};
    use crate::exposition::{Entry, Format, Parser};

    fn settings(yaml: &str) -> std::sync::Arc<ScrapeSettings> {
        let sc: ScrapeConfig = serde_yaml_ng::from_str(yaml).unwrap();
        ScrapeSettings::from_config(&sc, &GlobalConfig::default())
    }

    fn labels_of(line: &str, yaml: &str) -> Result<Option<String>, ScrapeError> {
        let Some(Ok(Entry::Series(s))) =
            Parser::new(line.as_bytes(), Format::PrometheusText).next()
        else {
            panic!("not a series: {line}")
        };
        let target = Labels::from_pairs([("job", "j"), ("instance", "h:1")]);
        Ok(series_labels(&s, &target, &settings(yaml))?.map(|l| l.to_string()))
    }

    #[test]
    fn builds_relabels_and_validates() {
        assert_eq!(
            labels_of("m{a=\"x\\\"y\",b=\"\"} 1", "{job_name: j}")
                .unwrap()
                .unwrap(),
            r#"m{a="x\"y", instance="h:1", job="j"}"#
        );
        let drop = "{job_name: j, metric_relabel_configs: [{source_labels: [__name__], regex: m, action: drop}]}";
        assert_eq!(labels_of("m 1", drop).unwrap(), None);
        assert_eq!(
            labels_of("other 1", drop).unwrap().unwrap(),
            r#"other{instance="h:1", job="j"}"#
        );
    }

    #[test]
    fn failures_fail_the_scrape() {
        let err = labels_of("m{a=\"1\",a=\"2\"} 1", "{job_name: j}").unwrap_err();
        assert!(
            matches!(&err, ScrapeError::DuplicateLabel { name, .. } if name == "a"),
            "{err}"
        );
        assert!(matches!(
            labels_of("m{__name__=\"x\"} 1", "{job_name: j}"),
            Err(ScrapeError::DuplicateLabel { .. })
        ));
        let unname =
            "{job_name: j, metric_relabel_configs: [{target_label: __name__, replacement: ''}]}";
        assert!(matches!(
            labels_of("m 1", unname),
            Err(ScrapeError::MissingMetricName { .. })
        ));
        let rename = "{job_name: j, metric_relabel_configs: [{target_label: __name__, replacement: '1bad'}]}";
        assert!(matches!(
            labels_of("m 1", rename),
            Err(ScrapeError::InvalidSeries { .. })
        ));
        let limited = "{job_name: j, label_limit: 3}";
        assert!(matches!(
            labels_of("m{a=\"1\"} 1", limited),
            Err(ScrapeError::LabelLimit { labels: 4, .. })
        ));
    }
}
