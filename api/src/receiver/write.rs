//! `POST /api/v1/write`: Prometheus remote write 1.0 into the cluster.
//!
//! 1. The body is read with a size limit, and decoded with a limit on its declared
//!    decompressed size (checked before anything is allocated).
//! 2. Every series is validated; one bad series refuses the request whole (400) before
//!    anything is proposed.
//! 3. The series are split by shard, each shard's part carrying the request's batch identity
//!    (`X-Skyview-Batch`), and all parts are written concurrently. [`Node::write`] answers only
//!    once a part is committed on a quorum, fsynced and applied.
//! 4. Metric metadata travels in the same requests (Prometheus sends it alone, every minute):
//!    valid entries are kept on this node ([`super::metadata`]), invalid ones named in a 400.
//! 5. The answer: 204 when every part is stored; 400 naming the first refused sample when the
//!    store refused some (the rest stays stored, as in Prometheus, and a retry could not do
//!    better); 503 when a part is not known to be stored (unavailable, or timed out with an
//!    unknown outcome), so the sender retries: parts already stored are deduplicated; 500 for a
//!    fatal storage error.
//!
//! After an identified request is stored in every shard, its high-water mark is recorded in
//! the meta group, where a restarted agent finds where to resume.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures::future::join_all;
use skyview_raft::node::WriteError;
use skyview_raft::write_batch::{BatchIdentity, WriteOutcome};

use super::body::read_limited;
use super::error::ApiError;
use super::metadata::{check_metadata, CheckedMetadata};
use super::split::{split_by_shard, ShardedWrite};
use super::tenant::tenant_of;
use super::ReceiverState;
use crate::remote_write::headers::BATCH_HEADER;
use crate::remote_write::{decode_write_request, BatchId, BatchIdError};

/// The remote-write handler.
#[tracing::instrument(
    skip_all,
    fields(tenant = tracing::field::Empty, batch = tracing::field::Empty)
)]
pub async fn write(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let tenant = tenant_of(&headers)?;
    let identity = batch_identity(&headers)?;
    let span = tracing::Span::current();
    span.record("tenant", tenant.as_str());
    if let Some(id) = &identity {
        span.record(
            "batch",
            tracing::field::display(format_args!(
                "{}/{}/{}-{}",
                id.agent, id.queue, id.first, id.last
            )),
        );
    }
    let body = read_limited(&headers, body, state.limits.max_body_bytes).await?;

    // Decoding and validating a large request is CPU work: keep it off the async workers.
    let limits = state.limits.clone();
    let shards = state.node.shards();
    let tenant_for_split = tenant.clone();
    let identity_for_split = identity.clone();
    let (sharded, metadata): (ShardedWrite, CheckedMetadata) =
        tokio::task::spawn_blocking(move || {
            let mut request = decode_write_request(&body, limits.max_decoded_bytes)?;
            let metadata = check_metadata(std::mem::take(&mut request.metadata), &limits);
            let sharded = split_by_shard(
                request,
                &tenant_for_split,
                identity_for_split,
                shards,
                &limits,
                now_ms(),
            )?;
            Ok::<_, ApiError>((sharded, metadata))
        })
        .await
        .map_err(|e| ApiError::Task(e.to_string()))??;
    state.metrics.samples_received_total.inc_by(sharded.samples);

    let node = &state.node;
    let refused = node.record_metadata(&tenant, metadata.entries);
    if refused > 0 {
        tracing::warn!(
            refused,
            "metadata entries over the tenant's limit were not kept"
        );
    }
    let results = join_all(
        sharded
            .batches
            .into_iter()
            .map(|(shard, batch)| node.write(shard, batch)),
    )
    .await;
    for outcome in results.iter().flatten() {
        state.metrics.record_outcome(outcome);
    }
    let invalid_metadata = metadata.first_invalid.map(ApiError::InvalidMetadata);
    let answer = conclude(results).and(invalid_metadata.map_or(Ok(()), Err));
    if answer.is_ok()
        || matches!(
            answer,
            Err(ApiError::SamplesRejected { .. } | ApiError::InvalidMetadata(_))
        )
    {
        // Every part is committed (refused samples will not be resent either): a restarted
        // agent may resume after this batch.
        if let Some(id) = identity {
            node.record_committed(&id.agent, id.queue, id.last);
        }
    }
    if let Err(e) = &answer {
        tracing::debug!(error = %e, "write not fully stored");
    }
    answer.map(|()| StatusCode::NO_CONTENT)
}

/// The `X-Skyview-Batch` identity, if the sender gave one.
fn batch_identity(headers: &HeaderMap) -> Result<Option<BatchIdentity>, ApiError> {
    let Some(value) = headers.get(BATCH_HEADER) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| BatchIdError::Shape {
        value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
    })?;
    let id = BatchId::parse(value)?;
    Ok(Some(BatchIdentity {
        agent: id.agent_id,
        queue: id.queue,
        first: id.first,
        last: id.last,
    }))
}

/// The request's answer from its parts' results. A part not known to be stored wins over
/// refused samples: the sender must retry (the stored parts are deduplicated), and the retry
/// will report the refusals. Among failures, a fatal one wins (it needs an operator), then an
/// unknown outcome, then plain unavailability.
fn conclude(results: Vec<Result<WriteOutcome, WriteError>>) -> Result<(), ApiError> {
    let mut failure: Option<WriteError> = None;
    let mut rejected = 0;
    let mut first_rejection = None;
    for result in results {
        match result {
            Ok(outcome) => {
                rejected += outcome.samples_rejected;
                if first_rejection.is_none() {
                    first_rejection = outcome.first_rejection;
                }
            }
            Err(e) => {
                if failure.as_ref().is_none_or(|f| severity(&e) > severity(f)) {
                    failure = Some(e);
                }
            }
        }
    }
    if let Some(e) = failure {
        return Err(ApiError::Write(e));
    }
    if rejected > 0 {
        return Err(ApiError::SamplesRejected {
            rejected,
            first: first_rejection.unwrap_or_else(|| "no reason given".to_owned()),
        });
    }
    Ok(())
}

fn severity(e: &WriteError) -> u8 {
    match e {
        WriteError::Unavailable { .. } => 0,
        WriteError::Timeout { .. } => 1,
        WriteError::Fatal(_) => 2,
    }
}

/// This node's clock in Unix milliseconds (0 if it reads before 1970).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(applied: u64) -> Result<WriteOutcome, WriteError> {
        Ok(WriteOutcome {
            samples_applied: applied,
            ..WriteOutcome::default()
        })
    }

    fn refused(n: u64, first: &str) -> Result<WriteOutcome, WriteError> {
        Ok(WriteOutcome {
            samples_rejected: n,
            first_rejection: Some(first.into()),
            ..WriteOutcome::default()
        })
    }

    #[test]
    fn all_stored_is_success() {
        assert!(conclude(vec![stored(3), stored(4)]).is_ok());
        assert!(conclude(vec![]).is_ok());
    }

    #[test]
    fn refused_samples_name_the_first_refusal() {
        match conclude(vec![stored(3), refused(2, "too old"), refused(1, "later")]) {
            Err(ApiError::SamplesRejected { rejected, first }) => {
                assert_eq!((rejected, first.as_str()), (3, "too old"));
            }
            other => panic!("expected SamplesRejected, got {other:?}"),
        }
    }

    #[test]
    fn a_part_not_stored_wins_and_fatal_wins_among_failures() {
        let unavailable = || {
            Err(WriteError::Unavailable {
                shard: 1,
                reason: "no leader".into(),
            })
        };
        let answer = conclude(vec![refused(1, "x"), unavailable()]);
        assert!(matches!(
            answer,
            Err(ApiError::Write(WriteError::Unavailable { shard: 1, .. }))
        ));
        let answer = conclude(vec![
            unavailable(),
            Err(WriteError::Timeout { shard: 2 }),
            unavailable(),
        ]);
        assert!(matches!(
            answer,
            Err(ApiError::Write(WriteError::Timeout { shard: 2 }))
        ));
        let answer = conclude(vec![
            Err(WriteError::Timeout { shard: 2 }),
            Err(WriteError::Fatal("disk".into())),
        ]);
        assert!(matches!(answer, Err(ApiError::Write(WriteError::Fatal(_)))));
    }

    #[test]
    fn batch_header_is_parsed_or_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(batch_identity(&headers).unwrap(), None);
        headers.insert(BATCH_HEADER, "edge-1/3/10-20".parse().unwrap());
        assert_eq!(
            batch_identity(&headers).unwrap(),
            Some(BatchIdentity {
                agent: "edge-1".into(),
                queue: 3,
                first: 10,
                last: 20
            })
        );
        headers.insert(BATCH_HEADER, "edge-1/3/20-10".parse().unwrap());
        assert!(matches!(
            batch_identity(&headers),
            Err(ApiError::BatchHeader(BatchIdError::Range { .. }))
        ));
    }
}
