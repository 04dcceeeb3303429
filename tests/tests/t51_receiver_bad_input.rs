//! Every kind of bad remote-write request gets a 400 with Prometheus's error JSON naming the
//! problem, and nothing of the request is stored (invariant I6).
//!
//! Each bad request carries a valid series next to the bad one (when the body decodes at all),
//! so "nothing stored" checks that validation happens before anything is proposed, not only
//! that the bad series was skipped. The node runs with small limits so the size cases stay
//! small; the messages are compared on the part that names the problem. At the end a valid
//! request is stored and read back, which shows the emptiness checks could see data.

use anyhow::{ensure, Context, Result};
use skyview_api::receiver::ReceiverLimits;
use skyview_api::remote_write::{encode_write_request, Label, Sample, TimeSeries};
use skyview_tests::cluster::InProcessCluster;
use skyview_tests::receiver_expected::Expected;
use skyview_tests::remote_write_client::{
    now_ms, time_series, write_request, RemoteWriteClient, WriteOptions, WriteReply,
};

const LIMITS: ReceiverLimits = ReceiverLimits {
    max_body_bytes: 64 * 1024,
    max_decoded_bytes: 256 * 1024,
    max_labels_per_series: 8,
    max_label_name_len: 32,
    max_label_value_len: 64,
    max_future_ms: 10 * 60 * 1000,
    max_internal_body_bytes: 1 << 30,
    remote_read_sample_limit: 50_000_000,
    remote_read_concurrency: 10,
};

/// Every series of this test carries `case`, so one selector finds anything stored.
const STORED_BY_ANY_CASE: &str = r#"{case=~".+"}"#;

/// A series with labels exactly as given (order kept, nothing dropped).
fn raw_series(labels: &[(&str, &str)], timestamp: i64) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(name, value)| Label {
                name: (*name).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
        samples: vec![Sample {
            value: 1.0,
            timestamp,
        }],
    }
}

/// A bad request: a valid series of the case, then `bad`.
fn body_with(case: &str, bad: TimeSeries, now: i64) -> Result<Vec<u8>> {
    let good = time_series(&[("__name__", "t51_good"), ("case", case)], &[(now, 1.0)]);
    Ok(encode_write_request(&write_request(vec![good, bad]))?)
}

/// A snappy block header declaring `size` uncompressed bytes, followed by a little data.
fn snappy_declaring(size: u64) -> Vec<u8> {
    let mut body = Vec::new();
    let mut n = size;
    while n >= 0x80 {
        body.push((n as u8) | 0x80);
        n >>= 7;
    }
    body.extend([n as u8, 0x00, 0x00]);
    body
}

fn check_refusal(case: &str, reply: &WriteReply, fragments: &[&str]) -> Result<()> {
    ensure!(
        reply.status == 400,
        "{case}: expected 400, got {}: {}",
        reply.status,
        reply.body
    );
    let error = reply.error_message().with_context(|| case.to_owned())?;
    ensure!(
        error.status == "error" && error.error_type == "bad_data",
        "{case}: {error:?}"
    );
    for fragment in fragments {
        ensure!(
            error.error.contains(fragment),
            "{case}: the message {:?} does not name the problem ({fragment:?})",
            error.error
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_whole_with_a_message_naming_the_problem() -> Result<()> {
    let cluster = InProcessCluster::start_with(1, 2, 1, LIMITS).await?;
    let url = cluster.url(1);
    let client = RemoteWriteClient::new()?;
    let now = now_ms();
    let long_name = "n".repeat(LIMITS.max_label_name_len + 1);
    let long_value = "v".repeat(LIMITS.max_label_value_len + 1);
    let many: Vec<String> = (0..LIMITS.max_labels_per_series)
        .map(|i| format!("l{i}"))
        .collect();
    let mut too_many: Vec<(&str, &str)> = vec![("__name__", "t51_bad"), ("case", "too-many")];
    too_many.extend(many.iter().map(|n| (n.as_str(), "x")));

    let label_cases: Vec<(&str, TimeSeries, Vec<&str>)> = vec![
        (
            "invalid-name",
            raw_series(
                &[
                    ("1job", "x"),
                    ("__name__", "t51_bad"),
                    ("case", "invalid-name"),
                ],
                now,
            ),
            vec![r#"invalid label name "1job""#],
        ),
        (
            "invalid-char",
            raw_series(
                &[
                    ("__name__", "t51_bad"),
                    ("case", "invalid-char"),
                    ("jo-b", "x"),
                ],
                now,
            ),
            vec![r#"invalid label name "jo-b""#],
        ),
        (
            "empty-name",
            raw_series(
                &[("", "x"), ("__name__", "t51_bad"), ("case", "empty-name")],
                now,
            ),
            vec!["empty label name"],
        ),
        (
            "duplicate",
            raw_series(
                &[
                    ("__name__", "t51_bad"),
                    ("case", "duplicate"),
                    ("job", "a"),
                    ("job", "b"),
                ],
                now,
            ),
            vec![r#"duplicate label name "job""#],
        ),
        (
            "unsorted",
            raw_series(&[("case", "unsorted"), ("__name__", "t51_bad")], now),
            vec!["not sorted", "__name__"],
        ),
        (
            "no-metric-name",
            raw_series(&[("case", "no-metric-name"), ("job", "x")], now),
            vec!["missing metric name"],
        ),
        (
            "invalid-metric-name",
            raw_series(
                &[("__name__", "t51-bad"), ("case", "invalid-metric-name")],
                now,
            ),
            vec![r#"invalid metric name "t51-bad""#],
        ),
        (
            "name-too-long",
            raw_series(
                &[
                    ("__name__", "t51_bad"),
                    ("case", "name-too-long"),
                    (&long_name, "x"),
                ],
                now,
            ),
            vec!["label name of 33 bytes", "limit of 32 bytes"],
        ),
        (
            "value-too-long",
            raw_series(
                &[
                    ("__name__", "t51_bad"),
                    ("case", "value-too-long"),
                    ("job", &long_value),
                ],
                now,
            ),
            vec![
                r#"label "job" has a value of 65 bytes"#,
                "limit of 64 bytes",
            ],
        ),
        (
            "too-many",
            raw_series(&too_many, now),
            vec!["10 labels", "limit of 8 labels per series"],
        ),
        (
            "future",
            raw_series(
                &[("__name__", "t51_bad"), ("case", "future")],
                now + 3_600_000,
            ),
            vec!["ahead of the receiver's clock", "limit of 600000 ms"],
        ),
    ];
    let mut refused = 0;
    for (case, bad, fragments) in label_cases {
        let body = body_with(case, bad, now)?;
        let reply = client
            .post_body(&url, body, WriteOptions::default())
            .await?;
        check_refusal(case, &reply, &fragments)?;
        // The message names the series too, as the sender wrote it.
        ensure!(
            reply.body.contains(case),
            "{case}: the message does not name the series: {}",
            reply.body
        );
        refused += 1;
    }

    // Bodies that do not decode, or would be too large.
    let big = vec![0x5a_u8; LIMITS.max_body_bytes + 1];
    let declared_too_large = snappy_declaring(LIMITS.max_decoded_bytes as u64 + 1);
    let not_snappy = vec![0xff_u8; 16];
    let not_protobuf = snap::raw::Encoder::new().compress_vec(&[0x0a, 0x05, 0x01])?;
    let body_cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "body over the limit",
            big,
            vec!["exceeds the limit of 65536 bytes"],
        ),
        (
            "snappy declaring too much",
            declared_too_large,
            vec!["262145 bytes", "limit of 262144 bytes"],
        ),
        ("not snappy", not_snappy, vec!["snappy"]),
        ("not protobuf", not_protobuf, vec!["protobuf"]),
    ];
    for (case, body, fragments) in body_cases {
        let reply = client
            .post_body(&url, body, WriteOptions::default())
            .await?;
        check_refusal(case, &reply, &fragments)?;
        refused += 1;
    }

    let stored = client
        .select(&url, STORED_BY_ANY_CASE, 0, now + 3_600_000 * 2, None)
        .await?;
    ensure!(
        stored.is_empty(),
        "{refused} refused requests, yet the node holds {stored:?}"
    );

    // A valid request is stored and read back: the read above could have seen data.
    let control = write_request(vec![time_series(
        &[("__name__", "t51_good"), ("case", "control")],
        &[(now, 7.0)],
    )]);
    let reply = client
        .write(&url, &control, WriteOptions::default())
        .await?;
    ensure!(reply.status == 204, "control write: {reply:?}");
    let mut expected = Expected::new();
    expected.add_request(&control);
    let stored = client
        .select(&url, STORED_BY_ANY_CASE, 0, now + 3_600_000 * 2, None)
        .await?;
    expected.check(&stored)?;
    eprintln!("{refused} bad requests refused with 400, nothing of them stored");
    cluster.shutdown().await
}
