//! Retention: deleting whole two-hour partitions of a shard, and the series left without
//! data.
//!
//! Because `chunks` keys put the partition before the series, everything older than a
//! partition is one key range: one range tombstone in the write batch, then
//! `delete_file_in_range` drops the SST files wholly inside it at once. The trade-off: data is
//! deleted at partition granularity (a partition goes when all of it is older than the cut,
//! so up to two hours more than asked are kept), and the tombstone's remaining bytes are
//! reclaimed by compaction, not at once. A per-series layout would delete precisely but needs
//! one tombstone per series.
//!
//! Finding the series left without data reads the remaining `chunks` keys of the shard once
//! (a full pass over its data, like a compaction); retention runs rarely (hourly at most),
//! and no per-series "last seen" index has to be kept on the write path for it.

use std::collections::{BTreeMap, HashSet};

use rocksdb::{WriteBatch as DbBatch, WriteOptions};

use super::keys::{self, CF_CHUNKS, CF_META, CF_POSTINGS, CF_SERIES, CF_SERIES_BY_LABELS};
use super::labels::{decode_series, series_hash};
use super::partition::{partition_of, MAX_T, MIN_T};
use super::store::{cf, scan};
use super::{postings, SeriesId, ShardId, StorageError, Tsdb};

/// What [`Tsdb::delete_before`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Partitions starting before this time (ms) are gone: all data before it, possibly
    /// up to two hours less than asked.
    pub deleted_before: i64,
    pub series_removed: u64,
}

impl Tsdb {
    /// Deletes `shard`'s partitions that end at or before `t_ms`, and the series with no data
    /// left (open chunks count as data). Flushes the head first, so a replay never starts
    /// before the deletion, and drops the open chunks of deleted partitions. Replicas delete the same data only if they
    /// are given the same `t_ms` at the same log position; the caller decides that.
    pub fn delete_before(
        &mut self,
        shard: ShardId,
        t_ms: i64,
    ) -> Result<RetentionOutcome, StorageError> {
        self.flush_head(shard)?;
        let cut = partition_of(t_ms.clamp(MIN_T, MAX_T));
        let (start, end) = keys::shard_range(shard);
        let cut_key = keys::chunk_partition(shard, cut);
        let mut writes = DbBatch::default();
        let mut live = HashSet::new();
        if let Some(state) = self.shards.get_mut(&shard) {
            let meta = cf(&self.db, CF_META)?;
            for id in state.head.drop_before(cut) {
                writes.delete_cf(meta, keys::head(shard, id));
            }
            live.extend(state.head.series_ids());
        }
        for item in scan(&self.db, CF_CHUNKS, &cut_key, &end)? {
            let (key, _) = item?;
            if let Some((_, id)) = keys::chunk_parts(&key) {
                live.insert(id);
            }
        }
        let chunks = cf(&self.db, CF_CHUNKS)?;
        writes.delete_range_cf(chunks, &start[..], &cut_key[..]);
        // List keys (hash entries and postings) losing ids, with the ids they lose.
        let mut shrinking: BTreeMap<(&'static str, Vec<u8>), Vec<SeriesId>> = BTreeMap::new();
        let mut removed = Vec::new();
        for item in scan(&self.db, CF_SERIES, &start, &end)? {
            let (key, value) = item?;
            let id = keys::series_id_of(&key).ok_or_else(|| StorageError::Corrupt {
                cf: CF_SERIES,
                what: "series key",
                key: key.to_vec(),
            })?;
            if live.contains(&id) {
                continue;
            }
            let (tenant, labels) = decode_series(&value).ok_or_else(|| StorageError::Corrupt {
                cf: CF_SERIES,
                what: "series record",
                key: key.to_vec(),
            })?;
            writes.delete_cf(cf(&self.db, CF_SERIES)?, &key);
            let by_labels = keys::series_by_labels(shard, series_hash(&value)).to_vec();
            shrinking
                .entry((CF_SERIES_BY_LABELS, by_labels))
                .or_default()
                .push(id);
            let all = keys::postings(shard, &tenant, "", "");
            shrinking.entry((CF_POSTINGS, all)).or_default().push(id);
            for (name, value) in labels.pairs() {
                let key = keys::postings(shard, &tenant, name, value);
                shrinking.entry((CF_POSTINGS, key)).or_default().push(id);
            }
            removed.push(value.to_vec());
        }
        for ((cf_name, key), mut gone) in shrinking {
            let handle = cf(&self.db, cf_name)?;
            let list = match self.db.get_pinned_cf(handle, &key)? {
                Some(bytes) => postings::decode(&bytes).ok_or_else(|| StorageError::Corrupt {
                    cf: cf_name,
                    what: "series id list",
                    key: key.clone(),
                })?,
                None => Vec::new(),
            };
            gone.sort_unstable();
            let kept = postings::subtract(&list, &gone);
            if kept.is_empty() {
                writes.delete_cf(handle, &key);
            } else {
                writes.put_cf(handle, &key, postings::encode(&kept));
            }
        }
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        self.db.write_opt(writes, &sync)?;
        self.db
            .delete_file_in_range_cf(chunks, &start[..], &cut_key[..])?;
        if let Some(state) = self.shards.get_mut(&shard) {
            for canonical in &removed {
                state.ids.remove(canonical);
            }
        }
        tracing::info!(
            shard,
            deleted_before = cut,
            series_removed = removed.len(),
            "retention applied"
        );
        Ok(RetentionOutcome {
            deleted_before: cut,
            series_removed: removed.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::super::partition::PARTITION_MS;
    use super::super::test_support::*;
    use super::*;
    use crate::tsdb::MatchOp;

    #[test]
    fn whole_partitions_and_emptied_series_go() {
        let dir = TempDir::new().unwrap();
        let mut store = open(&dir);
        let t0 = 500 * PARTITION_MS;
        // "keep" has a sample every 30 min over 10 partitions; "gone" only in the first two.
        for i in 0..40i64 {
            let t = t0 + i * 30 * 60_000;
            let mut s = vec![series(
                &[("__name__", "keep"), ("pod", "a")],
                &[(t, i as f64)],
            )];
            if i < 8 {
                s.push(series(&[("__name__", "gone"), ("pod", "b")], &[(t, 1.0)]));
            }
            store.apply(1, &mark(i as u64 + 1), &batch(s)).unwrap();
        }
        let cut = t0 + 5 * PARTITION_MS + 1_000;
        let outcome = store.delete_before(1, cut).unwrap();
        assert_eq!(
            outcome,
            RetentionOutcome {
                deleted_before: t0 + 5 * PARTITION_MS,
                series_removed: 1
            }
        );
        let left = everything(&store, 1);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].labels.get("__name__"), Some("keep"));
        assert_eq!(
            left[0].samples.first().map(|s| s.t),
            Some(t0 + 5 * PARTITION_MS)
        );
        assert_eq!(left[0].samples.len(), 20);
        assert_eq!(store.label_values(1, "t", "pod", &[]).unwrap(), vec!["a"]);
        assert!(store
            .select(
                1,
                "t",
                &[matcher(MatchOp::Equal, "__name__", "gone")],
                i64::MIN,
                i64::MAX
            )
            .unwrap()
            .is_empty());
        // The removed series comes back as a new one, with a new id.
        let back = store
            .apply(
                1,
                &mark(41),
                &batch(vec![series(
                    &[("__name__", "gone"), ("pod", "b")],
                    &[(t0 + 20 * 3_600_000, 2.0)],
                )]),
            )
            .unwrap();
        assert_eq!(back.series_created, 1);
        let ids: Vec<_> = everything(&store, 1).iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![2, 0]);
        store.compact().unwrap();
        assert_eq!(everything(&store, 1).len(), 2);
    }
}
