//! The Raft database: one RocksDB instance (`<data>/raft`) holding the logs, votes and
//! metadata of every Raft group on the node.
//!
//! It is a separate instance from the TSDB's (as TiKV separates raftdb from kvdb) because the two
//! have opposite shapes:
//! - the Raft log is a queue: small sequential appends that must each be fsynced before they are
//!   acknowledged, and deleted by range soon after they are applied;
//! - the TSDB is long-lived data with heavy compaction, whose writes need no fsync of their own
//!   because the Raft log is the durability point.
//!
//! In one instance, every synced log append would also sync the TSDB's WAL traffic, and a
//! TSDB flush or compaction stall would stall Raft. Separate instances keep their WALs,
//! memtables and tuning apart, and a shard snapshot (a checkpoint of the TSDB) never contains
//! Raft state.
//!
//! All groups share this instance, so concurrent fsynced appends from different groups are
//! merged by RocksDB's write-group leader into one WAL write and one fsync.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, DBRecoveryMode, Options, WriteOptions,
    DB,
};
use serde::de::DeserializeOwned;

use crate::group::GroupId;
use crate::log_store::error::LogStoreError;
use crate::log_store::group_store::GroupLogStore;
use crate::log_store::keys::{meta_key, MetaKind, CF_LOG, CF_META};

/// Whether a write must reach stable storage before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the WAL before returning: for anything openraft is told is persisted.
    Fsync,
    /// Written to the WAL without fsync. RocksDB recovers a prefix of the WAL
    /// (point-in-time recovery), so such a write is durable as soon as any later synced write
    /// returns, and is never reordered after it.
    Buffered,
}

/// The node's Raft database. Open once per process and share it as an `Arc`.
/// Most bytes of write-ahead log files the Raft database keeps (see [`RaftDb::open`]).
const WAL_LIMIT_BYTES: u64 = 128 << 20;

#[derive(Debug)]
pub struct RaftDb {
    db: DB,
    path: PathBuf,
}

impl RaftDb {
    /// Open (or create) the Raft database in directory `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Arc<RaftDb>, LogStoreError> {
        let path = path.as_ref().to_path_buf();
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Replay the WAL up to the first torn or corrupt record and stop there: a crash during a
        // write loses only writes that were never acknowledged as synced.
        opts.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
        // A WAL file is deleted only once every column family's data in it is flushed. `meta`
        // takes a few small writes (votes, purge marks) and would never fill its memtable, so
        // it would pin every WAL file: 1.5 GB of them after 10 million samples. Past this
        // total, RocksDB flushes the families holding the oldest file.
        opts.set_max_total_wal_size(WAL_LIMIT_BYTES);

        // Entries carry label strings that repeat from batch to batch: cheap LZ4 pays off for
        // the entries that live long enough to be flushed to SST files.
        let mut log_opts = Options::default();
        log_opts.set_compression_type(DBCompressionType::Lz4);
        let meta_opts = Options::default();

        let cfs = [
            ColumnFamilyDescriptor::new(CF_LOG, log_opts),
            ColumnFamilyDescriptor::new(CF_META, meta_opts),
        ];
        let db =
            DB::open_cf_descriptors(&opts, &path, cfs).map_err(|source| LogStoreError::Open {
                path: path.clone(),
                source,
            })?;
        tracing::info!(path = %path.display(), "opened raft database");
        Ok(Arc::new(RaftDb { db, path }))
    }

    /// The log store of Raft group `group`. Handles are cheap; every group must have at most
    /// one Raft instance writing through its handles.
    pub fn group(self: &Arc<Self>, group: GroupId) -> GroupLogStore {
        GroupLogStore::new(Arc::clone(self), group)
    }

    /// Writes every memtable to SST files, so that the write-ahead log is not replayed at
    /// the next start (a clean stop calls it).
    pub fn flush_memtables(&self) -> Result<(), LogStoreError> {
        for name in [CF_LOG, CF_META] {
            self.db
                .flush_cf(self.cf(name)?)
                .map_err(|source| LogStoreError::Flush { source })?;
        }
        Ok(())
    }

    /// The directory the database lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn rocks(&self) -> &DB {
        &self.db
    }

    pub(crate) fn cf(&self, name: &'static str) -> Result<&ColumnFamily, LogStoreError> {
        self.db
            .cf_handle(name)
            .ok_or(LogStoreError::MissingColumnFamily { name })
    }

    /// Read and decode metadata value `kind` of `group`.
    pub(crate) fn get_meta<T: DeserializeOwned>(
        &self,
        group: GroupId,
        kind: MetaKind,
    ) -> Result<Option<T>, LogStoreError> {
        let cf = self.cf(CF_META)?;
        let raw = self
            .db
            .get_pinned_cf(cf, meta_key(group, kind))
            .map_err(|source| LogStoreError::Rocks {
                group,
                op: "read_meta",
                source,
            })?;
        raw.map(|bytes| {
            postcard::from_bytes(&bytes).map_err(|source| LogStoreError::DecodeMeta {
                group,
                kind,
                source,
            })
        })
        .transpose()
    }

    /// Apply `batch` atomically. An fsynced write runs on tokio's blocking pool, so a group
    /// waiting for its fsync does not hold up other groups' tasks on the same worker thread.
    pub(crate) async fn write(
        self: &Arc<Self>,
        group: GroupId,
        op: &'static str,
        batch: rocksdb::WriteBatch,
        durability: Durability,
    ) -> Result<(), LogStoreError> {
        match durability {
            Durability::Buffered => self.write_now(group, op, batch, false),
            Durability::Fsync => {
                let db = Arc::clone(self);
                tokio::task::spawn_blocking(move || db.write_now(group, op, batch, true))
                    .await
                    .map_err(|source| LogStoreError::WriteTask { group, op, source })?
            }
        }
    }

    fn write_now(
        &self,
        group: GroupId,
        op: &'static str,
        batch: rocksdb::WriteBatch,
        sync: bool,
    ) -> Result<(), LogStoreError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.db
            .write_opt(batch, &opts)
            .map_err(|source| LogStoreError::Rocks { group, op, source })
    }
}
