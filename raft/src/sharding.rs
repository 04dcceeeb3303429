//! Which shard a series belongs to: `shard_of(tenant, labels, shards)`.
//!
//! Every node must map a series to the same shard, today and after any upgrade, because the
//! series' samples are only found in that shard's group. So the function is fixed forever:
//!
//! ```text
//! h     = xxh3_64(seed = SHARD_HASH_SEED,
//!                 tenant 0xFF (name 0xFF value 0xFF) for each label pair, in the given order)
//! shard = h mod shards + 1
//! ```
//!
//! `0xFF` never occurs in UTF-8, so it separates fields unambiguously: `("a", "bc")` and
//! `("ab", "c")` hash different bytes. The labels are hashed in the order given: the receiver
//! sorts them by name before routing, as storage requires for a series' identity. The number
//! of shards is fixed when the cluster is created; changing it would move most series.

use xxhash_rust::xxh3::Xxh3;

/// Seed of the shard hash (`b"skyshard"` big-endian). Part of the routing contract: never
/// change it.
const SHARD_HASH_SEED: u64 = 0x736b_7973_6861_7264;

/// Separates the hashed fields; a byte that UTF-8 never contains.
const SEPARATOR: [u8; 1] = [0xFF];

/// The shard (`1..=shards`) holding the series `labels` of `tenant`. `labels` must be sorted
/// by name, as the receiver stores them. `shards` is the cluster's shard count; `0` is treated
/// as `1` so the function is total.
pub fn shard_of(tenant: &str, labels: &[(String, String)], shards: u32) -> u32 {
    let shards = u64::from(shards.max(1));
    let index = series_hash(tenant, labels) % shards;
    // `index < shards <= u32::MAX`, so the conversion cannot fail.
    u32::try_from(index).map_or(1, |index| index + 1)
}

/// The stable hash `shard_of` reduces: see the module header.
fn series_hash(tenant: &str, labels: &[(String, String)]) -> u64 {
    let mut hasher = Xxh3::with_seed(SHARD_HASH_SEED);
    hasher.update(tenant.as_bytes());
    hasher.update(&SEPARATOR);
    for (name, value) in labels {
        hasher.update(name.as_bytes());
        hasher.update(&SEPARATOR);
        hasher.update(value.as_bytes());
        hasher.update(&SEPARATOR);
    }
    hasher.digest()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// The routing contract: these values must never change, or a cluster upgraded to a new
    /// build would look for existing series in the wrong shards.
    #[test]
    fn values_are_pinned_forever() {
        let up = labels(&[("__name__", "up"), ("instance", "a:9100"), ("job", "node")]);
        assert_eq!(series_hash("default", &up), PINNED_UP_HASH);
        assert_eq!(series_hash("", &[]), PINNED_EMPTY_HASH);
        assert_eq!(
            u64::from(shard_of("default", &up, 16)),
            PINNED_UP_HASH % 16 + 1
        );
        assert_eq!(shard_of("default", &up, 16), PINNED_UP_SHARD_OF_16);
        assert_eq!(shard_of("team-b", &up, 16), PINNED_TEAM_B_SHARD_OF_16);
    }

    // Cross-checked against the reference C implementation (libxxhash 0.8.1,
    // `XXH3_64bits_withSeed`) over the same bytes.
    const PINNED_UP_HASH: u64 = 18_231_871_043_609_068_917;
    const PINNED_EMPTY_HASH: u64 = 7_461_739_070_882_280_844;
    const PINNED_UP_SHARD_OF_16: u32 = 6;
    const PINNED_TEAM_B_SHARD_OF_16: u32 = 1;

    #[test]
    fn shards_are_numbered_from_one() {
        for i in 0..2_000 {
            let series = labels(&[("__name__", "m"), ("i", &i.to_string())]);
            for shards in [1, 2, 3, 16, 1_000] {
                let shard = shard_of("t", &series, shards);
                assert!((1..=shards).contains(&shard), "{shard} of {shards}");
            }
            assert_eq!(shard_of("t", &series, 1), 1);
            assert_eq!(shard_of("t", &series, 0), 1);
        }
    }

    #[test]
    fn separators_keep_fields_apart() {
        let ab_c = labels(&[("ab", "c")]);
        let a_bc = labels(&[("a", "bc")]);
        assert_ne!(series_hash("t", &ab_c), series_hash("t", &a_bc));
        // The tenant is not just a prefix of the first label name.
        assert_ne!(
            series_hash("ta", &labels(&[("b", "c")])),
            series_hash("t", &labels(&[("ab", "c")]))
        );
        assert_ne!(
            series_hash("t", &labels(&[("a", "1"), ("b", "2")])),
            series_hash("t", &labels(&[("b", "2"), ("a", "1")]))
        );
    }

    #[test]
    fn tenant_is_part_of_the_key() {
        let series = labels(&[("__name__", "up")]);
        assert_ne!(series_hash("a", &series), series_hash("b", &series));
    }

    #[test]
    fn series_spread_evenly() {
        let shards = 16u32;
        let mut counts = vec![0u32; shards as usize];
        let total = 32_000u32;
        for i in 0..total {
            let series = labels(&[
                ("__name__", "http_requests_total"),
                ("instance", &format!("10.0.{}.{}:9100", i / 250, i % 250)),
            ]);
            counts[(shard_of("default", &series, shards) - 1) as usize] += 1;
        }
        let mean = total / shards;
        for (shard, count) in counts.iter().enumerate() {
            assert!(
                count.abs_diff(mean) < mean / 10,
                "shard {} holds {count} series, mean {mean}",
                shard + 1
            );
        }
    }
}
