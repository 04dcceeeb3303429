//! Applies `relabel_configs` rules to a label set with Prometheus 2.42's semantics
//! (`model/relabel.Process`): rules run in order, each one sees the labels the previous one
//! left, and `keep`/`drop`/`keepequal`/`dropequal` stop processing by dropping the set.
//!
//! The builder form ([`relabel_builder`]) lets hot paths (metric relabelling of every scraped
//! series) reuse one allocation; [`relabel`] is the convenient form.

use md5::{Digest, Md5};

use super::config::{Action, RelabelConfig};
use super::expand::expand;
use super::label_name::is_valid_label_name;
use crate::labels::{Labels, LabelsBuilder};

/// Relabels `labels`; `None` means a rule dropped the set.
pub fn relabel(labels: &Labels, rules: &[RelabelConfig]) -> Option<Labels> {
    if rules.is_empty() {
        return Some(labels.clone());
    }
    let mut builder = labels.to_builder();
    relabel_builder(&mut builder, rules).then(|| builder.build())
}

/// Relabels the labels held by `builder` in place; false means a rule dropped the set (the
/// builder's content is then unspecified).
pub fn relabel_builder(builder: &mut LabelsBuilder, rules: &[RelabelConfig]) -> bool {
    let mut value = String::new();
    rules.iter().all(|rule| apply(builder, rule, &mut value))
}

/// Applies one rule; `scratch` holds the joined source values.
fn apply(lb: &mut LabelsBuilder, rule: &RelabelConfig, scratch: &mut String) -> bool {
    scratch.clear();
    for (i, name) in rule.source_labels.iter().enumerate() {
        if i > 0 {
            scratch.push_str(&rule.separator);
        }
        scratch.push_str(lb.get(name).unwrap_or(""));
    }
    let val = scratch.as_str();
    let regex = rule.regex.regex();
    match rule.action {
        Action::Drop => return !regex.is_match(val),
        Action::Keep => return regex.is_match(val),
        Action::DropEqual => return lb.get(&rule.target_label).unwrap_or("") != val,
        Action::KeepEqual => return lb.get(&rule.target_label).unwrap_or("") == val,
        Action::Replace => {
            // No match: no replacement takes place.
            let Some(caps) = regex.captures(val) else {
                return true;
            };
            let mut target = String::new();
            expand(&rule.target_label, regex, &caps, &mut target);
            if !is_valid_label_name(&target) {
                return true;
            }
            let mut res = String::new();
            expand(&rule.replacement, regex, &caps, &mut res);
            if res.is_empty() {
                lb.del(&target);
            } else {
                lb.set(target, res);
            }
        }
        Action::Lowercase => lb.set(rule.target_label.as_str(), val.to_lowercase()),
        Action::Uppercase => lb.set(rule.target_label.as_str(), val.to_uppercase()),
        Action::HashMod => {
            let modulus = rule.modulus.max(1);
            lb.set(
                rule.target_label.as_str(),
                (hash_sum64(val) % modulus).to_string(),
            );
        }
        Action::LabelMap => {
            let mapped: Vec<(String, String)> = lb
                .iter()
                .filter_map(|l| {
                    let caps = regex.captures(&l.name)?;
                    let mut name = String::new();
                    expand(&rule.replacement, regex, &caps, &mut name);
                    Some((name, l.value.clone()))
                })
                .collect();
            for (name, value) in mapped {
                lb.set(name, value);
            }
        }
        Action::LabelDrop => lb.retain(|l| !regex.is_match(&l.name)),
        Action::LabelKeep => lb.retain(|l| regex.is_match(&l.name)),
    }
    true
}

/// Prometheus's hashmod hash: the MD5 of the value, read as a big-endian `u64` from its last 8
/// bytes (Go's original `sum64` shifted the first 8 bytes out of a 64-bit word).
fn hash_sum64(value: &str) -> u64 {
    let digest = Md5::digest(value.as_bytes());
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relabel::AnchoredRegex;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    fn rule(yaml: &str) -> RelabelConfig {
        let rule: RelabelConfig = serde_yaml_ng::from_str(yaml).unwrap();
        rule.validate().unwrap();
        rule
    }

    #[test]
    fn replace_defaults_copy_the_joined_sources() {
        let r = rule("{source_labels: [a, b], target_label: c}");
        let out = relabel(&labels(&[("a", "x"), ("b", "y")]), &[r]).unwrap();
        assert_eq!(out.get("c"), Some("x;y"));
    }

    #[test]
    fn replace_missing_sources_are_empty_strings() {
        let r = rule("{source_labels: [a, missing, b], separator: '|', target_label: c}");
        let out = relabel(&labels(&[("a", "x"), ("b", "y")]), &[r]).unwrap();
        assert_eq!(out.get("c"), Some("x||y"));
    }

    #[test]
    fn replace_with_groups_and_templated_target() {
        let r = rule(
            "{source_labels: [__address__], regex: '([^:]+):(\\d+)', target_label: 'port_$1', replacement: '${2}0'}",
        );
        let out = relabel(&labels(&[("__address__", "host:91")]), &[r]).unwrap();
        assert_eq!(out.get("port_host"), Some("910"));
    }

    #[test]
    fn replace_without_match_changes_nothing() {
        let r = rule("{source_labels: [a], regex: 'z', target_label: b, replacement: new}");
        let input = labels(&[("a", "x"), ("b", "old")]);
        assert_eq!(relabel(&input, &[r]).unwrap(), input);
    }

    #[test]
    fn replace_empty_result_deletes_the_target() {
        let r = rule("{source_labels: [a], regex: 'x(.*)', target_label: b}");
        let out = relabel(&labels(&[("a", "x"), ("b", "old")]), &[r]).unwrap();
        assert_eq!(out.get("b"), None);
        assert_eq!(out.get("a"), Some("x"));
    }

    #[test]
    fn replace_with_invalid_expanded_target_is_skipped() {
        let r = rule("{source_labels: [a], regex: '(.*)', target_label: '$1', replacement: v}");
        let input = labels(&[("a", "1bad")]);
        assert_eq!(relabel(&input, &[r]).unwrap(), input);
    }

    #[test]
    fn replace_constant_on_empty_source_sets_a_label() {
        // The common `target_label: env, replacement: prod` idiom with no source labels.
        let r = rule("{target_label: env, replacement: prod}");
        let out = relabel(&labels(&[("a", "1")]), &[r]).unwrap();
        assert_eq!(out.get("env"), Some("prod"));
    }

    #[test]
    fn keep_and_drop() {
        let keep = rule("{source_labels: [job], regex: 'node|api', action: keep}");
        let drop = rule("{source_labels: [job], regex: 'node', action: drop}");
        assert!(relabel(&labels(&[("job", "node")]), std::slice::from_ref(&keep)).is_some());
        assert!(relabel(&labels(&[("job", "nodes")]), std::slice::from_ref(&keep)).is_none());
        assert!(relabel(&labels(&[("job", "node")]), std::slice::from_ref(&drop)).is_none());
        assert!(relabel(&labels(&[("job", "api")]), &[drop]).is_some());
        // A missing source label is "", which the default regex `(.*)` matches.
        assert!(relabel(&labels(&[]), &[rule("{source_labels: [x], action: keep}")]).is_some());
    }

    #[test]
    fn keepequal_and_dropequal_compare_with_the_target_label() {
        let keep = rule("{source_labels: [a], target_label: b, action: keepequal}");
        let drop = rule("{source_labels: [a], target_label: b, action: dropequal}");
        let same = labels(&[("a", "1"), ("b", "1")]);
        let differ = labels(&[("a", "1"), ("b", "2")]);
        assert!(relabel(&same, std::slice::from_ref(&keep)).is_some());
        assert!(relabel(&differ, std::slice::from_ref(&keep)).is_none());
        assert!(relabel(&same, std::slice::from_ref(&drop)).is_none());
        assert!(relabel(&differ, &[drop]).is_some());
        // Both missing: "" == "".
        assert!(relabel(&labels(&[]), &[keep]).is_some());
    }

    #[test]
    fn hashmod_matches_prometheus() {
        // The expected value is the one in Prometheus's own relabel tests.
        let r = rule("{source_labels: [c], modulus: 1000, target_label: d, action: hashmod}");
        let out = relabel(&labels(&[("a", "foo"), ("c", "baz")]), &[r]).unwrap();
        assert_eq!(out.get("d"), Some("976"));
    }

    #[test]
    fn labelmap_copies_matching_names() {
        let r = rule("{regex: '__meta_(.+)', replacement: 'm_$1', action: labelmap}");
        let input = labels(&[("__meta_zone", "eu"), ("__meta_rack", "r1"), ("a", "1")]);
        let out = relabel(&input, &[r]).unwrap();
        assert_eq!(out.get("m_zone"), Some("eu"));
        assert_eq!(out.get("m_rack"), Some("r1"));
        assert_eq!(
            out.get("__meta_zone"),
            Some("eu"),
            "labelmap copies, it does not move"
        );
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn labeldrop_and_labelkeep() {
        let input = labels(&[("__name__", "up"), ("a", "1"), ("b", "2"), ("ab", "3")]);
        let drop = rule("{regex: 'a.*', action: labeldrop}");
        let keep = rule("{regex: '__name__|b', action: labelkeep}");
        let names = |l: Labels| l.iter().map(|l| l.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(relabel(&input, &[drop]).unwrap()), ["__name__", "b"]);
        assert_eq!(names(relabel(&input, &[keep]).unwrap()), ["__name__", "b"]);
    }

    #[test]
    fn lowercase_and_uppercase() {
        let lower = rule("{source_labels: [a], target_label: l, action: lowercase}");
        let upper = rule("{source_labels: [a], target_label: u, action: uppercase}");
        let out = relabel(&labels(&[("a", "MiXed")]), &[lower, upper]).unwrap();
        assert_eq!(out.get("l"), Some("mixed"));
        assert_eq!(out.get("u"), Some("MIXED"));
    }

    #[test]
    fn rules_see_the_previous_rules_output_and_stop_on_drop() {
        let rules = [
            rule("{source_labels: [a], target_label: b}"),
            rule("{source_labels: [b], regex: 'x', action: drop}"),
            rule("{target_label: never, replacement: set}"),
        ];
        assert!(relabel(&labels(&[("a", "x")]), &rules).is_none());
        let out = relabel(&labels(&[("a", "y")]), &rules).unwrap();
        assert_eq!(out.get("never"), Some("set"));
    }

    #[test]
    fn regex_is_anchored() {
        let mut r = rule("{source_labels: [a], action: keep}");
        r.regex = AnchoredRegex::new("o").unwrap();
        assert!(relabel(&labels(&[("a", "foo")]), &[r]).is_none());
    }
}
