//! Per-series label limits (`label_limit`, `label_name_length_limit`,
//! `label_value_length_limit`), checked like Prometheus's `verifyLabelLimits` on the final
//! labels of each new series; exceeding one fails the whole scrape. 0 means no limit. Value
//! length counts characters, not bytes, as Prometheus does.

use super::error::ScrapeError;
use crate::labels::Labels;

/// Longest metric name quoted in a limit error (Prometheus quotes `%.50s`).
const QUOTED: usize = 50;

/// The label limits of a scrape config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LabelLimits {
    pub label_limit: u64,
    pub name_length: u64,
    pub value_length: u64,
}

impl LabelLimits {
    pub fn check(&self, labels: &Labels) -> Result<(), ScrapeError> {
        let metric = || {
            labels
                .metric_name()
                .chars()
                .take(QUOTED)
                .collect::<String>()
        };
        if self.label_limit > 0 && labels.len() as u64 > self.label_limit {
            return Err(ScrapeError::LabelLimit {
                metric: metric(),
                labels: labels.len(),
                limit: self.label_limit,
            });
        }
        for l in labels {
            let length = l.name.len();
            if self.name_length > 0 && length as u64 > self.name_length {
                let name = l.name.chars().take(QUOTED).collect();
                let limit = self.name_length;
                return Err(ScrapeError::LabelNameLength {
                    metric: metric(),
                    name,
                    length,
                    limit,
                });
            }
            let length = l.value.chars().count();
            if self.value_length > 0 && length as u64 > self.value_length {
                let name = l.name.chars().take(QUOTED).collect();
                let limit = self.value_length;
                return Err(ScrapeError::LabelValueLength {
                    metric: metric(),
                    name,
                    length,
                    limit,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_labels_name_bytes_and_value_chars() {
        let labels = Labels::from_pairs([("__name__", "m"), ("job", "é€"), ("instance", "x")]);
        assert!(LabelLimits::default().check(&labels).is_ok());
        let limit = |l, n, v| LabelLimits {
            label_limit: l,
            name_length: n,
            value_length: v,
        };
        assert!(
            limit(3, 8, 2).check(&labels).is_ok(),
            "é€ is 2 characters, 5 bytes"
        );
        assert!(matches!(
            limit(2, 0, 0).check(&labels),
            Err(ScrapeError::LabelLimit {
                labels: 3,
                limit: 2,
                ..
            })
        ));
        assert!(matches!(
            limit(0, 7, 0).check(&labels),
            Err(ScrapeError::LabelNameLength { length: 8, .. })
        ));
        let err = limit(0, 0, 1).check(&labels).unwrap_err();
        assert!(
            matches!(&err, ScrapeError::LabelValueLength { name, length: 2, .. } if name == "job")
        );
        assert_eq!(err.reason(), "label_limit");
    }
}
