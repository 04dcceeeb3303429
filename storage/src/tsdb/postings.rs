//! Postings lists: for one label pair, the sorted ids of the series that carry it.
//!
//! One `postings` key per label pair holds the whole list, delta-encoded, instead of one key
//! per (pair, series): RocksDB spends about a dozen bytes of overhead per key, more than the
//! one or two bytes an id delta costs here.
//!
//! ```text
//! list = varint(id_0) varint(id_1 - id_0) ... varint(id_n - id_{n-1})    ids strictly increasing
//! ```
//!
//! New series are added with a RocksDB merge whose operand is a list of the new ids; the
//! merge operator ([`merge`]) takes the union, so it is associative and the stored list does
//! not depend on when RocksDB folds operands. Retention removes ids by rewriting the list.

use rocksdb::MergeOperands;

use super::varint;
use super::SeriesId;

/// Encodes strictly increasing ids.
pub(crate) fn encode(ids: &[SeriesId]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ids.len() * 2);
    let mut previous = 0;
    for &id in ids {
        varint::put(&mut out, id - previous);
        previous = id;
    }
    out
}

/// Decodes a list, appending to `out`; `None` when the bytes are not a valid list.
pub(crate) fn decode_into(mut input: &[u8], out: &mut Vec<SeriesId>) -> Option<()> {
    let mut previous: Option<SeriesId> = None;
    while !input.is_empty() {
        let delta = varint::take(&mut input)?;
        let id = match previous {
            None => delta,
            Some(p) if delta > 0 => p.checked_add(delta)?,
            Some(_) => return None,
        };
        out.push(id);
        previous = Some(id);
    }
    Some(())
}

pub(crate) fn decode(input: &[u8]) -> Option<Vec<SeriesId>> {
    let mut out = Vec::new();
    decode_into(input, &mut out)?;
    Some(out)
}

/// The merge operator of `postings` and `series_by_labels`: the union of the existing list
/// and every operand. `None` (a failed merge, reported by RocksDB as an error) on bytes that
/// are not lists.
pub(crate) fn merge(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    let mut ids = Vec::new();
    if let Some(existing) = existing {
        decode_into(existing, &mut ids)?;
    }
    for operand in operands {
        decode_into(operand, &mut ids)?;
    }
    ids.sort_unstable();
    ids.dedup();
    Some(encode(&ids))
}

/// Ids in both sorted lists.
pub(crate) fn intersect(a: &[SeriesId], b: &[SeriesId]) -> Vec<SeriesId> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Ids of sorted `a` not in sorted `b`.
pub(crate) fn subtract(a: &[SeriesId], b: &[SeriesId]) -> Vec<SeriesId> {
    let mut j = 0;
    a.iter()
        .copied()
        .filter(|&id| {
            while j < b.len() && b[j] < id {
                j += 1;
            }
            j >= b.len() || b[j] != id
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_compactly() {
        let ids = [0, 1, 50, 100, 100_000, u64::MAX];
        let bytes = encode(&ids);
        assert_eq!(decode(&bytes).unwrap(), ids);
        // Dense ids cost one byte each.
        assert_eq!(encode(&(0..1000).collect::<Vec<_>>()).len(), 1000);
        assert_eq!(decode(&[]).unwrap(), Vec::<u64>::new());
    }

    #[test]
    fn non_increasing_or_truncated_lists_are_refused() {
        // A zero delta after the first id repeats an id.
        assert_eq!(decode(&[5, 0]), None);
        assert_eq!(decode(&[0x80]), None);
        let mut overflow = encode(&[u64::MAX]);
        overflow.push(1);
        assert_eq!(decode(&overflow), None);
    }

    #[test]
    fn set_operations() {
        let a = [1, 3, 5, 7, 9];
        let b = [2, 3, 4, 9, 11];
        assert_eq!(intersect(&a, &b), vec![3, 9]);
        assert_eq!(subtract(&a, &b), vec![1, 5, 7]);
        assert_eq!(subtract(&a, &[]), a.to_vec());
        assert_eq!(intersect(&a, &[]), Vec::<u64>::new());
    }
}
