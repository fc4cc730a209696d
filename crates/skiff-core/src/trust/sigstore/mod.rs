//! Sigstore bundles verified offline (issue #22 item 2): a keyless signature's certificate
//! chained to a trusted root, with its certificate transparency promises (SCTs); the
//! transparency log's entry (signed entry timestamp, inclusion proof and checkpoint) about
//! exactly this signature; the signature over the artifact, or over a DSSE envelope whose
//! in-toto statement names it; and the identity the certificate binds, against what the user
//! expects. No request to any Sigstore service: everything is in the bundle and the root.

pub mod bundle;
pub mod certificate;
pub mod crypto;
pub mod root;
pub mod timestamp;
pub mod tlog;

use bundle::{Bundle, Content, Material};
use certificate::{is_self_signed, Identity, SigningCertificate};
use crypto::{hex, VerifyingKey};
use root::{Millis, TrustedRoot};
use tlog::Signer;

/// What the user requires of a signature.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy<'a> {
    /// The certificate's identity (subject alternative name), exactly.
    pub identity: Option<&'a str>,
    /// The OIDC issuer that vouched for it, exactly.
    pub issuer: Option<&'a str>,
    /// For bundles signed with a key rather than a certificate: that key (DER SPKI).
    pub key: Option<&'a [u8]>,
}

/// Who signed, once verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedBy {
    Identity(Identity),
    /// A key the user gave (its fingerprint is theirs to show).
    Key,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub signed_by: SignedBy,
    /// When it was signed, as the log (or timestamp authority) attests; ms since the epoch.
    pub signed_at: Millis,
    pub log_index: u64,
    /// The DSSE payload (an in-toto statement), for a bundle that signs one.
    pub statement: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigstoreError {
    #[error("the Sigstore bundle cannot be read ({reason})")]
    MalformedBundle { reason: String },
    #[error("the bundle's version ({media_type}) is not one Skiff knows (0.1 to 0.3)")]
    UnknownBundleVersion { media_type: String },
    #[error("the trusted root cannot be read ({reason}); give Sigstore's trusted_root.json, or none for the public-good instance")]
    MalformedTrustedRoot { reason: String },
    #[error("the key is {algorithm}; Sigstore bundles are verified with ECDSA P-256/P-384 and Ed25519 keys")]
    UnsupportedKey { algorithm: String },
    #[error("the signing certificate is not usable ({reason})")]
    BadCertificate { reason: String },
    #[error("the bundle carries a root certificate; roots come from the trusted root only, never from a bundle")]
    RootInBundle,
    #[error("the signing certificate does not chain to a certificate authority of the trusted root (valid when it signed): it comes from another Sigstore instance, or was not issued by one")]
    UntrustedCertificate,
    #[error("the signing certificate was not valid when the signature was made ({}; it is valid from {} to {})", crate::time::utc(*signed_at), crate::time::utc(*not_before), crate::time::utc(*not_after))]
    CertificateNotValidAt {
        signed_at: Millis,
        not_before: Millis,
        not_after: Millis,
    },
    #[error("no certificate transparency log of the trusted root vouches for the signing certificate (no valid SCT)")]
    NoValidSct,
    #[error(
        "the bundle was signed with a key, not a certificate: give that public key to verify it"
    )]
    KeyRequired,
    #[error("the bundle says it signed {signed}, but the artifact's digest is {artifact}")]
    DigestMismatch { signed: String, artifact: String },
    #[error("the signature does not verify with the signer's key: it was made over something else or altered")]
    BadSignature,
    #[error("the signed statement is not about this artifact (its subjects do not include sha256:{artifact})")]
    NotAboutArtifact { artifact: String },
    #[error(
        "the bundle has no transparency log entry; Skiff requires one to trust a signature's time"
    )]
    NoLogEntry,
    #[error("the transparency log {log_id} is not in the trusted root: the bundle comes from another Sigstore instance")]
    UnknownLog { log_id: String },
    #[error("the transparency log entry does not verify: {reason}")]
    BadLogEntry { reason: String },
    #[error("the transparency log entry is about something else: it does not match the bundle in {what}")]
    LogEntryMismatch { what: String },
    #[error("the transparency log entry is of kind {kind}, which Skiff does not check")]
    UnsupportedLogEntry { kind: String },
    #[error(
        "the log entry has no inclusion proof, which bundles of version 0.2 and later must carry"
    )]
    MissingInclusionProof,
    #[error("the log entry's time ({}) is {why}", crate::time::utc(*time))]
    BadLogTime { time: Millis, why: String },
    #[error("the RFC 3161 timestamp does not verify: {reason}")]
    BadTimestamp { reason: String },
    #[error(
        "nothing in the bundle attests when it was signed (no verified log time or timestamp)"
    )]
    NoVerifiedTime,
    #[error("the signature was made by {found}, not by the required {expected}")]
    IdentityMismatch { expected: String, found: String },
    #[error(
        "the signer's identity was vouched for by {found}, not by the required issuer {expected}"
    )]
    IssuerMismatch { expected: String, found: String },
}

/// Verifies `bundle` as a signature over the artifact whose SHA-256 is `artifact_digest`.
pub fn verify(
    bundle: &Bundle,
    artifact_digest: &[u8; 32],
    root: &TrustedRoot,
    policy: &Policy<'_>,
    now: Millis,
) -> Result<Verified, SigstoreError> {
    let (certificate, key, signer_der) = match &bundle.material {
        Material::Certificate { leaf, rest } => {
            if std::iter::once(leaf)
                .chain(rest)
                .any(|der| is_self_signed(der))
            {
                return Err(SigstoreError::RootInBundle);
            }
            let certificate = SigningCertificate::parse(leaf)?;
            let key = certificate.key.clone();
            (Some(certificate), key, leaf.clone())
        }
        Material::PublicKey { .. } => {
            let spki = policy.key.ok_or(SigstoreError::KeyRequired)?;
            (None, VerifyingKey::from_spki(spki)?, spki.to_vec())
        }
    };
    let statement = verify_content(&bundle.content, &key, artifact_digest)?;
    let signer = match certificate {
        Some(_) => Signer::Certificate(&signer_der),
        None => Signer::Key(&signer_der),
    };

    if bundle.tlog_entries.is_empty() {
        return Err(SigstoreError::NoLogEntry);
    }
    let mut times = Vec::new();
    for entry in &bundle.tlog_entries {
        let log =
            root.transparency_log(&entry.log_id)
                .ok_or_else(|| SigstoreError::UnknownLog {
                    log_id: crate::protocol::auth::base64(&entry.log_id),
                })?;
        tlog::verify_body(entry, &bundle.content, artifact_digest, signer)?;
        match &entry.inclusion_proof {
            Some(proof) => tlog::verify_inclusion(entry, proof, log)?,
            None if bundle.version >= bundle::BundleVersion::V02 => {
                return Err(SigstoreError::MissingInclusionProof)
            }
            None => {}
        }
        match &entry.signed_entry_timestamp {
            Some(set) => {
                tlog::verify_promise(entry, log, set)?;
                let time = entry.integrated_time.saturating_mul(1000);
                let bad_time = |why: &str| SigstoreError::BadLogTime {
                    time,
                    why: why.to_owned(),
                };
                if !log.validity.contains(time) {
                    return Err(bad_time(
                        "outside the time the trusted root trusts that log for",
                    ));
                }
                if time > now {
                    return Err(bad_time("in the future"));
                }
                times.push(time);
            }
            None if entry.inclusion_proof.is_none() => {
                return Err(SigstoreError::BadLogEntry {
                    reason: "it has neither a signed entry timestamp nor an inclusion proof"
                        .to_owned(),
                })
            }
            None => {}
        }
    }
    let timestamped = match &bundle.content {
        Content::MessageSignature { signature, .. } => signature.as_slice(),
        Content::Dsse(envelope) => envelope.signatures.first().map_or(&[][..], Vec::as_slice),
    };
    for response in &bundle.timestamps {
        let time = timestamp::verify_timestamp(response, timestamped, root)?;
        if time > now {
            return Err(SigstoreError::BadTimestamp {
                reason: "its time is in the future".to_owned(),
            });
        }
        times.push(time);
    }
    let signed_at = *times.iter().min().ok_or(SigstoreError::NoVerifiedTime)?;

    let signed_by = match &certificate {
        Some(certificate) => {
            if let Some(time) = times.iter().find(|t| !certificate.valid_at(**t)) {
                return Err(SigstoreError::CertificateNotValidAt {
                    signed_at: *time,
                    not_before: certificate.not_before,
                    not_after: certificate.not_after,
                });
            }
            let authority = certificate.issuing_authority(root, &times)?;
            if certificate.verified_scts(&authority.chain[0], &root.ct_logs)? == 0 {
                return Err(SigstoreError::NoValidSct);
            }
            check_identity(&certificate.identity, policy)?;
            SignedBy::Identity(certificate.identity.clone())
        }
        None => SignedBy::Key,
    };
    Ok(Verified {
        signed_by,
        signed_at,
        log_index: bundle.tlog_entries[0].log_index,
        statement,
    })
}

/// The signature over the artifact (or the DSSE envelope naming it); the envelope's payload.
fn verify_content(
    content: &Content,
    key: &VerifyingKey,
    artifact_digest: &[u8; 32],
) -> Result<Option<Vec<u8>>, SigstoreError> {
    match content {
        Content::MessageSignature { digest, signature } => {
            if let Some((algorithm, digest)) = digest {
                if algorithm != "SHA2_256" || digest.as_slice() != artifact_digest {
                    return Err(SigstoreError::DigestMismatch {
                        signed: format!("{}:{}", algorithm.to_lowercase(), hex(digest)),
                        artifact: format!("sha256:{}", hex(artifact_digest)),
                    });
                }
            }
            if !key.verifies_prehashed(artifact_digest, signature) {
                return Err(SigstoreError::BadSignature);
            }
            Ok(None)
        }
        Content::Dsse(envelope) => {
            let signed = pae(&envelope.payload_type, &envelope.payload);
            if envelope.signatures.is_empty()
                || !envelope.signatures.iter().all(|s| key.verifies(&signed, s))
            {
                return Err(SigstoreError::BadSignature);
            }
            if !statement_names(&envelope.payload, artifact_digest) {
                return Err(SigstoreError::NotAboutArtifact {
                    artifact: hex(artifact_digest),
                });
            }
            Ok(Some(envelope.payload.clone()))
        }
    }
}

/// DSSE's pre-authentication encoding: what an envelope's signatures sign.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut encoded = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    encoded.extend_from_slice(payload);
    encoded
}

/// Whether an in-toto statement lists the artifact among its subjects.
fn statement_names(payload: &[u8], artifact_digest: &[u8; 32]) -> bool {
    let Ok(statement) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return false;
    };
    let wanted = hex(artifact_digest);
    statement["subject"].as_array().is_some_and(|subjects| {
        subjects
            .iter()
            .any(|s| s["digest"]["sha256"] == wanted.as_str())
    })
}

fn check_identity(identity: &Identity, policy: &Policy<'_>) -> Result<(), SigstoreError> {
    if let Some(expected) = policy.identity {
        if identity.subject != expected {
            return Err(SigstoreError::IdentityMismatch {
                expected: expected.to_owned(),
                found: identity.subject.clone(),
            });
        }
    }
    if let Some(expected) = policy.issuer {
        if identity.issuer.as_deref() != Some(expected) {
            return Err(SigstoreError::IssuerMismatch {
                expected: expected.to_owned(),
                found: identity
                    .issuer
                    .clone()
                    .unwrap_or_else(|| "no issuer".to_owned()),
            });
        }
    }
    Ok(())
}
