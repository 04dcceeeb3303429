//! Shard snapshots for Raft: a shard's key range in every column family, exported as one SST
//! file per family and ingested into another store.
//!
//! A snapshot directory holds `<column family>.sst` for each family in which the shard has
//! keys (none for an empty one). Values are written merged (the canonical chunk lists and
//! postings), so a restored replica holds the same content as its source. The head is flushed
//! first, so the snapshot holds every applied sample, and its `meta` carries the open chunks
//! and the applied mark it stands for (returned by both sides): the restored replica's head
//! is its source's, and decides as it would.
//!
//! Restoring deletes the shard's range in every family, then ingests the files; RocksDB gives
//! the ingested keys a sequence number above the deletion. Other shards are untouched.

use std::fs;
use std::path::Path;

use rocksdb::{IngestExternalFileOptions, SstFileWriter, WriteBatch as DbBatch, WriteOptions};

use super::batch::AppliedMark;
use super::keys;
use super::store::{cf, cf_options, scan};
use super::{ShardId, StorageError, Tsdb};

fn io(shard: ShardId, path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::SnapshotIo {
        shard,
        path: path.to_path_buf(),
        source,
    }
}

impl Tsdb {
    /// Writes a snapshot of `shard` into `dir` (created if needed; files from an older
    /// snapshot there are replaced). Returns the applied mark it stands for.
    pub fn checkpoint(
        &mut self,
        shard: ShardId,
        dir: &Path,
    ) -> Result<Option<AppliedMark>, StorageError> {
        let mark = self.flush_head(shard)?;
        fs::create_dir_all(dir).map_err(io(shard, dir))?;
        let (start, end) = keys::shard_range(shard);
        for name in keys::ALL_CFS {
            let path = dir.join(format!("{name}.sst"));
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io(shard, &path)(e));
                }
                _ => {}
            }
            let options = cf_options(name);
            let mut items = scan(&self.db, name, &start, &end)?.peekable();
            if items.peek().is_none() {
                continue;
            }
            let mut writer = SstFileWriter::create(&options);
            writer.open(&path)?;
            for item in items {
                let (key, value) = item?;
                writer.put(&key, &value)?;
            }
            writer.finish()?;
        }
        tracing::info!(shard, dir = %dir.display(), index = mark.as_ref().map(|m| m.index), "shard checkpoint written");
        Ok(mark)
    }

    /// Replaces `shard`'s data with the snapshot in `dir`, its head with the snapshot's (the
    /// open chunks its source flushed). Returns the applied mark the snapshot stands for.
    pub fn restore(
        &mut self,
        shard: ShardId,
        dir: &Path,
    ) -> Result<Option<AppliedMark>, StorageError> {
        let (start, end) = keys::shard_range(shard);
        let mut writes = DbBatch::default();
        for name in keys::ALL_CFS {
            writes.delete_range_cf(cf(&self.db, name)?, &start, &end);
        }
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        self.db.write_opt(writes, &sync)?;
        self.shards.remove(&shard);
        for name in keys::ALL_CFS {
            let path = dir.join(format!("{name}.sst"));
            if !path.try_exists().map_err(io(shard, &path))? {
                continue;
            }
            let mut options = IngestExternalFileOptions::default();
            options.set_move_files(false);
            self.db
                .ingest_external_file_cf_opts(cf(&self.db, name)?, &options, vec![path])?;
        }
        self.open_shard(shard)?;
        let mark = self.persisted(shard)?;
        tracing::info!(shard, dir = %dir.display(), index = mark.as_ref().map(|m| m.index), "shard restored from snapshot");
        Ok(mark)
    }
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::super::test_support::*;
    use crate::tsdb::WriteBatch;

    const T: i64 = 1_700_000_000_000;

    fn round(i: i64) -> WriteBatch {
        identified(
            "ag",
            0,
            i as u64,
            i as u64,
            vec![
                series(&[("__name__", "a")], &[(T + i * 15_000, i as f64)]),
                series(
                    &[("__name__", "b"), ("n", &(i % 3).to_string())],
                    &[(T + i * 15_000, 1.0)],
                ),
            ],
        )
    }

    #[test]
    fn a_restored_shard_equals_its_source_and_continues_alike() {
        let source_dir = TempDir::new().unwrap();
        let mut source = open(&source_dir);
        for i in 0..150 {
            source.apply(1, &mark(i as u64 + 1), &round(i)).unwrap();
            source.apply(2, &mark(i as u64 + 1), &round(i)).unwrap();
        }
        let snapshot = TempDir::new().unwrap();
        assert_eq!(
            source.checkpoint(1, snapshot.path()).unwrap(),
            Some(mark(150))
        );
        // The target has stale data in shard 1 and its own data in shard 2.
        let target_dir = TempDir::new().unwrap();
        let mut target = open(&target_dir);
        target
            .apply(
                1,
                &mark(7),
                &batch(vec![series(&[("__name__", "stale")], &[(T, 1.0)])]),
            )
            .unwrap();
        target
            .apply(
                2,
                &mark(3),
                &batch(vec![series(&[("__name__", "mine")], &[(T, 1.0)])]),
            )
            .unwrap();
        assert_eq!(target.restore(1, snapshot.path()).unwrap(), Some(mark(150)));
        assert_eq!(target.persisted(1).unwrap(), Some(mark(150)));
        assert_eq!(everything(&target, 1), everything(&source, 1));
        assert_eq!(target.dedup_mark(1, "t", "ag", 0).unwrap(), Some(149));
        assert_eq!(everything(&target, 2).len(), 1);
        // Both go on from the snapshot alike: dedup, ids and samples.
        for i in 148..200 {
            let a = source.apply(1, &mark(i as u64 + 1), &round(i)).unwrap();
            let b = target.apply(1, &mark(i as u64 + 1), &round(i)).unwrap();
            assert_eq!(a, b);
            assert_eq!(a.duplicate_batch.is_some(), i < 150);
        }
        assert_eq!(everything(&target, 1), everything(&source, 1));
        // A second snapshot into the same directory replaces the first.
        target.checkpoint(1, snapshot.path()).unwrap();
        let fresh_dir = TempDir::new().unwrap();
        let mut fresh = open(&fresh_dir);
        assert_eq!(fresh.restore(1, snapshot.path()).unwrap(), Some(mark(200)));
        assert_eq!(everything(&fresh, 1), everything(&source, 1));
    }
}
