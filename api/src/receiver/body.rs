//! Reading a request body with a hard size limit: a body above the limit is refused as soon as
//! its declared length or its bytes read so far exceed it, never buffered whole.
//!
//! A refused body of at most twice the limit is still read to its end and dropped before the
//! answer goes out. A sender writes its whole body before it reads the answer, and a server
//! that closes a connection with unread bytes makes the kernel reset it: the sender would get
//! a broken pipe mid-write instead of the 400 that names the problem. A larger body is not
//! worth reading; its connection is closed unread.

use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::error::ApiError;

/// How long the rest of a refused body is read for, at most.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads `body`, refusing it once it exceeds `limit` bytes (see the module header).
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    let read = read_within(&mut stream, declared, limit).await;
    if matches!(read, Err(ApiError::BodyTooLarge { .. }))
        && declared.is_none_or(|len| len <= 2 * limit as u64)
    {
        drain(&mut stream, 2 * limit).await;
    }
    read
}

async fn read_within(
    stream: &mut BodyDataStream,
    declared: Option<u64>,
    limit: usize,
) -> Result<Bytes, ApiError> {
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    // The first frame is usually the whole body: keep it without copying.
    let first = match stream.next().await {
        None => return Ok(Bytes::new()),
        Some(frame) => frame.map_err(|e| ApiError::BodyRead(e.to_string()))?,
    };
    if first.len() > limit {
        return Err(ApiError::BodyTooLarge { limit });
    }
    let Some(second) = stream.next().await else {
        return Ok(first);
    };
    let second = second.map_err(|e| ApiError::BodyRead(e.to_string()))?;
    let capacity = declared.map_or(first.len() + second.len(), |len| len as usize);
    let mut buffer = BytesMut::with_capacity(capacity);
    buffer.extend_from_slice(&first);
    let mut next = Some(Ok(second));
    while let Some(frame) = next {
        let frame = frame.map_err(|e: axum::Error| ApiError::BodyRead(e.to_string()))?;
        if buffer.len() + frame.len() > limit {
            return Err(ApiError::BodyTooLarge { limit });
        }
        buffer.extend_from_slice(&frame);
        next = stream.next().await;
    }
    Ok(buffer.freeze())
}

/// Reads and drops what is left of `stream`, up to `most` bytes and [`DRAIN_TIMEOUT`].
async fn drain(stream: &mut BodyDataStream, most: usize) {
    let read_rest = async {
        let mut read = 0;
        while read < most {
            match stream.next().await {
                Some(Ok(frame)) => read += frame.len(),
                _ => break,
            }
        }
    };
    // Past the deadline the connection is closed unread, as for a larger body.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, read_rest).await;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    fn chunked(parts: &[&'static [u8]]) -> Body {
        let frames: Vec<Result<Bytes, std::io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Body::from_stream(futures::stream::iter(frames))
    }

    #[tokio::test]
    async fn reads_bodies_up_to_the_limit() {
        let headers = HeaderMap::new();
        let got = read_limited(&headers, chunked(&[b"abc", b"de", b"f"]), 6)
            .await
            .unwrap();
        assert_eq!(&got[..], b"abcdef");
        let got = read_limited(&headers, Body::from("xyz"), 3).await.unwrap();
        assert_eq!(&got[..], b"xyz");
        assert!(read_limited(&headers, Body::empty(), 0)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn refuses_bodies_over_the_limit() {
        let headers = HeaderMap::new();
        for body in [chunked(&[b"abc", b"de", b"fg"]), Body::from("abcdefg")] {
            assert!(matches!(
                read_limited(&headers, body, 6).await,
                Err(ApiError::BodyTooLarge { limit: 6 })
            ));
        }
        // A declared length over the limit is refused before reading.
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, "7".parse().unwrap());
        assert!(matches!(
            read_limited(&headers, Body::from("abc"), 6).await,
            Err(ApiError::BodyTooLarge { limit: 6 })
        ));
    }

    /// A body whose frames count themselves as they are read.
    fn counted(parts: usize, size: usize, read: &Arc<AtomicUsize>) -> Body {
        let read = Arc::clone(read);
        let frames = futures::stream::iter(0..parts).map(move |_| {
            read.fetch_add(size, Ordering::SeqCst);
            Ok::<_, std::io::Error>(Bytes::from(vec![0u8; size]))
        });
        Body::from_stream(frames)
    }

    #[tokio::test]
    async fn a_refused_body_up_to_twice_the_limit_is_read_to_its_end() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, "12".parse().unwrap());
        let read = Arc::new(AtomicUsize::new(0));
        let refused = read_limited(&headers, counted(4, 3, &read), 6).await;
        assert!(matches!(refused, Err(ApiError::BodyTooLarge { limit: 6 })));
        assert_eq!(read.load(Ordering::SeqCst), 12, "drained whole");
        // Declared larger than twice the limit: left unread.
        headers.insert(header::CONTENT_LENGTH, "13".parse().unwrap());
        let read = Arc::new(AtomicUsize::new(0));
        let _ = read_limited(&headers, counted(5, 3, &read), 6).await;
        assert_eq!(read.load(Ordering::SeqCst), 0);
        // Undeclared: read past the limit, then at most twice the limit more, no further.
        let read = Arc::new(AtomicUsize::new(0));
        let _ = read_limited(&HeaderMap::new(), counted(100, 3, &read), 6).await;
        assert!((12..=21).contains(&read.load(Ordering::SeqCst)));
    }
}
