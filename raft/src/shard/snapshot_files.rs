//! A shard's snapshot directories under the node's snapshot directory, and the crash-safe
//! order of their steps (see the [`shard`](crate::shard) module header):
//!
//! ```text
//! <snapshot_dir>/shard-<n>/checkpoint   a checkpoint being packed for a follower (transient)
//! <snapshot_dir>/shard-<n>/receiving    a received pack being unpacked (transient)
//! <snapshot_dir>/shard-<n>/installing   an unpacked snapshot whose restore is pending
//! ```
//!
//! `receiving` becomes `installing` by an atomic rename once every file is fsynced, so
//! `installing` is always complete. Transient directories found at open are leftovers of a
//! crash and are deleted; `installing` is restored from again.
//!
//! Everything here blocks on the file system: call it from `spawn_blocking` or at startup.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use skyview_storage::tsdb::{AppliedMark, Tsdb};

use crate::shard::{pack, ShardError};

/// The snapshot directories of one shard.
#[derive(Debug, Clone)]
pub struct SnapshotFiles {
    shard: u32,
    root: PathBuf,
}

impl SnapshotFiles {
    /// The directories of `shard` under `snapshot_dir` (which may be shared by every shard of
    /// the node), created if needed, with leftovers of an interrupted transfer removed.
    pub fn open(shard: u32, snapshot_dir: &Path) -> Result<SnapshotFiles, ShardError> {
        let files = SnapshotFiles {
            shard,
            root: snapshot_dir.join(format!("shard-{shard}")),
        };
        fs::create_dir_all(&files.root).map_err(files.io(&files.root))?;
        files.remove(&files.checkpoint_dir())?;
        files.remove(&files.receiving_dir())?;
        Ok(files)
    }

    fn checkpoint_dir(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    fn receiving_dir(&self) -> PathBuf {
        self.root.join("receiving")
    }

    fn installing_dir(&self) -> PathBuf {
        self.root.join("installing")
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> ShardError {
        let shard = self.shard;
        let path = path.to_path_buf();
        move |source| ShardError::SnapshotIo {
            shard,
            path,
            source,
        }
    }

    fn storage(&self) -> impl FnOnce(skyview_storage::tsdb::StorageError) -> ShardError {
        let shard = self.shard;
        move |source| ShardError::Storage { shard, source }
    }

    /// Removes `dir` and everything in it, if it exists.
    fn remove(&self, dir: &Path) -> Result<(), ShardError> {
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(self.io(dir)(e)),
            _ => Ok(()),
        }
    }

    fn sync_root(&self) -> Result<(), ShardError> {
        File::open(&self.root)
            .and_then(|d| d.sync_all())
            .map_err(self.io(&self.root))
    }

    /// Checkpoints the shard (flushing its head first) into `checkpoint`. Returns the applied
    /// mark the data stands for. Needs the TSDB; [`pack_checkpoint`](Self::pack_checkpoint)
    /// then runs without it.
    pub fn checkpoint(&self, tsdb: &mut Tsdb) -> Result<Option<AppliedMark>, ShardError> {
        let dir = self.checkpoint_dir();
        self.remove(&dir)?;
        tsdb.checkpoint(self.shard, &dir).map_err(self.storage())
    }

    /// Packs the last checkpoint and removes its files.
    pub fn pack_checkpoint(&self) -> Result<Vec<u8>, ShardError> {
        let dir = self.checkpoint_dir();
        let packed = pack::pack_dir(self.shard, &dir)?;
        self.remove(&dir)?;
        Ok(packed)
    }

    /// Verifies `packed` and makes it the pending install: unpacked and fsynced into
    /// `receiving`, then renamed to `installing`. Nothing changes if the pack is invalid.
    pub fn stage(&self, packed: &[u8]) -> Result<(), ShardError> {
        let receiving = self.receiving_dir();
        let installing = self.installing_dir();
        self.remove(&receiving)?;
        pack::unpack_to_dir(self.shard, packed, &receiving)?;
        self.remove(&installing)?;
        fs::rename(&receiving, &installing).map_err(self.io(&installing))?;
        self.sync_root()
    }

    /// Whether a staged snapshot waits to be restored.
    pub fn has_staged(&self) -> Result<bool, ShardError> {
        let dir = self.installing_dir();
        dir.try_exists().map_err(self.io(&dir))
    }

    /// Replaces the shard's data with the staged snapshot, then drops the staged files.
    /// Returns the applied mark the restored data stands for.
    pub fn restore_staged(&self, tsdb: &mut Tsdb) -> Result<Option<AppliedMark>, ShardError> {
        let dir = self.installing_dir();
        let mark = tsdb.restore(self.shard, &dir).map_err(self.storage())?;
        self.remove(&dir)?;
        self.sync_root()?;
        Ok(mark)
    }
}
