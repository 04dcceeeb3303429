//! The query API's data: PromQL selections answered by every shard of the cluster, and the
//! metric metadata every node received.
//!
//! Each shard is read linearizably at its leader (through [`Node::select`], which confirms the
//! read index before reading), so a query on any node sees every write acknowledged before it
//! started, wherever it was sent (invariant I3). The shards hold disjoint series, so their
//! answers are concatenated, never merged.

use std::sync::Arc;

use futures::future::{try_join_all, BoxFuture};
use promql_parser::label::Matcher as PromMatcher;
use skyview_promql::{Labels, Queryable, Sample, SelectError, Series};
use skyview_query_api::{MetricMetadata, QuerySource};
use skyview_raft::node::Node;

use super::select::convert;
use super::tenant::tenant_from;

/// Every tenant's data in the cluster, as the query API reads it.
#[derive(Debug)]
pub struct ClusterQuerySource {
    node: Arc<Node>,
}

impl ClusterQuerySource {
    /// Reads through `node` (any node: reads are forwarded to each shard's leader).
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    /// The checked `tenant`'s series in every shard, read through `node` (remote read uses it
    /// directly: it has its tenant already).
    pub fn tenant_data(node: Arc<Node>, tenant: String) -> Arc<dyn Queryable> {
        Arc::new(TenantData { node, tenant })
    }
}

impl QuerySource for ClusterQuerySource {
    fn queryable(&self, tenant: Option<&str>) -> Result<Arc<dyn Queryable>, String> {
        let tenant = tenant_from(tenant.map(str::as_bytes)).map_err(|e| e.to_string())?;
        Ok(Self::tenant_data(Arc::clone(&self.node), tenant))
    }

    /// Every node's metadata of the tenant (each node keeps what it received).
    fn metadata<'a>(
        &'a self,
        tenant: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<MetricMetadata>, String>> {
        Box::pin(async move {
            let tenant = tenant_from(tenant.map(str::as_bytes)).map_err(|e| e.to_string())?;
            Ok(self
                .node
                .metadata(&tenant)
                .await
                .into_iter()
                .map(|m| MetricMetadata {
                    family: m.family,
                    kind: m.kind,
                    help: m.help,
                    unit: m.unit,
                })
                .collect())
        })
    }
}

/// One tenant's series in every shard.
struct TenantData {
    node: Arc<Node>,
    tenant: String,
}

impl Queryable for TenantData {
    fn select<'a>(
        &'a self,
        matchers: &'a [PromMatcher],
        min_t: i64,
        max_t: i64,
    ) -> BoxFuture<'a, Result<Vec<Series>, SelectError>> {
        Box::pin(async move {
            let matchers = matchers
                .iter()
                .map(convert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SelectError::new(e.to_string()))?;
            let reads = (1..=self.node.shards()).map(|shard| {
                self.node
                    .select(shard, &self.tenant, &matchers, min_t, max_t)
            });
            let shards = try_join_all(reads)
                .await
                .map_err(|e| SelectError::new(e.to_string()))?;
            Ok(shards
                .into_iter()
                .flatten()
                .map(|series| Series {
                    labels: Labels::from_pairs(series.labels),
                    samples: series
                        .samples
                        .into_iter()
                        .map(|s| Sample {
                            t: s.timestamp_ms,
                            v: s.value,
                        })
                        .collect(),
                })
                .collect())
        })
    }
}
