//! Reading a request body with a hard size limit: a body above the limit is refused as soon as
//! its declared length or its bytes read so far exceed it, never buffered whole.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::error::ApiError;

/// Reads `body`, refusing it once it exceeds `limit` bytes.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    let mut stream = body.into_data_stream();
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

#[cfg(test)]
mod tests {
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
}
