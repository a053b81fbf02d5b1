//! The body policy: which request bodies the edge streams on as they come, which it
//! reads first, and where reading stops. The glue does the stream I/O and asks here at
//! each step.
//!
//! Bodies over the origin's limit are refused at the edge: streaming a large body to an
//! origin that has already answered 413 would only hang the Worker.

use tollgate_shared::wire::max_body_bytes;

use crate::errors::EdgeError;

/// How much of an over-limit body without a length is read (and dropped) past the cap
/// before the edge stops reading: answering while the client is still sending upsets
/// the runtime's HTTP handling, so a little is drained first.
pub const DRAIN_LIMIT: usize = 1024 * 1024;

/// `Content-Length` as the runtime gives it, when the client sent one that is a number.
pub fn declared_length(header: Option<&str>) -> Option<u64> {
    header.and_then(|v| v.trim().parse::<u64>().ok())
}

/// What a forward sends on as its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarded {
    /// `GET` and `HEAD` carry none.
    Nothing,
    /// A declared length within the limit: the body streams as it comes.
    Stream,
    /// No declared length: read up to this cap first (see [`Cap`]); an empty body is
    /// no body.
    Read(usize),
}

/// The body of a forward of `method` to `path`, with its declared length.
pub fn forwarded(method: &str, path: &str, declared: Option<u64>) -> Result<Forwarded, EdgeError> {
    let limit = max_body_bytes(path);
    match (method, declared) {
        ("GET" | "HEAD", _) => Ok(Forwarded::Nothing),
        (_, Some(len)) if len > limit as u64 => Err(EdgeError::TooLarge),
        (_, Some(_)) => Ok(Forwarded::Stream),
        (_, None) => Ok(Forwarded::Read(limit)),
    }
}

/// What a forward sends of a body it read first ([`Forwarded::Read`]): an empty body is
/// no body.
pub fn sent(read: Vec<u8>) -> Option<Vec<u8>> {
    (!read.is_empty()).then_some(read)
}

/// The count of a body read up to a cap: a declared length over the cap is refused
/// before anything is read; past the cap the rest is read and dropped up to
/// [`DRAIN_LIMIT`], and cancelled beyond that.
#[derive(Debug, PartialEq, Eq)]
pub struct Cap {
    cap: usize,
    seen: usize,
}

/// What to do with the chunk just read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// Within the cap: part of the body.
    Keep,
    /// Past the cap: read and dropped, the answer will be 413.
    Drop,
    /// Past the drain limit: cancel the stream and answer 413 now.
    Cancel,
}

impl Cap {
    pub fn new(cap: usize, declared: Option<u64>) -> Result<Cap, EdgeError> {
        if declared.is_some_and(|len| len > cap as u64) {
            return Err(EdgeError::TooLarge);
        }
        Ok(Cap { cap, seen: 0 })
    }

    /// Counts a chunk of `len` bytes.
    pub fn chunk(&mut self, len: usize) -> Chunk {
        self.seen = self.seen.saturating_add(len);
        if self.seen > self.cap.saturating_add(DRAIN_LIMIT) {
            Chunk::Cancel
        } else if self.seen <= self.cap {
            Chunk::Keep
        } else {
            Chunk::Drop
        }
    }

    /// The stream ended: the body is whole, or it was over the cap.
    pub fn end(&self) -> Result<(), EdgeError> {
        if self.seen > self.cap {
            Err(EdgeError::TooLarge)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_shared::wire::{CLOUD_RUNTIME_MAX_BODY_BYTES, MAX_BODY_BYTES};

    #[test]
    fn declared_lengths() {
        assert_eq!(declared_length(Some("12")), Some(12));
        assert_eq!(declared_length(Some(" 12 ")), Some(12));
        for bad in ["", "-1", "1.5", "12, 12", "x"] {
            assert_eq!(declared_length(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(declared_length(None), None);
    }

    #[test]
    fn what_a_forward_sends() {
        let max = MAX_BODY_BYTES as u64;
        for method in ["GET", "HEAD"] {
            assert_eq!(
                forwarded(method, "/api/me", Some(max * 10)),
                Ok(Forwarded::Nothing)
            );
        }
        assert_eq!(
            forwarded("POST", "/api/me", Some(max)),
            Ok(Forwarded::Stream)
        );
        assert_eq!(
            forwarded("PUT", "/api/me", Some(max + 1)),
            Err(EdgeError::TooLarge)
        );
        assert_eq!(
            forwarded("DELETE", "/api/me", None),
            Ok(Forwarded::Read(MAX_BODY_BYTES))
        );
        // The cloud-runtime proxy takes larger bodies.
        let proxy = "/api/cloud-runtime/nodes/exec";
        assert_eq!(
            forwarded("POST", proxy, Some(max + 1)),
            Ok(Forwarded::Stream)
        );
        assert_eq!(
            forwarded("POST", proxy, None),
            Ok(Forwarded::Read(CLOUD_RUNTIME_MAX_BODY_BYTES))
        );
        assert_eq!(
            forwarded("POST", proxy, Some(CLOUD_RUNTIME_MAX_BODY_BYTES as u64 + 1)),
            Err(EdgeError::TooLarge)
        );
    }

    #[test]
    fn an_empty_read_body_is_sent_as_none() {
        assert_eq!(sent(Vec::new()), None);
        assert_eq!(sent(b"{}".to_vec()), Some(b"{}".to_vec()));
    }

    #[test]
    fn a_declared_length_over_the_cap_is_refused_before_reading() {
        assert!(Cap::new(10, Some(10)).is_ok());
        assert!(Cap::new(10, None).is_ok());
        assert_eq!(Cap::new(10, Some(11)).unwrap_err(), EdgeError::TooLarge);
    }

    #[test]
    fn chunks_within_the_cap_are_kept() {
        let mut cap = Cap::new(10, None).unwrap();
        assert_eq!(cap.chunk(4), Chunk::Keep);
        assert_eq!(cap.chunk(6), Chunk::Keep);
        assert_eq!(cap.chunk(0), Chunk::Keep);
        assert_eq!(cap.end(), Ok(()));
        assert_eq!(Cap::new(10, None).unwrap().end(), Ok(()), "no body");
    }

    #[test]
    fn past_the_cap_the_rest_is_drained_then_cancelled() {
        let mut cap = Cap::new(10, None).unwrap();
        assert_eq!(cap.chunk(8), Chunk::Keep);
        assert_eq!(cap.chunk(3), Chunk::Drop, "the chunk that crosses the cap");
        assert_eq!(cap.chunk(1), Chunk::Drop);
        assert_eq!(cap.end(), Err(EdgeError::TooLarge));
        assert_eq!(
            cap.chunk(DRAIN_LIMIT - 2),
            Chunk::Drop,
            "up to the drain limit"
        );
        assert_eq!(cap.end(), Err(EdgeError::TooLarge));
        assert_eq!(cap.chunk(1), Chunk::Cancel);
        let mut huge = Cap::new(10, None).unwrap();
        assert_eq!(huge.chunk(usize::MAX), Chunk::Cancel);
        assert_eq!(huge.chunk(usize::MAX), Chunk::Cancel, "no overflow");
    }
}
