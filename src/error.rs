//! What can go wrong in a pull, as the user should hear it: what failed, then what to do.

use skiff_core::Digest;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error("{0}")]
    Core(#[from] skiff_core::Error),

    #[error("no usable answer from the CORS proxy at {proxy} ({detail}): it is not running, not reachable, or not a CORS proxy. Start it with `scripts/serve.sh`, or correct the CORS proxy field.")]
    ProxyUnreachable { proxy: String, detail: String },

    #[error("{what}: no answer from the registry. {detail}")]
    RegistryUnreachable { what: String, detail: String },

    #[error("the proxy refused the request: {message}")]
    ProxyRefused { message: String },

    #[error("{what}: the registry says it does not exist (HTTP 404{code}). Check the repository name and tag; private repositories may also answer 404 without credentials.")]
    NotFound { what: String, code: String },

    #[error("{what}: access denied (HTTP {status}{code}). The repository may be private or the name misspelt; for a private repository enter credentials under Credentials.")]
    Denied {
        what: String,
        status: u16,
        code: String,
    },

    #[error("{what}: the registry is rate limiting this address (HTTP 429{details}). Docker Hub, for one, allows anonymous users and free accounts a number of pulls per 6 hours per address. Wait for the window to pass, sign in for a higher limit, or pull through a registry mirror (a pull-through cache, such as CNCF Distribution with `proxy.remoteurl` set), so your team's pulls of an image count once.")]
    RateLimited { what: String, details: String },

    #[error("{what}: the registry answered HTTP {status}{code}. {hint}")]
    Http {
        what: String,
        status: u16,
        code: String,
        hint: String,
    },

    #[error("{what}: the registry refused to store it (HTTP {status}{code}), although your credentials for {registry} went with the request: the account may pull but not push here. Ask for push (write) access to the repository, or enter an account or token that has it under Credentials.")]
    PushDenied {
        what: String,
        status: u16,
        code: String,
        registry: String,
    },

    #[error("{what}: the registry wants a login ({scheme}). Enter a username and a password or access token under Credentials, then pull again.")]
    NeedsCredentials { what: String, scheme: String },

    #[error("{service} rejected the username or password. Check them under Credentials (for Docker Hub and GHCR, a personal access token works as the password).")]
    BadCredentials { service: String },

    #[error("{0}")]
    ManifestMismatch(#[from] skiff_core::image::manifest_check::ManifestMismatch),

    #[error("the archive is corrupt: {path} does not match its digest ({detail}). Nothing was committed: every upload's last request waits for the whole archive's check, so the registry keeps none of it. Save or download the archive again.")]
    CorruptArchive { path: String, detail: String },

    #[error("{0}")]
    Archive(String),

    #[error("pushing failed: {0}")]
    Upload(String),

    #[error(
        "{reference} has no image for {wanted}; it offers {offered}. Choose one of those above."
    )]
    PlatformNotOffered {
        reference: String,
        wanted: String,
        offered: String,
    },

    #[error(
        "the index entry for {platform} is itself an index; Skiff expects an image manifest there"
    )]
    NestedIndex { platform: String },

    #[error("the image config lists {diff_ids} layer diff IDs but the manifest has {layers} layers; the image is inconsistent")]
    LayerCountMismatch { diff_ids: usize, layers: usize },

    #[error("layer {position} of {total} ({digest}) failed: {source}")]
    Layer {
        position: usize,
        total: usize,
        digest: Digest,
        source: Box<AppError>,
    },

    #[error("this foreign (non-distributable) layer could be fetched neither from its {urls} URL(s) nor from the registry; from its URL: {first}")]
    ForeignLayer { urls: usize, first: Box<AppError> },

    #[error("image {position} of {total} ({reference}): {source}")]
    Image {
        position: usize,
        total: usize,
        reference: String,
        source: Box<AppError>,
    },

    #[error("{what}: {source}")]
    Auth {
        what: String,
        source: skiff_core::protocol::session::AuthError,
    },

    #[error("{reference} is {kind}, not a container image: it is saved as its own tool saves it, so pull it on its own (the other images into an archive of their own)")]
    ArtifactAmongImages { reference: String, kind: String },

    #[error("{0}")]
    Artifact(#[from] skiff_core::image::artifact::ArtifactError),

    #[error("who must have signed: {0}")]
    Trust(#[from] skiff_core::trust::TrustError),

    #[error("{reference} is not signed by {signer}: {why}. Nothing was downloaded or saved.")]
    NotSigned {
        reference: String,
        /// Who was required, in words.
        signer: String,
        why: String,
    },

    #[error("no SBOM refers to {reference} (looked for through the referrers API, the tag schema and cosign's tags); compare with an SBOM file instead")]
    NoSbom { reference: String },

    #[error("you cancelled the pull; nothing was saved")]
    Cancelled,

    #[error("browser storage: {0}")]
    Storage(String),

    #[error("the layer worker stopped with an error ({detail}); nothing of this layer was kept. Pull again; if it happens again, the image may be built to break its readers: tell the people who publish it")]
    WorkerDied { detail: String },

    #[error("this image needs {needed_mb} MB of browser storage but only {available_mb} MB are free; free space in the browser's site data or use a browser with more quota")]
    QuotaTooSmall { needed_mb: u64, available_mb: u64 },

    #[error("{0}")]
    Browser(String),
}

impl AppError {
    /// Errors the credentials panel can fix.
    pub fn wants_credentials(&self) -> bool {
        matches!(
            self,
            Self::NeedsCredentials { .. } | Self::BadCredentials { .. }
        ) || matches!(self, Self::Layer { source, .. } if source.wants_credentials())
    }

    /// A short heading for the error panel.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Core(skiff_core::Error::InvalidReference { .. }) => {
                "That is not an image reference"
            }
            Self::Core(skiff_core::Error::DigestMismatch { .. })
            | Self::Core(skiff_core::Error::SizeMismatch { .. }) => "Verification failed",
            Self::Core(skiff_core::Error::UnpackLimit { .. }) => "Layer refused: too big unpacked",
            Self::WorkerDied { .. } => "A layer worker stopped",
            Self::Layer { source, .. } | Self::Image { source, .. } => source.title(),
            Self::Cancelled => "Cancelled",
            Self::ProxyUnreachable { .. } => "Cannot reach the proxy",
            Self::RegistryUnreachable { .. } => "Cannot reach the registry",
            Self::ProxyRefused { .. } => "The proxy refused",
            Self::NotFound { .. } => "Not found",
            Self::Denied { .. } => "Access denied",
            Self::PushDenied { .. } => "No push access",
            Self::NeedsCredentials { .. } => "Login required",
            Self::ArtifactAmongImages { .. } => "Not a container image",
            Self::Artifact(_) => "Cannot save this artifact",
            Self::Trust(_) => "That key cannot be used",
            Self::NoSbom { .. } => "No SBOM",
            Self::NotSigned { .. } => "Not signed by whom you require",
            Self::Auth { .. } => "Login problem",
            Self::BadCredentials { .. } => "Wrong credentials",
            Self::RateLimited { .. } => "Rate limited",
            Self::ManifestMismatch(_) => "Verification failed",
            Self::CorruptArchive { .. } => "Corrupt archive",
            Self::Archive(_) => "Not an image archive",
            Self::Upload(_) => "Push failed",
            Self::PlatformNotOffered { .. } => "Platform not offered",
            Self::Storage(_) | Self::QuotaTooSmall { .. } => "Browser storage problem",
            _ => "The pull failed",
        }
    }
}

/// A `JsValue` error as text, for the rare browser API failure that has no better wording.
pub fn js_error_text(value: &wasm_bindgen::JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

use wasm_bindgen::JsCast as _;
