//! The explorer's documents: how a fetched manifest or blob becomes an [`ObjectDoc`] (with
//! what was checked, in words), opening a digest from a link, and finding the image's
//! referrers (signatures, SBOMs, attestations).

use std::rc::Rc;

use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::manifest::{check_document_size, MANIFEST_ACCEPT};
use skiff_core::image::manifest_check::Expected;
use skiff_core::image::media_type::MediaType;
use skiff_core::image::referrers::{self, FoundBy, Referrer};
use skiff_core::protocol::registry::{manifest_url, ping_url, referrers_url, Route};
use skiff_core::transfer::resolve::CheckedManifest;
use skiff_core::{Digest, Reference};

use super::http::{js_error, RegistrySession};
use super::Report;
use crate::error::AppError;
use crate::state::explorer::{ExplorerAction, ObjectDoc, Opened, ReferrersView, Role, Target};
use crate::state::Credentials;

/// Pretty-printed JSON (the text as it is if it is not JSON).
pub fn pretty(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned())
}

/// A manifest or index that passed its checks, with the checks in words. `media_type`: what
/// it was read as, else what the answer or the link said it is.
pub fn manifest_doc(
    checked: &CheckedManifest,
    media_type: MediaType,
    role: Role,
    pin: Option<Expected<'_>>,
) -> ObjectDoc {
    let (body, digest) = (&checked.body, checked.digest.clone());
    let header_digest = checked.header_digest.as_deref();
    let mut checks = vec![format!(
        "sha256 of these {} bytes, computed here: {digest}",
        body.len()
    )];
    match header_digest {
        Some(header) => checks.push(format!(
            "The registry's Docker-Content-Digest, {header}: the same ✓"
        )),
        None => {
            checks.push("The registry sent no Docker-Content-Digest to compare with.".to_owned())
        }
    }
    if let Some(pin) = pin {
        checks.push(format!(
            "Asked for by {} as {}: the same ✓",
            pin.source, pin.digest
        ));
    }
    ObjectDoc {
        media_type,
        digest,
        role,
        size: body.len() as u64,
        text: Rc::new(pretty(body)),
        checks,
    }
}

/// A blob (config, signature payload, SBOM) that passed its digest and size check.
pub fn blob_doc(body: &[u8], digest: Digest, media_type: MediaType, role: Role) -> ObjectDoc {
    ObjectDoc {
        checks: vec![format!(
            "sha256 of these {} bytes, computed here: {digest}: the digest it was fetched by ✓",
            body.len()
        )],
        digest,
        media_type,
        role,
        size: body.len() as u64,
        text: Rc::new(pretty(body)),
    }
}

/// Where the explorer's requests go, and with what.
#[derive(Clone)]
pub struct Origin {
    pub reference: Reference,
    pub proxy: String,
    pub credentials: Option<Credentials>,
}

impl Origin {
    pub(crate) async fn session(
        &self,
        report: &Report<ExplorerAction>,
    ) -> Result<RegistrySession, AppError> {
        let controller =
            web_sys::AbortController::new().map_err(|e| js_error("opening an object", &e))?;
        let session = RegistrySession::new(
            Route::new(&self.proxy),
            &self.reference,
            self.credentials.clone(),
            controller.signal(),
            report.exchanges(),
        );
        session.ping(&ping_url(self.reference.registry())).await?;
        Ok(session)
    }
}

/// Opens `target` from a link: a manifest or a small blob is fetched and checked; a layer is
/// only described (it is downloaded by a pull, not to look at).
pub fn open(origin: Origin, target: Target, report: Report<ExplorerAction>) {
    if target.media_type.is_layer() {
        return report.emit(ExplorerAction::Open(Opened::Layer(target)));
    }
    report.emit(ExplorerAction::Open(Opened::Loading(target.digest.clone())));
    wasm_bindgen_futures::spawn_local(async move {
        let digest = target.digest.clone();
        let action = match fetch(&origin, &target, &report).await {
            Ok(doc) => ExplorerAction::Loaded(doc),
            Err(error) => ExplorerAction::Open(Opened::Failed {
                digest,
                message: error.to_string(),
            }),
        };
        report.emit(action);
    });
}

async fn fetch(
    origin: &Origin,
    target: &Target,
    report: &Report<ExplorerAction>,
) -> Result<ObjectDoc, AppError> {
    if let Some(size) = target.size {
        check_document_size("object", size)?;
    }
    let session = origin.session(report).await?;
    let reference = &origin.reference;
    let is_manifest = target.media_type.is_index()
        || target.media_type.is_image_manifest()
        || matches!(target.media_type, MediaType::Other(_)) && target.size.is_none();
    if is_manifest {
        let pin = Expected {
            digest: &target.digest,
            size: target.size,
            source: "the link",
        };
        let checked = session
            .fetch_manifest(reference, &target.digest.to_string(), Some(pin))
            .await?;
        let media_type = checked
            .content_type
            .as_deref()
            .map_or_else(|| target.media_type.clone(), MediaType::lenient);
        return Ok(manifest_doc(&checked, media_type, Role::Opened, Some(pin)));
    }
    let body = session
        .fetch_blob_document(reference, &target.digest, target.size, Purpose::Config)
        .await?;
    Ok(blob_doc(
        &body,
        target.digest.clone(),
        target.media_type.clone(),
        Role::Opened,
    ))
}

/// Looks for the referrers of `subjects` (the index's digest and the manifest's) the three
/// ways registries list them, and reports what each way gave.
pub fn find_referrers(origin: Origin, subjects: Vec<Digest>, report: Report<ExplorerAction>) {
    report.emit(ExplorerAction::Referrers(ReferrersView::Looking));
    wasm_bindgen_futures::spawn_local(async move {
        let view = match search(&origin, &subjects, &report).await {
            Ok((referrers, ways)) => ReferrersView::Found { referrers, ways },
            Err(error) => ReferrersView::Failed(error.to_string()),
        };
        report.emit(ExplorerAction::Referrers(view));
    });
}

async fn search(
    origin: &Origin,
    subjects: &[Digest],
    report: &Report<ExplorerAction>,
) -> Result<(Vec<Referrer>, Vec<String>), AppError> {
    let session = origin.session(report).await?;
    lookup_referrers(&session, &origin.reference, subjects).await
}

/// A referrer's manifest, checked against the digest and size it was listed with, and parsed:
/// `None` for an index (a referrer is a manifest of documents; an index of them is not read).
pub async fn fetch_referrer(
    session: &RegistrySession,
    reference: &Reference,
    referrer: &Referrer,
) -> Result<
    (
        CheckedManifest,
        MediaType,
        Option<skiff_core::image::manifest::ImageManifest>,
    ),
    AppError,
> {
    let expected = Expected {
        digest: &referrer.digest,
        size: Some(referrer.size),
        source: "the list of referrers",
    };
    let checked = session
        .fetch_manifest(reference, &referrer.digest.to_string(), Some(expected))
        .await?;
    let (manifest, media_type) = checked.parse()?;
    let image = match manifest {
        skiff_core::image::manifest::Manifest::Image(image) => Some(*image),
        skiff_core::image::manifest::Manifest::Index(_) => None,
    };
    Ok((checked, media_type, image))
}

/// The artifacts that refer to `subjects` in `reference`'s repository, found the three ways
/// registries list them (the explorer's lookup, and a pull's that takes them along), with a
/// line per way saying what it found.
pub async fn lookup_referrers(
    session: &RegistrySession,
    reference: &Reference,
    subjects: &[Digest],
) -> Result<(Vec<Referrer>, Vec<String>), AppError> {
    let (mut found, mut ways) = (Vec::<Referrer>::new(), Vec::new());
    let add = |new: Vec<Referrer>, found: &mut Vec<Referrer>| {
        for referrer in new {
            if !found.iter().any(|r| r.digest == referrer.digest) {
                found.push(referrer);
            }
        }
    };
    for subject in subjects {
        let short = subject.short();
        let api = session
            .get_if_found(
                &referrers_url(reference, subject),
                Some(MediaType::OciIndex.as_str()),
                Purpose::Referrers,
            )
            .await?;
        match api {
            Some(document) => {
                let listed = referrers::from_index(&document.body, &FoundBy::ReferrersApi)?;
                ways.push(format!("{short}: the referrers API lists {}", listed.len()));
                add(listed, &mut found);
                continue;
            }
            None => ways.push(format!(
                "{short}: no referrers API here (404); trying the tag schema and cosign's tags"
            )),
        }
        let tag = referrers::schema_tag(subject);
        let schema = session
            .get_if_found(
                &manifest_url(reference, &tag),
                Some(MediaType::OciIndex.as_str()),
                Purpose::Referrers,
            )
            .await?;
        match schema {
            Some(document) => {
                let listed =
                    referrers::from_index(&document.body, &FoundBy::TagSchema(tag.clone()))?;
                ways.push(format!("{short}: tag {tag} lists {}", listed.len()));
                add(listed, &mut found);
            }
            None => ways.push(format!("{short}: no tag {tag}")),
        }
        for (tag, kind) in referrers::cosign_tags(subject) {
            let url = manifest_url(reference, &tag);
            let Some(document) = session
                .get_if_found(&url, Some(MANIFEST_ACCEPT), Purpose::Referrers)
                .await?
            else {
                continue;
            };
            let media_type = document
                .content_type
                .as_deref()
                .map_or(MediaType::OciManifest, MediaType::lenient);
            let referrer = referrers::from_cosign_manifest(&document.body, media_type, &tag, kind)?;
            ways.push(format!("{short}: cosign tag {tag} found"));
            add(vec![referrer], &mut found);
        }
    }
    Ok((found, ways))
}
