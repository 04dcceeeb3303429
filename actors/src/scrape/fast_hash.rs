//! The hasher of the scrape path's maps, which are probed once per scraped sample.
//!
//! Their keys are hashes already: label hashes (`u64`) and scrape cache keys (the xxh3-128 of
//! a series text, of which the low 64 bits are taken), so they are used as they are. Any other
//! key is hashed in one shot with xxh3. The std SipHash would cost more than the rest of a
//! cache hit. The seed is fixed: targets are chosen by the operator, so hash flooding is not
//! part of the threat model here.

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

    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64;
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
    fn byte_keys_are_mixed_and_hash_keys_pass_through() {
        let b = FastHashBuilder::default();
        let h = |k: &[u8]| b.hash_one(k);
        assert_eq!(h(b"abc"), h(b"abc"));
        assert_ne!(h(b"abc"), h(b"abd"));
        assert_ne!(h(b""), h(b"\0"));
        assert_eq!(b.hash_one(0xdead_beef_u64), 0xdead_beef);
        assert_eq!(b.hash_one((7u128 << 64) | 0xdead_beef), 0xdead_beef);
    }
}
