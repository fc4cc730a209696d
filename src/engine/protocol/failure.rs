//! Why a layer job failed, as facts (status, headers, digests) the page words itself.

use serde::{Deserialize, Serialize};
use skiff_core::Digest;

/// Why a job ended without storing its blob.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LayerFailure {
    /// A final HTTP answer.
    Http(Box<HttpFacts>),
    /// No answer after every attempt.
    Unreachable {
        detail: String,
        attempts: u32,
    },
    /// The body kept breaking off without progress.
    Broken {
        received: u64,
        size: u64,
        detail: String,
    },
    /// The server's answer to a `Range` request did not fit (wrong range, length, status).
    Resume {
        reason: String,
    },
    Verify(VerifyFailure),
    Storage {
        detail: String,
    },
    /// The worker running the job failed (a trap, an uncaught error) and was stopped.
    WorkerDied {
        detail: String,
    },
    Cancelled,
}

/// The parts of an HTTP answer an error message is made from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpFacts {
    pub status: u16,
    /// The proxy's `x-skiff-proxy-error`, when it answered itself.
    pub proxy_error: Option<String>,
    /// The start of the body: the registry's error JSON or the proxy's explanation.
    pub body: String,
    pub retry_after: Option<String>,
    pub ratelimit_limit: Option<String>,
    pub ratelimit_remaining: Option<String>,
}

/// The verification failures of a blob, as the core reports them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum VerifyFailure {
    Digest {
        expected: Digest,
        actual: Digest,
    },
    Size {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    DiffId {
        expected: Digest,
        actual: Digest,
    },
    Decompress {
        reason: String,
    },
    /// Unpacked past the limits (a decompression bomb).
    UnpackLimit {
        unpacked: u64,
        compressed: u64,
        limits: skiff_core::transfer::layer::UnpackLimits,
    },
}

impl VerifyFailure {
    /// `None` for core errors that are not about a blob's bytes.
    pub fn from_core(error: &skiff_core::Error) -> Option<Self> {
        use skiff_core::Error as E;
        Some(match error {
            E::DigestMismatch { expected, actual } => Self::Digest {
                expected: expected.clone(),
                actual: actual.clone(),
            },
            E::SizeMismatch {
                digest,
                expected,
                actual,
            } => Self::Size {
                digest: digest.clone(),
                expected: *expected,
                actual: *actual,
            },
            E::DiffIdMismatch { expected, actual } => Self::DiffId {
                expected: expected.clone(),
                actual: actual.clone(),
            },
            E::Decompress { reason } => Self::Decompress {
                reason: reason.clone(),
            },
            E::UnpackLimit {
                unpacked,
                compressed,
                limits,
            } => Self::UnpackLimit {
                unpacked: *unpacked,
                compressed: *compressed,
                limits: *limits,
            },
            _ => return None,
        })
    }
}

impl From<VerifyFailure> for skiff_core::Error {
    fn from(failure: VerifyFailure) -> Self {
        match failure {
            VerifyFailure::Digest { expected, actual } => Self::DigestMismatch { expected, actual },
            VerifyFailure::Size {
                digest,
                expected,
                actual,
            } => Self::SizeMismatch {
                digest,
                expected,
                actual,
            },
            VerifyFailure::DiffId { expected, actual } => Self::DiffIdMismatch { expected, actual },
            VerifyFailure::Decompress { reason } => Self::Decompress { reason },
            VerifyFailure::UnpackLimit {
                unpacked,
                compressed,
                limits,
            } => Self::UnpackLimit {
                unpacked,
                compressed,
                limits,
            },
        }
    }
}
