//! Signatures, SBOMs and attestations written to a target where a verifier looks for them: a
//! cosign signature under its tag, an OCI 1.1 referrer by its digest, listed by the registry's
//! referrers API or, where the registry has none, in the OCI tag schema's index.

use skiff_core::archive::push_archive::ArchivedImage;
use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::media_type::MediaType;
use skiff_core::image::referrers::{schema_index_with, schema_tag, FoundBy, Referrer};
use skiff_core::protocol::registry::{manifest_url, referrers_url};
use skiff_core::{Digest, Reference};

use super::send::{push_blob, put_manifest, BlobPush, Last, Source};
use crate::error::AppError;
use crate::services::http::RegistrySession;
use crate::services::objects::fetch_referrer;
use crate::services::Report;
use crate::state::push::{PushEvent, PushSummary};

/// Where a verifier finds a referrer written by its digest: the registry's referrers API lists
/// it by its `subject`; a registry without the API gets it added to the OCI tag schema's index
/// (`sha256-<hex>`), as oras and cosign do. Says which, for the summary.
pub async fn list_referrer(
    session: &RegistrySession,
    target: &Reference,
    image: &ArchivedImage,
    subject: &Digest,
) -> Result<String, AppError> {
    let index_type = MediaType::OciIndex;
    let api = session
        .get_if_found(
            &referrers_url(target, subject),
            Some(index_type.as_str()),
            Purpose::Referrers,
        )
        .await?;
    if api.is_some() {
        return Ok("listed by the registry's referrers API".to_owned());
    }
    let tag = schema_tag(subject);
    let existing = session
        .get_if_found(
            &manifest_url(target, &tag),
            Some(index_type.as_str()),
            Purpose::Referrers,
        )
        .await?;
    let index = schema_index_with(
        existing.as_ref().map(|d| d.body.as_slice()),
        &image.manifest,
        &image.media_type,
    )?;
    let listing = ArchivedImage {
        name: None,
        manifest: index,
        media_type: index_type,
        blobs: Vec::new(),
        refers_to: None,
    };
    put_manifest(session, target, &tag, &listing).await?;
    Ok(format!("listed in the OCI tag schema's index {tag}"))
}

/// The two ends of a copy: each registry's session and the reference there.
pub struct Ends<'a> {
    pub source: &'a RegistrySession,
    pub from: &'a Reference,
    pub target: &'a RegistrySession,
    pub to: &'a Reference,
}

/// Copies `referrer` (found in `from`'s repository) into `to`'s: its documents, checked, then
/// its manifest, where a verifier looks.
pub async fn copy_referrer(
    ends: &Ends<'_>,
    referrer: &Referrer,
    report: &Report<PushEvent>,
    summary: &mut PushSummary,
) -> Result<(), AppError> {
    let Ends {
        source,
        from,
        target,
        to,
    } = *ends;
    let (checked, media_type, manifest) = fetch_referrer(source, from, referrer).await?;
    let Some(manifest) = manifest else {
        return Ok(());
    };
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        let bytes = source
            .fetch_blob_document(from, &blob.digest, Some(blob.size), Purpose::Referrers)
            .await?;
        let push = BlobPush {
            target: to,
            digest: &blob.digest,
            size: blob.size,
            source: &Source::Bytes(&bytes),
            report,
        };
        push_blob(target, &push, None, Last::Send).await?;
    }
    let image = ArchivedImage {
        name: None,
        manifest: checked.body,
        media_type,
        blobs: Vec::new(),
        refers_to: None,
    };
    let written = match (&referrer.found_by, &manifest.subject) {
        (FoundBy::CosignTag(tag), _) => {
            put_manifest(target, to, tag, &image).await?;
            format!("under cosign's tag {tag}")
        }
        (_, Some(subject)) => {
            put_manifest(target, to, &referrer.digest.to_string(), &image).await?;
            list_referrer(target, to, &image, &subject.digest).await?
        }
        // Listed for a subject but naming none: nothing would find it on the target.
        (_, None) => return Ok(()),
    };
    summary
        .referrers
        .push(format!("{} {written}", referrer.digest));
    Ok(())
}
