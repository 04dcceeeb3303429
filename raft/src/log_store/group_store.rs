//! One Raft group's view of the Raft database: openraft's `RaftLogStorage` and
//! `RaftLogReader`.
//!
//! Durability contract (the reason this file exists, invariant I1):
//! - `save_vote`, `append` and `truncate` are one RocksDB write batch each, written with
//!   `sync = true`; `append` calls openraft's `LogFlushed` callback only after that write
//!   returns, so openraft never counts an entry as persisted before it is on stable storage.
//! - `purge` and `save_committed` are buffered (no fsync): losing them in a crash only leaves
//!   more log or an older commit hint, and RocksDB recovers a WAL prefix, so they become durable
//!   with the next synced write and are never reordered after it.
//!
//! Each call completes its write before returning, so writes of one group are serialised, as
//! openraft requires. Entries are encoded with postcard (see `docs/raft-storage.md`).
//!
//! The store also keeps what it appended in memory until openraft's core reads it back to
//! apply ([`AppendedEntries`]); the log readers it hands out for replication copy from there
//! too, and read from disk what is gone from it.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader, StorageIOError};
use rocksdb::{Direction, IteratorMode, ReadOptions};
use serde::Serialize;

use crate::group::GroupId;
use crate::log_store::appended::AppendedEntries;
use crate::log_store::db::{Durability, RaftDb};
use crate::log_store::error::LogStoreError;
use crate::log_store::keys::{log_end, log_index, log_key, meta_key, MetaKind, CF_LOG, CF_META};
use crate::type_config::{Entry, LogId, StorageError, TypeConfig, Vote};

/// The log store of one Raft group.
#[derive(Debug)]
pub struct GroupLogStore {
    db: Arc<RaftDb>,
    group: GroupId,
    /// What the group appended and openraft's core has not read back, shared with the readers.
    appended: Arc<Mutex<AppendedEntries>>,
    /// Whether this is the store the core owns (its reads take from `appended`), or a log
    /// reader (its reads copy, leaving the entries for the core).
    core: bool,
}

impl GroupLogStore {
    pub(crate) fn new(db: Arc<RaftDb>, group: GroupId) -> GroupLogStore {
        GroupLogStore {
            db,
            group,
            appended: Arc::default(),
            core: true,
        }
    }

    /// Another handle on the same log, for openraft's replication.
    fn reader(&self) -> GroupLogStore {
        GroupLogStore {
            db: Arc::clone(&self.db),
            group: self.group,
            appended: Arc::clone(&self.appended),
            core: false,
        }
    }

    /// The kept entries; `None` if a panic poisoned the lock (then every read goes to disk).
    fn appended(&self) -> Option<MutexGuard<'_, AppendedEntries>> {
        self.appended.lock().ok()
    }

    /// The group this store persists.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// Entries with index in `start..end` (`end = None`: to the last entry), in index order.
    fn read_range(&self, start: u64, end: Option<u64>) -> Result<Vec<Entry>, LogStoreError> {
        let group = self.group;
        let cf = self.db.cf(CF_LOG)?;
        let mut opts = ReadOptions::default();
        opts.set_iterate_upper_bound(match end {
            Some(end) => log_key(group, end).to_vec(),
            None => log_end(group),
        });
        let start_key = log_key(group, start);
        let iter = self.db.rocks().iterator_cf_opt(
            cf,
            opts,
            IteratorMode::From(&start_key, Direction::Forward),
        );
        let mut entries = Vec::new();
        for item in iter {
            let (key, value) = item.map_err(|source| LogStoreError::Rocks {
                group,
                op: "read_log",
                source,
            })?;
            let Some(index) = log_index(group, &key) else {
                break;
            };
            entries.push(self.decode_entry(index, &value)?);
        }
        Ok(entries)
    }

    /// The last entry's log id, if the group has any entry.
    fn last_entry_id(&self) -> Result<Option<LogId>, LogStoreError> {
        let group = self.group;
        let cf = self.db.cf(CF_LOG)?;
        let mut opts = ReadOptions::default();
        opts.set_iterate_lower_bound(log_key(group, 0).to_vec());
        opts.set_iterate_upper_bound(log_end(group));
        let mut iter = self.db.rocks().iterator_cf_opt(cf, opts, IteratorMode::End);
        match iter.next() {
            None => Ok(None),
            Some(item) => {
                let (key, value) = item.map_err(|source| LogStoreError::Rocks {
                    group,
                    op: "read_last_log",
                    source,
                })?;
                match log_index(group, &key) {
                    Some(index) => Ok(Some(self.decode_entry(index, &value)?.log_id)),
                    None => Ok(None),
                }
            }
        }
    }

    fn decode_entry(&self, key_index: u64, value: &[u8]) -> Result<Entry, LogStoreError> {
        let entry: Entry =
            postcard::from_bytes(value).map_err(|source| LogStoreError::DecodeEntry {
                group: self.group,
                index: key_index,
                source,
            })?;
        if entry.log_id.index != key_index {
            return Err(LogStoreError::IndexMismatch {
                group: self.group,
                key_index,
                entry_index: entry.log_id.index,
            });
        }
        Ok(entry)
    }

    fn encode<T: Serialize>(
        &self,
        what: &'static str,
        value: &T,
    ) -> Result<Vec<u8>, LogStoreError> {
        postcard::to_stdvec(value).map_err(|source| LogStoreError::Encode {
            group: self.group,
            what,
            source,
        })
    }

    /// A write batch setting metadata `kind` to `value`.
    fn meta_batch<T: Serialize>(
        &self,
        kind: MetaKind,
        what: &'static str,
        value: &T,
    ) -> Result<rocksdb::WriteBatch, LogStoreError> {
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(
            self.db.cf(CF_META)?,
            meta_key(self.group, kind),
            self.encode(what, value)?,
        );
        Ok(batch)
    }

    async fn append_entries(
        &self,
        entries: impl IntoIterator<Item = Entry>,
    ) -> Result<(), LogStoreError> {
        let cf = self.db.cf(CF_LOG)?;
        let mut batch = rocksdb::WriteBatch::default();
        let mut written = Vec::new();
        for entry in entries {
            let encoded = self.encode("entry", &entry)?;
            batch.put_cf(cf, log_key(self.group, entry.log_id.index), &encoded);
            written.push((entry, encoded.len()));
        }
        let count = batch.len();
        self.db
            .write(self.group, "append", batch, Durability::Fsync)
            .await?;
        let first = written.first().map(|(e, _)| e.log_id.index);
        let last = written.last().map(|(e, _)| e.log_id.index);
        tracing::trace!(group = %self.group, ?first, ?last, count, "appended and synced");
        if let Some(mut appended) = self.appended() {
            for (entry, size) in written {
                appended.push(entry, size);
            }
        }
        Ok(())
    }

    async fn truncate_from(&self, index: u64) -> Result<(), LogStoreError> {
        if let Some(mut appended) = self.appended() {
            appended.truncate_from(index);
        }
        let mut batch = rocksdb::WriteBatch::default();
        batch.delete_range_cf(
            self.db.cf(CF_LOG)?,
            log_key(self.group, index).to_vec(),
            log_end(self.group),
        );
        self.db
            .write(self.group, "truncate", batch, Durability::Fsync)
            .await?;
        tracing::debug!(group = %self.group, since = index, "truncated log");
        Ok(())
    }

    async fn purge_upto(&self, log_id: LogId) -> Result<(), LogStoreError> {
        if let Some(mut appended) = self.appended() {
            appended.purge_upto(log_id.index);
        }
        let mut batch = self.meta_batch(MetaKind::LastPurged, "last_purged", &log_id)?;
        let end = match log_id.index.checked_add(1) {
            Some(next) => log_key(self.group, next).to_vec(),
            None => log_end(self.group),
        };
        batch.delete_range_cf(self.db.cf(CF_LOG)?, log_key(self.group, 0).to_vec(), end);
        self.db
            .write(self.group, "purge", batch, Durability::Buffered)
            .await?;
        tracing::debug!(group = %self.group, upto = %log_id, "purged log");
        Ok(())
    }
}

/// Turn a range of log indexes into `start..end`, `end = None` meaning unbounded. `None` when
/// the range is empty by construction (starting past `u64::MAX`).
fn index_range(range: &impl RangeBounds<u64>) -> Option<(u64, Option<u64>)> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.checked_add(1),
        Bound::Excluded(&e) => Some(e),
        Bound::Unbounded => None,
    };
    Some((start, end))
}

fn read_err(e: LogStoreError) -> StorageError {
    StorageIOError::read_logs(&e).into()
}

fn write_err(e: LogStoreError) -> StorageError {
    StorageIOError::write_logs(&e).into()
}

impl RaftLogReader<TypeConfig> for GroupLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        match index_range(&range) {
            Some((start, end)) if end.is_none_or(|end| start < end) => {
                let kept = match (self.appended(), end) {
                    (Some(mut appended), Some(end)) if self.core => appended.take(start, end),
                    (Some(appended), Some(end)) => appended.copy(start, end),
                    _ => None,
                };
                match kept {
                    Some(entries) => Ok(entries),
                    None => self.read_range(start, end).map_err(read_err),
                }
            }
            _ => Ok(Vec::new()),
        }
    }
}

impl RaftLogStorage<TypeConfig> for GroupLogStore {
    type LogReader = GroupLogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = self
            .db
            .get_meta(self.group, MetaKind::LastPurged)
            .map_err(read_err)?;
        let last_log_id = self
            .last_entry_id()
            .map_err(read_err)?
            .or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> GroupLogStore {
        self.reader()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let write = async {
            let batch = self.meta_batch(MetaKind::Vote, "vote", vote)?;
            self.db
                .write(self.group, "save_vote", batch, Durability::Fsync)
                .await
        };
        write
            .await
            .map_err(|e| StorageError::from(StorageIOError::write_vote(&e)))?;
        tracing::debug!(group = %self.group, %vote, "saved vote");
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.db
            .get_meta(self.group, MetaKind::Vote)
            .map_err(|e| StorageIOError::read_vote(&e).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let write = async {
            let batch = self.meta_batch(MetaKind::Committed, "committed", &committed)?;
            self.db
                .write(self.group, "save_committed", batch, Durability::Buffered)
                .await
        };
        write.await.map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        let committed: Option<Option<LogId>> = self
            .db
            .get_meta(self.group, MetaKind::Committed)
            .map_err(read_err)?;
        Ok(committed.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        match self.append_entries(entries).await {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                tracing::error!(group = %self.group, error = %e, "raft log append failed");
                callback.log_io_completed(Err(io::Error::other(e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.truncate_from(log_id.index).await.map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.purge_upto(log_id).await.map_err(write_err)
    }
}
