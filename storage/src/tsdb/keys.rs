//! Column family names and key encodings. Every key starts with the shard id (u32,
//! big-endian), so one shard's data is one contiguous range per column family: a snapshot
//! exports it and a restore or removal deletes it as a range. Numbers are big-endian so byte
//! order is numeric order; timestamps have their sign bit flipped so negative times sort
//! first. Strings (tenant, agent, label names and values) are UTF-8, which never contains the
//! byte `0xFF`, so `0xFF` terminates them unambiguously. The full layout is in the module
//! header of [`tsdb`](super).

use super::{SeriesId, ShardId};

pub(crate) const CF_SERIES: &str = "series";
pub(crate) const CF_SERIES_BY_LABELS: &str = "series_by_labels";
pub(crate) const CF_POSTINGS: &str = "postings";
pub(crate) const CF_CHUNKS: &str = "chunks";
pub(crate) const CF_DEDUP: &str = "dedup";
pub(crate) const CF_META: &str = "meta";

/// Every column family of the layout, in the order snapshots export them.
pub(crate) const ALL_CFS: [&str; 6] = [
    CF_SERIES,
    CF_SERIES_BY_LABELS,
    CF_POSTINGS,
    CF_CHUNKS,
    CF_DEDUP,
    CF_META,
];

/// Terminates a string inside a key.
const END: u8 = 0xFF;

/// `meta` key tags, after the shard id.
pub(crate) const META_FLUSHED: u8 = 1;
pub(crate) const META_NEXT_SERIES: u8 = 2;
/// Followed by a series id: that series' open chunk as the last flush persisted it.
pub(crate) const META_HEAD: u8 = 3;

/// The half-open key range `[start, end)` holding all of `shard`'s keys.
pub(crate) fn shard_range(shard: ShardId) -> (Vec<u8>, Vec<u8>) {
    let start = shard.to_be_bytes().to_vec();
    let end = match shard.checked_add(1) {
        Some(next) => next.to_be_bytes().to_vec(),
        // Every key of the layout is at most 20 bytes long or has a byte below 0xFF within
        // its first 21 (strings never contain 0xFF), so 21 bytes of 0xFF bound them all.
        None => vec![END; 21],
    };
    (start, end)
}

/// `series`: shard, series id.
pub(crate) fn series(shard: ShardId, id: SeriesId) -> [u8; 12] {
    let mut key = [0; 12];
    key[..4].copy_from_slice(&shard.to_be_bytes());
    key[4..].copy_from_slice(&id.to_be_bytes());
    key
}

/// The series id of a `series` key.
pub(crate) fn series_id_of(key: &[u8]) -> Option<SeriesId> {
    Some(u64::from_be_bytes(key.get(4..12)?.try_into().ok()?))
}

/// `series_by_labels`: shard, hash of the canonical series bytes.
pub(crate) fn series_by_labels(shard: ShardId, hash: u64) -> [u8; 12] {
    let mut key = [0; 12];
    key[..4].copy_from_slice(&shard.to_be_bytes());
    key[4..].copy_from_slice(&hash.to_be_bytes());
    key
}

/// `postings` prefix of every label pair of `tenant`.
pub(crate) fn postings_tenant(shard: ShardId, tenant: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(5 + tenant.len());
    key.extend_from_slice(&shard.to_be_bytes());
    key.extend_from_slice(tenant.as_bytes());
    key.push(END);
    key
}

/// `postings` prefix of every value of label `name` of `tenant`.
pub(crate) fn postings_name(shard: ShardId, tenant: &str, name: &str) -> Vec<u8> {
    let mut key = postings_tenant(shard, tenant);
    key.extend_from_slice(name.as_bytes());
    key.push(END);
    key
}

/// `postings`: shard, tenant, label name, label value. The empty name and value hold every
/// series of the tenant.
pub(crate) fn postings(shard: ShardId, tenant: &str, name: &str, value: &str) -> Vec<u8> {
    let mut key = postings_name(shard, tenant, name);
    key.extend_from_slice(value.as_bytes());
    key
}

/// Splits the part of a `postings` key after `postings_tenant` into name and value.
pub(crate) fn postings_pair(rest: &[u8]) -> Option<(&str, &str)> {
    let split = rest.iter().position(|&b| b == END)?;
    let name = std::str::from_utf8(&rest[..split]).ok()?;
    let value = std::str::from_utf8(&rest[split + 1..]).ok()?;
    Some((name, value))
}

/// A timestamp as big-endian bytes that sort like the signed number.
fn time_bytes(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

fn time_of(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}

/// `chunks`: shard, partition start, series id. Time first, so retention deletes one range
/// and the series of one partition are neighbours (shared key prefixes).
pub(crate) fn chunk(shard: ShardId, partition: i64, id: SeriesId) -> [u8; 20] {
    let mut key = [0; 20];
    key[..4].copy_from_slice(&shard.to_be_bytes());
    key[4..12].copy_from_slice(&time_bytes(partition));
    key[12..].copy_from_slice(&id.to_be_bytes());
    key
}

/// The first `chunks` key of `partition` in `shard`.
pub(crate) fn chunk_partition(shard: ShardId, partition: i64) -> [u8; 12] {
    let mut key = [0; 12];
    key[..4].copy_from_slice(&shard.to_be_bytes());
    key[4..].copy_from_slice(&time_bytes(partition));
    key
}

/// The partition and series id of a `chunks` key.
pub(crate) fn chunk_parts(key: &[u8]) -> Option<(i64, SeriesId)> {
    let partition = time_of(key.get(4..12)?.try_into().ok()?);
    let id = u64::from_be_bytes(key.get(12..20)?.try_into().ok()?);
    Some((partition, id))
}

/// `dedup`: shard, tenant, agent, queue.
pub(crate) fn dedup(shard: ShardId, tenant: &str, agent: &str, queue: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(14 + tenant.len() + agent.len());
    key.extend_from_slice(&shard.to_be_bytes());
    key.extend_from_slice(tenant.as_bytes());
    key.push(END);
    key.extend_from_slice(agent.as_bytes());
    key.push(END);
    key.extend_from_slice(&queue.to_be_bytes());
    key
}

/// `meta`: shard, tag.
pub(crate) fn meta(shard: ShardId, tag: u8) -> [u8; 5] {
    let mut key = [0; 5];
    key[..4].copy_from_slice(&shard.to_be_bytes());
    key[4] = tag;
    key
}

/// `meta`: shard, [`META_HEAD`], series id.
pub(crate) fn head(shard: ShardId, id: SeriesId) -> [u8; 13] {
    let mut key = [0; 13];
    key[..5].copy_from_slice(&meta(shard, META_HEAD));
    key[5..].copy_from_slice(&id.to_be_bytes());
    key
}

/// The half-open range of `shard`'s [`head`] keys.
pub(crate) fn head_range(shard: ShardId) -> ([u8; 5], [u8; 5]) {
    (meta(shard, META_HEAD), meta(shard, META_HEAD + 1))
}

/// The series id of a [`head`] key.
pub(crate) fn head_series_of(key: &[u8]) -> Option<SeriesId> {
    Some(u64::from_be_bytes(key.get(5..13)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_sort_by_shard_then_time_then_series() {
        let keys = [
            chunk(1, -7_200_000, 9),
            chunk(1, 0, 2),
            chunk(1, 0, 10),
            chunk(1, 7_200_000, 1),
            chunk(2, i64::MIN / 2, 0),
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        for key in &keys[..4] {
            let (start, end) = shard_range(1);
            assert!(start.as_slice() <= &key[..] && &key[..] < end.as_slice());
        }
        assert_eq!(chunk_parts(&keys[0]), Some((-7_200_000, 9)));
        assert!(chunk_partition(1, 0)[..] < keys[1][..]);
        assert!(chunk_partition(1, 0)[..] > keys[0][..]);
    }

    #[test]
    fn string_keys_do_not_run_into_each_other() {
        // "ab" as a tenant must not share a prefix with tenant "a" and name "b".
        let a = postings_tenant(3, "a");
        assert!(!postings(3, "ab", "x", "y").starts_with(&a));
        let name = postings_name(3, "t", "job");
        let key = postings(3, "t", "job", "node");
        assert!(key.starts_with(&name));
        assert!(!postings(3, "t", "jobs", "node").starts_with(&name));
        let rest = &key[postings_tenant(3, "t").len()..];
        assert_eq!(postings_pair(rest), Some(("job", "node")));
        assert_ne!(dedup(1, "a", "bc", 1), dedup(1, "ab", "c", 1));
    }

    #[test]
    fn head_keys_sit_between_their_range_bounds() {
        let (start, end) = head_range(7);
        for id in [0, 1, 0xFF00_0000_0000_0000, u64::MAX] {
            let key = head(7, id);
            assert!(start[..] <= key[..] && key[..] < end[..]);
            assert_eq!(head_series_of(&key), Some(id));
        }
        assert!(meta(7, META_NEXT_SERIES) < start);
    }

    #[test]
    fn the_last_shard_has_a_range_too() {
        let (start, end) = shard_range(u32::MAX);
        assert!(start < end);
        assert!(start.as_slice() <= &meta(u32::MAX, META_FLUSHED)[..]);
        assert!(&chunk(u32::MAX, i64::MAX, u64::MAX)[..] < end.as_slice());
        assert!(&series(u32::MAX, u64::MAX)[..] < end.as_slice());
        assert!(dedup(u32::MAX, "", "", u32::MAX) < end);
        assert!(postings(u32::MAX, "", "", "") < end);
    }
}
