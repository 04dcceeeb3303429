//! The metric metadata of a remote-write request (`WriteRequest.metadata`), checked and turned
//! into what nodes keep ([`skyview_raft::metadata`]).
//!
//! An entry needs a metric family name (Prometheus's metric name rule), a known type, and help
//! and unit no longer than a label value may be. Invalid entries are left out and the first
//! one is named in a 400, after the rest of the request (samples and valid entries) is stored:
//! metadata describes series, so a bad description must not cost the samples it came with.

use skyview_raft::metadata::MetricMetadata;

use super::limits::ReceiverLimits;
use super::validate::is_metric_name;
use crate::remote_write::{MetricMetadata as WireMetadata, MetricType};

/// The valid entries of a request, and the reason the first invalid one was refused.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CheckedMetadata {
    pub entries: Vec<MetricMetadata>,
    pub first_invalid: Option<String>,
}

/// Checks every entry of `metadata`.
pub fn check_metadata(metadata: Vec<WireMetadata>, limits: &ReceiverLimits) -> CheckedMetadata {
    let mut checked = CheckedMetadata::default();
    for entry in metadata {
        match check_entry(entry, limits) {
            Ok(entry) => checked.entries.push(entry),
            Err(reason) => {
                checked.first_invalid.get_or_insert(reason);
            }
        }
    }
    checked
}

fn check_entry(entry: WireMetadata, limits: &ReceiverLimits) -> Result<MetricMetadata, String> {
    let family = entry.metric_family_name;
    if !is_metric_name(&family) {
        return Err(format!(
            "invalid metadata: metric family name {family:?} must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        ));
    }
    let kind = match MetricType::try_from(entry.r#type) {
        Ok(MetricType::Unknown) => "unknown",
        Ok(MetricType::Counter) => "counter",
        Ok(MetricType::Gauge) => "gauge",
        Ok(MetricType::Histogram) => "histogram",
        Ok(MetricType::GaugeHistogram) => "gaugehistogram",
        Ok(MetricType::Summary) => "summary",
        Ok(MetricType::Info) => "info",
        Ok(MetricType::StateSet) => "stateset",
        Err(_) => {
            return Err(format!(
                "invalid metadata of {family:?}: unknown metric type {}",
                entry.r#type
            ))
        }
    };
    for (field, value) in [("help", &entry.help), ("unit", &entry.unit)] {
        if value.len() > limits.max_label_value_len {
            return Err(format!(
                "invalid metadata of {family:?}: {field} is {} bytes, above the limit of {} bytes",
                value.len(),
                limits.max_label_value_len
            ));
        }
    }
    Ok(MetricMetadata {
        family,
        kind: kind.to_owned(),
        help: entry.help,
        unit: entry.unit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(family: &str, kind: i32, help: &str) -> WireMetadata {
        WireMetadata {
            r#type: kind,
            metric_family_name: family.into(),
            help: help.into(),
            unit: String::new(),
        }
    }

    #[test]
    fn valid_entries_are_kept_and_the_first_invalid_one_named() {
        let limits = ReceiverLimits::default();
        let checked = check_metadata(
            vec![
                wire(
                    "http_requests_total",
                    MetricType::Counter as i32,
                    "Requests.",
                ),
                wire("1bad", MetricType::Gauge as i32, ""),
                wire("temp", 42, ""),
                wire("lat", MetricType::GaugeHistogram as i32, ""),
                wire(
                    "long",
                    MetricType::Gauge as i32,
                    &"x".repeat(limits.max_label_value_len + 1),
                ),
            ],
            &limits,
        );
        let kinds: Vec<(&str, &str)> = checked
            .entries
            .iter()
            .map(|e| (e.family.as_str(), e.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("http_requests_total", "counter"),
                ("lat", "gaugehistogram")
            ]
        );
        let reason = checked.first_invalid.unwrap();
        assert!(reason.contains("\"1bad\""), "{reason}");
        assert_eq!(check_metadata(vec![], &limits), CheckedMetadata::default());
        let reasons = [
            check_metadata(vec![wire("temp", 42, "")], &limits),
            check_metadata(vec![wire("long", 0, &"x".repeat(3000))], &limits),
        ];
        assert!(reasons[0]
            .first_invalid
            .as_ref()
            .unwrap()
            .contains("unknown metric type 42"));
        assert!(reasons[1]
            .first_invalid
            .as_ref()
            .unwrap()
            .contains("help is 3000 bytes"));
    }
}
