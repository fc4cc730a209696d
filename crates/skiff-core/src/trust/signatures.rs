//! One signature manifest checked against one image with what the user trusts: a cosign
//! signature made with a key, a keyless cosign signature (its certificate and Rekor bundle in
//! annotations), or a Sigstore bundle (cosign v3, the Sigstore clients). Which blob to fetch is
//! decided here; the bytes come from the caller; the verdict goes back.

use crate::image::manifest::{Descriptor, ImageManifest};
use crate::Digest;

use super::keys::PublicKey;
use super::sigstore::bundle::{Bundle, BundleVersion, Content, Material, TlogEntry};
use super::sigstore::crypto::{sha256, VerifyingKey};
use super::sigstore::root::{Millis, TrustedRoot};
use super::sigstore::{self, Policy, SigstoreError};
use super::simple_signing::SimpleSigning;
use super::{base64_decode, TrustError};

/// cosign's annotations on a signature layer.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const REKOR_BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// What cosign v3 signs about an image: an in-toto statement of this predicate type.
pub const SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// What a signature manifest holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureForm<'m> {
    /// A Sigstore bundle: the layer is the bundle's JSON.
    SigstoreBundle(&'m Descriptor),
    /// cosign's simple signing: the layer is the payload; its annotations carry the
    /// signature and, for a keyless one, the certificate and Rekor's promise.
    SimpleSigning {
        layer: &'m Descriptor,
        signature: &'m str,
        certificate: Option<&'m str>,
        rekor_bundle: Option<&'m str>,
    },
    Unknown,
}

impl<'m> SignatureForm<'m> {
    pub fn of(manifest: &'m ImageManifest) -> Self {
        for layer in &manifest.layers {
            if layer
                .media_type
                .as_str()
                .starts_with("application/vnd.dev.sigstore.bundle")
            {
                return Self::SigstoreBundle(layer);
            }
            let annotation = |name: &str| {
                layer
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(name))
                    .map(String::as_str)
            };
            if let Some(signature) = annotation(SIGNATURE_ANNOTATION) {
                return Self::SimpleSigning {
                    layer,
                    signature,
                    certificate: annotation(CERTIFICATE_ANNOTATION).filter(|c| !c.is_empty()),
                    rekor_bundle: annotation(REKOR_BUNDLE_ANNOTATION),
                };
            }
        }
        Self::Unknown
    }

    /// The blob to fetch and hand to [`check`].
    pub fn blob(&self) -> Option<&'m Descriptor> {
        match self {
            Self::SigstoreBundle(layer) | Self::SimpleSigning { layer, .. } => Some(layer),
            Self::Unknown => None,
        }
    }
}

/// What the user trusts.
#[derive(Clone, Debug, Default)]
pub struct TrustPolicy {
    /// A public key (cosign.pub) that may have signed.
    pub key: Option<PublicKey>,
    /// For keyless signatures: the identity and OIDC issuer required, exactly.
    pub identity: Option<String>,
    pub issuer: Option<String>,
    /// The Sigstore instance trusted; `None`: the public-good one.
    pub root: Option<TrustedRoot>,
}

/// Who signed, once a signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedBy {
    /// The user's key (its fingerprint).
    Key(Digest),
    /// A keyless certificate's identity, at the time the log attests.
    Identity {
        subject: String,
        issuer: Option<String>,
        signed_at: Millis,
    },
}

/// Checks one signature of `image` (its manifest digest) in `repository` (`registry/name`);
/// `blob` is [`SignatureForm::blob`]'s bytes.
pub fn check(
    form: &SignatureForm<'_>,
    blob: &[u8],
    image: &Digest,
    repository: &str,
    policy: &TrustPolicy,
    now: Millis,
) -> Result<SignedBy, TrustError> {
    // Read once per check, never copied: the user's root, or the one Skiff ships.
    let public_good;
    let root = match &policy.root {
        Some(root) => root,
        None => {
            public_good = TrustedRoot::public_good();
            &public_good
        }
    };
    let sigstore_policy = Policy {
        identity: policy.identity.as_deref(),
        issuer: policy.issuer.as_deref(),
        key: policy.key.as_ref().map(|k| k.spki.as_slice()),
    };
    match form {
        SignatureForm::Unknown => Err(TrustError::MalformedSignature {
            reason: format!("no layer is a Sigstore bundle or carries {SIGNATURE_ANNOTATION}"),
        }),
        SignatureForm::SigstoreBundle(_) => {
            let bundle = Bundle::parse(blob)?;
            let digest = image_digest_bytes(image)?;
            let verified = sigstore::verify(&bundle, &digest, root, &sigstore_policy, now)?;
            if let Some(statement) = &verified.statement {
                let predicate = predicate_type(statement);
                if predicate.as_deref() != Some(SIGN_PREDICATE) {
                    return Err(TrustError::NotASignature {
                        predicate: predicate.unwrap_or_default(),
                    });
                }
            }
            Ok(signed_by(verified.signed_by, verified.signed_at, policy))
        }
        SignatureForm::SimpleSigning {
            signature,
            certificate,
            rekor_bundle,
            ..
        } => {
            SimpleSigning::parse(blob)?.check(image, repository)?;
            let signature_der =
                base64_decode(signature).ok_or_else(|| TrustError::MalformedSignature {
                    reason: "the annotation is not base64".to_owned(),
                })?;
            match certificate {
                Some(certificate) => {
                    let bundle = legacy_bundle(&signature_der, certificate, *rekor_bundle)?;
                    let keyless = Policy {
                        key: None,
                        ..sigstore_policy
                    };
                    let verified = sigstore::verify(&bundle, &sha256(blob), root, &keyless, now)?;
                    Ok(signed_by(verified.signed_by, verified.signed_at, policy))
                }
                None => {
                    let key = policy.key.as_ref().ok_or(TrustError::KeyNeeded)?;
                    let verifying = VerifyingKey::from_spki(&key.spki)?;
                    if verifying.verifies(blob, &signature_der) {
                        Ok(SignedBy::Key(key.fingerprint()))
                    } else {
                        Err(TrustError::BadSignature)
                    }
                }
            }
        }
    }
}

fn signed_by(by: sigstore::SignedBy, signed_at: Millis, policy: &TrustPolicy) -> SignedBy {
    match by {
        sigstore::SignedBy::Identity(identity) => SignedBy::Identity {
            subject: identity.subject,
            issuer: identity.issuer,
            signed_at,
        },
        sigstore::SignedBy::Key => SignedBy::Key(
            policy
                .key
                .as_ref()
                .map(PublicKey::fingerprint)
                .unwrap_or_else(|| Digest::of(b"")),
        ),
    }
}

fn image_digest_bytes(image: &Digest) -> Result<[u8; 32], TrustError> {
    hex_decode(image.hex())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| TrustError::MalformedSignature {
            reason: format!("{image} is not a SHA-256 digest, which Sigstore bundles sign"),
        })
}

fn predicate_type(statement: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(statement).ok()?;
    value["predicateType"].as_str().map(str::to_owned)
}

/// A keyless cosign signature's annotations as a bundle of version 0.1: the leaf
/// certificate, and Rekor's entry with its promise (`{SignedEntryTimestamp, Payload: {body,
/// integratedTime, logIndex, logID}}`). The chain annotation is not used: the chain comes
/// from the trusted root.
pub fn legacy_bundle(
    signature: &[u8],
    certificate_pem: &str,
    rekor_bundle: Option<&str>,
) -> Result<Bundle, SigstoreError> {
    let malformed = |reason: &str| SigstoreError::MalformedBundle {
        reason: reason.to_owned(),
    };
    let leaf = sigstore::crypto::pem_to_der(certificate_pem)
        .ok_or_else(|| malformed("the certificate annotation is not PEM"))?;
    let mut tlog_entries = Vec::new();
    if let Some(json) = rekor_bundle {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| malformed("the Rekor bundle annotation is not JSON"))?;
        let payload = &value["Payload"];
        let body_base64 = payload["body"]
            .as_str()
            .ok_or_else(|| malformed("the Rekor bundle has no body"))?
            .to_owned();
        let body =
            base64_decode(&body_base64).ok_or_else(|| malformed("the Rekor body is not base64"))?;
        let kind: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| malformed("the Rekor body is not JSON"))?;
        let log_id = payload["logID"]
            .as_str()
            .and_then(hex_decode)
            .ok_or_else(|| malformed("the Rekor bundle's logID is not hex"))?;
        tlog_entries.push(TlogEntry {
            log_index: payload["logIndex"]
                .as_u64()
                .ok_or_else(|| malformed("the Rekor bundle's logIndex is not a number"))?,
            log_id,
            kind: kind["kind"].as_str().unwrap_or_default().to_owned(),
            version: kind["apiVersion"].as_str().unwrap_or_default().to_owned(),
            integrated_time: payload["integratedTime"]
                .as_i64()
                .ok_or_else(|| malformed("the Rekor bundle's integratedTime is not a number"))?,
            signed_entry_timestamp: Some(
                value["SignedEntryTimestamp"]
                    .as_str()
                    .and_then(base64_decode)
                    .ok_or_else(|| malformed("the Rekor bundle has no SignedEntryTimestamp"))?,
            ),
            inclusion_proof: None,
            body,
            body_base64,
        });
    }
    Ok(Bundle {
        version: BundleVersion::V01,
        material: Material::Certificate {
            leaf,
            rest: Vec::new(),
        },
        tlog_entries,
        timestamps: Vec::new(),
        content: Content::MessageSignature {
            digest: None,
            signature: signature.to_vec(),
        },
    })
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::keys::KeyAlgorithm;
    use p256::ecdsa::signature::Signer as _;

    const SPKI_P256_PREFIX: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";

    fn key_pair(seed: u8) -> (p256::ecdsa::SigningKey, PublicKey) {
        let signing = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let point = signing.verifying_key().to_encoded_point(false);
        let mut spki = hex_decode(SPKI_P256_PREFIX).unwrap();
        spki.extend_from_slice(point.as_bytes());
        let public = PublicKey {
            algorithm: KeyAlgorithm::EcdsaP256,
            spki,
        };
        (signing, public)
    }

    /// `r || s` as DER, as cosign stores it.
    fn der(fixed: &[u8]) -> Vec<u8> {
        let integer = |bytes: &[u8]| {
            let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
            let mut value = if trimmed[0] & 0x80 != 0 {
                vec![0]
            } else {
                vec![]
            };
            value.extend(trimmed);
            let mut out = vec![0x02, value.len() as u8];
            out.extend(value);
            out
        };
        let body = [integer(&fixed[..32]), integer(&fixed[32..])].concat();
        [vec![0x30, body.len() as u8], body].concat()
    }

    fn manifest(layer: serde_json::Value) -> ImageManifest {
        serde_json::from_value(serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": Digest::of(b"{}"), "size": 2},
            "layers": [layer],
        }))
        .unwrap()
    }

    #[test]
    fn forms_are_told_apart() {
        let digest = Digest::of(b"x");
        let bundle = manifest(
            serde_json::json!({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "digest": digest, "size": 1}),
        );
        assert!(matches!(
            SignatureForm::of(&bundle),
            SignatureForm::SigstoreBundle(_)
        ));
        let keyless = manifest(
            serde_json::json!({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": digest, "size": 1,
            "annotations": {SIGNATURE_ANNOTATION: "AA==", CERTIFICATE_ANNOTATION: "pem", REKOR_BUNDLE_ANNOTATION: "{}"}}),
        );
        assert!(matches!(
            SignatureForm::of(&keyless),
            SignatureForm::SimpleSigning {
                certificate: Some("pem"),
                rekor_bundle: Some("{}"),
                ..
            }
        ));
        let other = manifest(
            serde_json::json!({"mediaType": "application/octet-stream", "digest": digest, "size": 1}),
        );
        assert_eq!(SignatureForm::of(&other), SignatureForm::Unknown);
        assert_eq!(SignatureForm::of(&other).blob(), None);
    }

    #[test]
    fn key_signatures_verify_only_with_their_key() {
        let image = Digest::of(b"manifest");
        let repository = "127.0.0.1:5000/skiff/signed";
        let payload = serde_json::json!({"critical": {"identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": image}, "type": "cosign container image signature"}, "optional": null})
        .to_string();
        let (signing, public) = key_pair(7);
        let (_, other) = key_pair(9);
        let signature: p256::ecdsa::Signature = signing.sign(payload.as_bytes());
        let encoded = crate::protocol::auth::base64(&der(&signature.to_bytes()));
        let layer = manifest(
            serde_json::json!({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "digest": Digest::of(payload.as_bytes()), "size": payload.len(), "annotations": {SIGNATURE_ANNOTATION: encoded}}),
        );
        let form = SignatureForm::of(&layer);
        let with = |key: Option<PublicKey>| TrustPolicy {
            key,
            ..TrustPolicy::default()
        };
        let verdict = check(
            &form,
            payload.as_bytes(),
            &image,
            repository,
            &with(Some(public.clone())),
            0,
        );
        assert_eq!(verdict, Ok(SignedBy::Key(public.fingerprint())));
        let verdict = check(
            &form,
            payload.as_bytes(),
            &image,
            repository,
            &with(Some(other)),
            0,
        );
        assert_eq!(verdict, Err(TrustError::BadSignature));
        let verdict = check(
            &form,
            payload.as_bytes(),
            &image,
            repository,
            &with(None),
            0,
        );
        assert_eq!(verdict, Err(TrustError::KeyNeeded));
        let elsewhere = Digest::of(b"another manifest");
        let verdict = check(
            &form,
            payload.as_bytes(),
            &elsewhere,
            repository,
            &with(Some(public)),
            0,
        );
        assert!(matches!(verdict, Err(TrustError::OtherImage { .. })));
    }

    #[test]
    fn keyless_annotations_become_a_bundle() {
        let rekor = r#"{"SignedEntryTimestamp":"AQID","Payload":{"body":"eyJraW5kIjoiaGFzaGVkcmVrb3JkIiwiYXBpVmVyc2lvbiI6IjAuMC4xIn0=","integratedTime":1700000000,"logIndex":42,"logID":"c0d23d6a"}}"#;
        let pem = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        let bundle = legacy_bundle(&[9], pem, Some(rekor)).unwrap();
        let entry = &bundle.tlog_entries[0];
        assert_eq!(
            (entry.kind.as_str(), entry.version.as_str()),
            ("hashedrekord", "0.0.1")
        );
        assert_eq!(
            (entry.log_index, entry.integrated_time),
            (42, 1_700_000_000)
        );
        assert_eq!(entry.log_id, vec![0xc0, 0xd2, 0x3d, 0x6a]);
        assert!(legacy_bundle(&[9], "not pem", Some(rekor)).is_err());
        assert!(legacy_bundle(&[9], pem, Some("{}")).is_err());
        assert!(legacy_bundle(&[9], pem, None)
            .unwrap()
            .tlog_entries
            .is_empty());
    }
}
