//! Another image's SBOM, found as the explorer finds referrers (its manifest, or the index a tag
//! names and its entries), for comparing an opened SBOM's packages with it.

use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::manifest::Manifest;
use skiff_core::image::referrers::ReferrerKind;
use skiff_core::trust::sbom::{read_sbom, Sbom, SbomFormat};
use skiff_core::Digest;

use super::objects::{fetch_referrer, lookup_referrers, Origin};
use super::Report;
use crate::error::AppError;
use crate::state::explorer::{ExplorerAction, OtherSbom};

/// An index's entries looked at, at most: their referrers are looked up one by one.
const MAX_ENTRIES: usize = 16;

/// Finds the SBOM of `origin`'s image, of format `like` if it has one, and reports it.
pub fn find_sbom(origin: Origin, like: SbomFormat, report: Report<ExplorerAction>) {
    let reference = origin.reference.to_string();
    report.emit(ExplorerAction::OtherSbom(OtherSbom::Finding(
        reference.clone(),
    )));
    wasm_bindgen_futures::spawn_local(async move {
        let view = match find(&origin, like, &report).await {
            Ok(sbom) => OtherSbom::Found { reference, sbom },
            Err(error) => OtherSbom::Failed(error.to_string()),
        };
        report.emit(ExplorerAction::OtherSbom(view));
    });
}

async fn find(
    origin: &Origin,
    like: SbomFormat,
    report: &Report<ExplorerAction>,
) -> Result<Sbom, AppError> {
    let session = origin.session(report).await?;
    let reference = &origin.reference;
    let top = session
        .fetch_manifest(reference, &reference.manifest_reference(), None)
        .await?;
    let mut subjects = vec![Digest::of(&top.body)];
    if let Ok((Manifest::Index(index), _)) = top.parse() {
        let entries = index.manifests.iter().take(MAX_ENTRIES);
        subjects.extend(entries.map(|d| d.digest.clone()));
    }
    let (found, _) = lookup_referrers(&session, reference, &subjects).await?;
    let mut other_format = None;
    for referrer in found.iter().filter(|r| r.kind == ReferrerKind::Sbom) {
        let (_, _, Some(manifest)) = fetch_referrer(&session, reference, referrer).await? else {
            continue;
        };
        for layer in &manifest.layers {
            let bytes = session
                .fetch_blob_document(
                    reference,
                    &layer.digest,
                    Some(layer.size),
                    Purpose::Referrers,
                )
                .await?;
            match read_sbom(&bytes) {
                Ok(sbom) if sbom.format == like => return Ok(sbom),
                Ok(sbom) => other_format = other_format.or(Some(sbom)),
                Err(_) => {}
            }
        }
    }
    other_format.ok_or_else(|| AppError::NoSbom {
        reference: reference.to_string(),
    })
}
