//! Where a group's current snapshot is kept: one record in the Raft database's `raft_meta`
//! column family (key kind `Snapshot`), written fsynced.
//!
//! Persisting it matters because openraft purges the log up to a snapshot: after a restart the
//! state machine is rebuilt from this snapshot plus the log that follows it, and a lagging peer
//! is sent this snapshot. A record is `postcard(StoredSnapshot)`.
//!
//! - The meta group stores its whole state as the data: it is small (a few KiB per hundred
//!   shards), so it is one value rather than a file.
//! - A shard group stores the metadata only (empty data): its data is the shard in the TSDB,
//!   produced when a peer asks for it (see [`crate::shard`]).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::group::GroupId;
use crate::log_store::db::{Durability, RaftDb};
use crate::log_store::error::LogStoreError;
use crate::log_store::keys::{meta_key, MetaKind, CF_META};
use crate::type_config::{LogId, SnapshotMeta};

/// A snapshot as persisted: openraft's metadata and the encoded state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSnapshot {
    /// Last log id included, membership, and snapshot id.
    pub meta: SnapshotMeta,
    /// `postcard(MetaState)` for the meta group; empty for a shard group.
    pub data: Vec<u8>,
}

/// A new snapshot id for a snapshot up to `last_log_id`: unique even for two builds at the
/// same log id, as openraft asks of snapshot ids.
pub fn new_snapshot_id(last_log_id: Option<LogId>) -> String {
    let built_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    match last_log_id {
        Some(log_id) => format!("{}-{}-{built_at}", log_id.leader_id, log_id.index),
        None => format!("none-{built_at}"),
    }
}

/// The snapshot slot of one group. Clones share a lock, so a snapshot being built cannot
/// overwrite a newer one installed meanwhile.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    db: Arc<RaftDb>,
    group: GroupId,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl SnapshotStore {
    /// The snapshot slot of `group` in `db`.
    pub fn new(db: Arc<RaftDb>, group: GroupId) -> SnapshotStore {
        SnapshotStore {
            db,
            group,
            lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The current snapshot, if one was ever stored.
    pub fn load(&self) -> Result<Option<StoredSnapshot>, LogStoreError> {
        self.db.get_meta(self.group, MetaKind::Snapshot)
    }

    /// Store `snapshot` unless the stored one covers a later log id (a build that raced with an
    /// install). Returns whether it was stored.
    pub async fn save_if_newer(&self, snapshot: &StoredSnapshot) -> Result<bool, LogStoreError> {
        let _guard = self.lock.lock().await;
        if let Some(current) = self.load()? {
            if current.meta.last_log_id > snapshot.meta.last_log_id {
                return Ok(false);
            }
        }
        self.write(snapshot).await?;
        Ok(true)
    }

    /// Store `snapshot` unconditionally (an installed snapshot always becomes current).
    pub async fn replace(&self, snapshot: &StoredSnapshot) -> Result<(), LogStoreError> {
        let _guard = self.lock.lock().await;
        self.write(snapshot).await
    }

    async fn write(&self, snapshot: &StoredSnapshot) -> Result<(), LogStoreError> {
        let bytes = postcard::to_stdvec(snapshot).map_err(|source| LogStoreError::Encode {
            group: self.group,
            what: "snapshot",
            source,
        })?;
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(
            self.db.cf(CF_META)?,
            meta_key(self.group, MetaKind::Snapshot),
            bytes,
        );
        self.db
            .write(self.group, "save_snapshot", batch, Durability::Fsync)
            .await
    }
}
