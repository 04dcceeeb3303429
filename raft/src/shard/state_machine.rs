//! A shard group's openraft state machine: a thin async shell over the TSDB (see the
//! [`shard`](crate::shard) module header for durability and snapshots).
//!
//! Every TSDB call blocks (RocksDB, file IO), so each runs in `spawn_blocking` with the TSDB's
//! write lock taken inside the blocking task and released before the task ends. The lock is
//! the node's, shared by every shard: it is held per entry when applying, and only for the
//! checkpoint itself (not the packing) when a snapshot is produced.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use skyview_storage::tsdb::Tsdb;

use crate::command::{Command, Response, ShardWrite};
use crate::group::GroupId;
use crate::log_store::db::RaftDb;
use crate::meta::snapshot_store::{new_snapshot_id, SnapshotStore, StoredSnapshot};
use crate::shard::apply_batch::apply_batch;
use crate::shard::snapshot_files::SnapshotFiles;
use crate::shard::{mark, ShardError, SharedTsdb};
use crate::type_config::{
    Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

/// The state machine of one shard group on this node. Hand it to `openraft::Raft::new` for
/// [`GroupId::shard`]`(shard)`.
#[derive(Debug)]
pub struct ShardStateMachine {
    shard: u32,
    tsdb: SharedTsdb,
    /// The last entry applied, as openraft knows it (after an install: the snapshot's).
    last_applied: Option<LogId>,
    /// The membership in force after `last_applied`.
    membership: StoredMembership,
    snapshots: SnapshotStore,
    files: SnapshotFiles,
    /// Samples applied since the last snapshot build: what the node's size trigger reads
    /// (see [`ShardStateMachine::unsnapshotted_samples`]).
    unsnapshotted: Arc<AtomicU64>,
}

/// Runs `f` on the TSDB under its write lock, on the blocking pool.
async fn with_tsdb<T, F>(tsdb: &SharedTsdb, shard: u32, f: F) -> Result<T, ShardError>
where
    T: Send + 'static,
    F: FnOnce(&mut Tsdb) -> Result<T, ShardError> + Send + 'static,
{
    let tsdb = Arc::clone(tsdb);
    tokio::task::spawn_blocking(move || {
        let mut guard = tsdb.write().map_err(|_| ShardError::Poisoned { shard })?;
        f(&mut guard)
    })
    .await
    .map_err(|source| ShardError::Task { shard, source })?
}

fn storage(shard: u32) -> impl Fn(skyview_storage::tsdb::StorageError) -> ShardError {
    move |source| ShardError::Storage { shard, source }
}

impl ShardStateMachine {
    /// Opens the state machine of `shard` over the node's TSDB: finishes a snapshot install
    /// a crash interrupted, then reports as applied what the TSDB last flushed (openraft
    /// re-applies the log after it). `snapshot_dir` may be shared by every shard of the node.
    ///
    /// Blocks on RocksDB and the file system: call it at startup or from `spawn_blocking`.
    pub fn open(
        tsdb: SharedTsdb,
        raft_db: Arc<RaftDb>,
        shard: u32,
        snapshot_dir: PathBuf,
    ) -> Result<ShardStateMachine, ShardError> {
        let files = SnapshotFiles::open(shard, &snapshot_dir)?;
        let applied = {
            let mut guard = tsdb.write().map_err(|_| ShardError::Poisoned { shard })?;
            if files.has_staged()? {
                let restored = files.restore_staged(&mut guard)?;
                tracing::warn!(
                    shard,
                    index = restored.as_ref().map(|m| m.index),
                    "finished a snapshot install interrupted by a restart"
                );
            }
            // The persisted head is loaded now, so reads see it before any entry is applied.
            guard.open_shard(shard).map_err(storage(shard))?;
            guard.applied(shard).map_err(storage(shard))?
        };
        let (last_applied, membership) = match &applied {
            Some(applied) => {
                let (log_id, membership) = mark::decode(shard, applied)?;
                (Some(log_id), membership)
            }
            None => (None, StoredMembership::default()),
        };
        tracing::info!(shard, last_applied = ?last_applied, "opened shard state machine");
        Ok(ShardStateMachine {
            shard,
            tsdb,
            last_applied,
            membership,
            snapshots: SnapshotStore::new(raft_db, GroupId::shard(shard)),
            files,
            unsnapshotted: Arc::default(),
        })
    }

    /// The count of samples applied since the last snapshot build (the log holds at least
    /// those). openraft's snapshot policy counts entries, and an entry may carry one sample or
    /// a hundred thousand, so the node also triggers a snapshot, and with it a log purge, when
    /// this count grows large.
    pub fn unsnapshotted_samples(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.unsnapshotted)
    }

    /// The shard this state machine applies.
    pub fn shard(&self) -> u32 {
        self.shard
    }

    /// Applies `entries` (in one blocking task), taking the TSDB lock per entry so that other
    /// shards' applies and reads interleave with a long run. Returns the responses and the
    /// membership after the last entry; on a fatal error, the entry it happened at.
    fn apply_all(
        shard: u32,
        tsdb: &SharedTsdb,
        entries: Vec<Entry>,
        mut membership: StoredMembership,
        unsnapshotted: &AtomicU64,
    ) -> Result<(Vec<Response>, StoredMembership), (LogId, ShardError)> {
        let mut responses = Vec::with_capacity(entries.len());
        for entry in entries {
            let log_id = entry.log_id;
            if let EntryPayload::Membership(m) = &entry.payload {
                membership = StoredMembership::new(Some(log_id), m.clone());
            }
            let applied_mark =
                mark::encode(shard, &log_id, &membership).map_err(|e| (log_id, e))?;
            let mut tsdb = tsdb
                .write()
                .map_err(|_| (log_id, ShardError::Poisoned { shard }))?;
            let response = match entry.payload {
                EntryPayload::Normal(Command::Write(write)) => {
                    // Without other holders the payload is moved, not copied. A replication
                    // request still in flight to a follower that has not answered yet (RF=3:
                    // the entry commits on the first answer) holds it, and then it is cloned.
                    let ShardWrite { batches } = Arc::unwrap_or_clone(write);
                    let samples: usize = batches
                        .iter()
                        .flat_map(|b| &b.series)
                        .map(|s| s.samples.len())
                        .sum();
                    unsnapshotted.fetch_add(samples as u64, Ordering::Relaxed);
                    let outcomes = batches
                        .into_iter()
                        .map(|batch| apply_batch(&mut tsdb, shard, &applied_mark, batch))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| (log_id, storage(shard)(e)))?;
                    Response::Written(outcomes)
                }
                EntryPayload::Normal(Command::DeleteBefore { before_ms }) => {
                    let outcome = tsdb
                        .delete_before(shard, before_ms)
                        .map_err(|e| (log_id, storage(shard)(e)))?;
                    tracing::info!(
                        shard,
                        before_ms,
                        series_removed = outcome.series_removed,
                        "retention applied"
                    );
                    Response::Deleted {
                        deleted_before: outcome.deleted_before,
                        series_removed: outcome.series_removed,
                    }
                }
                EntryPayload::Normal(Command::Meta(_)) => {
                    tracing::warn!(shard, %log_id, "meta command proposed to a shard group; ignored");
                    Response::Misrouted
                }
                EntryPayload::Blank | EntryPayload::Membership(_) => Response::Empty,
            };
            // Every entry moves the mark, whatever it held (an empty write, a blank entry).
            tsdb.mark_applied(shard, &applied_mark)
                .map_err(|e| (log_id, storage(shard)(e)))?;
            responses.push(response);
        }
        Ok((responses, membership))
    }
}

/// Builds a snapshot's metadata: flushes the head so that everything up to the entry that
/// was last applied when openraft asked for the builder is on disk, and records that.
#[derive(Debug)]
pub struct ShardSnapshotBuilder {
    shard: u32,
    tsdb: SharedTsdb,
    last_applied: Option<LogId>,
    membership: StoredMembership,
    snapshots: SnapshotStore,
    unsnapshotted: Arc<AtomicU64>,
    /// [`ShardStateMachine::unsnapshotted_samples`] when the builder was made: the flush
    /// covers them (and possibly more, counted again: the trigger only fires sooner).
    covered: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for ShardSnapshotBuilder {
    /// Returns the snapshot with empty data: openraft only keeps a built snapshot's metadata
    /// (to purge the log); the data a follower needs is produced by `get_current_snapshot`.
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let shard = self.shard;
        let applied = self.last_applied.map(|id| id.index);
        let flushed = with_tsdb(&self.tsdb, shard, move |tsdb| {
            let persisted = tsdb.flush_head(shard).map_err(storage(shard))?;
            let persisted = persisted.map(|m| m.index);
            match applied {
                Some(applied) if persisted.is_none_or(|p| p < applied) => {
                    Err(ShardError::PersistedBehind {
                        shard,
                        applied,
                        persisted,
                    })
                }
                _ => Ok(()),
            }
        })
        .await;
        flushed.map_err(|e| StorageIOError::write_state_machine(&e))?;
        self.unsnapshotted
            .fetch_sub(self.covered, Ordering::Relaxed);
        let meta = SnapshotMeta {
            last_log_id: self.last_applied,
            last_membership: self.membership.clone(),
            snapshot_id: new_snapshot_id(self.last_applied),
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data: Vec::new(),
        };
        self.snapshots
            .save_if_newer(&stored)
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        tracing::debug!(shard, last_log_id = ?meta.last_log_id, "shard snapshot built (head flushed)");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(Vec::new())),
        })
    }
}

impl RaftStateMachine<TypeConfig> for ShardStateMachine {
    type SnapshotBuilder = ShardSnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let Some(last) = entries.last().map(|e| e.log_id) else {
            return Ok(Vec::new());
        };
        let shard = self.shard;
        let membership = self.membership.clone();
        let tsdb = Arc::clone(&self.tsdb);
        let unsnapshotted = Arc::clone(&self.unsnapshotted);
        let applied = tokio::task::spawn_blocking(move || {
            Self::apply_all(shard, &tsdb, entries, membership, &unsnapshotted)
        })
        .await
        .map_err(|source| (last, ShardError::Task { shard, source }))
        .and_then(|result| result);
        match applied {
            Ok((responses, membership)) => {
                self.last_applied = Some(last);
                self.membership = membership;
                Ok(responses)
            }
            Err((log_id, e)) => {
                tracing::error!(shard, %log_id, error = %e, "applying to the shard failed; the group stops");
                Err(StorageIOError::apply(log_id, &e).into())
            }
        }
    }

    async fn get_snapshot_builder(&mut self) -> ShardSnapshotBuilder {
        ShardSnapshotBuilder {
            shard: self.shard,
            tsdb: Arc::clone(&self.tsdb),
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            snapshots: self.snapshots.clone(),
            unsnapshotted: Arc::clone(&self.unsnapshotted),
            covered: self.unsnapshotted.load(Ordering::Relaxed),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let shard = self.shard;
        let signature = meta.signature();
        let packed = snapshot.into_inner();
        let files = self.files.clone();
        let size = packed.len();
        // 1. Verify and stage the files: an invalid pack changes nothing.
        let staged = tokio::task::spawn_blocking(move || files.stage(&packed))
            .await
            .map_err(|source| ShardError::Task { shard, source })
            .and_then(|result| result);
        staged.map_err(|e| StorageIOError::read_snapshot(Some(signature.clone()), &e))?;
        // 2. Record the metadata: from here on, the staged files are what the shard holds.
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data: Vec::new(),
        };
        self.snapshots
            .replace(&stored)
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(signature.clone()), &e))?;
        // 3. Replace the shard's data (redone at open if the node dies meanwhile).
        let files = self.files.clone();
        let expected = meta.last_log_id.map(|id| id.index);
        let restored = with_tsdb(&self.tsdb, shard, move |tsdb| {
            let restored = files.restore_staged(tsdb)?.map(|m| m.index);
            match expected {
                Some(expected) if restored.is_none_or(|r| r < expected) => {
                    Err(ShardError::SnapshotBehind {
                        shard,
                        expected,
                        restored,
                    })
                }
                _ => Ok(restored),
            }
        })
        .await
        .map_err(|e| StorageIOError::write_snapshot(Some(signature.clone()), &e))?;
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        tracing::info!(shard, last_log_id = ?meta.last_log_id, data_index = ?restored, bytes = size,
            "installed shard snapshot");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let stored = self
            .snapshots
            .load()
            .map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let files = self.files.clone();
        let shard = self.shard;
        let signature = stored.meta.signature();
        // Only the checkpoint needs the TSDB (every shard waits on its lock); packing does not.
        let checkpoint_files = files.clone();
        let data_mark = with_tsdb(&self.tsdb, shard, move |tsdb| {
            checkpoint_files.checkpoint(tsdb)
        })
        .await
        .map_err(|e| StorageIOError::read_snapshot(Some(signature.clone()), &e))?;
        let packed = tokio::task::spawn_blocking(move || files.pack_checkpoint())
            .await
            .map_err(|source| ShardError::Task { shard, source })
            .and_then(|result| result)
            .map_err(|e| StorageIOError::read_snapshot(Some(signature), &e))?;
        tracing::info!(shard, last_log_id = ?stored.meta.last_log_id,
            data_index = data_mark.map(|m| m.index), bytes = packed.len(), "shard snapshot packed");
        Ok(Some(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(packed)),
        }))
    }
}
