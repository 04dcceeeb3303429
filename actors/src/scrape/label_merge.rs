//! Combining a target's labels with the labels a series exposes, as Prometheus's
//! `mutateSampleLabels` does before metric relabelling.
//!
//! - `honor_labels: true`: exposed labels win. A target label is only added when the series
//!   does not expose that name at all; an exposed *empty* value counts as exposing it, so the
//!   label ends up absent (this is how an exporter removes e.g. `instance`).
//! - `honor_labels: false`: target labels win. An exposed label with a non-empty value that
//!   clashes is kept as `exported_<name>` (prefixed again while that name is taken too,
//!   shortest names resolved first); an exposed empty value is simply replaced.
//!
//! Empty values never survive into the result, as with Prometheus's label builder.

use crate::labels::{Labels, LabelsBuilder};

const EXPORTED_PREFIX: &str = "exported_";

/// Merges `target` labels into `exposed` (which includes `__name__`; names are unique).
pub fn merge_target_labels(
    exposed: &[(&str, &str)],
    target: &Labels,
    honor_labels: bool,
) -> LabelsBuilder {
    let mut builder = LabelsBuilder::with_capacity(exposed.len() + target.len());
    for (name, value) in exposed {
        builder.set(*name, *value);
    }
    let exposed_value = |name: &str| exposed.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    if honor_labels {
        for l in target {
            if exposed_value(&l.name).is_none() {
                builder.set(l.name.as_str(), l.value.as_str());
            }
        }
        return builder;
    }
    let mut conflicts: Vec<(String, &str)> = Vec::new();
    for l in target {
        if let Some(v) = exposed_value(&l.name).filter(|v| !v.is_empty()) {
            conflicts.push((l.name.clone(), v));
        }
        builder.set(l.name.as_str(), l.value.as_str());
    }
    conflicts.sort_by_key(|(name, _)| name.len());
    for i in 0..conflicts.len() {
        let mut name = std::mem::take(&mut conflicts[i].0);
        loop {
            name.insert_str(0, EXPORTED_PREFIX);
            let taken = exposed_value(&name).is_some()
                || target.get(&name).is_some()
                || conflicts[..i].iter().any(|(n, _)| *n == name);
            if !taken {
                break;
            }
        }
        conflicts[i].0 = name;
    }
    for (name, value) in conflicts {
        builder.set(name, value);
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(b: LabelsBuilder) -> Vec<(String, String)> {
        b.build()
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    }

    fn target() -> Labels {
        Labels::from_pairs([("job", "node"), ("instance", "h:9100")])
    }

    fn p(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn target_labels_are_added() {
        let got = pairs(merge_target_labels(
            &[("__name__", "up"), ("a", "1")],
            &target(),
            false,
        ));
        assert_eq!(
            got,
            p(&[
                ("__name__", "up"),
                ("a", "1"),
                ("instance", "h:9100"),
                ("job", "node")
            ])
        );
    }

    #[test]
    fn clashes_are_renamed_exported_unless_honored() {
        let exposed = [
            ("__name__", "m"),
            ("job", "app"),
            ("exported_job", "x"),
            ("instance", ""),
        ];
        let got = pairs(merge_target_labels(&exposed, &target(), false));
        assert_eq!(
            got,
            p(&[
                ("__name__", "m"),
                ("exported_exported_job", "app"),
                ("exported_job", "x"),
                ("instance", "h:9100"),
                ("job", "node"),
            ])
        );
        let got = pairs(merge_target_labels(&exposed, &target(), true));
        assert_eq!(
            got,
            p(&[("__name__", "m"), ("exported_job", "x"), ("job", "app")]),
            "empty instance removes it"
        );
    }

    #[test]
    fn renamed_clashes_do_not_collide_with_each_other() {
        let t = Labels::from_pairs([("a", "t1"), ("exported_a", "t2")]);
        let got = pairs(merge_target_labels(
            &[("__name__", "m"), ("a", "e1"), ("exported_a", "e2")],
            &t,
            false,
        ));
        assert_eq!(
            got,
            p(&[
                ("__name__", "m"),
                ("a", "t1"),
                ("exported_a", "t2"),
                ("exported_exported_a", "e1"),
                ("exported_exported_exported_a", "e2"),
            ])
        );
    }
}
