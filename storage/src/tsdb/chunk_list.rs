//! The value under a `chunks` key: every sample of one series in one two-hour partition, as
//! a list of sealed chunks (the codec of [`crate::chunk`]).
//!
//! ```text
//! list = (varint(len) chunk-bytes){1..}     chunks in time order, time ranges disjoint
//! ```
//!
//! Writers never read-modify-write a partition: the head's samples of a partition, written
//! once when the series leaves it, and out-of-order chunks are RocksDB *merge* operands, each
//! itself a list. The merge operator ([`merge`]) decodes the existing value and the operands
//! in write order, sorts the samples by timestamp, keeps the **first written** sample of each
//! timestamp (a repeat with the same value is stored once; a conflicting later value loses, as
//! it would have been refused had it met the first in the head), and re-encodes them
//! canonically ([`encode`]): chunks of up to [`STORED_CHUNK_SAMPLES`], cut greedily. So:
//!
//! - the stored value depends only on the operands and their order, never on when RocksDB ran
//!   the merge (the function is associative): replicas end with identical content;
//! - every list written is canonical, so a merge of a single input is that input, unchanged:
//!   the common case (a partition written once by the head) costs a read no decoding;
//! - a partition of a series scraped every 15 s is one chunk of about 480 samples, which saves
//!   the codec's per-chunk header and keeps one key per series and partition; that is what
//!   brings the store under 1.3 bytes/sample with its index;
//! - out-of-order samples are merged on read and folded in by compaction, with no separate
//!   structure.

use rocksdb::MergeOperands;

use super::varint;
use crate::chunk::{Chunk, OpenChunk, Sample};

/// Samples per chunk after a merge: more than a two-hour partition holds at 15 s scrapes, so
/// such series keep one chunk per partition; denser series are cut so a read decodes at most
/// this many samples it may not need.
pub(crate) const STORED_CHUNK_SAMPLES: usize = 1024;

/// Appends `chunk` to a list being built.
pub(crate) fn push(out: &mut Vec<u8>, chunk: &Chunk) {
    varint::put_bytes(out, chunk.as_bytes());
}

/// Decodes every chunk of `list`, appending its samples to `out` in list order; `None` on
/// bytes that are not a list of valid chunks.
pub(crate) fn decode_into(mut list: &[u8], out: &mut Vec<Sample>) -> Option<()> {
    if list.is_empty() {
        return None;
    }
    while !list.is_empty() {
        let bytes = varint::take_bytes(&mut list)?;
        let chunk = Chunk::from_bytes(bytes).ok()?;
        chunk.decode_into(out).ok()?;
    }
    Some(())
}

/// Sorts samples by timestamp and keeps the first of each timestamp (stable sort, so "first"
/// is the earlier position, i.e. the earlier write).
pub(crate) fn first_wins(samples: &mut Vec<Sample>) {
    samples.sort_by_key(|s| s.t);
    samples.dedup_by_key(|s| s.t);
}

/// Encodes strictly increasing samples as a canonical list; `None` for no samples.
pub(crate) fn encode(samples: &[Sample]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(16 + samples.len() * 5 / 4);
    for part in samples.chunks(STORED_CHUNK_SAMPLES) {
        let mut open = OpenChunk::new();
        for s in part {
            open.append(s.t, s.v).ok()?;
        }
        push(&mut out, &open.seal()?);
    }
    (!out.is_empty()).then_some(out)
}

/// The merge operator of `chunks` (see the module header). `None` (a failed merge, which
/// RocksDB reports as an error on read) when any input is not a valid list; a single input
/// is returned as it is (canonical, as every list written is), and checked when it is read.
pub(crate) fn merge(
    key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    let mut inputs = existing.into_iter().chain(operands);
    if usize::from(existing.is_some()) + operands.len() == 1 {
        return inputs.next().map(<[u8]>::to_vec);
    }
    let mut samples = Vec::new();
    for (position, input) in inputs.enumerate() {
        if decode_into(input, &mut samples).is_none() {
            tracing::error!(key = ?key, position, "undecodable chunk list in a merge");
            return None;
        }
    }
    first_wins(&mut samples);
    encode(&samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(range: std::ops::Range<i64>, v: f64) -> Vec<Sample> {
        range.map(|t| Sample { t, v }).collect()
    }

    fn decoded(list: &[u8]) -> Vec<Sample> {
        let mut out = Vec::new();
        decode_into(list, &mut out).unwrap();
        out
    }

    #[test]
    fn first_written_sample_of_a_timestamp_wins() {
        let mut s = vec![
            Sample { t: 5, v: 1.0 },
            Sample { t: 3, v: 1.0 },
            Sample { t: 5, v: 2.0 },
            Sample { t: 3, v: 1.0 },
        ];
        first_wins(&mut s);
        assert_eq!(s, vec![Sample { t: 3, v: 1.0 }, Sample { t: 5, v: 1.0 }]);
    }

    #[test]
    fn long_runs_are_cut_into_stored_chunks() {
        let all = samples(0..2_500, 1.5);
        let list = encode(&all).unwrap();
        assert_eq!(decoded(&list), all);
        let mut rest = &list[..];
        let mut lens = Vec::new();
        while !rest.is_empty() {
            let bytes = varint::take_bytes(&mut rest).unwrap();
            lens.push(Chunk::from_bytes(bytes).unwrap().len());
        }
        assert_eq!(lens, vec![1024, 1024, 452]);
        assert_eq!(encode(&[]), None);
    }

    #[test]
    fn re_encoding_is_canonical() {
        // Merging in two steps or one gives the same bytes: what makes the merge associative.
        let a = encode(&samples(0..100, 1.0)).unwrap();
        let b = encode(&samples(50..150, 2.0)).unwrap();
        let c = encode(&samples(140..300, 3.0)).unwrap();
        let fold = |lists: &[&[u8]]| {
            let mut s = Vec::new();
            for l in lists {
                decode_into(l, &mut s).unwrap();
            }
            first_wins(&mut s);
            encode(&s).unwrap()
        };
        let ab = fold(&[&a, &b]);
        assert_eq!(fold(&[&ab, &c]), fold(&[&a, &b, &c]));
        let bc = fold(&[&b, &c]);
        assert_eq!(fold(&[&a, &bc]), fold(&[&a, &b, &c]));
        let all = decoded(&fold(&[&a, &b, &c]));
        assert_eq!(all.len(), 300);
        assert_eq!(all[60].v, 1.0);
        assert_eq!(all[145].v, 2.0);
    }

    #[test]
    fn a_single_input_is_its_own_fold() {
        // What lets `merge` return a lone input unchanged: every list written is canonical.
        for range in [0..1, 0..480, 0..2_500] {
            let list = encode(&samples(range, 0.5)).unwrap();
            let mut s = decoded(&list);
            first_wins(&mut s);
            assert_eq!(encode(&s).unwrap(), list);
        }
    }

    #[test]
    fn garbage_is_not_a_list() {
        let mut out = Vec::new();
        assert!(decode_into(&[], &mut out).is_none());
        assert!(decode_into(&[3, 1, 2], &mut out).is_none());
        let mut list = encode(&samples(0..10, 1.0)).unwrap();
        list.push(0);
        assert!(decode_into(&list, &mut out).is_none());
    }
}
