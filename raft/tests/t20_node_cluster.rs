//! Three nodes, RF = 3, in one process: bootstrap from the initial cluster, writes through any
//! node (forwarded to each shard's leader), reads of one's own writes from any node, status
//! with healthy replicas, and a shard leader's failure.

mod support;

use std::sync::Arc;
use std::time::Duration;

use skyview_raft::sharding::shard_of;
use skyview_storage::tsdb::{MatchOp, Matcher};
use support::{batch, config, labels, start, url, wait_for, InProcessNetwork};

const SHARDS: u32 = 3;
const MEMBERS: [u64; 3] = [1, 2, 3];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_replicate_forward_and_fail_over() {
    let dir = tempfile::tempdir().unwrap();
    let network = Arc::new(InProcessNetwork::default());
    let mut nodes = Vec::new();
    for id in MEMBERS {
        nodes.push(start(&network, config(id, &MEMBERS, dir.path(), SHARDS, 3)).await);
    }
    wait_for("every node to be ready", Duration::from_secs(20), || {
        nodes.iter().all(|n| n.is_ready())
    })
    .await;

    // Every node writes one series of every shard; each write is forwarded as needed.
    for node in &nodes {
        for i in 0..6 {
            let series = labels("cpu", &format!("n{}-{i}", node.id()));
            let shard = shard_of("default", &series, SHARDS);
            let outcome = node.write(shard, batch(series, 0..20, None)).await.unwrap();
            assert_eq!(outcome.samples_applied, 20);
        }
    }

    // Read your writes from every node.
    let matcher = Matcher::new(MatchOp::Equal, "__name__", "cpu").unwrap();
    for reader in &nodes {
        let mut total = 0;
        for shard in 1..=SHARDS {
            let read = reader
                .select(shard, "default", std::slice::from_ref(&matcher), 0, 100)
                .await
                .unwrap();
            total += read.len();
        }
        assert_eq!(total, 18, "node {} does not see every series", reader.id());
    }

    let status = nodes[1].status().await.unwrap();
    assert_eq!(status.nodes.len(), 3);
    assert!(status.nodes.iter().all(|n| n.voter && !n.leaving));
    for shard in &status.shards {
        assert_eq!(shard.placement.len(), 3);
        let group = shard.group.as_ref().expect("shard status");
        assert!(group.leader.is_some());
        assert_eq!(group.replicas.len(), 3, "{shard:?}");
        assert!(group.replicas.iter().all(|r| r.healthy), "{shard:?}");
    }

    // Kill the leader of shard 1: the other two elect a new one and keep taking writes.
    let shard = 1;
    let leader = status.shards[0].group.as_ref().unwrap().leader.unwrap();
    network.cut(&url(leader));
    let victim = nodes.iter().position(|n| n.id() == leader).unwrap();
    let victim = nodes.remove(victim);
    victim.shutdown().await;
    drop(victim);

    let series = {
        let mut i = 0;
        loop {
            let series = labels("after_failover", &format!("x{i}"));
            if shard_of("default", &series, SHARDS) == shard {
                break series;
            }
            i += 1;
        }
    };
    let started = tokio::time::Instant::now();
    let outcome = nodes[0]
        .write(shard, batch(series, 0..10, Some(("edge", 3, 1, 1))))
        .await
        .unwrap();
    assert_eq!(outcome.samples_applied, 10);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failover took {:?}",
        started.elapsed()
    );
    let read = nodes[1]
        .select(
            shard,
            "default",
            &[Matcher::new(MatchOp::Equal, "__name__", "after_failover").unwrap()],
            0,
            100,
        )
        .await
        .unwrap();
    assert_eq!(read.len(), 1);

    for node in nodes {
        node.shutdown().await;
    }
}
