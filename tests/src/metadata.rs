//! Metric metadata: what a target declares (`# TYPE`, `# HELP`) and whether a receiver's
//! `/api/v1/metadata` serves it.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{ensure, Result};

use crate::wait::wait_until;

/// `family -> (type, help)` of every family named `prefix...` with a `# TYPE` and a `# HELP`
/// line whose help has no escapes (so it compares as written). The text format's `untyped` is
/// reported as `unknown`, as Prometheus does.
pub fn declared_metadata(text: &str, prefix: &str) -> BTreeMap<String, (String, String)> {
    let mut helps = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.splitn(4, ' ');
        let (Some("#"), Some(keyword), Some(family)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let rest = words.next().unwrap_or("").to_owned();
        match keyword {
            "HELP" if !rest.contains('\\') => helps.insert(family.to_owned(), rest),
            "TYPE" if rest == "untyped" => types.insert(family.to_owned(), "unknown".to_owned()),
            "TYPE" => types.insert(family.to_owned(), rest),
            _ => None,
        };
    }
    types
        .into_iter()
        .filter(|(family, _)| family.starts_with(prefix))
        .filter_map(|(family, kind)| {
            let help = helps.get(&family)?.clone();
            Some((family, (kind, help)))
        })
        .collect()
}

/// Waits until `metadata_url` (`.../api/v1/metadata`) serves every family of `families` with
/// its type and help; fails naming what is missing or different.
pub async fn wait_for_served_metadata(
    metadata_url: &str,
    families: &BTreeMap<String, (String, String)>,
    timeout: Duration,
) -> Result<()> {
    ensure!(
        families.len() > 10,
        "the target declares few families: {families:?}"
    );
    let served = wait_until("the declared metadata families served", timeout, || async {
        let body = reqwest::get(metadata_url).await?.bytes().await?;
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        let served = json["data"].as_object().cloned().unwrap_or_default();
        let missing: Vec<&String> = families
            .keys()
            .filter(|family| !served.contains_key(*family))
            .collect();
        ensure!(
            missing.is_empty(),
            "{metadata_url} serves metadata of {} families; {} of the declared ones are \
             missing, among them {:?}",
            served.len(),
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        Ok(Some(served))
    })
    .await?;
    for (family, (kind, help)) in families {
        let entries = &served[family];
        ensure!(
            entries.as_array().is_some_and(|entries| entries
                .iter()
                .any(|e| e["type"] == kind.as_str() && e["help"] == help.as_str())),
            "{family}: served {entries}, declared type {kind} help {help:?}"
        );
    }
    Ok(())
}
