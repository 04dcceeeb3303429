//! The hasher of the scrape path's maps, which are probed once per scraped sample.
//!
//! Keys are either series texts (hashed in one shot with xxh3, seeded by their length, which
//! is what `Hash for [u8]` feeds first) or label hashes that are already uniformly distributed
//! (used as they are). The std SipHash and xxh3's streaming state both cost more than the rest
//! of a cache hit. The seed is fixed: targets are chosen by the operator, so hash flooding is
//! not part of the threat model here.

use std::hash::{BuildHasherDefault, Hasher};

/// One-shot hasher; see the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn write_usize(&mut self, n: usize) {
        self.0 ^= n as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// `BuildHasher` for the scrape maps.
pub type FastHashBuilder = BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn byte_keys_are_mixed_and_u64_keys_pass_through() {
        let b = FastHashBuilder::default();
        let h = |k: &[u8]| b.hash_one(k);
        assert_eq!(h(b"abc"), h(b"abc"));
        assert_ne!(h(b"abc"), h(b"abd"));
        assert_ne!(h(b""), h(b"\0"));
        assert_eq!(b.hash_one(0xdead_beef_u64), 0xdead_beef);
    }
}
