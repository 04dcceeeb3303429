//! The store: one RocksDB instance per node holding every shard replica it hosts, the
//! in-memory head of each shard, and the write path ([`Tsdb::apply`]) with its durability
//! points ([`Tsdb::flush_head`], [`Tsdb::persisted`]).
//!
//! # Durability model
//!
//! The Raft log is the durability point: `apply` writes to RocksDB without fsync, and keeps
//! the open chunks (the head) in memory. After a crash the caller re-applies its log from the
//! entry after [`Tsdb::persisted`]. For that replay to reproduce exactly what the lost
//! applies did, everything `apply` *decides on* is split in two:
//!
//! - **Deferred to the flush**: the head, the dedup high-water marks and the shard's newest
//!   sample time (which bounds the out-of-order window). They change in memory only, and
//!   [`Tsdb::flush_head`] writes them (each changed series' head as a `meta` record, without
//!   sealing it) with the applied mark, in one synced RocksDB batch. After a restart
//!   they are exactly as they were at that mark, so replayed entries see the same marks,
//!   window and head, and decide the same.
//! - **Written at once** (no fsync; RocksDB's WAL keeps a consistent prefix): the partitions
//!   series left, out-of-order chunks, new series with their index entries and the series id
//!   counter.
//!   Replaying over them is harmless: a replayed series finds its id by its labels, and a
//!   replayed sample is a repeat of a stored `(series, t)`, folded away by the `chunks` merge
//!   (first write wins, and the first write is the original).
//!
//! Had the dedup mark been written with each batch instead, a replay after a crash would
//! find the batches past the flush already marked and skip them, losing their head samples.
//!
//! So the caller may purge its log only up to [`Tsdb::persisted`], and calls `flush_head`
//! when it wants to purge (on a size or time trigger); retention and checkpoints flush first.
//!
//! A failed `apply` (a RocksDB error) leaves the shard's memory ahead of its disk: the error
//! is fatal, and the caller reopens the store and replays.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Direction,
    IteratorMode, Options, ReadOptions, WriteBatch as DbBatch, WriteOptions, DB,
};

use super::batch::{AppliedMark, WriteBatch};
use super::dedup::{self, Decision};
use super::head::{self, Head, Placed, SealedPartition};
use super::keys::{
    self, CF_CHUNKS, CF_DEDUP, CF_META, CF_POSTINGS, CF_SERIES, CF_SERIES_BY_LABELS,
};
use super::labels::{encode_series, series_hash, LabelSet};
use super::options::TsdbOptions;
use super::outcome::{ApplyOutcome, RejectReason};
use super::partition::{partition_of, MAX_T, MIN_T};
use super::{chunk_list, postings, SeriesId, ShardId, StorageError};
use crate::chunk::Sample;

/// Most bytes of write-ahead log files the store keeps (see [`Tsdb::open`]).
const WAL_LIMIT_BYTES: u64 = 256 << 20;

/// The receiver's time-series store. Not thread-safe by itself: the caller serialises
/// writes (`&mut self`); reads take `&self`.
pub struct Tsdb {
    pub(crate) db: DB,
    pub(crate) path: PathBuf,
    pub(crate) options: TsdbOptions,
    pub(crate) shards: HashMap<ShardId, ShardState>,
}

impl fmt::Debug for Tsdb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tsdb")
            .field("path", &self.path)
            .field("options", &self.options)
            .field("shards", &self.shards.len())
            .finish()
    }
}

/// One shard's memory: what is deferred to the flush, and caches of what is on disk.
#[derive(Debug, Default)]
pub(crate) struct ShardState {
    pub(crate) head: Head,
    /// Canonical series bytes -> id, for every series seen since the shard was loaded.
    pub(crate) ids: HashMap<Vec<u8>, SeriesId>,
    next_id: SeriesId,
    max_t: Option<i64>,
    /// Dedup marks applied but not yet flushed, by `dedup` key.
    marks: HashMap<Vec<u8>, u64>,
    applied: Option<AppliedMark>,
    flushed: Option<AppliedMark>,
}

pub(crate) fn cf<'a>(db: &'a DB, name: &'static str) -> Result<&'a ColumnFamily, StorageError> {
    db.cf_handle(name)
        .ok_or(StorageError::MissingColumnFamily { name })
}

/// A key and its value, as RocksDB iterators yield them.
pub(crate) type KeyValue = (Box<[u8]>, Box<[u8]>);

/// Iterates `cf`'s keys in `[start, end)`.
pub(crate) fn scan<'a>(
    db: &'a DB,
    cf_name: &'static str,
    start: &[u8],
    end: &[u8],
) -> Result<impl Iterator<Item = Result<KeyValue, StorageError>> + 'a, StorageError> {
    let mut read = ReadOptions::default();
    read.set_iterate_upper_bound(end.to_vec());
    Ok(db
        .iterator_cf_opt(
            cf(db, cf_name)?,
            read,
            IteratorMode::From(start, Direction::Forward),
        )
        .map(|item| item.map_err(StorageError::from)))
}

/// The upper bound of the keys starting with `prefix`, which ends in a string terminator:
/// nothing after it contains `0xFF`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    end.push(0xFF);
    end
}

/// Column family options: 16 KiB blocks and Bloom filters everywhere; LZ4 for the index
/// families, none for `chunks` (already compressed by the codec); the merge operators.
pub(crate) fn cf_options(name: &str) -> Options {
    let mut options = Options::default();
    let mut table = BlockBasedOptions::default();
    table.set_block_size(16 * 1024);
    table.set_bloom_filter(10.0, false);
    options.set_block_based_table_factory(&table);
    if name == CF_CHUNKS {
        options.set_compression_type(DBCompressionType::None);
        options.set_merge_operator_associative("skyview.chunk_list.v1", chunk_list::merge);
    } else {
        options.set_compression_type(DBCompressionType::Lz4);
    }
    if name == CF_POSTINGS || name == CF_SERIES_BY_LABELS {
        options.set_merge_operator_associative("skyview.postings.v1", postings::merge);
    }
    options
}

impl Tsdb {
    /// Opens (creating if needed) the store in `path`; a node keeps it in `<data>/tsdb`.
    pub fn open(path: &Path, options: TsdbOptions) -> Result<Self, StorageError> {
        let mut db_options = Options::default();
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        db_options.set_keep_log_file_num(2);
        db_options.set_max_log_file_size(1 << 20);
        // `meta` and `dedup` take few writes and would never fill a memtable, which would pin
        // every write-ahead log file (a file goes once all its families' data is flushed).
        // Past this total, RocksDB flushes the families holding the oldest file.
        db_options.set_max_total_wal_size(WAL_LIMIT_BYTES);
        let families = keys::ALL_CFS
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, cf_options(name)));
        let db = DB::open_cf_descriptors(&db_options, path, families)?;
        tracing::info!(path = %path.display(), "tsdb opened");
        Ok(Self {
            db,
            path: path.to_path_buf(),
            options,
            shards: HashMap::new(),
        })
    }

    pub fn options(&self) -> &TsdbOptions {
        &self.options
    }

    /// Loads `shard`'s state from `meta` the first time it is used.
    pub(crate) fn shard_mut(&mut self, shard: ShardId) -> Result<&mut ShardState, StorageError> {
        if !self.shards.contains_key(&shard) {
            let state = load_shard(&self.db, shard)?;
            self.shards.insert(shard, state);
        }
        self.shards
            .get_mut(&shard)
            .ok_or(StorageError::MissingColumnFamily { name: CF_META })
    }

    /// Applies one shard's batch from log position `mark`: dedup first, then each sample is
    /// checked against the window and placed in the head or written out of order. No fsync
    /// (see the module header).
    pub fn apply(
        &mut self,
        shard: ShardId,
        mark: &AppliedMark,
        batch: &WriteBatch,
    ) -> Result<ApplyOutcome, StorageError> {
        if let Some(identity) = &batch.identity {
            identity.check()?;
        }
        self.shard_mut(shard)?;
        let db = &self.db;
        let options = &self.options;
        let Some(state) = self.shards.get_mut(&shard) else {
            return Err(StorageError::MissingColumnFamily { name: CF_META });
        };
        let mut outcome = ApplyOutcome::default();
        let dedup_key = batch
            .identity
            .as_ref()
            .map(|id| (id, keys::dedup(shard, &batch.tenant, &id.agent, id.queue)));
        if let Some((identity, key)) = &dedup_key {
            let high_water = match state.marks.get(key) {
                Some(&mark) => Some(mark),
                None => stored_mark(db, key)?,
            };
            if let Decision::Duplicate { high_water } = identity.decide(high_water) {
                tracing::debug!(shard, agent = %identity.agent, queue = identity.queue,
                    last = identity.last, high_water, "duplicate batch skipped");
                outcome.duplicate_batch = Some(high_water);
                state.applied = Some(mark.clone());
                return Ok(outcome);
            }
        }
        let mut writes = DbBatch::default();
        let mut sealed = Vec::new();
        // Out-of-order samples by (partition, series): one chunk each, written after the
        // partitions the head wrote, in key order.
        let mut late: BTreeMap<(i64, SeriesId), Vec<Sample>> = BTreeMap::new();
        let mut accepted = Vec::new();
        for (index, series) in batch.series.iter().enumerate() {
            let min_valid_t = options.min_valid_t(state.max_t);
            accepted.clear();
            for s in &series.samples {
                if !(MIN_T..=MAX_T).contains(&s.t) {
                    outcome.reject(index, s.t, RejectReason::OutOfBounds);
                } else if s.t < min_valid_t {
                    outcome.reject(index, s.t, RejectReason::TooOld { min_valid_t });
                } else {
                    accepted.push(*s);
                }
            }
            if accepted.is_empty() {
                continue;
            }
            let id = state.series_id(
                db,
                shard,
                &batch.tenant,
                &series.labels,
                &mut writes,
                &mut outcome,
            )?;
            for s in &accepted {
                match state.head.append(id, s.t, s.v, &mut sealed) {
                    Placed::Added => outcome.samples_appended += 1,
                    Placed::Duplicate => outcome.samples_duplicate += 1,
                    Placed::Conflict { .. } => outcome.reject(index, s.t, RejectReason::Conflict),
                    Placed::BeforeHead => {
                        late.entry((partition_of(s.t), id)).or_default().push(*s);
                        outcome.samples_out_of_order += 1;
                    }
                }
                state.max_t = Some(state.max_t.map_or(s.t, |m| m.max(s.t)));
            }
        }
        let chunks = cf(db, CF_CHUNKS)?;
        merge_sealed(&mut writes, chunks, shard, &sealed);
        for ((partition, id), mut samples) in late {
            chunk_list::first_wins(&mut samples);
            if let Some(list) = chunk_list::encode(&samples) {
                writes.merge_cf(chunks, keys::chunk(shard, partition, id), list);
            }
        }
        if !writes.is_empty() {
            db.write_opt(writes, &WriteOptions::default())?;
        }
        if let Some((identity, key)) = dedup_key {
            state.marks.insert(key, identity.last);
        }
        state.applied = Some(mark.clone());
        Ok(outcome)
    }

    /// Records that log entry `mark` was applied without data (a blank or membership entry),
    /// so the next flush persists it.
    pub fn mark_applied(&mut self, shard: ShardId, mark: &AppliedMark) -> Result<(), StorageError> {
        self.shard_mut(shard)?.applied = Some(mark.clone());
        Ok(())
    }

    /// Persists `shard`'s head without sealing it (the series changed since the last flush;
    /// series idle since an earlier partition leave it, their partition written), with the dedup
    /// marks, the newest sample time and the last applied mark, in one fsynced batch. Returns
    /// the mark now persisted: the caller may purge its log up to it.
    pub fn flush_head(&mut self, shard: ShardId) -> Result<Option<AppliedMark>, StorageError> {
        self.shard_mut(shard)?;
        let db = &self.db;
        let Some(state) = self.shards.get_mut(&shard) else {
            return Err(StorageError::MissingColumnFamily { name: CF_META });
        };
        let mut writes = DbBatch::default();
        let chunks = cf(db, CF_CHUNKS)?;
        let sealed = match state.max_t {
            Some(max_t) => state.head.seal_idle(partition_of(max_t)),
            None => Vec::new(),
        };
        merge_sealed(&mut writes, chunks, shard, &sealed);
        let meta = cf(db, CF_META)?;
        let changes = state.head.take_changes();
        for id in &changes.removed {
            writes.delete_cf(meta, keys::head(shard, *id));
        }
        for (id, record) in &changes.changed {
            writes.put_cf(meta, keys::head(shard, *id), record);
        }
        let dedup_cf = cf(db, CF_DEDUP)?;
        for (key, mark) in state.marks.drain() {
            writes.put_cf(dedup_cf, key, dedup::encode_mark(mark));
        }
        if let Some(applied) = &state.applied {
            writes.put_cf(
                meta,
                keys::meta(shard, keys::META_FLUSHED),
                applied.encode(state.max_t),
            );
        }
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        db.write_opt(writes, &sync)?;
        state.flushed = state.applied.clone();
        tracing::debug!(
            shard,
            sealed = sealed.len(),
            open_written = changes.changed.len(),
            index = state.flushed.as_ref().map(|m| m.index),
            "head flushed"
        );
        Ok(state.flushed.clone())
    }

    /// Loads `shard`'s state (its persisted head among it) now rather than at its first
    /// write, so reads see the head at once after a restart or a snapshot install.
    pub fn open_shard(&mut self, shard: ShardId) -> Result<(), StorageError> {
        self.shard_mut(shard).map(|_| ())
    }

    /// The last applied mark whose effects are all on disk: after a crash the caller replays
    /// its log from the entry after it, and it may purge its log up to it.
    pub fn persisted(&self, shard: ShardId) -> Result<Option<AppliedMark>, StorageError> {
        match self.shards.get(&shard) {
            Some(state) => Ok(state.flushed.clone()),
            None => Ok(load_flushed(&self.db, shard)?.map(|(mark, _)| mark)),
        }
    }

    /// The last applied mark, flushed or not (after a reopen, the persisted one).
    pub fn applied(&self, shard: ShardId) -> Result<Option<AppliedMark>, StorageError> {
        match self.shards.get(&shard) {
            Some(state) => Ok(state.applied.clone()),
            None => self.persisted(shard),
        }
    }

    /// The dedup high-water mark of `(tenant, agent, queue)` on `shard`: what a restarted
    /// agent resumes after.
    pub fn dedup_mark(
        &self,
        shard: ShardId,
        tenant: &str,
        agent: &str,
        queue: u32,
    ) -> Result<Option<u64>, StorageError> {
        let key = keys::dedup(shard, tenant, agent, queue);
        if let Some(&mark) = self.shards.get(&shard).and_then(|s| s.marks.get(&key)) {
            return Ok(Some(mark));
        }
        stored_mark(&self.db, &key)
    }

    /// Writes every memtable to SST files (merging the operands each holds), so that the
    /// write-ahead log is not replayed at the next start: a clean stop calls it.
    pub fn flush_memtables(&self) -> Result<(), StorageError> {
        for name in keys::ALL_CFS {
            self.db.flush_cf(cf(&self.db, name)?)?;
        }
        Ok(())
    }

    /// Flushes memtables and compacts every column family fully: what a benchmark does
    /// before measuring, and what reclaims space at once after retention.
    pub fn compact(&self) -> Result<(), StorageError> {
        self.flush_memtables()?;
        for name in keys::ALL_CFS {
            self.db
                .compact_range_cf(cf(&self.db, name)?, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// Bytes of live SST files, every column family and shard together.
    pub fn sst_bytes(&self) -> Result<u64, StorageError> {
        let mut total = 0;
        for name in keys::ALL_CFS {
            total += self
                .db
                .property_int_value_cf(cf(&self.db, name)?, "rocksdb.total-sst-files-size")?
                .unwrap_or(0);
        }
        Ok(total)
    }
}

impl ShardState {
    /// The id of `(tenant, labels)`, creating the series (its record, hash entry, postings
    /// and the id counter, all into `writes`) when it is new. Ids count up per shard, so
    /// replicas applying the same batches in the same order assign the same ids.
    fn series_id(
        &mut self,
        db: &DB,
        shard: ShardId,
        tenant: &str,
        labels: &LabelSet,
        writes: &mut DbBatch,
        outcome: &mut ApplyOutcome,
    ) -> Result<SeriesId, StorageError> {
        let canonical = encode_series(tenant, labels);
        if let Some(&id) = self.ids.get(&canonical) {
            return Ok(id);
        }
        let by_labels = keys::series_by_labels(shard, series_hash(&canonical));
        let id = match find_series(db, shard, &by_labels, &canonical)? {
            Some(id) => id,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                let one = postings::encode(&[id]);
                writes.put_cf(cf(db, CF_SERIES)?, keys::series(shard, id), &canonical);
                writes.merge_cf(cf(db, CF_SERIES_BY_LABELS)?, by_labels, &one);
                let postings_cf = cf(db, CF_POSTINGS)?;
                writes.merge_cf(postings_cf, keys::postings(shard, tenant, "", ""), &one);
                for (name, value) in labels.pairs() {
                    writes.merge_cf(
                        postings_cf,
                        keys::postings(shard, tenant, name, value),
                        &one,
                    );
                }
                writes.put_cf(
                    cf(db, CF_META)?,
                    keys::meta(shard, keys::META_NEXT_SERIES),
                    self.next_id.to_be_bytes(),
                );
                outcome.series_created += 1;
                id
            }
        };
        self.ids.insert(canonical, id);
        Ok(id)
    }
}

/// Adds the partitions the head handed back to `writes`, each merged under its
/// `(partition, series)` key.
fn merge_sealed(
    writes: &mut DbBatch,
    chunks: &ColumnFamily,
    shard: ShardId,
    sealed: &[SealedPartition],
) {
    for s in sealed {
        writes.merge_cf(chunks, keys::chunk(shard, s.partition, s.series), &s.list);
    }
}

/// Looks a series up on disk by its hash entry, comparing the stored labels.
fn find_series(
    db: &DB,
    shard: ShardId,
    by_labels: &[u8],
    canonical: &[u8],
) -> Result<Option<SeriesId>, StorageError> {
    let Some(list) = db.get_pinned_cf(cf(db, CF_SERIES_BY_LABELS)?, by_labels)? else {
        return Ok(None);
    };
    let ids = postings::decode(&list)
        .ok_or_else(|| StorageError::corrupt(CF_SERIES_BY_LABELS, "series id list", by_labels))?;
    let series_cf = cf(db, CF_SERIES)?;
    for id in ids {
        let stored = db.get_pinned_cf(series_cf, keys::series(shard, id))?;
        if stored.as_deref() == Some(canonical) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn stored_mark(db: &DB, key: &[u8]) -> Result<Option<u64>, StorageError> {
    db.get_pinned_cf(cf(db, CF_DEDUP)?, key)?
        .map(|bytes| {
            dedup::decode_mark(&bytes).ok_or_else(|| StorageError::corrupt(CF_DEDUP, "mark", key))
        })
        .transpose()
}

fn load_flushed(
    db: &DB,
    shard: ShardId,
) -> Result<Option<(AppliedMark, Option<i64>)>, StorageError> {
    let key = keys::meta(shard, keys::META_FLUSHED);
    db.get_pinned_cf(cf(db, CF_META)?, key)?
        .map(|bytes| {
            AppliedMark::decode(&bytes)
                .ok_or_else(|| StorageError::corrupt(CF_META, "applied mark", &key))
        })
        .transpose()
}

fn load_shard(db: &DB, shard: ShardId) -> Result<ShardState, StorageError> {
    let (flushed, max_t) = match load_flushed(db, shard)? {
        Some((mark, max_t)) => (Some(mark), max_t),
        None => (None, None),
    };
    let key = keys::meta(shard, keys::META_NEXT_SERIES);
    let next_id = match db.get_pinned_cf(cf(db, CF_META)?, key)? {
        Some(bytes) => u64::from_be_bytes(
            bytes
                .as_ref()
                .try_into()
                .map_err(|_| StorageError::corrupt(CF_META, "series counter", &key))?,
        ),
        None => 0,
    };
    let mut head = Head::default();
    let (start, end) = keys::head_range(shard);
    for item in scan(db, CF_META, &start, &end)? {
        let (key, value) = item?;
        let corrupt = || StorageError::corrupt(CF_META, "persisted head", &key);
        let id = keys::head_series_of(&key).ok_or_else(corrupt)?;
        let (partition, full, open) = head::decode_record(&value).ok_or_else(corrupt)?;
        head.restore(id, partition, full, &open);
    }
    Ok(ShardState {
        head,
        next_id,
        max_t,
        applied: flushed.clone(),
        flushed,
        ..ShardState::default()
    })
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::super::test_support::*;
    use super::*;
    use crate::tsdb::{MatchOp, RejectReason};

    const H: i64 = 60 * 60 * 1000;
    const T0: i64 = 1_000 * H;

    fn values(store: &Tsdb) -> Vec<(String, Vec<(i64, f64)>)> {
        everything(store, 1)
            .into_iter()
            .map(|s| {
                let name = s.labels.get("__name__").unwrap_or("").to_owned();
                (name, s.samples.iter().map(|x| (x.t, x.v)).collect())
            })
            .collect()
    }

    #[test]
    fn apply_then_select_round_trips_across_seals_and_partitions() {
        let dir = TempDir::new().unwrap();
        let mut store = open(&dir);
        let mut expected = [Vec::new(), Vec::new()];
        // 300 samples 30 s apart: two and a half hours, several seals and a partition edge.
        for i in 0..300i64 {
            let t = T0 + i * 30_000;
            let outcome = store
                .apply(
                    1,
                    &mark(i as u64 + 1),
                    &batch(vec![
                        series(&[("__name__", "a")], &[(t, i as f64)]),
                        series(&[("__name__", "b")], &[(t, 0.5 * i as f64)]),
                    ]),
                )
                .unwrap();
            assert_eq!(outcome.samples_appended, 2);
            assert_eq!(outcome.series_created, if i == 0 { 2 } else { 0 });
            expected[0].push((t, i as f64));
            expected[1].push((t, 0.5 * i as f64));
        }
        let got = values(&store);
        assert_eq!(
            got,
            vec![
                ("a".into(), expected[0].clone()),
                ("b".into(), expected[1].clone())
            ]
        );
        // Ranges cut inside chunks and partitions.
        let part = store
            .select(
                1,
                "t",
                &[matcher(MatchOp::Equal, "__name__", "a")],
                T0 + 30_000 * 100,
                T0 + 30_000 * 250,
            )
            .unwrap();
        assert_eq!(part.len(), 1);
        assert_eq!(part[0].samples.len(), 151);
        assert_eq!(part[0].samples[0].v, 100.0);
        // Flushing and compacting changes nothing visible.
        store.flush_head(1).unwrap();
        store.compact().unwrap();
        assert_eq!(values(&store), got);
        assert_eq!(store.applied(1).unwrap(), Some(mark(300)));
    }

    #[test]
    fn retried_and_older_batches_are_skipped() {
        let dir = TempDir::new().unwrap();
        let mut store = open(&dir);
        let first = identified(
            "agent",
            0,
            1,
            10,
            vec![series(&[("__name__", "up")], &[(T0, 1.0)])],
        );
        assert_eq!(
            store.apply(1, &mark(1), &first).unwrap().samples_appended,
            1
        );
        // The same batch retried: skipped whole, even with a sample that would be new.
        let mut retried = first.clone();
        retried.series[0].samples.push(Sample { t: T0 + 1, v: 2.0 });
        let outcome = store.apply(1, &mark(2), &retried).unwrap();
        assert_eq!(outcome.duplicate_batch, Some(10));
        assert_eq!(outcome.samples_appended, 0);
        // An older identity is skipped too; a newer one and another queue are applied.
        let older = identified(
            "agent",
            0,
            3,
            5,
            vec![series(&[("__name__", "up")], &[(T0 + 2, 3.0)])],
        );
        assert_eq!(
            store.apply(1, &mark(3), &older).unwrap().duplicate_batch,
            Some(10)
        );
        let other_queue = identified(
            "agent",
            1,
            3,
            5,
            vec![series(&[("__name__", "up")], &[(T0 + 3, 4.0)])],
        );
        assert_eq!(
            store
                .apply(1, &mark(4), &other_queue)
                .unwrap()
                .duplicate_batch,
            None
        );
        let newer = identified(
            "agent",
            0,
            11,
            20,
            vec![series(&[("__name__", "up")], &[(T0 + 4, 5.0)])],
        );
        assert_eq!(
            store.apply(1, &mark(5), &newer).unwrap().duplicate_batch,
            None
        );
        assert_eq!(store.dedup_mark(1, "t", "agent", 0).unwrap(), Some(20));
        assert_eq!(store.dedup_mark(1, "other", "agent", 0).unwrap(), None);
        let expected = vec![(
            "up".to_owned(),
            vec![(T0, 1.0), (T0 + 3, 4.0), (T0 + 4, 5.0)],
        )];
        assert_eq!(values(&store), expected);
        // The marks survive a flush and a reopen.
        store.flush_head(1).unwrap();
        drop(store);
        let mut store = open(&dir);
        assert_eq!(store.dedup_mark(1, "t", "agent", 0).unwrap(), Some(20));
        assert_eq!(
            store.apply(1, &mark(6), &retried).unwrap().duplicate_batch,
            Some(20)
        );
        assert_eq!(values(&store), expected);
        // A reversed identity is a request error.
        let reversed = identified("agent", 0, 9, 2, vec![]);
        let err = store.apply(1, &mark(7), &reversed).unwrap_err();
        assert!(!err.is_fatal(), "{err}");
    }

    #[test]
    fn a_repeated_series_and_timestamp_is_stored_once() {
        let dir = TempDir::new().unwrap();
        let mut store = open(&dir);
        let b = batch(vec![series(
            &[("__name__", "up")],
            &[(T0, 1.0), (T0 + 15_000, 2.0)],
        )]);
        store.apply(1, &mark(1), &b).unwrap();
        let again = store.apply(1, &mark(2), &b).unwrap();
        assert_eq!((again.samples_appended, again.samples_duplicate), (0, 2));
        // Once the head is flushed the repeat meets the stored chunk: still stored once.
        store.flush_head(1).unwrap();
        store.apply(1, &mark(3), &b).unwrap();
        let expected = vec![("up".to_owned(), vec![(T0, 1.0), (T0 + 15_000, 2.0)])];
        assert_eq!(values(&store), expected);
        store.flush_head(1).unwrap();
        store.compact().unwrap();
        assert_eq!(values(&store), expected);
        // Another value at a stored timestamp: the first write wins; in the head it is refused.
        let conflict = batch(vec![series(&[("__name__", "up")], &[(T0, 9.0)])]);
        store.apply(1, &mark(4), &conflict).unwrap();
        assert_eq!(values(&store), expected);
        let head = batch(vec![series(
            &[("__name__", "up")],
            &[(T0 + 30_000, 3.0), (T0 + 30_000, 4.0)],
        )]);
        let outcome = store.apply(1, &mark(5), &head).unwrap();
        assert_eq!(outcome.rejected_conflict, 1);
        assert_eq!(
            outcome.first_rejection.map(|r| (r.series, r.t, r.reason)),
            Some((0, T0 + 30_000, RejectReason::Conflict))
        );
    }

    #[test]
    fn out_of_order_samples_inside_the_window_are_merged_and_older_ones_refused() {
        let dir = TempDir::new().unwrap();
        let mut store = open(&dir);
        let newest = T0 + 3 * H;
        let in_order: Vec<(i64, f64)> = (0..200)
            .map(|i| (newest - 40 * 60_000 + i * 12_000, 1.0))
            .collect();
        store
            .apply(
                1,
                &mark(1),
                &batch(vec![series(&[("__name__", "up")], &in_order)]),
            )
            .unwrap();
        assert_eq!(store.options().out_of_order_window_ms, H);
        // 50 min back (before the open chunk: an out-of-order chunk), 2 h back (refused), and
        // a new series 30 min back.
        let late = batch(vec![
            series(
                &[("__name__", "up")],
                &[
                    (newest - 50 * 60_000, 2.0),
                    (newest - 2 * H, 3.0),
                    (newest - 55 * 60_000, 4.0),
                ],
            ),
            series(&[("__name__", "late")], &[(newest - 30 * 60_000, 5.0)]),
        ]);
        let outcome = store.apply(1, &mark(2), &late).unwrap();
        assert_eq!(outcome.samples_out_of_order, 2);
        assert_eq!(outcome.rejected_too_old, 1);
        let max_t = in_order.last().unwrap().0;
        assert_eq!(
            outcome.first_rejection.map(|r| (r.t, r.reason)),
            Some((
                newest - 2 * H,
                RejectReason::TooOld {
                    min_valid_t: max_t - H
                }
            ))
        );
        let check = |store: &Tsdb| {
            let got = values(store);
            assert_eq!(
                got[0],
                ("late".to_owned(), vec![(newest - 30 * 60_000, 5.0)])
            );
            let up = &got[1].1;
            assert_eq!(up.len(), 202);
            assert_eq!(
                &up[..2],
                &[(newest - 55 * 60_000, 4.0), (newest - 50 * 60_000, 2.0)]
            );
            assert!(up.windows(2).all(|w| w[0].0 < w[1].0));
        };
        check(&store);
        store.flush_head(1).unwrap();
        store.compact().unwrap();
        check(&store);
        // Far out of bounds is refused too, without creating the series.
        let wild = batch(vec![series(&[("__name__", "wild")], &[(i64::MAX, 1.0)])]);
        let outcome = store.apply(1, &mark(3), &wild).unwrap();
        assert_eq!(
            (outcome.rejected_out_of_bounds, outcome.series_created),
            (1, 0)
        );
    }

    /// The `chunks` keys of shard 1, with the sample count of each list.
    fn stored_chunks(store: &Tsdb) -> Vec<(i64, SeriesId, usize)> {
        let (start, end) = keys::shard_range(1);
        scan(&store.db, CF_CHUNKS, &start, &end)
            .unwrap()
            .map(|item| {
                let (key, list) = item.unwrap();
                let (partition, id) = keys::chunk_parts(&key).unwrap();
                let mut samples = Vec::new();
                chunk_list::decode_into(&list, &mut samples).unwrap();
                (partition, id, samples.len())
            })
            .collect()
    }

    #[test]
    fn a_flush_persists_the_head_without_sealing_it() {
        let dir = TempDir::new().unwrap();
        let mut store = open(&dir);
        let up: Vec<(i64, f64)> = (0..100).map(|i| (T0 + i * 15_000, i as f64)).collect();
        store
            .apply(
                1,
                &mark(1),
                &batch(vec![series(&[("__name__", "up")], &up)]),
            )
            .unwrap();
        store.flush_head(1).unwrap();
        store.flush_head(1).unwrap();
        assert!(
            stored_chunks(&store).is_empty(),
            "the open chunk stays open"
        );
        // Reopened, the shard's head is back before any write, and decides as before.
        drop(store);
        let mut store = open(&dir);
        store.open_shard(1).unwrap();
        assert_eq!(values(&store), vec![("up".to_owned(), up.clone())]);
        let repeat = batch(vec![series(&[("__name__", "up")], &up[..1])]);
        assert_eq!(
            store.apply(1, &mark(2), &repeat).unwrap().samples_duplicate,
            1
        );
        // Twenty-five more: a full chunk of 120 samples and five open, all still in the head,
        // and all back after a flush and a reopen.
        let more: Vec<(i64, f64)> = (100..125).map(|i| (T0 + i * 15_000, i as f64)).collect();
        store
            .apply(
                1,
                &mark(3),
                &batch(vec![series(&[("__name__", "up")], &more)]),
            )
            .unwrap();
        assert!(
            stored_chunks(&store).is_empty(),
            "the partition stays in the head"
        );
        store.flush_head(1).unwrap();
        drop(store);
        let mut store = open(&dir);
        store.open_shard(1).unwrap();
        assert!(stored_chunks(&store).is_empty());
        assert_eq!(
            store.apply(1, &mark(4), &repeat).unwrap().samples_duplicate,
            1,
            "the full chunk decides too"
        );
        // A series idle since an earlier partition is sealed at the next flush and leaves the
        // head; an active one stays open.
        let next = partition_of(T0) + super::super::partition::PARTITION_MS;
        store
            .apply(
                1,
                &mark(5),
                &batch(vec![series(&[("__name__", "other")], &[(next, 1.0)])]),
            )
            .unwrap();
        store.flush_head(1).unwrap();
        assert_eq!(
            stored_chunks(&store),
            vec![(partition_of(T0), 0, 125)],
            "the idle series' partition is written once, folded"
        );
        drop(store);
        let mut store = open(&dir);
        store.open_shard(1).unwrap();
        let ids: Vec<SeriesId> = store.shards[&1].head.series_ids().collect();
        assert_eq!(ids, vec![1]);
        let mut expected: Vec<(i64, f64)> = up;
        expected.extend(more);
        assert_eq!(
            values(&store),
            vec![
                ("other".to_owned(), vec![(next, 1.0)]),
                ("up".to_owned(), expected)
            ]
        );
    }

    /// Batches with some of everything: new series, out-of-order samples, repeats, retried
    /// identities.
    fn mixed_batches() -> Vec<WriteBatch> {
        let mut batches = Vec::new();
        for i in 0..60i64 {
            let t = T0 + i * 60_000;
            let mut s = vec![series(&[("__name__", "a"), ("i", "x")], &[(t, i as f64)])];
            if i % 7 == 0 {
                s.push(series(
                    &[("__name__", "b"), ("n", &i.to_string())],
                    &[(t - 20 * 60_000, 1.5), (t, 2.5)],
                ));
            }
            if i % 5 == 0 {
                s.push(series(
                    &[("__name__", "a"), ("i", "x")],
                    &[(t - 30 * 60_000 + 1, -1.0)],
                ));
            }
            let key = (i / 2) as u64;
            batches.push(identified("ag", 0, key * 10, key * 10 + 9, s));
        }
        batches
    }

    #[test]
    fn a_replay_after_an_unflushed_close_rebuilds_the_same_state() {
        let batches = mixed_batches();
        let reference_dir = TempDir::new().unwrap();
        let mut reference = open(&reference_dir);
        let mut reference_outcomes = Vec::new();
        for (i, b) in batches.iter().enumerate() {
            reference_outcomes.push(reference.apply(1, &mark(i as u64 + 1), b).unwrap());
            // The same flush schedule as the store that crashes, which decides the same.
            if i == 24 {
                reference.flush_head(1).unwrap();
            }
        }
        let dir = TempDir::new().unwrap();
        let mut store = open(&dir);
        for (i, b) in batches.iter().enumerate() {
            store.apply(1, &mark(i as u64 + 1), b).unwrap();
            if i == 24 {
                assert_eq!(store.flush_head(1).unwrap(), Some(mark(25)));
            }
        }
        // Closed without a flush: the head and the marks after entry 25 are lost.
        drop(store);
        let mut store = open(&dir);
        assert_eq!(store.persisted(1).unwrap(), Some(mark(25)));
        assert_eq!(store.applied(1).unwrap(), Some(mark(25)));
        for (i, b) in batches.iter().enumerate().skip(25) {
            let mut outcome = store.apply(1, &mark(i as u64 + 1), b).unwrap();
            // Series created after the flush are on disk already: the replay finds them.
            outcome.series_created = reference_outcomes[i].series_created;
            assert_eq!(outcome, reference_outcomes[i], "entry {}", i + 1);
        }
        assert_eq!(everything(&store, 1), everything(&reference, 1));
        assert_eq!(
            store.dedup_mark(1, "t", "ag", 0).unwrap(),
            reference.dedup_mark(1, "t", "ag", 0).unwrap()
        );
    }

    /// Every key and value of every column family.
    fn dump(store: &Tsdb) -> Vec<(&'static str, KeyValue)> {
        let mut out = Vec::new();
        for name in keys::ALL_CFS {
            for item in scan(&store.db, name, &[], &[0xFF; 8]).unwrap() {
                out.push((name, item.unwrap()));
            }
        }
        out
    }

    #[test]
    fn replicas_applying_the_same_batches_hold_the_same_content() {
        let batches = mixed_batches();
        let dirs = [TempDir::new().unwrap(), TempDir::new().unwrap()];
        let mut stores: Vec<Tsdb> = dirs.iter().map(open).collect();
        for (i, b) in batches.iter().enumerate() {
            for (n, store) in stores.iter_mut().enumerate() {
                store.apply(1, &mark(i as u64 + 1), b).unwrap();
                // Replicas flush and compact at different times.
                if n == 0 && i % 9 == 0 {
                    store.flush_head(1).unwrap();
                    store.compact().unwrap();
                }
            }
        }
        assert_eq!(everything(&stores[0], 1), everything(&stores[1], 1));
        let ids: Vec<Vec<SeriesId>> = stores
            .iter()
            .map(|s| everything(s, 1).iter().map(|x| x.id).collect())
            .collect();
        assert_eq!(ids[0], ids[1]);
        for store in &mut stores {
            store.flush_head(1).unwrap();
            store.compact().unwrap();
        }
        let (a, b) = (dump(&stores[0]), dump(&stores[1]));
        assert!(!a.is_empty());
        assert_eq!(a, b);
    }

    #[test]
    fn bytes_per_sample_on_the_storage_workload() {
        let dir = TempDir::new().unwrap();
        let (store, per_sample) = bytes_per_sample(&dir, &workload(300, 1_000));
        println!("{per_sample:.4} bytes/sample (SST, index included)");
        assert!(per_sample <= 1.3, "{per_sample:.3} bytes/sample");
        assert_eq!(everything(&store, 1).len(), 300);
    }

    /// The full "storage" workload: 10,000 series x 1,000 rounds (about 100 s unoptimised):
    /// `cargo test -p skyview-storage --lib tsdb::store::tests::full_storage_workload -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement, not a check: 10 million samples"]
    fn full_storage_workload() {
        let dir = TempDir::new().unwrap();
        let started = std::time::Instant::now();
        let batches = workload(10_000, 1_000);
        let (store, per_sample) = bytes_per_sample(&dir, &batches);
        let dir_bytes: u64 = std::fs::read_dir(dir.path().join("tsdb"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        println!(
            "10,000 series x 1,000 rounds: {:.4} bytes/sample in SST files (index included), \
             {:.4} for the whole directory; {} SST bytes; {:.1} s",
            per_sample,
            dir_bytes as f64 / 1e7,
            store.sst_bytes().unwrap(),
            started.elapsed().as_secs_f64()
        );
    }
}
