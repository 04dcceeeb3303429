//! One node, RF = 1: writes are group-committed, applied and readable, duplicates are
//! recognised, and everything comes back after a restart with the same data dir.

mod support;

use std::sync::Arc;
use std::time::Duration;

use skyview_raft::sharding::shard_of;
use skyview_storage::tsdb::{MatchOp, Matcher};
use support::{batch, config, labels, start, wait_for, InProcessNetwork};

const SHARDS: u32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_applied_deduplicated_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let network = Arc::new(InProcessNetwork::default());
    let node = start(&network, config(1, &[1], dir.path(), SHARDS, 1)).await;
    wait_for("the node to be ready", Duration::from_secs(10), || {
        node.is_ready()
    })
    .await;

    let series = labels("up", "a:9100");
    let shard = shard_of("default", &series, SHARDS);
    let first = node
        .write(
            shard,
            batch(series.clone(), 1_000..1_100, Some(("edge", 0, 1, 10))),
        )
        .await
        .unwrap();
    assert_eq!(first.samples_applied, 100);
    assert!(!first.batch_duplicate);

    // The same identified batch again (an agent's retry): applied at most once.
    let retry = node
        .write(
            shard,
            batch(series.clone(), 1_000..1_100, Some(("edge", 0, 1, 10))),
        )
        .await
        .unwrap();
    assert!(retry.batch_duplicate, "{retry:?}");
    assert_eq!(retry.samples_applied, 0);

    // Concurrent writes of many series share entries and are all applied.
    let writes = (0..64).map(|i| {
        let node = Arc::clone(&node);
        async move {
            let series = labels("load", &format!("host-{i}"));
            let shard = shard_of("default", &series, SHARDS);
            node.write(shard, batch(series, 0..50, None)).await
        }
    });
    for outcome in futures::future::join_all(writes).await {
        assert_eq!(outcome.unwrap().samples_applied, 50);
    }

    let matcher = Matcher::new(MatchOp::Equal, "__name__", "up").unwrap();
    let read = node
        .select(
            shard,
            "default",
            std::slice::from_ref(&matcher),
            0,
            i64::MAX,
        )
        .await
        .unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].labels, series);
    assert_eq!(read[0].samples.len(), 100);

    node.record_committed("edge", 0, 10);
    assert_eq!(node.committed("edge", 0).await.unwrap(), Some(10));
    assert_eq!(node.committed("edge", 1).await.unwrap(), None);

    let status = node.status().await.unwrap();
    assert_eq!(status.nodes.len(), 1);
    assert_eq!(status.shards.len(), SHARDS as usize);
    for shard in &status.shards {
        assert_eq!(shard.placement, [1]);
        assert_eq!(shard.group.as_ref().unwrap().leader, Some(1), "{shard:?}");
    }

    node.shutdown().await;
    drop(node);

    let node = start(&network, config(1, &[1], dir.path(), SHARDS, 1)).await;
    wait_for(
        "the restarted node to be ready",
        Duration::from_secs(10),
        || node.is_ready(),
    )
    .await;
    let read = node
        .select(shard, "default", &[matcher], 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(read.len(), 1, "acknowledged samples lost across a restart");
    assert_eq!(read[0].samples.len(), 100);
    let again = node
        .write(shard, batch(series, 1_000..1_100, Some(("edge", 0, 1, 10))))
        .await
        .unwrap();
    assert!(again.batch_duplicate, "dedup mark lost across a restart");
    node.shutdown().await;
}
