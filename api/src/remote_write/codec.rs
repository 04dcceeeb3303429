//! Snappy block framing of protobuf messages, as remote write 1.0 and remote read (SAMPLES)
//! require.
//!
//! The body of a request is the protobuf encoding of one message ([`WriteRequest`], or remote
//! read's `ReadRequest` and `ReadResponse`), compressed with snappy's *block* format
//! (`snap::raw`), not the streaming frame format. A block starts with the uncompressed length
//! as a varint, which lets the decoder check the size a body claims against a limit before it
//! allocates: a 1 MB body cannot make a receiver allocate 4 GB.

use prost::Message;

use super::proto::WriteRequest;

/// Why a body could not be turned into a message (or back).
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The body declares an uncompressed size above the caller's limit.
    #[error("decoded body would be {size} bytes, above the limit of {limit} bytes")]
    DecodedTooLarge { size: usize, limit: usize },
    /// Not valid snappy block data (or, when encoding, too large for snappy).
    #[error("snappy: {0}")]
    Snappy(#[from] snap::Error),
    /// Valid snappy, but not a valid message of the expected type.
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// Encodes and compresses a message into a body ready to send.
pub fn encode_message<M: Message>(message: &M) -> Result<Vec<u8>, WireError> {
    let raw = message.encode_to_vec();
    Ok(snap::raw::Encoder::new().compress_vec(&raw)?)
}

/// Decompresses and decodes a body, refusing bodies that would decode to more than
/// `max_decoded_len` bytes. The length is read from the snappy header before any allocation.
pub fn decode_message<M: Message + Default>(
    body: &[u8],
    max_decoded_len: usize,
) -> Result<M, WireError> {
    let size = snap::raw::decompress_len(body)?;
    if size > max_decoded_len {
        return Err(WireError::DecodedTooLarge {
            size,
            limit: max_decoded_len,
        });
    }
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    Ok(M::decode(raw.as_slice())?)
}

/// [`encode_message`] for the remote-write request.
pub fn encode_write_request(request: &WriteRequest) -> Result<Vec<u8>, WireError> {
    encode_message(request)
}

/// [`decode_message`] for the remote-write request.
pub fn decode_write_request(
    body: &[u8],
    max_decoded_len: usize,
) -> Result<WriteRequest, WireError> {
    decode_message(body, max_decoded_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote_write::proto::{Label, Sample, TimeSeries};

    fn request() -> WriteRequest {
        WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![
                    Label {
                        name: "__name__".into(),
                        value: "up".into(),
                    },
                    Label {
                        name: "job".into(),
                        value: "node".into(),
                    },
                ],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: 1_700_000_000_000,
                }],
            }],
            metadata: vec![],
        }
    }

    #[test]
    fn round_trips() {
        let body = encode_write_request(&request()).unwrap();
        assert_eq!(decode_write_request(&body, 1 << 20).unwrap(), request());
    }

    #[test]
    fn refuses_oversized_body_before_decompressing() {
        let body = encode_write_request(&request()).unwrap();
        let size = snap::raw::decompress_len(&body).unwrap();
        match decode_write_request(&body, size - 1) {
            Err(WireError::DecodedTooLarge { size: s, limit }) => {
                assert_eq!((s, limit), (size, size - 1));
            }
            other => panic!("expected DecodedTooLarge, got {other:?}"),
        }
        // A forged header claiming 100 MB is refused without allocating it.
        let mut forged = Vec::new();
        let mut n = 100_000_000u64;
        while n >= 0x80 {
            forged.push((n as u8) | 0x80);
            n >>= 7;
        }
        forged.extend([n as u8, 0x00, 0x00]);
        assert!(matches!(
            decode_write_request(&forged, 1 << 20),
            Err(WireError::DecodedTooLarge {
                size: 100_000_000,
                limit: 1_048_576
            })
        ));
    }

    #[test]
    fn rejects_bad_snappy_and_bad_protobuf() {
        assert!(matches!(
            decode_write_request(&[0xff; 8], 1 << 20),
            Err(WireError::Snappy(_))
        ));
        // Valid snappy around bytes that are not a WriteRequest (field 1, truncated length).
        let body = snap::raw::Encoder::new()
            .compress_vec(&[0x0a, 0x05, 0x01])
            .unwrap();
        assert!(matches!(
            decode_write_request(&body, 1 << 20),
            Err(WireError::Protobuf(_))
        ));
    }
}
