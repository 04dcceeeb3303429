//! The integer sequence codec shared by timestamps and decimal mantissas.
//!
//! A sequence of `n` signed 64-bit integers (`n` is known to the caller, so it is not stored)
//! is differenced `order` times (0 = the values, 1 = deltas, 2 = delta-of-deltas) and the
//! residuals after the first `order` ones are bit-packed at one width chosen per sequence,
//! with the few residuals that do not fit stored apart as exceptions ("patched frame of
//! reference"). The encoder evaluates every order and base below and keeps the smallest; the
//! choice costs a pass over the histogram of bit lengths, not a trial encoding.
//!
//! ```text
//! sequence   = (nothing when n = 0)
//!            | order:2  initial{order}  base  width:7  exceptions  slot{m - e}
//! initial    = varlen(zigzag(r_i))            the first `order` residuals, i < order
//! base       = 0 varlen(zigzag(b))            slot value u = zigzag(r - b)  (b = median)
//!            | 1 varlen(zigzag(b))            slot value u = r - b  (b = smallest residual)
//! exceptions = varlen(e)  (index:k varlen(u)){e}
//! slot       = u:width                        the other residuals, in order
//! ```
//!
//! - `order` is 0, 1 or 2 and below `n`; `m = n - order` residuals follow the initial ones.
//! - `width` is 0..=64. A width of 0 makes a sequence with constant steady residuals (a
//!   regular scrape interval, a constant gauge) cost only its header.
//! - Exception indexes are positions among the `m` residuals, strictly increasing, `k` bits
//!   each with `k` = bit length of `m - 1`. The decoder checks all of this, and `e <= m`.
//! - All arithmetic wraps (two's complement), so any `i64` values round-trip, extreme jumps
//!   included; they only cost more bits.

use super::bits::{bit_length, unzigzag, varlen_cost, zigzag, BitReader, BitWriter};
use super::error::DecodeError;

/// Highest difference order tried (delta-of-delta).
const MAX_ORDER: usize = 2;
const ORDER_BITS: u32 = 2;
const WIDTH_BITS: u32 = 7;

/// How steady residuals become unsigned slot values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    /// Zigzag around the median: for residuals spread around a typical value. A median is
    /// not moved by a few outliers (a counter reset, a gap), which become exceptions.
    Centered(i64),
    /// Minus the smallest residual: for residuals of one sign, such as counter increments,
    /// where it saves zigzag's sign bit.
    Offset(i64),
}

impl Base {
    fn slot(self, r: i64) -> u64 {
        match self {
            Base::Centered(b) => zigzag(r.wrapping_sub(b)),
            Base::Offset(b) => (r as u64).wrapping_sub(b as u64),
        }
    }

    fn residual(self, u: u64) -> i64 {
        match self {
            Base::Centered(b) => unzigzag(u).wrapping_add(b),
            Base::Offset(b) => (u as i64).wrapping_add(b),
        }
    }

    fn value(self) -> i64 {
        match self {
            Base::Centered(b) | Base::Offset(b) => b,
        }
    }
}

/// One way to encode a sequence, with its exact size in bits.
#[derive(Debug, Clone, Copy)]
struct Plan {
    order: usize,
    base: Base,
    width: u32,
    bits: u64,
}

/// Writes `xs` in the smallest of the encodings described in the module header.
pub(crate) fn encode(xs: &[i64], out: &mut BitWriter) {
    let n = xs.len();
    if n == 0 {
        return;
    }
    let mut residuals = xs.to_vec();
    let mut sorted = Vec::with_capacity(n);
    let mut best: Option<Plan> = None;
    for order in 0..=MAX_ORDER.min(n - 1) {
        if order > 0 {
            difference(&mut residuals, order);
        }
        sorted.clear();
        sorted.extend_from_slice(&residuals[order..]);
        let middle = sorted.len() / 2;
        let (smaller, &mut median, _) = sorted.select_nth_unstable(middle);
        let min = smaller.iter().copied().min().unwrap_or(median).min(median);
        for base in [Base::Centered(median), Base::Offset(min)] {
            let plan = plan(&residuals, order, base);
            if best.is_none_or(|b| plan.bits < b.bits) {
                best = Some(plan);
            }
        }
    }
    let Some(plan) = best else { return };
    residuals.copy_from_slice(xs);
    for order in 1..=plan.order {
        difference(&mut residuals, order);
    }
    write(&residuals, plan, out);
}

/// One more differencing pass, turning residuals of order `order - 1` into order `order`.
fn difference(r: &mut [i64], order: usize) {
    for i in (order..r.len()).rev() {
        r[i] = r[i].wrapping_sub(r[i - 1]);
    }
}

/// The best width for `residuals` (already differenced `order` times) under `base`.
fn plan(residuals: &[i64], order: usize, base: Base) -> Plan {
    let (initial, steady) = residuals.split_at(order);
    let mut header = u64::from(ORDER_BITS + 1 + WIDTH_BITS) + varlen_cost(zigzag(base.value()));
    header += initial.iter().map(|&r| varlen_cost(zigzag(r))).sum::<u64>();
    let mut histogram = [0u64; 65];
    for &r in steady {
        histogram[bit_length(base.slot(r)) as usize] += 1;
    }
    let index_bits = u64::from(bit_length(steady.len() as u64 - 1));
    // An exception's slot value has `len` significant bits; `len` 0 is a varlen of zero.
    let exception_cost = |len: usize| index_bits + varlen_cost(mask_of_length(len));
    // Start with every residual an exception, then let width grow and take them in.
    let mut exceptions = steady.len() as u64;
    let mut exceptions_bits: u64 = histogram
        .iter()
        .enumerate()
        .map(|(len, &count)| count * exception_cost(len))
        .sum();
    let mut fitting = 0u64;
    let mut best = (u64::MAX, 0u32);
    for width in 0..=64u32 {
        let count = histogram[width as usize];
        fitting += count;
        exceptions -= count;
        exceptions_bits -= count * exception_cost(width as usize);
        let bits = fitting * u64::from(width) + exceptions_bits + varlen_cost(exceptions);
        if bits < best.0 {
            best = (bits, width);
        }
        if exceptions == 0 {
            break;
        }
    }
    Plan {
        order,
        base,
        width: best.1,
        bits: header + best.0,
    }
}

/// The largest value of bit length `len`, which costs as much as any value of that length.
fn mask_of_length(len: usize) -> u64 {
    match len {
        0 => 0,
        _ => u64::MAX >> (64 - len),
    }
}

fn write(residuals: &[i64], plan: Plan, out: &mut BitWriter) {
    let (initial, steady) = residuals.split_at(plan.order);
    out.write_bits(plan.order as u64, ORDER_BITS);
    for &r in initial {
        out.write_varlen(zigzag(r));
    }
    out.write_bit(matches!(plan.base, Base::Offset(_)));
    out.write_varlen(zigzag(plan.base.value()));
    out.write_bits(u64::from(plan.width), WIDTH_BITS);
    let fits = |u: u64| bit_length(u) <= plan.width;
    let exceptions = steady.iter().filter(|&&r| !fits(plan.base.slot(r))).count();
    out.write_varlen(exceptions as u64);
    let index_bits = bit_length(steady.len() as u64 - 1);
    for (i, &r) in steady.iter().enumerate() {
        let u = plan.base.slot(r);
        if !fits(u) {
            out.write_bits(i as u64, index_bits);
            out.write_varlen(u);
        }
    }
    for &r in steady {
        let u = plan.base.slot(r);
        if fits(u) {
            out.write_bits(u, plan.width);
        }
    }
}

/// Reads a sequence of `n` values into `out` (replacing its content). The caller bounds `n`.
pub(crate) fn decode(
    input: &mut BitReader<'_>,
    n: usize,
    out: &mut Vec<i64>,
) -> Result<(), DecodeError> {
    out.clear();
    if n == 0 {
        return Ok(());
    }
    let order = input.read_bits(ORDER_BITS)? as usize;
    if order > MAX_ORDER || order >= n {
        return Err(DecodeError::InvalidOrder {
            order: order as u8,
            count: n,
        });
    }
    out.reserve(n);
    for _ in 0..order {
        out.push(unzigzag(input.read_varlen()?));
    }
    let offset = input.read_bit()?;
    let b = unzigzag(input.read_varlen()?);
    let base = if offset {
        Base::Offset(b)
    } else {
        Base::Centered(b)
    };
    let width = input.read_bits(WIDTH_BITS)? as u32;
    if width > 64 {
        return Err(DecodeError::InvalidWidth { width });
    }
    let slots = n - order;
    let declared = input.read_varlen()?;
    if declared > slots as u64 {
        return Err(DecodeError::TooManyExceptions {
            exceptions: declared,
            slots,
        });
    }
    let index_bits = bit_length(slots as u64 - 1);
    let mut exceptions = Vec::with_capacity(declared as usize);
    let mut next_free = 0u64;
    for _ in 0..declared {
        let index = input.read_bits(index_bits)?;
        if index < next_free || index >= slots as u64 {
            return Err(DecodeError::ExceptionIndex { index, slots });
        }
        next_free = index + 1;
        exceptions.push((index as usize, input.read_varlen()?));
    }
    if exceptions.is_empty() {
        // The common case, kept free of per-slot branches.
        match base {
            Base::Centered(b) => {
                input.read_fields(width, slots, |u| out.push(unzigzag(u).wrapping_add(b)))?
            }
            Base::Offset(b) => {
                input.read_fields(width, slots, |u| out.push((u as i64).wrapping_add(b)))?
            }
        }
    } else {
        let mut pending = exceptions.iter().peekable();
        for i in 0..slots {
            let u = match pending.next_if(|(index, _)| *index == i) {
                Some(&(_, u)) => u,
                None => input.read_bits(width)?,
            };
            out.push(base.residual(u));
        }
    }
    for pass in (1..=order).rev() {
        for i in pass..n {
            out[i] = out[i].wrapping_add(out[i - 1]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn round_trip(xs: &[i64]) -> usize {
        let mut w = BitWriter::default();
        encode(xs, &mut w);
        let bits = w.bit_len();
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        let mut out = vec![42];
        decode(&mut r, xs.len(), &mut out).unwrap();
        assert_eq!(out, xs);
        assert_eq!(
            r.position(),
            bits,
            "decoder must consume exactly what was written"
        );
        bits
    }

    #[test]
    fn random_sequences_round_trip() {
        let mut rng = StdRng::seed_from_u64(7);
        for case in 0..2_000 {
            let n = rng.random_range(0..300usize);
            let shape = case % 5;
            let mut x: i64 = rng.random();
            let xs: Vec<i64> = (0..n)
                .map(|_| {
                    x = match shape {
                        0 => rng.random(),
                        1 => x.wrapping_add(rng.random_range(-3..=3)),
                        2 => x.wrapping_add(rng.random_range(0..100)),
                        3 if rng.random_bool(0.05) => rng.random(),
                        _ => x.wrapping_add(15_000 + rng.random_range(-5..=5)),
                    };
                    x
                })
                .collect();
            round_trip(&xs);
        }
    }

    #[test]
    fn extremes_and_wrapping_jumps_round_trip() {
        round_trip(&[i64::MIN, i64::MAX, i64::MIN, 0, i64::MAX, -1, 1]);
        round_trip(&[i64::MAX; 10]);
        round_trip(&[i64::MIN]);
        round_trip(&[0, i64::MAX]);
        round_trip(&(0..100).map(|i| i64::MIN + i * 3).collect::<Vec<_>>());
    }

    #[test]
    fn regular_steps_cost_only_the_header() {
        let xs: Vec<i64> = (0..120).map(|i| i * 15_000).collect();
        let bits = round_trip(&xs);
        assert!(bits <= 50, "a regular sequence took {bits} bits");
        let constant = vec![123_456i64; 120];
        assert!(round_trip(&constant) <= 48);
    }

    #[test]
    fn one_sided_increments_pack_at_their_range() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut x = 500_000i64;
        let xs: Vec<i64> = (0..120)
            .map(|_| {
                x += rng.random_range(0..100);
                x
            })
            .collect();
        let bits = round_trip(&xs);
        // 119 increments of 7 bits plus a small header.
        assert!(bits <= 119 * 7 + 70, "took {bits} bits");
    }

    #[test]
    fn rare_outliers_become_exceptions_not_a_wider_width() {
        let mut xs: Vec<i64> = (0..120).map(|i| i * 10).collect();
        xs[60] += 1 << 40;
        let bits = round_trip(&xs);
        assert!(bits <= 160, "one outlier cost {bits} bits");
    }

    #[test]
    fn malformed_sequences_are_typed_errors() {
        // order 3.
        let mut w = BitWriter::default();
        w.write_bits(3, 2);
        let bytes = w.finish();
        assert_eq!(
            decode(&mut BitReader::new(&bytes), 5, &mut Vec::new()),
            Err(DecodeError::InvalidOrder { order: 3, count: 5 })
        );
        // order 1 for a single value.
        let mut w = BitWriter::default();
        w.write_bits(1, 2);
        let bytes = w.finish();
        assert!(matches!(
            decode(&mut BitReader::new(&bytes), 1, &mut Vec::new()),
            Err(DecodeError::InvalidOrder { .. })
        ));
        // width 65.
        let mut w = BitWriter::default();
        w.write_bits(0, 2);
        w.write_bit(false);
        w.write_varlen(0);
        w.write_bits(65, 7);
        let bytes = w.finish();
        assert_eq!(
            decode(&mut BitReader::new(&bytes), 4, &mut Vec::new()),
            Err(DecodeError::InvalidWidth { width: 65 })
        );
        // more exceptions than slots.
        let mut w = BitWriter::default();
        w.write_bits(0, 2);
        w.write_bit(false);
        w.write_varlen(0);
        w.write_bits(0, 7);
        w.write_varlen(5);
        let bytes = w.finish();
        assert_eq!(
            decode(&mut BitReader::new(&bytes), 4, &mut Vec::new()),
            Err(DecodeError::TooManyExceptions {
                exceptions: 5,
                slots: 4
            })
        );
        // exception indexes not increasing.
        let mut w = BitWriter::default();
        w.write_bits(0, 2);
        w.write_bit(false);
        w.write_varlen(0);
        w.write_bits(0, 7);
        w.write_varlen(2);
        w.write_bits(2, 2);
        w.write_varlen(9);
        w.write_bits(1, 2);
        w.write_varlen(9);
        let bytes = w.finish();
        assert_eq!(
            decode(&mut BitReader::new(&bytes), 4, &mut Vec::new()),
            Err(DecodeError::ExceptionIndex { index: 1, slots: 4 })
        );
    }
}
