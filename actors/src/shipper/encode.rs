//! The encoding fast path: a `WriteRequest` written straight into a reused buffer.
//!
//! Each series' labels are encoded once, when the series is first read from the WAL, as the
//! bytes of the `TimeSeries.labels` fields (tag 1, length, `Label`). A request is then, per
//! sample, `WriteRequest.timeseries` (tag 1, length) + those label bytes + one
//! `TimeSeries.samples` field (tag 2, length, `Sample { value = 1 (double), timestamp = 2
//! (int64) }`). Both sample fields are always written, even when zero, so `-0.0` and the
//! staleness NaN keep their exact bits. One sample per `TimeSeries` is what Prometheus sends
//! too. The protobuf bytes and the snappy output live in buffers reused across batches, so
//! encoding allocates nothing per sample.

use std::sync::Arc;

use bytes::Bytes;

use crate::labels::Labels;

/// Protobuf tag for field 1, length-delimited.
const TAG_1_LEN: u8 = 0x0a;
/// Protobuf tag for field 2, length-delimited.
const TAG_2_LEN: u8 = 0x12;
/// `Sample.value`: field 1, 64-bit.
const TAG_VALUE: u8 = 0x09;
/// `Sample.timestamp`: field 2, varint.
const TAG_TIMESTAMP: u8 = 0x10;

/// One sample waiting to be sent, with its series' pre-encoded labels.
#[derive(Clone, Debug)]
pub struct QueuedSample {
    pub labels: Arc<[u8]>,
    pub t: i64,
    pub v: f64,
}

/// Encodes a label set as the `labels` fields of a `TimeSeries`.
pub fn encode_labels(labels: &Labels) -> Arc<[u8]> {
    let mut out = Vec::with_capacity(
        labels
            .iter()
            .map(|l| l.name.len() + l.value.len() + 6)
            .sum(),
    );
    for l in labels {
        let len = field_len(l.name.len()) + field_len(l.value.len());
        out.push(TAG_1_LEN);
        put_varint(&mut out, len as u64);
        out.push(TAG_1_LEN);
        put_varint(&mut out, l.name.len() as u64);
        out.extend_from_slice(l.name.as_bytes());
        out.push(TAG_2_LEN);
        put_varint(&mut out, l.value.len() as u64);
        out.extend_from_slice(l.value.as_bytes());
    }
    out.into()
}

/// Turns batches into snappy-compressed `WriteRequest` bodies, reusing its buffers.
pub struct RequestEncoder {
    raw: Vec<u8>,
    compressed: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl std::fmt::Debug for RequestEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestEncoder")
            .field("raw_capacity", &self.raw.capacity())
            .finish()
    }
}

impl Default for RequestEncoder {
    fn default() -> Self {
        Self {
            raw: Vec::new(),
            compressed: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }
}

impl RequestEncoder {
    /// Encodes the samples into a request body (snappy block format).
    pub fn encode<'a>(
        &mut self,
        samples: impl IntoIterator<Item = &'a QueuedSample>,
    ) -> Result<Bytes, snap::Error> {
        self.raw.clear();
        for s in samples {
            let sample_len = 1 + 8 + 1 + varint_len(s.t as u64);
            let series_len = s.labels.len() + 1 + varint_len(sample_len as u64) + sample_len;
            self.raw.push(TAG_1_LEN);
            put_varint(&mut self.raw, series_len as u64);
            self.raw.extend_from_slice(&s.labels);
            self.raw.push(TAG_2_LEN);
            put_varint(&mut self.raw, sample_len as u64);
            self.raw.push(TAG_VALUE);
            self.raw.extend_from_slice(&s.v.to_bits().to_le_bytes());
            self.raw.push(TAG_TIMESTAMP);
            put_varint(&mut self.raw, s.t as u64);
        }
        self.compressed
            .resize(snap::raw::max_compress_len(self.raw.len()), 0);
        let n = self.snappy.compress(&self.raw, &mut self.compressed)?;
        Ok(Bytes::copy_from_slice(&self.compressed[..n]))
    }
}

/// Bytes of a length-delimited field with a one-byte tag.
fn field_len(payload: usize) -> usize {
    1 + varint_len(payload as u64) + payload
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use skyview_api::remote_write::{
        decode_write_request, Label, Sample, TimeSeries, WriteRequest,
    };

    use super::*;
    use crate::sample::{stale_nan, STALE_NAN_BITS};

    #[test]
    fn varint_len_matches_encoding() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
            (-1i64) as u64,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
        }
    }

    #[test]
    fn encodes_exactly_what_prost_decodes() {
        let long_value = "v".repeat(300); // two-byte lengths
        let a = Labels::from_pairs([("__name__", "up"), ("job", "node"), ("instance", "h:9100")]);
        let b = Labels::from_pairs([("__name__", "long"), ("x", long_value.as_str())]);
        let (la, lb) = (encode_labels(&a), encode_labels(&b));
        let samples = [
            QueuedSample {
                labels: la.clone(),
                t: 1_700_000_000_123,
                v: 1.0,
            },
            QueuedSample {
                labels: lb.clone(),
                t: 0,
                v: -0.0,
            },
            QueuedSample {
                labels: la.clone(),
                t: -5,
                v: stale_nan(),
            },
            QueuedSample {
                labels: lb,
                t: i64::MAX,
                v: f64::INFINITY,
            },
        ];
        let mut encoder = RequestEncoder::default();
        // Encode twice to prove the reused buffers are reset.
        encoder.encode(&samples[..1]).unwrap();
        let body = encoder.encode(&samples).unwrap();
        let got = decode_write_request(&body, 1 << 20).unwrap();

        let to_proto = |l: &Labels| {
            l.iter()
                .map(|l| Label {
                    name: l.name.clone(),
                    value: l.value.clone(),
                })
                .collect::<Vec<_>>()
        };
        let series = |l: &Labels, t, v| TimeSeries {
            labels: to_proto(l),
            samples: vec![Sample {
                value: v,
                timestamp: t,
            }],
        };
        let want = WriteRequest {
            timeseries: vec![
                series(&a, 1_700_000_000_123, 1.0),
                series(&b, 0, -0.0),
                series(&a, -5, stale_nan()),
                series(&b, i64::MAX, f64::INFINITY),
            ],
            metadata: vec![],
        };
        // NaN != NaN, so compare the staleness marker by bits and the rest structurally.
        assert_eq!(got.timeseries[2].samples[0].value.to_bits(), STALE_NAN_BITS);
        assert!(got.timeseries[1].samples[0].value.is_sign_negative());
        let blank_nan = |mut r: WriteRequest| {
            r.timeseries[2].samples[0].value = 0.0;
            r
        };
        assert_eq!(blank_nan(got.clone()), blank_nan(want.clone()));
        // Same length as prost's own encoding, apart from the zero-valued fields prost omits.
        assert_eq!(
            snap::raw::decompress_len(&body).unwrap(),
            want.encoded_len() + 11
        );
    }
}
