//! The explorer's state: the documents fetched (index, manifests, configs, referrers), the one
//! opened, the tab shown and what the referrers search found. Grouped so a new pull resets it
//! in one assignment.

use std::rc::Rc;

use skiff_core::image::media_type::MediaType;
use skiff_core::image::referrers::Referrer;
use skiff_core::Digest;

/// The explorer's tabs; also the `view` of a shared link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    #[default]
    Requests,
    Summary,
    Objects,
    Referrers,
}

impl View {
    pub const ALL: [View; 4] = [
        View::Requests,
        View::Objects,
        View::Summary,
        View::Referrers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Summary => "summary",
            Self::Requests => "requests",
            Self::Objects => "objects",
            Self::Referrers => "referrers",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Summary => "Summary",
            Self::Requests => "Requests",
            Self::Objects => "Objects",
            Self::Referrers => "Signatures & SBOMs",
        }
    }
}

/// What a document is in the image's graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Index,
    /// An image manifest, for this platform when an index named one.
    Manifest {
        platform: Option<String>,
    },
    Config,
    /// A manifest or blob opened from a link (a referrer, another platform's manifest).
    Opened,
}

impl Role {
    pub fn title(&self) -> String {
        match self {
            Self::Index => "Index".to_owned(),
            Self::Manifest { platform: Some(p) } => format!("Manifest ({p})"),
            Self::Manifest { platform: None } => "Manifest".to_owned(),
            Self::Config => "Config".to_owned(),
            Self::Opened => "Object".to_owned(),
        }
    }
}

/// A fetched document, checked against its digest.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectDoc {
    pub digest: Digest,
    pub media_type: MediaType,
    pub role: Role,
    pub size: u64,
    /// The JSON, pretty-printed (or the text, if it is not JSON).
    pub text: Rc<String>,
    /// What was checked, in words ("sha256 of the 1234 bytes: …", "equals Docker-Content-Digest").
    pub checks: Vec<String>,
}

/// A descriptor opened from a link, before (or instead of) its content.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub digest: Digest,
    pub media_type: MediaType,
    pub size: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Opened {
    #[default]
    Nothing,
    Doc(Digest),
    /// A layer: described, not downloaded.
    Layer(Target),
    Loading(Digest),
    Failed {
        digest: Digest,
        message: String,
    },
}

impl Opened {
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            Self::Nothing => None,
            Self::Doc(d) | Self::Loading(d) | Self::Failed { digest: d, .. } => Some(d),
            Self::Layer(target) => Some(&target.digest),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub enum ReferrersView {
    #[default]
    NotAsked,
    Looking,
    Found {
        referrers: Vec<Referrer>,
        /// How each way of listing went: "referrers API: not offered (404)".
        ways: Vec<String>,
    },
    Failed(String),
}

/// The image's signatures checked with a public key: verified, failed (why), or none at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum VerdictsView {
    #[default]
    NotAsked,
    Checking,
    Done {
        /// The key's fingerprint (SHA-256 of its DER), when one was given.
        key: Option<Digest>,
        /// One per signature found; empty: the image is unsigned.
        verdicts: Vec<Verdict>,
    },
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The signature's manifest.
    pub signature: Digest,
    pub outcome: VerdictOutcome,
}

#[derive(Clone, Debug, PartialEq)]
pub enum VerdictOutcome {
    /// It verified: who signed.
    Verified(skiff_core::trust::signatures::SignedBy),
    /// It does not verify: why.
    Failed(String),
    /// Signed with a key, and none was given: not checked (nothing is wrong with it yet).
    NeedsKey,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExplorerState {
    /// The image the documents belong to: links open objects of its repository.
    pub reference: Option<skiff_core::Reference>,
    pub docs: Vec<ObjectDoc>,
    pub opened: Opened,
    /// An object a link asked for before its document was fetched.
    pub pending: Option<Digest>,
    pub view: View,
    pub referrers: ReferrersView,
    pub verdicts: VerdictsView,
    /// Another image's SBOM, to compare an opened SBOM with.
    pub other_sbom: OtherSbom,
    /// The image's layers unpacked, bytes, once read.
    pub unpacked: Option<u64>,
}

pub enum ExplorerAction {
    Show(View),
    /// A link names this object: open it now if known, or once a pull fetches it.
    Await(Digest),
    /// Open a known document, or mark one as loading.
    Open(Opened),
    Loaded(ObjectDoc),
    Referrers(ReferrersView),
    Verdicts(VerdictsView),
    OtherSbom(OtherSbom),
}

/// Another image's SBOM, looked up to compare with.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum OtherSbom {
    #[default]
    NotAsked,
    Finding(String),
    Found {
        reference: String,
        sbom: skiff_core::trust::sbom::Sbom,
    },
    Failed(String),
}

impl ExplorerState {
    pub fn doc(&self, digest: &Digest) -> Option<&ObjectDoc> {
        self.docs.iter().find(|d| &d.digest == digest)
    }

    /// The image's config document, for the summary.
    pub fn config(&self) -> Option<&ObjectDoc> {
        self.docs.iter().rev().find(|d| d.role == Role::Config)
    }

    pub fn manifest(&self) -> Option<&ObjectDoc> {
        self.docs
            .iter()
            .rev()
            .find(|d| matches!(d.role, Role::Manifest { .. }))
    }

    /// The digest the image was asked for by: the index's, or else the manifest's.
    pub fn subject(&self) -> Option<&Digest> {
        self.docs
            .iter()
            .find(|d| matches!(d.role, Role::Index | Role::Manifest { .. }))
            .map(|d| &d.digest)
    }

    /// Documents from a pull (a new one replaces an older one of the same digest).
    pub fn add(&mut self, doc: ObjectDoc) {
        if self.pending.as_ref() == Some(&doc.digest) {
            self.pending = None;
            self.opened = Opened::Doc(doc.digest.clone());
        }
        self.docs.retain(|d| d.digest != doc.digest);
        self.docs.push(doc);
    }

    /// How the known documents describe `digest` (its media type and size), to open it.
    pub fn descriptor_of(&self, digest: &Digest) -> Option<Target> {
        fn walk(value: &serde_json::Value, digest: &str) -> Option<Target> {
            match value {
                serde_json::Value::Object(map) => {
                    if map.get("digest").and_then(|d| d.as_str()) == Some(digest) {
                        let media_type =
                            map.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
                        return Some(Target {
                            digest: digest.parse().ok()?,
                            media_type: media_type
                                .parse()
                                .unwrap_or_else(|_| MediaType::Other(media_type.to_owned())),
                            size: map.get("size").and_then(|s| s.as_u64()),
                        });
                    }
                    map.values().find_map(|v| walk(v, digest))
                }
                serde_json::Value::Array(items) => items.iter().find_map(|v| walk(v, digest)),
                _ => None,
            }
        }
        let wanted = digest.to_string();
        self.docs
            .iter()
            .find_map(|doc| walk(&serde_json::from_str(&doc.text).ok()?, &wanted))
    }

    pub fn apply(&mut self, action: ExplorerAction) {
        match action {
            ExplorerAction::Show(view) => self.view = view,
            ExplorerAction::Await(digest) => match self.doc(&digest) {
                Some(_) => self.opened = Opened::Doc(digest),
                None => self.pending = Some(digest),
            },
            ExplorerAction::Open(opened) => {
                self.pending = None;
                self.opened = match opened {
                    Opened::Loading(digest) if self.doc(&digest).is_some() => Opened::Doc(digest),
                    other => other,
                };
            }
            ExplorerAction::Loaded(doc) => {
                // A late answer for a link the user has since left is kept, not shown.
                if self.opened == Opened::Loading(doc.digest.clone()) {
                    self.opened = Opened::Doc(doc.digest.clone());
                }
                self.add(doc);
            }
            ExplorerAction::Referrers(view) => self.referrers = view,
            ExplorerAction::Verdicts(view) => self.verdicts = view,
            ExplorerAction::OtherSbom(view) => self.other_sbom = view,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(bytes: &[u8], role: Role) -> ObjectDoc {
        ObjectDoc {
            digest: Digest::of(bytes),
            media_type: MediaType::OciManifest,
            role,
            size: bytes.len() as u64,
            text: Rc::new(String::from_utf8_lossy(bytes).into_owned()),
            checks: Vec::new(),
        }
    }

    #[test]
    fn views_round_trip() {
        for view in View::ALL {
            assert_eq!(View::parse(view.as_str()), Some(view));
        }
        assert_eq!(View::parse("nonsense"), None);
    }

    #[test]
    fn a_loaded_object_opens_only_if_still_wanted() {
        let mut state = ExplorerState::default();
        let a = doc(b"a", Role::Opened);
        let b = doc(b"b", Role::Opened);
        state.apply(ExplorerAction::Open(Opened::Loading(a.digest.clone())));
        state.apply(ExplorerAction::Open(Opened::Loading(b.digest.clone())));
        state.apply(ExplorerAction::Loaded(a.clone()));
        assert_eq!(state.opened, Opened::Loading(b.digest.clone()));
        // Known now: opening it again needs no fetch.
        state.apply(ExplorerAction::Open(Opened::Loading(a.digest.clone())));
        assert_eq!(state.opened, Opened::Doc(a.digest.clone()));
        state.apply(ExplorerAction::Loaded(b.clone()));
        assert_eq!(state.docs.len(), 2);
    }

    #[test]
    fn finds_the_subject_and_config() {
        let mut state = ExplorerState::default();
        state.add(doc(b"index", Role::Index));
        state.add(doc(
            b"manifest",
            Role::Manifest {
                platform: Some("linux/amd64".into()),
            },
        ));
        state.add(doc(b"config", Role::Config));
        assert_eq!(state.subject(), Some(&Digest::of(b"index")));
        assert_eq!(state.config().map(|d| d.size), Some(6));
        assert_eq!(
            state.manifest().map(|d| d.digest.clone()),
            Some(Digest::of(b"manifest"))
        );
    }
}
