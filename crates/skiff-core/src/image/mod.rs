//! What an image is, as a registry serves it.

/// What a manifest holds (an image, a Helm chart, titled files, a wasm module, …) and how to
/// save it as its own tool would.
pub mod artifact;
/// The `Digest` type and a streaming [`digest::BlobVerifier`].
pub mod digest;
/// Docker v2s2 / OCI manifests and indexes, their media types, the `Accept` header.
pub mod manifest;
/// A fetched manifest against its pin, index entry and `Docker-Content-Digest`.
pub mod manifest_check;
/// Media types as an enum, with what each one is and how a layer is packed.
pub mod media_type;
/// `linux/arm64/v8`, and choosing an index entry.
pub mod platform;
/// Image references with Docker's normalization, pasted `docker pull …` lines included.
pub mod reference;
/// Signatures, SBOMs and attestations: the referrers API, the tag schema, cosign's tags.
pub mod referrers;
/// SHA-256 of four streams in step, in the lanes of one SIMD register.
pub mod sha256x4;
/// An image at a glance from its config: how it runs, its build history.
pub mod summary;
/// A compressed layer's uncompressed size from its gzip trailer or zstd frame header.
pub mod unpacked_size;
