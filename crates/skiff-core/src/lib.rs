//! Skiff's sans-IO core: everything about pulling, pushing and looking inside an image that does
//! not need a network, a clock or a browser. Drivers (the wasm app, the proxy, tests) feed bytes
//! in and act on what comes out. Each concern has one folder:
//!
//! - [`image`]: what an image is: references, digests, platforms, media types, manifests and
//!   indexes (and their checks), the config's summary, referrers, unpacked sizes.
//! - [`protocol`]: talking to a registry: its URLs and routes, auth challenges and the auth
//!   session, retry and resume decisions, the proxy's contract, the app page's CSP.
//! - [`transfer`]: moving blobs: decompressing while verifying, uploading, copying in a window,
//!   choosing platforms to copy, foreign layers, the layer cache's index.
//! - [`archive`]: tar files: the docker-load / OCI layout written as parts, archives read to
//!   push, and the bounds on tar streams from others.
//! - [`overlay`]: inside an image: layer entries, the merged tree, the root filesystem export.
//! - [`explorer`]: requests and answers as the explorer shows them, and in plain words.

pub mod archive;
/// The images a compose file, Kubernetes manifests or a list of references name.
pub mod bundle;
mod error;
pub mod explorer;
pub mod image;
pub mod overlay;
pub mod protocol;
pub mod time;
pub mod transfer;
/// Trusting what is carried: signature payloads, public keys, signature encodings.
pub mod trust;

pub use error::Error;
pub use image::digest::{BlobVerifier, Digest, SizeCheck};
pub use image::platform::Platform;
pub use image::reference::Reference;
