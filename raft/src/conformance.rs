//! openraft's storage conformance suite (`openraft::testing::Suite`) run against the RocksDB
//! log store with each kind of state machine (meta, shard), each test on fresh databases in a
//! temp dir.

use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::testing::{StoreBuilder, Suite};
use tempfile::TempDir;

use crate::group::GroupId;
use crate::log_store::{GroupLogStore, RaftDb};
use crate::meta::state_machine::MetaStateMachine;
use crate::shard::ShardStateMachine;
use crate::type_config::{Entry, StorageError, TypeConfig, Vote};

/// Builds the store of `group`; with `neighbours`, the groups on both sides of it already hold
/// a log and a vote, so the suite also checks that nothing leaks across group boundaries.
#[derive(Debug)]
struct Builder {
    group: GroupId,
    neighbours: bool,
}

fn to_storage_error(e: crate::log_store::LogStoreError) -> StorageError {
    openraft::StorageIOError::write(&e).into()
}

impl StoreBuilder<TypeConfig, GroupLogStore, MetaStateMachine, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, GroupLogStore, MetaStateMachine), StorageError> {
        let dir = tempfile::tempdir().map_err(|e| openraft::StorageIOError::write(&e))?;
        let db = RaftDb::open(dir.path().join("raft")).map_err(to_storage_error)?;
        if self.neighbours {
            for neighbour in [GroupId(self.group.0 - 1), GroupId(self.group.0 + 1)] {
                let mut store = db.group(neighbour);
                store.save_vote(&Vote::new(9, 9)).await?;
                let entries = (0..30).map(|i| Entry {
                    log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(9, 9), i),
                    payload: openraft::EntryPayload::Blank,
                });
                store.blocking_append(entries).await?;
            }
        }
        let sm = MetaStateMachine::open(db.clone(), self.group).map_err(to_storage_error)?;
        Ok((dir, db.group(self.group), sm))
    }
}

/// Builds the log store of a shard group with the shard's state machine over a fresh TSDB.
#[derive(Debug)]
struct ShardBuilder {
    shard: u32,
}

impl StoreBuilder<TypeConfig, GroupLogStore, ShardStateMachine, TempDir> for ShardBuilder {
    async fn build(&self) -> Result<(TempDir, GroupLogStore, ShardStateMachine), StorageError> {
        let dir = tempfile::tempdir().map_err(|e| openraft::StorageIOError::write(&e))?;
        let db = RaftDb::open(dir.path().join("raft")).map_err(to_storage_error)?;
        let tsdb = skyview_storage::tsdb::Tsdb::open(&dir.path().join("tsdb"), Default::default())
            .map_err(|e| openraft::StorageIOError::write(&e))?;
        let sm = ShardStateMachine::open(
            std::sync::Arc::new(std::sync::RwLock::new(tsdb)),
            db.clone(),
            self.shard,
            dir.path().join("snapshots"),
        )
        .map_err(|e| openraft::StorageIOError::write(&e))?;
        Ok((dir, db.group(GroupId::shard(self.shard)), sm))
    }
}

#[test]
fn openraft_suite_passes_with_the_shard_state_machine() {
    Suite::test_all(ShardBuilder { shard: 7 }).expect("openraft storage suite");
}

#[test]
fn openraft_suite_passes() {
    Suite::test_all(Builder {
        group: GroupId::META,
        neighbours: false,
    })
    .expect("openraft storage suite");
}

#[test]
fn openraft_suite_passes_between_neighbouring_groups() {
    Suite::test_all(Builder {
        group: GroupId::shard(5),
        neighbours: true,
    })
    .expect("openraft storage suite");
}
