//! Checks a relabel rule the way Prometheus 2.42 does when it loads one
//! (`relabel.Config.Validate`), so a rule Prometheus rejects is rejected here too, with the same
//! reason.

use super::config::{Action, AnchoredRegex, RelabelConfig};
use super::label_name::{is_valid_label_name, is_valid_label_template};

/// Why a relabel rule is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RelabelConfigError {
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    #[error("relabel configuration for {action} action requires 'target_label' value")]
    MissingTargetLabel { action: &'static str },
    #[error("{target_label:?} is invalid 'target_label' for {action} action")]
    InvalidTargetLabel {
        target_label: String,
        action: &'static str,
    },
    #[error("'replacement' can not be set for {action} action")]
    ReplacementNotAllowed { action: &'static str },
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement {
        replacement: String,
        action: &'static str,
    },
    #[error(
        "{action} action requires only 'source_labels' and `target_label`, and no other fields"
    )]
    OnlySourceAndTarget { action: &'static str },
    #[error("{action} action requires only 'regex', and no other fields")]
    OnlyRegex { action: &'static str },
    #[error("{name:?} is not a valid label name in 'source_labels'")]
    InvalidSourceLabel { name: String },
}

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REPLACEMENT: &str = "$1";

impl RelabelConfig {
    /// Checks the rule as Prometheus does at load time.
    pub fn validate(&self) -> Result<(), RelabelConfigError> {
        use Action::*;
        let action = self.action.as_str();
        if let Some(name) = self.source_labels.iter().find(|n| !is_valid_label_name(n)) {
            return Err(RelabelConfigError::InvalidSourceLabel { name: name.clone() });
        }
        if self.action == HashMod && self.modulus == 0 {
            return Err(RelabelConfigError::ZeroModulus);
        }
        let writes_target = matches!(
            self.action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if writes_target && self.target_label.is_empty() {
            return Err(RelabelConfigError::MissingTargetLabel { action });
        }
        // Prometheus 2.42 checks these targets against its template pattern (so `$1` passes,
        // verified with promtool 2.42); only hashmod needs a plain label name.
        let target_ok = match self.action {
            Replace | Lowercase | Uppercase | KeepEqual | DropEqual => {
                is_valid_label_template(&self.target_label)
            }
            HashMod => is_valid_label_name(&self.target_label),
            _ => true,
        };
        if !target_ok {
            return Err(RelabelConfigError::InvalidTargetLabel {
                target_label: self.target_label.clone(),
                action,
            });
        }
        let fixed_replacement =
            matches!(self.action, Lowercase | Uppercase | KeepEqual | DropEqual);
        if fixed_replacement && self.replacement != DEFAULT_REPLACEMENT {
            return Err(RelabelConfigError::ReplacementNotAllowed { action });
        }
        if self.action == LabelMap && !is_valid_label_template(&self.replacement) {
            return Err(RelabelConfigError::InvalidReplacement {
                replacement: self.replacement.clone(),
                action,
            });
        }
        if matches!(self.action, KeepEqual | DropEqual)
            && (self.regex != AnchoredRegex::default()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelConfigError::OnlySourceAndTarget { action });
        }
        if matches!(self.action, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelConfigError::OnlyRegex { action });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Result<(), RelabelConfigError> {
        serde_yaml_ng::from_str::<RelabelConfig>(yaml)
            .unwrap()
            .validate()
    }

    #[test]
    fn accepts_well_formed_rules() {
        for ok in [
            "{source_labels: [a], target_label: b}",
            "{source_labels: [a], target_label: '${1}_x', regex: '(.*)'}",
            "{source_labels: [a], action: keep, regex: x}",
            "{source_labels: [a], action: hashmod, modulus: 4, target_label: h}",
            "{action: labelmap, regex: '__meta_(.+)'}",
            "{action: labeldrop, regex: tmp_.*}",
            "{source_labels: [a], target_label: b, action: keepequal}",
            "{source_labels: [a], target_label: b, action: lowercase}",
            "{source_labels: [a], target_label: '$1', action: lowercase}",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        use RelabelConfigError::*;
        let cases = [
            (
                "{action: keepequal, target_label: 'a.b'}",
                InvalidTargetLabel {
                    target_label: "a.b".into(),
                    action: "keepequal",
                },
            ),
            (
                "{source_labels: [a]}",
                MissingTargetLabel { action: "replace" },
            ),
            ("{action: hashmod, target_label: h}", ZeroModulus),
            (
                "{action: hashmod, modulus: 2}",
                MissingTargetLabel { action: "hashmod" },
            ),
            (
                "{action: hashmod, modulus: 2, target_label: '$1'}",
                InvalidTargetLabel {
                    target_label: "$1".into(),
                    action: "hashmod",
                },
            ),
            (
                "{target_label: 'a-b'}",
                InvalidTargetLabel {
                    target_label: "a-b".into(),
                    action: "replace",
                },
            ),
            (
                "{action: lowercase}",
                MissingTargetLabel {
                    action: "lowercase",
                },
            ),
            (
                "{action: uppercase, target_label: u, replacement: x}",
                ReplacementNotAllowed {
                    action: "uppercase",
                },
            ),
            (
                "{action: keepequal, target_label: t, regex: x}",
                OnlySourceAndTarget {
                    action: "keepequal",
                },
            ),
            (
                "{action: dropequal, target_label: t, separator: ','}",
                OnlySourceAndTarget {
                    action: "dropequal",
                },
            ),
            (
                "{action: labelmap, replacement: 'a-$1'}",
                InvalidReplacement {
                    replacement: "a-$1".into(),
                    action: "labelmap",
                },
            ),
            (
                "{action: labeldrop, source_labels: [a]}",
                OnlyRegex {
                    action: "labeldrop",
                },
            ),
            (
                "{action: labelkeep, target_label: a}",
                OnlyRegex {
                    action: "labelkeep",
                },
            ),
            (
                "{source_labels: ['a.b'], target_label: c}",
                InvalidSourceLabel { name: "a.b".into() },
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(check(yaml), Err(want), "{yaml}");
        }
    }

    #[test]
    fn actions_parse_case_insensitively_and_unknown_ones_fail() {
        let rule: RelabelConfig = serde_yaml_ng::from_str("{action: LabelDrop, regex: x}").unwrap();
        assert_eq!(rule.action, Action::LabelDrop);
        assert!(serde_yaml_ng::from_str::<RelabelConfig>("{action: rename}").is_err());
    }
}
