//! An image's cosign signatures checked with a public key, in the browser: found as the
//! explorer finds them, each payload checked by the core against this image (its digest and
//! repository), each signature verified by WebCrypto. Nothing goes anywhere but the registry.

use js_sys::{Object, Reflect, Uint8Array};
use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::referrers::{Referrer, ReferrerKind};
use skiff_core::trust::keys::{ecdsa_der_to_fixed, KeyAlgorithm, PublicKey};
use skiff_core::trust::simple_signing::SimpleSigning;
use skiff_core::trust::{base64_decode, TrustError};
use skiff_core::{Digest, Reference};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::http::RegistrySession;
use super::objects::{fetch_referrer, lookup_referrers, Origin};
use super::Report;
use crate::error::AppError;
use crate::state::explorer::{ExplorerAction, Verdict, VerdictsView};

/// cosign's annotation on a signature layer: the signature, DER, base64.
const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

pub fn verify(origin: Origin, subject: Digest, key_pem: String, report: Report<ExplorerAction>) {
    let key = match PublicKey::from_pem(&key_pem) {
        Ok(key) => key,
        Err(error) => {
            return report.emit(ExplorerAction::Verdicts(VerdictsView::Failed(
                error.to_string(),
            )))
        }
    };
    report.emit(ExplorerAction::Verdicts(VerdictsView::Checking));
    wasm_bindgen_futures::spawn_local(async move {
        let view = match verdicts(&origin, &subject, &key, &report).await {
            Ok(verdicts) => VerdictsView::Done {
                key: key.fingerprint(),
                verdicts,
            },
            Err(error) => VerdictsView::Failed(error.to_string()),
        };
        report.emit(ExplorerAction::Verdicts(view));
    });
}

async fn verdicts(
    origin: &Origin,
    subject: &Digest,
    key: &PublicKey,
    report: &Report<ExplorerAction>,
) -> Result<Vec<Verdict>, AppError> {
    let session = origin.session(report).await?;
    signed_by(&session, &origin.reference, subject, key).await
}

/// Each cosign signature of `subject` in `reference`'s repository, checked with `key`.
pub async fn signed_by(
    session: &RegistrySession,
    reference: &Reference,
    subject: &Digest,
    key: &PublicKey,
) -> Result<Vec<Verdict>, AppError> {
    let (found, _) = lookup_referrers(session, reference, std::slice::from_ref(subject)).await?;
    let crypto_key = import(key).await?;
    let repository = format!("{}/{}", reference.registry(), reference.repository());
    let checker = Checker {
        session,
        reference,
        subject,
        repository: &repository,
        key,
        crypto_key: &crypto_key,
    };
    let mut verdicts = Vec::new();
    for signature in found.iter().filter(|r| r.kind == ReferrerKind::Signature) {
        let outcome = checker
            .check(signature)
            .await?
            .map_err(|why| why.to_string());
        verdicts.push(Verdict {
            signature: signature.digest.clone(),
            outcome,
        });
    }
    Ok(verdicts)
}

/// What every signature of one image is checked against.
struct Checker<'a> {
    session: &'a RegistrySession,
    reference: &'a Reference,
    /// The image's manifest digest.
    subject: &'a Digest,
    /// `registry/name`.
    repository: &'a str,
    key: &'a PublicKey,
    crypto_key: &'a web_sys::CryptoKey,
}

impl Checker<'_> {
    /// One signature manifest: `Ok(Ok(()))` verified, `Ok(Err(why))` failed, `Err` could not be read.
    async fn check(&self, signature: &Referrer) -> Result<Result<(), TrustError>, AppError> {
        let Checker {
            session,
            reference,
            subject,
            repository,
            key,
            crypto_key,
        } = *self;
        let (_, _, manifest) = fetch_referrer(session, reference, signature).await?;
        let Some(manifest) = manifest else {
            return Ok(Err(TrustError::MalformedPayload {
                reason: "the signature is an index, not a manifest".to_owned(),
            }));
        };
        let signed = manifest.layers.iter().find_map(|layer| {
            let annotation = layer.annotations.as_ref()?.get(SIGNATURE_ANNOTATION)?;
            Some((layer, annotation.clone()))
        });
        let Some((layer, annotation)) = signed else {
            return Ok(Err(TrustError::MalformedSignature {
            reason: format!("no layer carries {SIGNATURE_ANNOTATION} (a keyless Sigstore bundle is verified differently)"),
        }));
        };
        let payload = session
            .fetch_blob_document(
                reference,
                &layer.digest,
                Some(layer.size),
                Purpose::Referrers,
            )
            .await?;
        let claims = match SimpleSigning::parse(&payload) {
            Ok(claims) => claims,
            Err(why) => return Ok(Err(why)),
        };
        if let Err(why) = claims.check(subject, repository) {
            return Ok(Err(why));
        }
        let Some(der) = base64_decode(&annotation) else {
            return Ok(Err(TrustError::MalformedSignature {
                reason: "the annotation is not base64".to_owned(),
            }));
        };
        let signature_bytes = match key.algorithm {
            KeyAlgorithm::EcdsaP256 => match ecdsa_der_to_fixed(&der, 32) {
                Ok(fixed) => fixed,
                Err(why) => return Ok(Err(why)),
            },
            KeyAlgorithm::Rsa => der,
        };
        Ok(
            if web_verify(key.algorithm, crypto_key, &signature_bytes, &payload).await? {
                Ok(())
            } else {
                Err(TrustError::BadSignature)
            },
        )
    }
}

fn algorithm(kind: KeyAlgorithm) -> Object {
    let object = Object::new();
    let set = |name: &str, value: &str| {
        let _ = Reflect::set(&object, &name.into(), &value.into());
    };
    match kind {
        KeyAlgorithm::EcdsaP256 => {
            set("name", "ECDSA");
            set("namedCurve", "P-256");
        }
        KeyAlgorithm::Rsa => set("name", "RSASSA-PKCS1-v1_5"),
    }
    set("hash", "SHA-256");
    object
}

fn subtle() -> Result<web_sys::SubtleCrypto, AppError> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into())
        .map_err(|e| crate::services::http::js_error("finding WebCrypto", &e))?;
    Reflect::get(&crypto, &"subtle".into())
        .ok()
        .and_then(|s| s.dyn_into().ok())
        .ok_or_else(|| {
            AppError::Storage(
                "this page has no WebCrypto (crypto.subtle): open it over https or from localhost"
                    .to_owned(),
            )
        })
}

async fn import(key: &PublicKey) -> Result<web_sys::CryptoKey, AppError> {
    let js = |what: &str, e: JsValue| crate::services::http::js_error(what, &e);
    let usages = js_sys::Array::of1(&"verify".into());
    let data: Object = Uint8Array::from(key.spki.as_slice()).unchecked_into();
    let promise = subtle()?
        .import_key_with_object("spki", &data, &algorithm(key.algorithm), false, &usages)
        .map_err(|e| js("importing the key", e))?;
    let imported = JsFuture::from(promise)
        .await
        .map_err(|e| js("importing the key", e))?;
    Ok(imported.unchecked_into())
}

async fn web_verify(
    kind: KeyAlgorithm,
    key: &web_sys::CryptoKey,
    signature: &[u8],
    data: &[u8],
) -> Result<bool, AppError> {
    let js = |e: JsValue| crate::services::http::js_error("verifying a signature", &e);
    let promise = subtle()?
        .verify_with_object_and_u8_array_and_u8_array(&algorithm(kind), key, signature, data)
        .map_err(js)?;
    Ok(JsFuture::from(promise).await.map_err(js)?.as_bool() == Some(true))
}
