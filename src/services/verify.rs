//! An image's signatures checked in the browser against what the user trusts: found as the
//! explorer finds them; for each, the core says which blob to fetch and, given its bytes,
//! whether it verifies (a key's signature, a keyless cosign signature, a Sigstore bundle)
//! and by whom. Nothing goes anywhere but the registry: Sigstore is checked offline.

use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::referrers::{Referrer, ReferrerKind};
use skiff_core::trust::signatures::{self, SignatureForm, TrustPolicy};
use skiff_core::trust::TrustError;
use skiff_core::{Digest, Reference};

use super::http::RegistrySession;
use super::objects::{fetch_referrer, lookup_referrers, Origin};
use super::Report;
use crate::error::AppError;
use crate::state::explorer::{ExplorerAction, Verdict, VerdictOutcome, VerdictsView};
use crate::state::trust::SignerFields;

pub fn verify(
    origin: Origin,
    subjects: Vec<Digest>,
    signer: SignerFields,
    report: Report<ExplorerAction>,
) {
    let policy = match signer.policy() {
        Ok(policy) => policy,
        Err(error) => {
            return report.emit(ExplorerAction::Verdicts(VerdictsView::Failed(
                error.to_string(),
            )))
        }
    };
    report.emit(ExplorerAction::Verdicts(VerdictsView::Checking));
    wasm_bindgen_futures::spawn_local(async move {
        let view = match verdicts(&origin, &subjects, &policy, &report).await {
            Ok(verdicts) => VerdictsView::Done {
                key: policy.key.as_ref().map(|k| k.fingerprint()),
                verdicts,
            },
            Err(error) => VerdictsView::Failed(error.to_string()),
        };
        report.emit(ExplorerAction::Verdicts(view));
    });
}

async fn verdicts(
    origin: &Origin,
    subjects: &[Digest],
    policy: &TrustPolicy,
    report: &Report<ExplorerAction>,
) -> Result<Vec<Verdict>, AppError> {
    let session = origin.session(report).await?;
    signed_by(&session, &origin.reference, subjects, policy).await
}

/// Each signature of each of `subjects` (an image's manifest, and the index that named it)
/// in `reference`'s repository, checked against `policy` and the subject it signs.
pub async fn signed_by(
    session: &RegistrySession,
    reference: &Reference,
    subjects: &[Digest],
    policy: &TrustPolicy,
) -> Result<Vec<Verdict>, AppError> {
    let now = js_sys::Date::now() as i64;
    let mut verdicts = Vec::new();
    for subject in subjects {
        let (found, _) =
            lookup_referrers(session, reference, std::slice::from_ref(subject)).await?;
        let image = Image {
            session,
            reference,
            subject,
            repository: format!("{}/{}", reference.registry(), reference.repository()),
        };
        for signature in found.iter().filter(|r| r.kind == ReferrerKind::Signature) {
            let outcome = match image.check(signature, policy, now).await? {
                Ok(signer) => VerdictOutcome::Verified(signer),
                Err(TrustError::KeyNeeded) => VerdictOutcome::NeedsKey,
                Err(why) => VerdictOutcome::Failed(why.to_string()),
            };
            verdicts.push(Verdict {
                signature: signature.digest.clone(),
                outcome,
            });
        }
    }
    Ok(verdicts)
}

/// The image whose signatures are checked, and where it lives.
struct Image<'a> {
    session: &'a RegistrySession,
    reference: &'a Reference,
    /// Its manifest's digest.
    subject: &'a Digest,
    /// `registry/name`, as signatures name it.
    repository: String,
}

impl Image<'_> {
    /// One signature manifest: `Ok(Ok(who))` verified, `Ok(Err(why))` failed, `Err` unreadable.
    async fn check(
        &self,
        signature: &Referrer,
        policy: &TrustPolicy,
        now: i64,
    ) -> Result<Result<signatures::SignedBy, TrustError>, AppError> {
        let (_, _, manifest) = fetch_referrer(self.session, self.reference, signature).await?;
        let Some(manifest) = manifest else {
            return Ok(Err(TrustError::MalformedPayload {
                reason: "the signature is an index, not a manifest".to_owned(),
            }));
        };
        let form = SignatureForm::of(&manifest);
        let blob = match form.blob() {
            Some(layer) => {
                self.session
                    .fetch_blob_document(
                        self.reference,
                        &layer.digest,
                        Some(layer.size),
                        Purpose::Referrers,
                    )
                    .await?
            }
            None => Vec::new(),
        };
        let verdict = signatures::check(&form, &blob, self.subject, &self.repository, policy, now);
        Ok(verdict)
    }
}
