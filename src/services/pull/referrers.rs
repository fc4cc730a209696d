//! A pull's signatures, SBOMs and attestations, when asked for: found as the explorer finds
//! them (referrers API, tag schema, cosign's tags), each manifest checked against its digest
//! and its documents against theirs, then carried in the archive's OCI layout.

use skiff_core::archive::layout::AttachedManifest;
use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::referrers::{FoundBy, Referrer};
use skiff_core::trust::signatures::SignedBy;
use skiff_core::trust::TrustError;
use skiff_core::Digest;

use super::{Pull, Resolved};
use crate::error::AppError;
use crate::services::objects::{fetch_referrer, lookup_referrers};
use crate::state::explorer::{Verdict, VerdictOutcome};
use crate::state::trust::SignerFields;

impl Pull {
    /// Every image must carry a signature by whom `signer` names (a key's, or a keyless one
    /// by the identity and issuer), else the pull stops before a layer is fetched, saying why.
    pub(super) async fn require_signatures(
        &self,
        images: &[Resolved],
        signer: &SignerFields,
    ) -> Result<(), AppError> {
        let policy = signer.policy()?;
        if policy.identity.is_some() && policy.issuer.is_none() {
            return Err(TrustError::IssuerNeeded.into());
        }
        for image in images {
            self.stage(format!("Checking the signatures of {}", image.reference));
            // cosign signs the digest a tag names: a multi-platform image's index.
            let subjects: Vec<Digest> = std::iter::once(Digest::of(&image.manifest))
                .chain(image.index.clone())
                .collect();
            let verdicts = crate::services::verify::signed_by(
                &image.session,
                &image.reference,
                &subjects,
                &policy,
            )
            .await?;
            // A keyless signature by anyone verifies; only the required identity counts.
            let required = |verdict: &&Verdict| match &verdict.outcome {
                VerdictOutcome::Verified(SignedBy::Key(_)) => policy.key.is_some(),
                VerdictOutcome::Verified(SignedBy::Identity { .. }) => policy.identity.is_some(),
                VerdictOutcome::Failed(_) | VerdictOutcome::NeedsKey => false,
            };
            if verdicts.iter().any(|v| required(&v)) {
                continue;
            }
            let why = match verdicts.as_slice() {
                [] => "it has no signature".to_owned(),
                found => found
                    .iter()
                    .map(|v| match &v.outcome {
                        VerdictOutcome::Failed(why) => why.clone(),
                        VerdictOutcome::NeedsKey => TrustError::KeyNeeded.to_string(),
                        VerdictOutcome::Verified(SignedBy::Key(_)) => {
                            "a signature by a key you did not require".to_owned()
                        }
                        VerdictOutcome::Verified(SignedBy::Identity { subject, .. }) => {
                            format!("a keyless signature by {subject}, whom you did not require")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            return Err(AppError::NotSigned {
                reference: image.reference.to_string(),
                signer: signer.describe(&policy),
                why,
            });
        }
        Ok(())
    }

    /// The manifests that refer to `image`, with what `found` says of each.
    pub(super) async fn attached(
        &self,
        image: &Resolved,
        found: &mut Vec<Referrer>,
    ) -> Result<Vec<AttachedManifest>, AppError> {
        self.stage(format!(
            "Finding the signatures and SBOMs of {}",
            image.reference
        ));
        let subject = Digest::of(&image.manifest);
        let session = &image.session;
        let (referrers, _) = lookup_referrers(session, &image.reference, &[subject]).await?;
        let mut attached = Vec::new();
        for referrer in referrers {
            let (checked, media_type, manifest) =
                fetch_referrer(session, &image.reference, &referrer).await?;
            let Some(manifest) = manifest else {
                continue;
            };
            let mut blobs = Vec::new();
            for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
                let bytes = session
                    .fetch_blob_document(
                        &image.reference,
                        &blob.digest,
                        Some(blob.size),
                        Purpose::Referrers,
                    )
                    .await?;
                blobs.push(bytes);
            }
            let tag = match &referrer.found_by {
                FoundBy::CosignTag(tag) => Some(tag.clone()),
                FoundBy::ReferrersApi | FoundBy::TagSchema(_) => None,
            };
            attached.push(AttachedManifest {
                manifest: checked.body,
                media_type,
                blobs,
                tag,
            });
            found.push(referrer);
        }
        Ok(attached)
    }
}
