//! LEB128 variable-length integers, the byte-level counterpart of the chunk codec's bit-level
//! `varlen`: used where stored values are byte strings (label sets, postings lists, chunk
//! lists), so small numbers (lengths, id deltas) cost one byte.

/// Appends `x` as LEB128: seven bits per byte, low bits first, high bit set on all but the
/// last byte.
pub(crate) fn put(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Reads one LEB128 integer from the front of `input`, advancing it; `None` when the input
/// ends inside the integer or it does not fit in 64 bits.
pub(crate) fn take(input: &mut &[u8]) -> Option<u64> {
    let mut x = 0u64;
    for (i, &byte) in input.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && bits > 1 {
            return None;
        }
        x |= bits << (7 * i);
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(x);
        }
    }
    None
}

/// Reads a length-prefixed byte string from the front of `input`, advancing it.
pub(crate) fn take_bytes<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(take(input)?).ok()?;
    if len > input.len() {
        return None;
    }
    let (bytes, rest) = input.split_at(len);
    *input = rest;
    Some(bytes)
}

/// Appends `bytes` with its length in front.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sizes() {
        for (x, len) in [
            (0, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::MAX, 10),
        ] {
            let mut out = Vec::new();
            put(&mut out, x);
            assert_eq!(out.len(), len, "{x}");
            out.push(0xAB);
            let mut input = &out[..];
            assert_eq!(take(&mut input), Some(x));
            assert_eq!(input, &[0xAB]);
        }
    }

    #[test]
    fn truncated_and_overlong_input_is_refused() {
        assert_eq!(take(&mut &[0x80u8][..]), None);
        assert_eq!(take(&mut &[][..]), None);
        // Eleven bytes, or a tenth byte carrying bits past 64.
        assert_eq!(take(&mut &[0xFFu8; 11][..]), None);
        let mut too_big = vec![0xFFu8; 9];
        too_big.push(0x02);
        assert_eq!(take(&mut &too_big[..]), None);
        let mut bytes = Vec::new();
        put(&mut bytes, 5);
        bytes.extend_from_slice(b"abc");
        assert_eq!(take_bytes(&mut &bytes[..]), None);
    }
}
