//! The read path the PromQL engine and the metadata endpoints use: matchers resolved through
//! the postings index (a single lookup for `=`, a scan of one label's values for the others;
//! never a scan of every series), then samples merged from the stored partitions and the head.

use std::collections::BTreeSet;

use super::keys::{self, CF_CHUNKS, CF_POSTINGS, CF_SERIES};
use super::labels::{decode_series, LabelSet};
use super::matcher::{MatchOp, Matcher};
use super::partition::{partition_of, PARTITION_MS};
use super::store::{cf, prefix_end, scan};
use super::{chunk_list, postings, SeriesId, ShardId, StorageError, Tsdb};
use crate::chunk::Sample;

/// One series and its samples in the asked range, oldest first, one per timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSamples {
    /// The series' id in its shard (equal on every replica).
    pub id: SeriesId,
    pub labels: LabelSet,
    pub samples: Vec<Sample>,
}

impl Tsdb {
    /// The series of `tenant` on `shard` matching every matcher, with their samples in
    /// `[min_t, max_t]`; series without samples there are left out. Sorted by labels.
    pub fn select(
        &self,
        shard: ShardId,
        tenant: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<SeriesSamples>, StorageError> {
        if min_t > max_t {
            return Ok(Vec::new());
        }
        let ids = self.postings_for(shard, tenant, matchers)?;
        let partitions = self.stored_partitions(shard, min_t, max_t)?;
        let chunks = cf(&self.db, CF_CHUNKS)?;
        let head = self.shards.get(&shard).map(|s| &s.head);
        let mut out = Vec::new();
        for (id, labels) in self.labels_of(shard, &ids)? {
            let mut samples = Vec::new();
            if let Some((first, last)) = partitions {
                let keys: Vec<[u8; 20]> = (0..=(last - first) / PARTITION_MS)
                    .map(|i| keys::chunk(shard, first + i * PARTITION_MS, id))
                    .collect();
                for (key, value) in keys
                    .iter()
                    .zip(self.db.batched_multi_get_cf(chunks, &keys, true))
                {
                    if let Some(list) = value? {
                        chunk_list::decode_into(&list, &mut samples)
                            .ok_or_else(|| StorageError::corrupt(CF_CHUNKS, "chunk list", key))?;
                    }
                }
            }
            // Stored samples first: on a repeated timestamp the earlier write wins.
            if let Some(head) = head {
                head.samples_into(id, min_t, max_t, &mut samples);
            }
            chunk_list::first_wins(&mut samples);
            samples.retain(|s| (min_t..=max_t).contains(&s.t));
            if !samples.is_empty() {
                out.push(SeriesSamples {
                    id,
                    labels,
                    samples,
                });
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    /// The label sets of `tenant`'s series on `shard` matching every matcher, sorted.
    pub fn series(
        &self,
        shard: ShardId,
        tenant: &str,
        matchers: &[Matcher],
    ) -> Result<Vec<LabelSet>, StorageError> {
        let ids = self.postings_for(shard, tenant, matchers)?;
        let mut out: Vec<LabelSet> = self
            .labels_of(shard, &ids)?
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        out.sort();
        Ok(out)
    }

    /// Label names of the matching series (of every series when `matchers` is empty), sorted.
    pub fn label_names(
        &self,
        shard: ShardId,
        tenant: &str,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let mut names = BTreeSet::new();
        if matchers.is_empty() {
            let prefix = keys::postings_tenant(shard, tenant);
            for item in scan(&self.db, CF_POSTINGS, &prefix, &prefix_end(&prefix))? {
                let (key, _) = item?;
                let (name, _) = keys::postings_pair(&key[prefix.len()..])
                    .ok_or_else(|| StorageError::corrupt(CF_POSTINGS, "postings key", &key))?;
                if !name.is_empty() {
                    names.insert(name.to_owned());
                }
            }
        } else {
            for labels in self.series(shard, tenant, matchers)? {
                names.extend(labels.pairs().iter().map(|(n, _)| n.clone()));
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Values of label `name` among the matching series (every series when `matchers` is
    /// empty), sorted.
    pub fn label_values(
        &self,
        shard: ShardId,
        tenant: &str,
        name: &str,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let mut values = BTreeSet::new();
        if matchers.is_empty() {
            if name.is_empty() {
                return Ok(Vec::new());
            }
            let prefix = keys::postings_name(shard, tenant, name);
            for item in scan(&self.db, CF_POSTINGS, &prefix, &prefix_end(&prefix))? {
                let (key, _) = item?;
                let value = std::str::from_utf8(&key[prefix.len()..])
                    .map_err(|_| StorageError::corrupt(CF_POSTINGS, "postings key", &key))?;
                values.insert(value.to_owned());
            }
        } else {
            for labels in self.series(shard, tenant, matchers)? {
                values.extend(labels.get(name).map(str::to_owned));
            }
        }
        Ok(values.into_iter().collect())
    }

    /// Ids of the series matching every matcher, sorted. A matcher that matches the empty
    /// value also selects the series without its label: it is applied as "every series except
    /// those whose value does not match".
    pub(crate) fn postings_for(
        &self,
        shard: ShardId,
        tenant: &str,
        matchers: &[Matcher],
    ) -> Result<Vec<SeriesId>, StorageError> {
        // Matchers that do not match "" narrow fastest; apply them first.
        let mut ordered: Vec<&Matcher> = matchers.iter().collect();
        ordered.sort_by_key(|m| (m.matches(""), m.op() != MatchOp::Equal));
        let mut result: Option<Vec<SeriesId>> = None;
        for m in ordered {
            let ids = if m.matches("") {
                let all = self.postings_list(&keys::postings(shard, tenant, "", ""))?;
                let excluded = self.values_union(shard, tenant, m.name(), |v| !m.matches(v))?;
                postings::subtract(&all, &excluded)
            } else if m.op() == MatchOp::Equal {
                self.postings_list(&keys::postings(shard, tenant, m.name(), m.value()))?
            } else {
                self.values_union(shard, tenant, m.name(), |v| m.matches(v))?
            };
            let narrowed = match result {
                None => ids,
                Some(so_far) => postings::intersect(&so_far, &ids),
            };
            if narrowed.is_empty() {
                return Ok(narrowed);
            }
            result = Some(narrowed);
        }
        match result {
            Some(ids) => Ok(ids),
            None => self.postings_list(&keys::postings(shard, tenant, "", "")),
        }
    }

    fn postings_list(&self, key: &[u8]) -> Result<Vec<SeriesId>, StorageError> {
        match self.db.get_pinned_cf(cf(&self.db, CF_POSTINGS)?, key)? {
            Some(list) => postings::decode(&list)
                .ok_or_else(|| StorageError::corrupt(CF_POSTINGS, "postings list", key)),
            None => Ok(Vec::new()),
        }
    }

    /// The union of the postings of every value of `name` that `keep` accepts.
    fn values_union(
        &self,
        shard: ShardId,
        tenant: &str,
        name: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<SeriesId>, StorageError> {
        let prefix = keys::postings_name(shard, tenant, name);
        let mut ids = Vec::new();
        for item in scan(&self.db, CF_POSTINGS, &prefix, &prefix_end(&prefix))? {
            let (key, list) = item?;
            let value = std::str::from_utf8(&key[prefix.len()..])
                .map_err(|_| StorageError::corrupt(CF_POSTINGS, "postings key", &key))?;
            if keep(value) {
                postings::decode_into(&list, &mut ids)
                    .ok_or_else(|| StorageError::corrupt(CF_POSTINGS, "postings list", &key))?;
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// The label sets of `ids` (sorted), read in one batch.
    fn labels_of(
        &self,
        shard: ShardId,
        ids: &[SeriesId],
    ) -> Result<Vec<(SeriesId, LabelSet)>, StorageError> {
        let keys: Vec<[u8; 12]> = ids.iter().map(|&id| keys::series(shard, id)).collect();
        let values = self
            .db
            .batched_multi_get_cf(cf(&self.db, CF_SERIES)?, &keys, true);
        let mut out = Vec::with_capacity(ids.len());
        for ((&id, key), value) in ids.iter().zip(&keys).zip(values) {
            let bytes = value?
                .ok_or_else(|| StorageError::corrupt(CF_SERIES, "missing series record", key))?;
            let (_, labels) = decode_series(&bytes)
                .ok_or_else(|| StorageError::corrupt(CF_SERIES, "series record", key))?;
            out.push((id, labels));
        }
        Ok(out)
    }

    /// The partitions to read for `[min_t, max_t]`, clamped to those the shard has stored;
    /// `None` when none can hold samples in range.
    fn stored_partitions(
        &self,
        shard: ShardId,
        min_t: i64,
        max_t: i64,
    ) -> Result<Option<(i64, i64)>, StorageError> {
        let (start, end) = keys::shard_range(shard);
        let mut first = None;
        if let Some(item) = scan(&self.db, CF_CHUNKS, &start, &end)?.next() {
            first = keys::chunk_parts(&item?.0).map(|(p, _)| p);
        }
        let mut read = rocksdb::ReadOptions::default();
        read.set_iterate_lower_bound(start.clone());
        let mut last = None;
        if let Some(item) = self
            .db
            .iterator_cf_opt(
                cf(&self.db, CF_CHUNKS)?,
                read,
                rocksdb::IteratorMode::From(&end, rocksdb::Direction::Reverse),
            )
            .next()
        {
            let (key, _) = item?;
            if key.starts_with(&start) {
                last = keys::chunk_parts(&key).map(|(p, _)| p);
            }
        }
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(None);
        };
        let clamp =
            |t: i64| partition_of(t.clamp(super::partition::MIN_T, super::partition::MAX_T));
        let lo = clamp(min_t).max(first);
        let hi = clamp(max_t).min(last);
        Ok((lo <= hi).then_some((lo, hi)))
    }
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::super::test_support::*;
    use super::*;
    use crate::tsdb::WriteBatch;

    const T: i64 = 1_700_000_000_000;

    fn store_with_series(dir: &TempDir) -> Tsdb {
        let mut store = open(dir);
        let b = batch(vec![
            series(
                &[("__name__", "up"), ("job", "node"), ("env", "prod")],
                &[(T, 1.0)],
            ),
            series(&[("__name__", "up"), ("job", "api")], &[(T, 2.0)]),
            series(&[("__name__", "up"), ("job", "node")], &[(T, 3.0)]),
            series(
                &[("__name__", "errors"), ("job", "api"), ("env", "dev")],
                &[(T, 4.0)],
            ),
        ]);
        store.apply(1, &mark(1), &b).unwrap();
        let other_tenant = WriteBatch {
            tenant: "u".into(),
            ..batch(vec![series(
                &[("__name__", "up"), ("job", "node")],
                &[(T, 9.0)],
            )])
        };
        store.apply(1, &mark(2), &other_tenant).unwrap();
        store
    }

    fn values_for(store: &Tsdb, matchers: &[Matcher]) -> Vec<f64> {
        let mut v: Vec<f64> = store
            .select(1, "t", matchers, T, T)
            .unwrap()
            .iter()
            .map(|s| s.samples[0].v)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn the_four_matchers_and_empty_value_semantics() {
        let dir = TempDir::new().unwrap();
        let store = store_with_series(&dir);
        use MatchOp::*;
        let m = matcher;
        assert_eq!(
            values_for(&store, &[m(Equal, "__name__", "up")]),
            vec![1.0, 2.0, 3.0]
        );
        assert_eq!(
            values_for(
                &store,
                &[m(Equal, "__name__", "up"), m(Equal, "job", "node")]
            ),
            vec![1.0, 3.0]
        );
        assert_eq!(
            values_for(&store, &[m(NotEqual, "job", "node")]),
            vec![2.0, 4.0]
        );
        assert_eq!(
            values_for(&store, &[m(Regex, "job", "no.*|ap")]),
            vec![1.0, 3.0]
        );
        assert_eq!(
            values_for(&store, &[m(NotRegex, "job", "node|x")]),
            vec![2.0, 4.0]
        );
        // A matcher that matches "" selects the series without the label.
        assert_eq!(values_for(&store, &[m(Equal, "env", "")]), vec![2.0, 3.0]);
        assert_eq!(
            values_for(&store, &[m(NotEqual, "env", "prod")]),
            vec![2.0, 3.0, 4.0]
        );
        assert_eq!(
            values_for(&store, &[m(Regex, "env", "|dev")]),
            vec![2.0, 3.0, 4.0]
        );
        assert_eq!(
            values_for(&store, &[m(NotRegex, "env", ".+")]),
            vec![2.0, 3.0]
        );
        assert_eq!(
            values_for(&store, &[m(Equal, "nope", "")]),
            vec![1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(
            values_for(&store, &[m(Equal, "job", "nope")]),
            Vec::<f64>::new()
        );
        // Tenants never see each other's series.
        let u = store
            .select(1, "u", &[m(Equal, "job", "node")], T, T)
            .unwrap();
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].samples[0].v, 9.0);
        // Other shards are empty, and the time range applies.
        assert!(store.select(2, "t", &[], T, T).unwrap().is_empty());
        assert!(store.select(1, "t", &[], T + 1, T + 10).unwrap().is_empty());
    }

    #[test]
    fn metadata_reads() {
        let dir = TempDir::new().unwrap();
        let store = store_with_series(&dir);
        let job = matcher(MatchOp::Equal, "job", "api");
        assert_eq!(
            store.label_names(1, "t", &[]).unwrap(),
            vec!["__name__", "env", "job"]
        );
        assert_eq!(
            store
                .label_names(1, "t", &[matcher(MatchOp::Equal, "env", "")])
                .unwrap(),
            vec!["__name__", "job"]
        );
        assert_eq!(
            store.label_values(1, "t", "job", &[]).unwrap(),
            vec!["api", "node"]
        );
        assert_eq!(
            store
                .label_values(1, "t", "__name__", std::slice::from_ref(&job))
                .unwrap(),
            vec!["errors", "up"]
        );
        assert_eq!(
            store.label_values(1, "u", "env", &[]).unwrap(),
            Vec::<String>::new()
        );
        let series = store.series(1, "t", &[job]).unwrap();
        assert_eq!(
            series,
            vec![
                labels(&[("__name__", "errors"), ("env", "dev"), ("job", "api")]),
                labels(&[("__name__", "up"), ("job", "api")]),
            ]
        );
    }
}
