//! Applying one replicated [`WriteBatch`] to the TSDB: the conversion from Raft's log type to
//! storage's input, and from storage's [`ApplyOutcome`] to the [`WriteOutcome`] the proposer
//! answers with.
//!
//! Apply must be total and deterministic on every replica, so nothing in a committed batch
//! may fail it: a series whose labels are not a valid series identity (the receiver validates
//! before proposing, so this means a bug or an old log) has its samples refused, and a batch
//! identity storage refuses (`first > last`) has the whole batch refused. Only a fatal storage
//! error is returned as an error.
//!
//! Messages follow Prometheus's remote-write errors (`out of bounds`, `too old sample`,
//! `duplicate sample for timestamp`), with the series and timestamp appended, e.g.
//! `out of bounds: series {__name__="x",job="y"} timestamp 123`.

use std::fmt::Write as _;

use skyview_storage::chunk::Sample as StoredSample;
use skyview_storage::tsdb::{
    AppliedMark, ApplyOutcome, BatchKey, LabelSet, RejectReason, SeriesWrite, StorageError, Tsdb,
    WriteBatch as StorageBatch,
};

use crate::write_batch::{WriteBatch, WriteOutcome};

/// Applies `batch` to `shard` as part of log entry `mark`. Errors only when storage is
/// unusable ([`StorageError::is_fatal`]).
pub fn apply_batch(
    tsdb: &mut Tsdb,
    shard: u32,
    mark: &AppliedMark,
    batch: WriteBatch,
) -> Result<WriteOutcome, StorageError> {
    let converted = Converted::from(batch);
    match tsdb.apply(shard, mark, &converted.batch) {
        Ok(outcome) => Ok(converted.outcome(&outcome)),
        // Refused before anything was applied: storage checks the batch first.
        Err(e) if !e.is_fatal() => Ok(converted.refused_whole(&e)),
        Err(e) => Err(e),
    }
}

/// A series left out of the storage batch because its labels are not a valid identity.
#[derive(Debug)]
struct InvalidSeries {
    /// Its position in the original batch, to find the first rejection.
    index: usize,
    labels: Vec<(String, String)>,
    reason: String,
    samples: u64,
    first_t: i64,
}

/// A replicated batch in storage's terms.
#[derive(Debug)]
struct Converted {
    batch: StorageBatch,
    /// The original position of each series of `batch`.
    origin: Vec<usize>,
    /// Series refused for their labels (those with samples only).
    invalid: Vec<InvalidSeries>,
}

impl From<WriteBatch> for Converted {
    fn from(batch: WriteBatch) -> Converted {
        let mut series = Vec::with_capacity(batch.series.len());
        let mut origin = Vec::with_capacity(batch.series.len());
        let mut invalid = Vec::new();
        for (index, s) in batch.series.into_iter().enumerate() {
            let samples: Vec<StoredSample> = s
                .samples
                .iter()
                .map(|x| StoredSample {
                    t: x.timestamp_ms,
                    v: x.value,
                })
                .collect();
            match LabelSet::new(s.labels) {
                Ok(labels) => {
                    series.push(SeriesWrite { labels, samples });
                    origin.push(index);
                }
                Err(refused) => {
                    // A series without samples stores nothing and refuses nothing.
                    if let Some(first) = samples.first() {
                        invalid.push(InvalidSeries {
                            index,
                            labels: refused.pairs,
                            reason: refused.reason.to_string(),
                            samples: samples.len() as u64,
                            first_t: first.t,
                        });
                    }
                }
            }
        }
        Converted {
            batch: StorageBatch {
                tenant: batch.tenant,
                identity: batch.identity.map(|id| BatchKey {
                    agent: id.agent,
                    queue: id.queue,
                    first: id.first,
                    last: id.last,
                }),
                series,
            },
            origin,
            invalid,
        }
    }
}

impl Converted {
    fn invalid_samples(&self) -> u64 {
        self.invalid.iter().map(|s| s.samples).sum()
    }

    /// The outcome of an applied batch: storage's counts plus the series refused here; the
    /// first rejection is the one earliest in the original batch.
    fn outcome(&self, outcome: &ApplyOutcome) -> WriteOutcome {
        if outcome.duplicate_batch.is_some() {
            return WriteOutcome {
                batch_duplicate: true,
                ..WriteOutcome::default()
            };
        }
        let stored_first = outcome.first_rejection.and_then(|r| {
            let labels = self.batch.series.get(r.series)?.labels.pairs();
            let index = *self.origin.get(r.series)?;
            Some((index, rejection_message(reason_text(r.reason), labels, r.t)))
        });
        let invalid_first = self.invalid.first().map(|s| {
            let reason = format!("invalid label set ({})", s.reason);
            (s.index, rejection_message(&reason, &s.labels, s.first_t))
        });
        let first_rejection = match (stored_first, invalid_first) {
            (Some(a), Some(b)) => Some(if a.0 < b.0 { a.1 } else { b.1 }),
            (a, b) => a.or(b).map(|(_, message)| message),
        };
        WriteOutcome {
            samples_applied: outcome.samples_appended + outcome.samples_out_of_order,
            samples_duplicate: outcome.samples_duplicate,
            batch_duplicate: false,
            samples_rejected: outcome.rejected() + self.invalid_samples(),
            first_rejection,
        }
    }

    /// The outcome of a batch storage refused whole (its identity is invalid): every sample
    /// is refused, the message naming the first.
    fn refused_whole(&self, error: &StorageError) -> WriteOutcome {
        let stored = self.batch.series.iter().map(|s| s.samples.len() as u64);
        let first = self
            .batch
            .series
            .iter()
            .zip(&self.origin)
            .find_map(|(s, &index)| s.samples.first().map(|x| (index, s.labels.pairs(), x.t)))
            .into_iter()
            .chain(
                self.invalid
                    .iter()
                    .map(|s| (s.index, &s.labels[..], s.first_t)),
            )
            .min_by_key(|(index, _, _)| *index);
        WriteOutcome {
            samples_rejected: stored.sum::<u64>() + self.invalid_samples(),
            first_rejection: first
                .map(|(_, labels, t)| rejection_message(&error.to_string(), labels, t)),
            ..WriteOutcome::default()
        }
    }
}

/// Prometheus's words for each reason (its `storage.Err*` messages).
fn reason_text(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::OutOfBounds => "out of bounds",
        RejectReason::TooOld { .. } => "too old sample",
        RejectReason::Conflict => "duplicate sample for timestamp",
    }
}

/// `<reason>: series {name="value",...} timestamp <t>`, values quoted and escaped.
fn rejection_message(reason: &str, labels: &[(String, String)], t: i64) -> String {
    let mut out = format!("{reason}: series {{");
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}={value:?}");
    }
    let _ = write!(out, "}} timestamp {t}");
    out
}
