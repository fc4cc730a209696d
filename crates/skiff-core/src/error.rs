use crate::image::digest::Digest;

/// Everything the core can reject. Each variant says what failed; `Display` adds what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid image reference {input:?}: {reason}")]
    InvalidReference { input: String, reason: String },

    #[error(
        "invalid registry {input:?}: {reason}; write its host, e.g. ghcr.io or 127.0.0.1:5000"
    )]
    InvalidRegistry { input: String, reason: String },

    #[error("invalid digest {input:?}: {reason}")]
    InvalidDigest { input: String, reason: String },

    #[error("digest mismatch: expected {expected}, got {actual}; the registry (or something between it and you) served corrupt data")]
    DigestMismatch { expected: Digest, actual: Digest },

    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}; the download was truncated or the registry served other data")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },

    #[error("invalid platform {input:?}: {reason}")]
    InvalidPlatform { input: String, reason: String },

    #[error("the layer does not decompress: {reason}")]
    Decompress { reason: String },

    #[error("{}", unpack_limit_message(*unpacked, *compressed, limits))]
    UnpackLimit {
        unpacked: u64,
        compressed: u64,
        limits: crate::transfer::layer::UnpackLimits,
    },

    #[error("the uncompressed layer's digest is {actual}, but the image config lists {expected}; the image is inconsistent")]
    DiffIdMismatch { expected: Digest, actual: Digest },

    #[error("invalid WWW-Authenticate header {header:?}: {reason}")]
    InvalidChallenge { header: String, reason: String },

    #[error("the token service answered with JSON that has neither `token` nor `access_token`")]
    TokenMissing,

    #[error("malformed JSON in the {what}: {reason}")]
    MalformedJson { what: &'static str, reason: String },

    #[error("unsupported media type {media_type:?} for the {what}; Skiff handles Docker v2 schema 2 and OCI images")]
    UnsupportedMediaType {
        what: &'static str,
        media_type: String,
    },

    #[error("this image uses the deprecated Docker schema 1 manifest format, which Skiff does not pull; ask the publisher to push it again with a current Docker or use a newer tag")]
    DeprecatedSchema1,

    #[error("the {what} is {size} bytes, more than the {limit} bytes Skiff reads for such a document; the registry is serving something else (or a hostile document)")]
    DocumentTooLarge {
        what: &'static str,
        size: u64,
        limit: u64,
    },

    #[error("the image's sizes add up to more than any archive can hold ({what}); its manifest is corrupt or hostile")]
    SizeOverflow { what: &'static str },

    #[error("tar entry path {path:?} cannot be stored: {reason}")]
    InvalidArchivePath { path: String, reason: String },
}

fn unpack_limit_message(
    unpacked: u64,
    compressed: u64,
    limits: &crate::transfer::layer::UnpackLimits,
) -> String {
    let gib = |bytes: u64| bytes as f64 / f64::from(1u32 << 30);
    if unpacked > limits.max_unpacked_bytes {
        format!(
            "the layer unpacks to more than {:.1} GiB, the limit for one layer (a decompression bomb, or a huge layer); nothing of it was kept. If you trust this image, raise \"Largest unpacked layer\" under Layer cache, or save it as downloaded",
            gib(limits.max_unpacked_bytes)
        )
    } else {
        format!(
            "the layer unpacks to more than {} times its compressed size ({:.2} GiB from {:.1} MB so far): that is a decompression bomb, not an image layer; nothing of it was kept. If you trust this image, raise \"Largest unpack ratio\" under Layer cache, or save it as downloaded",
            limits.max_ratio,
            gib(unpacked),
            compressed as f64 / 1e6
        )
    }
}
