//! The bit stream every chunk section is written to, and its primitive integer codes.
//!
//! Bits are packed most significant first: the first bit written is the top bit of byte 0.
//! The last byte is padded with zero bits. Three codes are built on it:
//!
//! - fixed width: `n` bits (0..=64) of an unsigned value;
//! - `varlen`: an unsigned value as `0` for zero (the common count of exceptions), else `1`,
//!   6 bits holding `bit_length - 1`, then the value's bits below its leading 1 (7 bits for
//!   1, 70 bits for a full 64-bit value);
//! - zigzag: signed to unsigned (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...), so small magnitudes of
//!   either sign have short `varlen`s.
//!
//! The reader never reads past its slice: running out of bits is a [`DecodeError::Truncated`],
//! which is how a cut-off chunk is reported.

use super::error::DecodeError;

/// Bits in the length prefix of a `varlen`.
const VARLEN_PREFIX_BITS: u32 = 6;

/// Number of significant bits of `x` (0 for 0).
pub(crate) fn bit_length(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Bits a `varlen` of `x` takes.
pub(crate) fn varlen_cost(x: u64) -> u64 {
    match x {
        0 => 1,
        _ => u64::from(VARLEN_PREFIX_BITS + bit_length(x)),
    }
}

/// Maps signed to unsigned so that small magnitudes stay small.
pub(crate) fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub(crate) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Accumulates bits, most significant first, into whole bytes.
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    /// The pending bits not yet in `bytes`, right-aligned; fewer than 8 between calls.
    acc: u64,
    pending: u32,
}

impl BitWriter {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            acc: 0,
            pending: 0,
        }
    }

    /// Bits written so far.
    pub(crate) fn bit_len(&self) -> usize {
        self.bytes.len() * 8 + self.pending as usize
    }

    /// Writes the low `n` bits of `value` (`n` <= 64; higher bits of `value` are ignored).
    pub(crate) fn write_bits(&mut self, value: u64, n: u32) {
        debug_assert!(n <= 64);
        if n > 32 {
            self.write_bits(value >> 32, n - 32);
            self.write_bits(value, 32);
            return;
        }
        if n == 0 {
            return;
        }
        // At most 7 pending bits plus 32 new ones: no overflow of the 64-bit accumulator.
        self.acc = (self.acc << n) | (value & mask(n));
        self.pending += n;
        while self.pending >= 8 {
            self.pending -= 8;
            self.bytes.push((self.acc >> self.pending) as u8);
        }
        self.acc &= mask(self.pending);
    }

    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    pub(crate) fn write_varlen(&mut self, value: u64) {
        let len = bit_length(value);
        if len == 0 {
            self.write_bit(false);
            return;
        }
        self.write_bit(true);
        self.write_bits(u64::from(len - 1), VARLEN_PREFIX_BITS);
        self.write_bits(value, len - 1);
    }

    /// Appends everything `other` holds, bit for bit.
    pub(crate) fn extend_from(&mut self, other: &BitWriter) {
        for &byte in &other.bytes {
            self.write_bits(u64::from(byte), 8);
        }
        self.write_bits(other.acc, other.pending);
    }

    /// The bytes, the last one padded with zero bits.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        if self.pending > 0 {
            self.bytes.push((self.acc << (8 - self.pending)) as u8);
        }
        self.bytes
    }
}

/// Reads what a [`BitWriter`] wrote, failing instead of reading past the end.
#[derive(Debug)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Bits consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Reads `n` bits (`n` <= 64) as an unsigned value.
    #[inline]
    pub(crate) fn read_bits(&mut self, n: u32) -> Result<u64, DecodeError> {
        debug_assert!(n <= 64);
        if n > 32 {
            let high = self.read_bits(n - 32)?;
            let low = self.read_bits(32)?;
            return Ok((high << 32) | low);
        }
        if n == 0 {
            return Ok(0);
        }
        let available = self.data.len() * 8;
        if available - self.pos < n as usize {
            return Err(DecodeError::Truncated {
                bit: self.pos,
                needed: n,
                available,
            });
        }
        Ok(self.take(n))
    }

    /// Reads `count` fields of `width` bits each into `sink`: the packed slots of a sequence.
    /// One bounds check for all of them keeps the loop tight on the query path.
    #[inline]
    pub(crate) fn read_fields(
        &mut self,
        width: u32,
        count: usize,
        mut sink: impl FnMut(u64),
    ) -> Result<(), DecodeError> {
        if width == 0 || width > 32 {
            for _ in 0..count {
                sink(self.read_bits(width)?);
            }
            return Ok(());
        }
        let available = self.data.len() * 8;
        let needed = width as usize * count;
        if available - self.pos < needed {
            return Err(DecodeError::Truncated {
                bit: self.pos,
                needed: u32::try_from(needed).unwrap_or(u32::MAX),
                available,
            });
        }
        for _ in 0..count {
            sink(self.take(width));
        }
        Ok(())
    }

    /// The next `n` bits (1..=32), which the caller has checked are there.
    #[inline]
    fn take(&mut self, n: u32) -> u64 {
        let word = self.word_at(self.pos / 8);
        // The bit offset is at most 7 and `n` at most 32, so the bits sit inside `word`.
        let offset = (self.pos % 8) as u32;
        self.pos += n as usize;
        (word << offset) >> (64 - n)
    }

    /// Eight bytes from `byte` on, big-endian, zero-padded past the end.
    #[inline]
    fn word_at(&self, byte: usize) -> u64 {
        let rest = self.data.get(byte..).unwrap_or(&[]);
        match rest.first_chunk::<8>() {
            Some(eight) => u64::from_be_bytes(*eight),
            None => {
                let mut padded = [0u8; 8];
                padded[..rest.len()].copy_from_slice(rest);
                u64::from_be_bytes(padded)
            }
        }
    }

    #[inline]
    pub(crate) fn read_bit(&mut self) -> Result<bool, DecodeError> {
        Ok(self.read_bits(1)? == 1)
    }

    pub(crate) fn read_varlen(&mut self) -> Result<u64, DecodeError> {
        if !self.read_bit()? {
            return Ok(0);
        }
        let below_top = self.read_bits(VARLEN_PREFIX_BITS)? as u32;
        // The leading 1 is implicit; `below_top` is at most 63, so the shift is in range.
        Ok((1u64 << below_top) | self.read_bits(below_top)?)
    }
}

/// The low `n` bits set (`n` <= 64).
fn mask(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn fixed_width_fields_round_trip_at_every_alignment() {
        let mut rng = StdRng::seed_from_u64(1);
        let fields: Vec<(u64, u32)> = (0..5_000)
            .map(|_| {
                let n = rng.random_range(0..=64u32);
                (rng.random::<u64>() & mask(n), n)
            })
            .collect();
        let mut w = BitWriter::default();
        for &(v, n) in &fields {
            w.write_bits(v, n);
        }
        let bits = w.bit_len();
        let bytes = w.finish();
        assert_eq!(bytes.len(), bits.div_ceil(8));
        let mut r = BitReader::new(&bytes);
        for &(v, n) in &fields {
            assert_eq!(r.read_bits(n).unwrap(), v, "field of {n} bits");
        }
        assert_eq!(r.position(), bits);
    }

    #[test]
    fn packed_fields_read_like_single_reads() {
        let mut rng = StdRng::seed_from_u64(2);
        for width in 0..=64u32 {
            let values: Vec<u64> = (0..37).map(|_| rng.random::<u64>() & mask(width)).collect();
            let mut w = BitWriter::default();
            w.write_bits(0b1, 3);
            for &v in &values {
                w.write_bits(v, width);
            }
            let bytes = w.finish();
            let mut r = BitReader::new(&bytes);
            r.read_bits(3).unwrap();
            let mut read = Vec::new();
            r.read_fields(width, values.len(), |v| read.push(v))
                .unwrap();
            assert_eq!(read, values, "width {width}");
            if width > 0 {
                let mut r = BitReader::new(&bytes);
                r.read_bits(3).unwrap();
                // Eight more fields need more bits than the at most 7 of padding.
                assert!(r.read_fields(width, values.len() + 8, |_| ()).is_err());
            }
        }
    }

    #[test]
    fn varlen_and_zigzag_cover_the_extremes() {
        let values = [0u64, 1, 2, 3, 255, 256, u64::MAX >> 1, u64::MAX];
        let signed = [0i64, -1, 1, i64::MIN, i64::MAX, -123_456_789];
        let mut w = BitWriter::default();
        for &v in &values {
            w.write_varlen(v);
        }
        for &s in &signed {
            w.write_varlen(zigzag(s));
        }
        let expected: u64 = values.iter().map(|&v| varlen_cost(v)).sum::<u64>()
            + signed.iter().map(|&s| varlen_cost(zigzag(s))).sum::<u64>();
        assert_eq!(w.bit_len() as u64, expected);
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        for &v in &values {
            assert_eq!(r.read_varlen().unwrap(), v);
        }
        for &s in &signed {
            assert_eq!(unzigzag(r.read_varlen().unwrap()), s);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(varlen_cost(0), 1);
        assert_eq!(varlen_cost(1), 7);
        assert_eq!(varlen_cost(u64::MAX), 70);
    }

    #[test]
    fn extend_from_appends_unaligned_bits() {
        let mut a = BitWriter::default();
        a.write_bits(0b101, 3);
        let mut b = BitWriter::default();
        b.write_bits(0x1_2345, 17);
        b.write_bits(0b11, 2);
        a.extend_from(&b);
        assert_eq!(a.bit_len(), 22);
        let bytes = a.finish();
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bits(3).unwrap(), 0b101);
        assert_eq!(r.read_bits(17).unwrap(), 0x1_2345);
        assert_eq!(r.read_bits(2).unwrap(), 0b11);
    }

    #[test]
    fn reading_past_the_end_is_truncated_not_a_panic() {
        let bytes = [0xffu8, 0x0f];
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bits(12).unwrap(), 0xff0);
        assert_eq!(
            r.read_bits(5),
            Err(DecodeError::Truncated {
                bit: 12,
                needed: 5,
                available: 16
            })
        );
        assert_eq!(r.read_bits(4).unwrap(), 0xf);
        assert!(r.read_bit().is_err());
        assert!(BitReader::new(&[]).read_varlen().is_err());
    }
}
