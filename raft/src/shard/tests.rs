//! The shard state machine against a real TSDB and Raft database in temp dirs: apply and its
//! outcomes, dedup of retried batches, replay after an unflushed restart, and snapshots moved
//! between nodes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, RwLock};

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, EntryPayload, Membership, RaftSnapshotBuilder};
use skyview_storage::tsdb::{MatchOp, Matcher, SeriesSamples as Stored, Tsdb, TsdbOptions};
use tempfile::TempDir;

use crate::command::{Command, Response, ShardWrite};
use crate::log_store::RaftDb;
use crate::meta::command::MetaCommand;
use crate::shard::snapshot_files::SnapshotFiles;
use crate::shard::{ShardError, ShardStateMachine, SharedTsdb};
use crate::type_config::{Entry, LogId, PeerNode, StoredMembership};
use crate::write_batch::{BatchIdentity, Sample, SeriesSamples, WriteBatch, WriteOutcome};

const SHARD: u32 = 3;
const T0: i64 = 1_700_000_000_000;

fn log_id(index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(2, 1), index)
}

fn membership() -> Membership<u64, PeerNode> {
    Membership::new(
        vec![BTreeSet::from([1, 2, 3])],
        BTreeMap::from([
            (1, PeerNode::new("http://127.0.0.1:1")),
            (2, PeerNode::new("http://127.0.0.1:2")),
            (3, PeerNode::new("http://127.0.0.1:3")),
        ]),
    )
}

fn membership_entry(index: u64) -> Entry {
    Entry {
        log_id: log_id(index),
        payload: EntryPayload::Membership(membership()),
    }
}

fn write_entry(index: u64, batches: Vec<WriteBatch>) -> Entry {
    Entry {
        log_id: log_id(index),
        payload: EntryPayload::Normal(Command::Write(Arc::new(ShardWrite { batches }))),
    }
}

fn series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> SeriesSamples {
    SeriesSamples {
        labels: pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        samples: samples
            .iter()
            .map(|&(timestamp_ms, value)| Sample {
                timestamp_ms,
                value,
            })
            .collect(),
    }
}

fn batch(identity: Option<(u64, u64)>, series: Vec<SeriesSamples>) -> WriteBatch {
    WriteBatch {
        tenant: "t".into(),
        identity: identity.map(|(first, last)| BatchIdentity {
            agent: "edge-1".into(),
            queue: 2,
            first,
            last,
        }),
        series,
    }
}

fn applied(samples: u64) -> WriteOutcome {
    WriteOutcome {
        samples_applied: samples,
        ..WriteOutcome::default()
    }
}

fn duplicate() -> WriteOutcome {
    WriteOutcome {
        batch_duplicate: true,
        ..WriteOutcome::default()
    }
}

/// A node's storage: its TSDB, Raft database and snapshot directory under `dir`.
struct Node {
    tsdb: SharedTsdb,
    db: Arc<RaftDb>,
    sm: ShardStateMachine,
}

fn open_node(dir: &Path) -> Node {
    let tsdb = Tsdb::open(&dir.join("tsdb"), TsdbOptions::default()).unwrap();
    let tsdb = Arc::new(RwLock::new(tsdb));
    let db = RaftDb::open(dir.join("raft")).unwrap();
    let sm = ShardStateMachine::open(
        Arc::clone(&tsdb),
        Arc::clone(&db),
        SHARD,
        dir.join("snapshots"),
    )
    .unwrap();
    Node { tsdb, db, sm }
}

/// Every series of tenant `t` on `shard`, all time.
fn everything(tsdb: &SharedTsdb, shard: u32) -> Vec<Stored> {
    let matcher = Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap();
    tsdb.read()
        .unwrap()
        .select(shard, "t", &[matcher], i64::MIN, i64::MAX)
        .unwrap()
}

fn values(tsdb: &SharedTsdb) -> Vec<(String, Vec<(i64, f64)>)> {
    everything(tsdb, SHARD)
        .into_iter()
        .map(|s| {
            let name = s.labels.pairs().iter().map(|(n, v)| format!("{n}={v}"));
            let name = name.collect::<Vec<_>>().join(",");
            (name, s.samples.iter().map(|x| (x.t, x.v)).collect())
        })
        .collect()
}

#[tokio::test]
async fn applies_writes_blank_membership_and_misrouted_entries() {
    let dir = TempDir::new().unwrap();
    let mut node = open_node(dir.path());
    assert_eq!(
        node.sm.applied_state().await.unwrap(),
        (None, StoredMembership::default())
    );
    let responses = node
        .sm
        .apply([
            membership_entry(1),
            write_entry(
                2,
                vec![
                    batch(
                        Some((1, 10)),
                        vec![series(
                            &[("__name__", "up"), ("job", "node")],
                            &[(T0, 1.0), (T0 + 15_000, 0.0)],
                        )],
                    ),
                    batch(None, vec![series(&[("__name__", "other")], &[(T0, 5.0)])]),
                ],
            ),
            Entry {
                log_id: log_id(3),
                payload: EntryPayload::Blank,
            },
            Entry {
                log_id: log_id(4),
                payload: EntryPayload::Normal(Command::Meta(MetaCommand::RemoveNode { node: 1 })),
            },
            write_entry(5, Vec::new()),
        ])
        .await
        .unwrap();
    assert_eq!(
        responses,
        [
            Response::Empty,
            Response::Written(vec![applied(2), applied(1)]),
            Response::Empty,
            Response::Misrouted,
            Response::Written(Vec::new()),
        ]
    );
    let (last, members) = node.sm.applied_state().await.unwrap();
    assert_eq!(last, Some(log_id(5)));
    assert_eq!(
        members,
        StoredMembership::new(Some(log_id(1)), membership())
    );
    assert_eq!(
        values(&node.tsdb),
        [
            ("__name__=other".to_owned(), vec![(T0, 5.0)]),
            (
                "__name__=up,job=node".to_owned(),
                vec![(T0, 1.0), (T0 + 15_000, 0.0)]
            ),
        ]
    );
    // Other shards of the same TSDB are untouched.
    assert!(everything(&node.tsdb, SHARD + 1).is_empty());
}

#[tokio::test]
async fn retried_batches_are_applied_once_across_and_within_entries() {
    let dir = TempDir::new().unwrap();
    let mut node = open_node(dir.path());
    let up = |samples: &[(i64, f64)]| series(&[("__name__", "up")], samples);
    let first = batch(Some((1, 10)), vec![up(&[(T0, 1.0)])]);
    // The retry carries a sample the original did not: skipped whole all the same.
    let retried = batch(Some((1, 10)), vec![up(&[(T0, 1.0), (T0 + 1, 9.0)])]);
    let next = batch(Some((11, 20)), vec![up(&[(T0 + 15_000, 2.0)])]);
    let older = batch(Some((5, 8)), vec![up(&[(T0 + 2, 9.0)])]);
    let responses = node
        .sm
        .apply([
            write_entry(1, vec![first]),
            write_entry(2, vec![retried]),
            // A group-committed entry in which a retry raced its original.
            write_entry(3, vec![next.clone(), next, older]),
        ])
        .await
        .unwrap();
    assert_eq!(
        responses,
        [
            Response::Written(vec![applied(1)]),
            Response::Written(vec![duplicate()]),
            Response::Written(vec![applied(1), duplicate(), duplicate()]),
        ]
    );
    assert_eq!(
        values(&node.tsdb),
        [(
            "__name__=up".to_owned(),
            vec![(T0, 1.0), (T0 + 15_000, 2.0)]
        )]
    );
    let mark = node
        .tsdb
        .read()
        .unwrap()
        .dedup_mark(SHARD, "t", "edge-1", 2)
        .unwrap();
    assert_eq!(mark, Some(20));
}

#[tokio::test]
async fn refused_samples_are_counted_and_the_first_is_named() {
    let dir = TempDir::new().unwrap();
    let mut node = open_node(dir.path());
    let entries = vec![
        write_entry(
            1,
            vec![batch(
                None,
                vec![
                    series(&[("__name__", "a")], &[(T0, 1.0), (i64::MAX, 1.0)]),
                    // Not sorted: not a series identity (the receiver never proposes this).
                    series(&[("b", "1"), ("a", "2")], &[(T0, 1.0), (T0 + 1, 1.0)]),
                    series(&[("__name__", "c")], &[(T0, 1.0)]),
                ],
            )],
        ),
        write_entry(
            2,
            vec![batch(
                None,
                vec![
                    series(&[("", "x")], &[(5, 1.0)]),
                    series(&[("__name__", "a")], &[(i64::MIN, 1.0)]),
                ],
            )],
        ),
        // Another value at a timestamp in the head; a sample far behind the newest.
        write_entry(
            3,
            vec![
                batch(
                    None,
                    vec![series(
                        &[("__name__", "a"), ("job", "x\"y")],
                        &[(T0, 1.0), (T0, 2.0)],
                    )],
                ),
                batch(
                    None,
                    vec![series(&[("__name__", "old")], &[(T0 - 2 * 3_600_000, 1.0)])],
                ),
            ],
        ),
        // A reversed identity: storage refuses the batch whole, the entry still applies.
        write_entry(
            4,
            vec![batch(
                Some((9, 3)),
                vec![series(
                    &[("__name__", "a")],
                    &[(T0 + 5, 1.0), (T0 + 6, 1.0)],
                )],
            )],
        ),
    ];
    let responses = node.sm.apply(entries).await.unwrap();
    let outcomes: Vec<WriteOutcome> = responses
        .into_iter()
        .flat_map(|r| match r {
            Response::Written(outcomes) => outcomes,
            other => panic!("unexpected response {other:?}"),
        })
        .collect();
    let expected = [
        WriteOutcome {
            samples_applied: 2,
            samples_rejected: 3,
            first_rejection: Some(format!(
                "out of bounds: series {{__name__=\"a\"}} timestamp {}",
                i64::MAX
            )),
            ..WriteOutcome::default()
        },
        WriteOutcome {
            samples_rejected: 2,
            first_rejection: Some(
                "invalid label set (label name at position 0 is empty): series {=\"x\"} \
                 timestamp 5"
                    .into(),
            ),
            ..WriteOutcome::default()
        },
        WriteOutcome {
            samples_applied: 1,
            samples_rejected: 1,
            first_rejection: Some(format!(
                "duplicate sample for timestamp: series {{__name__=\"a\",job=\"x\\\"y\"}} \
                 timestamp {T0}"
            )),
            ..WriteOutcome::default()
        },
        WriteOutcome {
            samples_rejected: 1,
            first_rejection: Some(format!(
                "too old sample: series {{__name__=\"old\"}} timestamp {}",
                T0 - 2 * 3_600_000
            )),
            ..WriteOutcome::default()
        },
        WriteOutcome {
            samples_rejected: 2,
            first_rejection: Some(format!(
                "batch identity of agent \"edge-1\" queue 2 has first 9 after last 3: \
                 series {{__name__=\"a\"}} timestamp {}",
                T0 + 5
            )),
            ..WriteOutcome::default()
        },
    ];
    assert_eq!(outcomes, expected);
    assert_eq!(node.sm.applied_state().await.unwrap().0, Some(log_id(4)));
    let stored = values(&node.tsdb);
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(stored.iter().all(|(_, samples)| samples.len() == 1));
}

#[tokio::test]
async fn the_first_refusal_is_the_earliest_in_the_batch() {
    let dir = TempDir::new().unwrap();
    let mut node = open_node(dir.path());
    let responses = node
        .sm
        .apply([write_entry(
            1,
            vec![batch(
                None,
                vec![
                    series(&[("b", "1"), ("a", "2")], &[(7, 1.0)]),
                    series(&[("__name__", "a")], &[(i64::MAX, 1.0)]),
                ],
            )],
        )])
        .await
        .unwrap();
    let Response::Written(outcomes) = &responses[0] else {
        panic!("{responses:?}");
    };
    assert_eq!(
        outcomes[0].first_rejection.as_deref(),
        Some(
            "invalid label set (label names are not strictly sorted: \"b\" then \"a\"): \
             series {b=\"1\",a=\"2\"} timestamp 7"
        )
    );
    assert_eq!(outcomes[0].samples_rejected, 2);
}

/// Entries 1..=n: a membership entry, then identified and anonymous batches with new series,
/// out-of-order samples and repeats.
fn workload(n: u64) -> Vec<Entry> {
    let mut entries = vec![membership_entry(1)];
    for i in 2..=n {
        let t = T0 + i as i64 * 15_000;
        let mut batches = vec![batch(
            Some((i * 10, i * 10 + 9)),
            vec![
                series(&[("__name__", "a"), ("i", "x")], &[(t, i as f64)]),
                series(
                    &[("__name__", "b"), ("n", &(i % 4).to_string())],
                    &[(t - 600_000, 0.5)],
                ),
            ],
        )];
        if i % 3 == 0 {
            batches.push(batch(
                None,
                vec![series(&[("__name__", "c")], &[(t, 1.0), (t - 15_000, 2.0)])],
            ));
        }
        entries.push(write_entry(i, batches));
    }
    entries
}

async fn build(sm: &mut ShardStateMachine) -> openraft::SnapshotMeta<u64, PeerNode> {
    sm.get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap()
        .meta
}

#[tokio::test]
async fn a_restart_replays_from_the_flushed_entry_to_the_same_state() {
    let entries = workload(40);
    let reference_dir = TempDir::new().unwrap();
    let mut reference = open_node(reference_dir.path());
    let mut reference_responses = reference.sm.apply(entries[..20].to_vec()).await.unwrap();
    // The same flush schedule as the node that crashes, so the heads decide alike.
    build(&mut reference.sm).await;
    reference_responses.extend(reference.sm.apply(entries[20..].to_vec()).await.unwrap());

    let dir = TempDir::new().unwrap();
    {
        let mut node = open_node(dir.path());
        node.sm.apply(entries[..20].to_vec()).await.unwrap();
        let meta = build(&mut node.sm).await;
        assert_eq!(meta.last_log_id, Some(log_id(20)));
        node.sm.apply(entries[20..].to_vec()).await.unwrap();
        // Dropped without a flush: the head and the dedup marks after entry 20 are lost.
    }
    let mut node = open_node(dir.path());
    assert_eq!(
        node.sm.applied_state().await.unwrap(),
        (
            Some(log_id(20)),
            StoredMembership::new(Some(log_id(1)), membership())
        )
    );
    // openraft re-applies the log after the applied entry: the same decisions again.
    let replayed = node.sm.apply(entries[20..].to_vec()).await.unwrap();
    assert_eq!(replayed, reference_responses[20..]);
    assert_eq!(values(&node.tsdb), values(&reference.tsdb));
    assert_eq!(
        everything(&node.tsdb, SHARD),
        everything(&reference.tsdb, SHARD)
    );
    let stored = node
        .sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("snapshot");
    assert_eq!(stored.meta.last_log_id, Some(log_id(20)));
}

#[tokio::test]
async fn a_fuzzy_snapshot_installed_on_another_node_reads_the_same() {
    let entries = workload(30);
    let leader_dir = TempDir::new().unwrap();
    let mut leader = open_node(leader_dir.path());
    leader.sm.apply(entries[..20].to_vec()).await.unwrap();
    let built = build(&mut leader.sm).await;
    // Applied after the build: in the data, not in the metadata.
    leader.sm.apply(entries[20..].to_vec()).await.unwrap();
    let snapshot = leader
        .sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("snapshot");
    assert_eq!(snapshot.meta, built);

    let follower_dir = TempDir::new().unwrap();
    let mut follower = open_node(follower_dir.path());
    // Stale data in the shard, and another shard's data that must survive.
    follower
        .sm
        .apply([write_entry(
            1,
            vec![batch(
                None,
                vec![series(&[("__name__", "stale")], &[(T0, 1.0)])],
            )],
        )])
        .await
        .unwrap();
    let mut other = ShardStateMachine::open(
        Arc::clone(&follower.tsdb),
        Arc::clone(&follower.db),
        SHARD + 1,
        follower_dir.path().join("snapshots"),
    )
    .unwrap();
    other
        .apply([write_entry(
            1,
            vec![batch(
                None,
                vec![series(&[("__name__", "mine")], &[(T0, 1.0)])],
            )],
        )])
        .await
        .unwrap();

    let mut receiving = follower.sm.begin_receiving_snapshot().await.unwrap();
    *receiving = *snapshot.snapshot;
    follower
        .sm
        .install_snapshot(&snapshot.meta, receiving)
        .await
        .unwrap();
    assert_eq!(
        follower.sm.applied_state().await.unwrap(),
        (built.last_log_id, built.last_membership.clone())
    );
    assert_eq!(
        everything(&follower.tsdb, SHARD),
        everything(&leader.tsdb, SHARD)
    );
    assert_eq!(everything(&follower.tsdb, SHARD + 1).len(), 1);
    let current = follower
        .sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("snapshot");
    assert_eq!(current.meta, built);

    // openraft then sends the entries after the metadata's, which the data already holds.
    follower.sm.apply(entries[20..].to_vec()).await.unwrap();
    assert_eq!(
        everything(&follower.tsdb, SHARD),
        everything(&leader.tsdb, SHARD)
    );
    assert_eq!(
        follower.sm.applied_state().await.unwrap().0,
        Some(log_id(30))
    );
    // Identified batches were skipped as duplicates; nothing was stored twice.
    let mark = |tsdb: &SharedTsdb| {
        tsdb.read()
            .unwrap()
            .dedup_mark(SHARD, "t", "edge-1", 2)
            .unwrap()
    };
    assert_eq!(mark(&follower.tsdb), mark(&leader.tsdb));
}

#[tokio::test]
async fn an_install_interrupted_by_a_crash_is_finished_at_open() {
    let leader_dir = TempDir::new().unwrap();
    let mut leader = open_node(leader_dir.path());
    leader.sm.apply(workload(12)).await.unwrap();
    build(&mut leader.sm).await;
    let snapshot = leader
        .sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("snapshot");

    let follower_dir = TempDir::new().unwrap();
    {
        let follower = open_node(follower_dir.path());
        // The install staged the files, then the node died before restoring.
        SnapshotFiles::open(SHARD, &follower_dir.path().join("snapshots"))
            .unwrap()
            .stage(snapshot.snapshot.get_ref())
            .unwrap();
        assert!(everything(&follower.tsdb, SHARD).is_empty());
    }
    let mut follower = open_node(follower_dir.path());
    assert_eq!(
        everything(&follower.tsdb, SHARD),
        everything(&leader.tsdb, SHARD)
    );
    assert_eq!(
        follower.sm.applied_state().await.unwrap().0,
        Some(log_id(12))
    );
    assert!(!follower_dir
        .path()
        .join(format!("snapshots/shard-{SHARD}/installing"))
        .exists());
}

#[tokio::test]
async fn a_corrupt_snapshot_changes_nothing() {
    let leader_dir = TempDir::new().unwrap();
    let mut leader = open_node(leader_dir.path());
    leader.sm.apply(workload(8)).await.unwrap();
    build(&mut leader.sm).await;
    let snapshot = leader
        .sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("snapshot");
    let mut corrupt = snapshot.snapshot.into_inner();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x40;

    let follower_dir = TempDir::new().unwrap();
    let mut follower = open_node(follower_dir.path());
    follower.sm.apply(workload(3)).await.unwrap();
    let before = everything(&follower.tsdb, SHARD);
    let error = follower
        .sm
        .install_snapshot(&snapshot.meta, Box::new(Cursor::new(corrupt)))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("checksum"), "{error}");
    assert_eq!(everything(&follower.tsdb, SHARD), before);
    assert_eq!(
        follower.sm.applied_state().await.unwrap().0,
        Some(log_id(3))
    );
    assert!(follower.sm.get_current_snapshot().await.unwrap().is_none());
}

#[tokio::test]
async fn a_poisoned_tsdb_stops_the_group_instead_of_applying() {
    let dir = TempDir::new().unwrap();
    let mut node = open_node(dir.path());
    let tsdb = Arc::clone(&node.tsdb);
    let _ = std::thread::spawn(move || {
        let _guard = tsdb.write().unwrap();
        panic!("poison the lock");
    })
    .join();
    let error = node.sm.apply(workload(2)).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&ShardError::Poisoned { shard: SHARD }.to_string()),
        "{error}"
    );
    assert_eq!(node.sm.applied_state().await.unwrap().0, None);
}

#[tokio::test]
async fn retention_deletes_old_partitions_at_its_log_position() {
    let dir = TempDir::new().unwrap();
    let mut node = open_node(dir.path());
    const DAY: i64 = 24 * 3600 * 1000;
    let old = series(&[("__name__", "old")], &[(T0, 1.0)]);
    let both = series(&[("__name__", "both")], &[(T0, 2.0), (T0 + 3 * DAY, 3.0)]);
    node.sm
        .apply([
            membership_entry(1),
            write_entry(2, vec![batch(None, vec![old, both])]),
        ])
        .await
        .unwrap();
    let responses = node
        .sm
        .apply([Entry {
            log_id: log_id(3),
            payload: EntryPayload::Normal(Command::DeleteBefore {
                before_ms: T0 + DAY,
            }),
        }])
        .await
        .unwrap();
    let Response::Deleted {
        deleted_before,
        series_removed,
    } = &responses[0]
    else {
        panic!("retention answered {responses:?}");
    };
    assert_eq!(*series_removed, 1, "the series with no data left");
    assert!(*deleted_before > T0 && *deleted_before <= T0 + DAY);
    assert_eq!(
        values(&node.tsdb),
        [("__name__=both".to_owned(), vec![(T0 + 3 * DAY, 3.0)])]
    );
    assert_eq!(node.sm.applied_state().await.unwrap().0, Some(log_id(3)));
}
