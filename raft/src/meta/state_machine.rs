//! The meta group's openraft state machine: [`MetaState`] plus openraft's bookkeeping (last
//! applied log id, last membership) and snapshots.
//!
//! The state lives in memory and is rebuilt on start from the persisted snapshot
//! ([`SnapshotStore`]) plus the log after it, which openraft re-applies. That is enough because
//! the meta state is small and changes rarely; apply never touches disk, the log already holds
//! every command durably.
//!
//! Readers on the node (the write path's placement lookups, the rule scheduler) follow the
//! state through [`MetaStateMachine::watch`] instead of going through openraft: a cheap
//! `Arc` snapshot republished after every apply that changed something and after every
//! install, so a reader never waits on the state machine worker.

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use tokio::sync::watch;

use crate::command::{Command, Response};
use crate::group::GroupId;
use crate::log_store::db::RaftDb;
use crate::log_store::error::LogStoreError;
use crate::meta::snapshot_store::{new_snapshot_id, SnapshotStore, StoredSnapshot};
use crate::meta::state::MetaState;
use crate::type_config::{
    Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

/// The meta group's state machine. Hand it to `openraft::Raft::new` for group 0.
#[derive(Debug)]
pub struct MetaStateMachine {
    group: GroupId,
    state: MetaState,
    last_applied: Option<LogId>,
    membership: StoredMembership,
    snapshots: SnapshotStore,
    published: watch::Sender<Arc<MetaState>>,
}

impl MetaStateMachine {
    /// Open the state machine of `group` (normally [`GroupId::META`]), restoring it from the
    /// group's stored snapshot if there is one.
    pub fn open(db: Arc<RaftDb>, group: GroupId) -> Result<MetaStateMachine, LogStoreError> {
        let snapshots = SnapshotStore::new(db, group);
        let mut sm = MetaStateMachine {
            group,
            state: MetaState::default(),
            last_applied: None,
            membership: StoredMembership::default(),
            snapshots,
            published: watch::Sender::new(Arc::new(MetaState::default())),
        };
        if let Some(stored) = sm.snapshots.load()? {
            let state =
                postcard::from_bytes(&stored.data).map_err(|source| LogStoreError::DecodeMeta {
                    group,
                    kind: crate::log_store::keys::MetaKind::Snapshot,
                    source,
                })?;
            sm.restore(&stored.meta, state);
            sm.publish();
            tracing::info!(group = %group, last_log_id = ?stored.meta.last_log_id, "restored meta state from snapshot");
        }
        Ok(sm)
    }

    /// The replicated state as of the last applied entry.
    pub fn state(&self) -> &MetaState {
        &self.state
    }

    /// Follows the replicated state: the receiver sees the state as of the last applied entry
    /// (or installed snapshot), updated after each apply that changed it. Call it before
    /// handing the state machine to `Raft::new`; receivers stay valid after that, and see the
    /// last state once the group shuts down.
    pub fn watch(&self) -> watch::Receiver<Arc<MetaState>> {
        self.published.subscribe()
    }

    fn publish(&self) {
        self.published.send_replace(Arc::new(self.state.clone()));
    }

    fn restore(&mut self, meta: &SnapshotMeta, state: MetaState) {
        self.state = state;
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
    }

    fn apply_entry(&mut self, entry: &Entry) -> Response {
        self.last_applied = Some(entry.log_id);
        match &entry.payload {
            EntryPayload::Blank => Response::Empty,
            EntryPayload::Membership(membership) => {
                self.membership = StoredMembership::new(Some(entry.log_id), membership.clone());
                Response::Empty
            }
            EntryPayload::Normal(Command::Meta(command)) => {
                Response::Meta(self.state.apply(command))
            }
            EntryPayload::Normal(Command::Write(_) | Command::DeleteBefore { .. }) => {
                tracing::warn!(group = %self.group, log_id = %entry.log_id, "shard command proposed to the meta group; ignored");
                Response::Misrouted
            }
        }
    }
}

/// Builds a snapshot from a copy of the state taken when openraft asked for the builder, so
/// applying can continue meanwhile.
#[derive(Debug)]
pub struct MetaSnapshotBuilder {
    state: MetaState,
    last_applied: Option<LogId>,
    membership: StoredMembership,
    snapshots: SnapshotStore,
}

impl RaftSnapshotBuilder<TypeConfig> for MetaSnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let data = postcard::to_stdvec(&self.state)
            .map_err(|e| StorageError::from(StorageIOError::read_state_machine(&e)))?;
        let meta = SnapshotMeta {
            last_log_id: self.last_applied,
            last_membership: self.membership.clone(),
            snapshot_id: new_snapshot_id(self.last_applied),
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        self.snapshots
            .save_if_newer(&stored)
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for MetaStateMachine {
    type SnapshotBuilder = MetaSnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut changed = false;
        let responses = entries
            .into_iter()
            .map(|entry| {
                let response = self.apply_entry(&entry);
                changed |= matches!(response, Response::Meta(_));
                response
            })
            .collect();
        if changed {
            self.publish();
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> MetaSnapshotBuilder {
        MetaSnapshotBuilder {
            state: self.state.clone(),
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            snapshots: self.snapshots.clone(),
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
        let data = snapshot.into_inner();
        let state: MetaState = postcard::from_bytes(&data)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        self.snapshots
            .replace(&stored)
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        self.restore(meta, state);
        self.publish();
        tracing::info!(group = %self.group, last_log_id = ?meta.last_log_id, "installed meta snapshot");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let stored = self
            .snapshots
            .load()
            .map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        Ok(stored.map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, Membership};

    use super::*;
    use crate::command::ShardWrite;
    use crate::meta::command::{MetaCommand, MetaOutcome};
    use crate::type_config::PeerNode;
    use crate::write_batch::WriteBatch;

    fn log_id(index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(2, 1), index)
    }

    fn normal(index: u64, command: Command) -> Entry {
        Entry {
            log_id: log_id(index),
            payload: EntryPayload::Normal(command),
        }
    }

    fn place(shard: u32) -> Command {
        Command::Meta(MetaCommand::SetShardPlacement {
            shard,
            replicas: vec![1, 2],
        })
    }

    fn membership_entry(index: u64) -> Entry {
        let nodes = [
            (1, PeerNode::new("http://127.0.0.1:1")),
            (2, PeerNode::new("http://127.0.0.1:2")),
        ];
        Entry {
            log_id: log_id(index),
            payload: EntryPayload::Membership(Membership::new(
                vec![[1, 2].into_iter().collect()],
                nodes
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>(),
            )),
        }
    }

    #[tokio::test]
    async fn apply_answers_each_entry_and_refuses_misrouted_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = RaftDb::open(dir.path()).unwrap();
        let mut sm = MetaStateMachine::open(db, GroupId::META).unwrap();
        let misrouted = Command::Write(std::sync::Arc::new(ShardWrite {
            batches: vec![WriteBatch {
                tenant: "t".into(),
                identity: None,
                series: Vec::new(),
            }],
        }));
        let responses = sm
            .apply([
                membership_entry(1),
                normal(2, place(1)),
                normal(3, misrouted),
            ])
            .await
            .unwrap();
        assert_eq!(
            responses,
            [
                Response::Empty,
                Response::Meta(MetaOutcome::Placed { previous: None }),
                Response::Misrouted
            ]
        );
        let (applied, membership) = sm.applied_state().await.unwrap();
        assert_eq!(applied, Some(log_id(3)));
        assert_eq!(membership.log_id(), &Some(log_id(1)));
        assert_eq!(sm.state().placement(1), Some(&[1, 2][..]));
    }

    #[tokio::test]
    async fn built_snapshot_restores_state_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = RaftDb::open(dir.path()).unwrap();
            let mut sm = MetaStateMachine::open(db, GroupId::META).unwrap();
            sm.apply([
                membership_entry(1),
                normal(2, place(4)),
                normal(3, place(5)),
            ])
            .await
            .unwrap();
            let snapshot = sm
                .get_snapshot_builder()
                .await
                .build_snapshot()
                .await
                .unwrap();
            assert_eq!(snapshot.meta.last_log_id, Some(log_id(3)));
            // Applied after the snapshot: not in it, re-applied from the log after a restart.
            sm.apply([normal(4, place(6))]).await.unwrap();
        }
        let db = RaftDb::open(dir.path()).unwrap();
        let mut sm = MetaStateMachine::open(db, GroupId::META).unwrap();
        let (applied, membership) = sm.applied_state().await.unwrap();
        assert_eq!(applied, Some(log_id(3)));
        assert_eq!(membership.log_id(), &Some(log_id(1)));
        assert_eq!(sm.state().placement(5), Some(&[1, 2][..]));
        assert_eq!(sm.state().placement(6), None);
        let current = sm.get_current_snapshot().await.unwrap().expect("snapshot");
        assert_eq!(current.meta.last_log_id, Some(log_id(3)));
    }

    #[tokio::test]
    async fn an_older_build_does_not_replace_a_newer_installed_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let db = RaftDb::open(dir.path()).unwrap();
        let mut sm = MetaStateMachine::open(db, GroupId::META).unwrap();
        sm.apply([normal(1, place(1))]).await.unwrap();
        let mut stale_builder = sm.get_snapshot_builder().await;

        // A newer snapshot arrives from the leader while the old build is pending.
        let mut newer = MetaState::default();
        newer.apply(&MetaCommand::SetShardPlacement {
            shard: 9,
            replicas: vec![3],
        });
        let meta = SnapshotMeta {
            last_log_id: Some(log_id(10)),
            last_membership: StoredMembership::default(),
            snapshot_id: "leader-10".into(),
        };
        let data = postcard::to_stdvec(&newer).unwrap();
        sm.install_snapshot(&meta, Box::new(Cursor::new(data)))
            .await
            .unwrap();
        assert_eq!(sm.state(), &newer);

        stale_builder.build_snapshot().await.unwrap();
        let current = sm.get_current_snapshot().await.unwrap().expect("snapshot");
        assert_eq!(current.meta.snapshot_id, "leader-10");
    }

    #[tokio::test]
    async fn watchers_see_applied_and_installed_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = RaftDb::open(dir.path()).unwrap();
        let mut sm = MetaStateMachine::open(db.clone(), GroupId::META).unwrap();
        let mut watcher = sm.watch();
        assert_eq!(watcher.borrow_and_update().placement(1), None);

        // Entries without a meta command publish nothing.
        sm.apply([membership_entry(1)]).await.unwrap();
        assert!(!watcher.has_changed().unwrap());

        sm.apply([normal(2, place(1)), normal(3, place(2))])
            .await
            .unwrap();
        assert!(watcher.has_changed().unwrap());
        let seen = watcher.borrow_and_update().clone();
        assert_eq!(seen.placement(1), Some(&[1, 2][..]));
        assert_eq!(seen.placement(2), Some(&[1, 2][..]));

        let mut installed = MetaState::default();
        installed.apply(&MetaCommand::RemoveNode { node: 7 });
        let meta = SnapshotMeta {
            last_log_id: Some(log_id(9)),
            last_membership: StoredMembership::default(),
            snapshot_id: "leader-9".into(),
        };
        let data = postcard::to_stdvec(&installed).unwrap();
        sm.install_snapshot(&meta, Box::new(Cursor::new(data)))
            .await
            .unwrap();
        assert!(watcher.has_changed().unwrap());
        assert_eq!(**watcher.borrow_and_update(), installed);

        // A state machine reopened from its snapshot publishes it at once.
        sm.get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        let reopened = MetaStateMachine::open(db, GroupId::META).unwrap();
        assert!(reopened.watch().borrow().is_leaving(7));
    }
}
