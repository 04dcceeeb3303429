//! Metric metadata (type, help, unit per metric family) as remote-write senders send it, kept
//! in memory on the node that received it, as Mimir's ingesters keep it.
//!
//! Metadata is not replicated and not durable, on purpose: senders resend all of it
//! periodically (Prometheus every minute, `metadata_config.send_interval`), Prometheus itself
//! holds it only in its scrape caches, and it describes series rather than being data. So an
//! entry lives [`METADATA_TTL_MS`] after it was last received, and a query for metadata asks
//! every node ([`crate::node::Node::metadata`]) and merges their answers.
//!
//! Memory is bounded (invariant I6): at most [`MAX_ENTRIES_PER_TENANT`] entries per tenant;
//! further new entries are not kept until expired ones make room.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// How long an entry is kept after it was last received (Mimir's metadata retain period).
pub const METADATA_TTL_MS: i64 = 10 * 60 * 1000;
/// Most distinct entries kept per tenant.
pub const MAX_ENTRIES_PER_TENANT: usize = 100_000;

/// One metric family's metadata, as `/api/v1/metadata` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MetricMetadata {
    /// The metric family name (`http_requests_total`, `request_duration_seconds`).
    pub family: String,
    /// Prometheus's lower-case type name: `counter`, `gauge`, `histogram`,
    /// `gaugehistogram`, `summary`, `info`, `stateset` or `unknown`.
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// The node-local store: tenant -> entry -> when it was last received (ms).
#[derive(Debug, Default)]
pub struct MetadataStore {
    tenants: Mutex<HashMap<String, HashMap<MetricMetadata, i64>>>,
}

impl MetadataStore {
    /// Records `entries` for `tenant` as received at `now_ms`, first dropping the tenant's
    /// expired entries. Returns how many new entries did not fit under the tenant's limit.
    pub fn record(&self, tenant: &str, entries: Vec<MetricMetadata>, now_ms: i64) -> usize {
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = tenants.entry(tenant.to_owned()).or_default();
        held.retain(|_, seen| now_ms - *seen <= METADATA_TTL_MS);
        let mut refused = 0;
        for entry in entries {
            if let Some(seen) = held.get_mut(&entry) {
                *seen = (*seen).max(now_ms);
            } else if held.len() < MAX_ENTRIES_PER_TENANT {
                held.insert(entry, now_ms);
            } else {
                refused += 1;
            }
        }
        refused
    }

    /// `tenant`'s unexpired entries at `now_ms`, sorted.
    pub fn entries(&self, tenant: &str, now_ms: i64) -> Vec<MetricMetadata> {
        let tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut entries: Vec<MetricMetadata> = tenants
            .get(tenant)
            .map(|held| {
                held.iter()
                    .filter(|(_, seen)| now_ms - **seen <= METADATA_TTL_MS)
                    .map(|(entry, _)| entry.clone())
                    .collect()
            })
            .unwrap_or_default();
        entries.sort();
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(family: &str, help: &str) -> MetricMetadata {
        MetricMetadata {
            family: family.into(),
            kind: "counter".into(),
            help: help.into(),
            unit: String::new(),
        }
    }

    #[test]
    fn entries_are_kept_per_tenant_until_they_expire() {
        let store = MetadataStore::default();
        store.record("a", vec![entry("x_total", "X."), entry("y_total", "Y.")], 0);
        store.record("b", vec![entry("x_total", "Other help.")], 0);
        assert_eq!(store.entries("a", 1).len(), 2);
        assert_eq!(store.entries("b", 1), [entry("x_total", "Other help.")]);
        assert!(store.entries("c", 1).is_empty());
        // A resend refreshes an entry; the one not resent expires.
        store.record("a", vec![entry("x_total", "X.")], METADATA_TTL_MS);
        assert_eq!(
            store.entries("a", METADATA_TTL_MS + 1),
            [entry("x_total", "X.")]
        );
        // Two helps for one family are two entries, as Prometheus lists them.
        store.record("a", vec![entry("x_total", "X, again.")], METADATA_TTL_MS);
        assert_eq!(store.entries("a", METADATA_TTL_MS + 1).len(), 2);
    }

    #[test]
    fn a_full_tenant_refuses_new_entries_until_old_ones_expire() {
        let store = MetadataStore::default();
        let many: Vec<_> = (0..MAX_ENTRIES_PER_TENANT)
            .map(|i| entry(&format!("m{i}"), ""))
            .collect();
        assert_eq!(store.record("a", many, 0), 0);
        assert_eq!(store.record("a", vec![entry("new", "")], 1), 1);
        assert_eq!(
            store.record("a", vec![entry("m0", "")], 1),
            0,
            "known: refreshed"
        );
        assert_eq!(
            store.record("a", vec![entry("new", "")], METADATA_TTL_MS + 1),
            0,
            "room again once the rest expired"
        );
        assert_eq!(store.entries("a", METADATA_TTL_MS + 1).len(), 2);
    }
}
