//! Persistence tests of the Raft database: what must hold across close and reopen, between
//! groups sharing the instance, and after a torn WAL tail.

use std::path::Path;
use std::sync::Arc;

use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::{CommittedLeaderId, EntryPayload, RaftLogReader};

use crate::command::{Command, ShardWrite};
use crate::group::GroupId;
use crate::log_store::{GroupLogStore, RaftDb};
use crate::meta::command::MetaCommand;
use crate::type_config::{Entry, LogId, Vote};
use crate::write_batch::{BatchIdentity, Sample, SeriesSamples, WriteBatch};

fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

/// A write-batch entry whose content depends on the group, so a read from the wrong group
/// would be detected.
fn entry(group: GroupId, term: u64, index: u64) -> Entry {
    let batch = WriteBatch {
        tenant: format!("tenant-{}", group.0),
        identity: Some(BatchIdentity {
            agent: "edge-1".into(),
            queue: 0,
            first: index * 10,
            last: index * 10 + 9,
        }),
        series: vec![SeriesSamples {
            labels: vec![
                ("__name__".into(), "up".into()),
                ("job".into(), "node".into()),
            ],
            samples: vec![Sample {
                timestamp_ms: 1_700_000_000_000 + index as i64,
                value: index as f64,
            }],
        }],
    };
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(Command::Write(Arc::new(ShardWrite {
            batches: vec![batch],
        }))),
    }
}

fn entries(group: GroupId, term: u64, indexes: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
    indexes.map(|i| entry(group, term, i)).collect()
}

fn open(dir: &Path) -> Arc<RaftDb> {
    RaftDb::open(dir.join("raft")).expect("open raft db")
}

async fn all_entries(store: &mut GroupLogStore) -> Vec<Entry> {
    store.try_get_log_entries(..).await.expect("read log")
}

#[tokio::test]
async fn vote_log_and_committed_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let group = GroupId::shard(1);
    let vote = Vote::new_committed(3, 2);
    {
        let mut store = open(dir.path()).group(group);
        store.save_vote(&vote).await.unwrap();
        store
            .blocking_append(entries(group, 3, 1..=5))
            .await
            .unwrap();
        store.save_committed(Some(log_id(3, 4))).await.unwrap();
    }

    let mut store = open(dir.path()).group(group);
    assert_eq!(store.read_vote().await.unwrap(), Some(vote));
    assert_eq!(store.read_committed().await.unwrap(), Some(log_id(3, 4)));
    assert_eq!(all_entries(&mut store).await, entries(group, 3, 1..=5));
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, None);
    assert_eq!(state.last_log_id, Some(log_id(3, 5)));
    assert_eq!(
        store.try_get_log_entries(2..4).await.unwrap(),
        entries(group, 3, 2..=3)
    );
}

#[tokio::test]
async fn groups_in_one_db_do_not_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let (meta, one, two) = (GroupId::META, GroupId::shard(1), GroupId::shard(2));
    let mut s_meta = db.group(meta);
    let mut s_one = db.group(one);
    let mut s_two = db.group(two);

    s_meta
        .blocking_append(entries(meta, 1, 1..=2))
        .await
        .unwrap();
    s_one.blocking_append(entries(one, 1, 1..=6)).await.unwrap();
    s_two.blocking_append(entries(two, 2, 1..=3)).await.unwrap();
    s_one.save_vote(&Vote::new(5, 3)).await.unwrap();

    // Purging and truncating one group leaves its neighbours, on both sides, intact.
    s_one.purge(log_id(1, 2)).await.unwrap();
    s_one.truncate(log_id(1, 5)).await.unwrap();

    assert_eq!(all_entries(&mut s_meta).await, entries(meta, 1, 1..=2));
    assert_eq!(all_entries(&mut s_one).await, entries(one, 1, 3..=4));
    assert_eq!(all_entries(&mut s_two).await, entries(two, 2, 1..=3));
    assert_eq!(s_two.read_vote().await.unwrap(), None);
    assert_eq!(
        s_meta.get_log_state().await.unwrap().last_purged_log_id,
        None
    );
    assert_eq!(
        s_two.get_log_state().await.unwrap().last_log_id,
        Some(log_id(2, 3))
    );

    // A group with nothing stored sees nothing, even though the groups around it have data.
    let mut empty = db.group(GroupId::shard(3));
    assert!(all_entries(&mut empty).await.is_empty());
    assert_eq!(empty.get_log_state().await.unwrap().last_log_id, None);
}

#[tokio::test]
async fn purge_and_truncate_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let group = GroupId::shard(4);
    {
        let mut store = open(dir.path()).group(group);
        store
            .blocking_append(entries(group, 1, 1..=10))
            .await
            .unwrap();
        store.purge(log_id(1, 5)).await.unwrap();
        store.truncate(log_id(1, 9)).await.unwrap();
    }
    {
        let mut store = open(dir.path()).group(group);
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 5)));
        assert_eq!(state.last_log_id, Some(log_id(1, 8)));
        assert_eq!(all_entries(&mut store).await, entries(group, 1, 6..=8));
        // Purge everything: the log's last id falls back to the purge point.
        store.purge(log_id(1, 8)).await.unwrap();
    }
    let mut store = open(dir.path()).group(group);
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(log_id(1, 8)));
    assert_eq!(state.last_log_id, Some(log_id(1, 8)));
    assert!(all_entries(&mut store).await.is_empty());
    // And the log continues after the purge point.
    store
        .blocking_append(entries(group, 2, 9..=9))
        .await
        .unwrap();
    assert_eq!(
        store.get_log_state().await.unwrap().last_log_id,
        Some(log_id(2, 9))
    );
}

/// A crash in the middle of an append leaves a torn record at the WAL's tail. Recovery must give
/// a log without holes: every append before the torn one, and nothing of the torn one.
#[tokio::test]
async fn torn_wal_tail_recovers_a_prefix_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let group = GroupId::shard(5);
    let vote = Vote::new(7, 1);
    {
        let mut store = open(dir.path()).group(group);
        store.save_vote(&vote).await.unwrap();
        for index in 1..=8 {
            store
                .blocking_append(entries(group, 7, index..=index))
                .await
                .unwrap();
        }
    }

    // The newest WAL file holds the appends (RocksDB does not flush memtables on close when
    // the WAL holds everything). Cut its last record in half.
    let wal = std::fs::read_dir(dir.path().join("raft"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "log"))
        .max()
        .expect("a WAL file");
    let len = std::fs::metadata(&wal).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
    file.set_len(len - 20).unwrap();
    drop(file);

    let mut store = open(dir.path()).group(group);
    assert_eq!(store.read_vote().await.unwrap(), Some(vote));
    assert_eq!(all_entries(&mut store).await, entries(group, 7, 1..=7));
    assert_eq!(
        store.get_log_state().await.unwrap().last_log_id,
        Some(log_id(7, 7))
    );
}

#[tokio::test]
async fn meta_commands_round_trip_through_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path()).group(GroupId::META);
    let entry = Entry {
        log_id: log_id(1, 1),
        payload: EntryPayload::Normal(Command::Meta(MetaCommand::SetShardPlacement {
            shard: 3,
            replicas: vec![1, 2, 3],
        })),
    };
    store.blocking_append([entry.clone()]).await.unwrap();
    assert_eq!(all_entries(&mut store).await, vec![entry]);
}
