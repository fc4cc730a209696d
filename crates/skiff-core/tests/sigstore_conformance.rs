//! Sigstore's conformance vectors (tests/sigstore-conformance, Apache-2.0, see its NOTICE.md)
//! against Skiff's verifier: every case meant to verify verifies, every case meant to fail
//! fails, and for the reason its README gives (`REFUSALS`). A new vector must be listed there
//! before it passes.

use std::path::{Path, PathBuf};

use skiff_core::trust::sigstore::bundle::Bundle;
use skiff_core::trust::sigstore::crypto::{pem_to_der, sha256};
use skiff_core::trust::sigstore::root::TrustedRoot;
use skiff_core::trust::sigstore::{verify, Policy, SigstoreError, Verified};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Why each case meant to fail must fail: the error's variant, matching its README (a case
/// refused for another reason would hide a check that does not work).
const REFUSALS: &[(&str, &str)] = &[
    ("bundle-empty-certificate-chain_fail", "MalformedBundle"),
    ("bundle-from-wrong-instance_fail", "UnknownLog"),
    ("bundle-invalid-base64-signature_fail", "MalformedBundle"),
    ("bundle-malformed-json_fail", "MalformedBundle"),
    ("bundle-negative-log-index_fail", "MalformedBundle"),
    ("bundle-unknown-version_fail", "UnknownBundleVersion"),
    ("bundle-with-root-cert_fail", "RootInBundle"),
    ("checkpoint-bad-keyhint_fail", "BadLogEntry"),
    ("checkpoint-wrong-roothash_fail", "BadLogEntry"),
    ("dsse-invalid-sig_fail", "BadSignature"),
    ("dsse-mismatch-envelope_fail", "LogEntryMismatch"),
    ("dsse-mismatch-sig_fail", "LogEntryMismatch"),
    ("inclusion-proof-corrupted-hash_fail", "BadLogEntry"),
    ("incorrect-public-key_fail", "LogEntryMismatch"),
    ("integrated-time-in-future_fail", "CertificateNotValidAt"),
    ("intoto-expired-certificate_fail", "CertificateNotValidAt"),
    ("intoto-log-entry-mismatch_fail", "LogEntryMismatch"),
    (
        "intoto-missing-inclusion-proof_fail",
        "MissingInclusionProof",
    ),
    (
        "intoto-set-outside-signing-cert-validity_fail",
        "CertificateNotValidAt",
    ),
    (
        "intoto-tsa-timestamp-outside-cert-validity_fail",
        "CertificateNotValidAt",
    ),
    ("invalid-checkpoint-signature_fail", "BadLogEntry"),
    ("invalid-ct-key_fail", "NoValidSct"),
    ("invalid-inclusion-proof_fail", "BadLogEntry"),
    ("managed-key-no-key_fail", "KeyRequired"),
    // Its key.pub is a corrupted point: no key at all.
    ("managed-key-wrong-key_fail", "UnsupportedKey"),
    ("message-digest-mismatch_fail", "DigestMismatch"),
    (
        "rekor2-checkpoint-missing-log-signature_fail",
        "BadLogEntry",
    ),
    ("rekor2-checkpoint-missing-origin_fail", "BadLogEntry"),
    ("rekor2-checkpoint-missing-root-hash_fail", "BadLogEntry"),
    ("rekor2-checkpoint-missing-size_fail", "BadLogEntry"),
    (
        "rekor2-checkpoint-no-matching-signature_fail",
        "BadLogEntry",
    ),
    ("rekor2-dsse-invalid-sig_fail", "BadSignature"),
    ("rekor2-dsse-mismatch-envelope_fail", "LogEntryMismatch"),
    ("rekor2-dsse-mismatch-sig_fail", "LogEntryMismatch"),
    ("rekor2-no-inclusion-proof_fail", "MissingInclusionProof"),
    ("rekor2-no-timestamp_fail", "NoVerifiedTime"),
    (
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        "BadTimestamp",
    ),
    (
        "rekor2-timestamp-outside-tsa-cert-validity_fail",
        "BadTimestamp",
    ),
    ("rekor2-timestamp-payload-mismatch_fail", "BadTimestamp"),
    (
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "BadTimestamp",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
        "BadTimestamp",
    ),
    (
        "rekor2-timestamp-with-incorrect-time_fail",
        "CertificateNotValidAt",
    ),
    ("set-invalid-signature_fail", "BadLogEntry"),
    ("signature-mismatch_fail", "BadSignature"),
    (
        "trust-root-tlog-missing-validity-start_fail",
        "MalformedTrustedRoot",
    ),
    ("wrong-hashedrekord-artifact_fail", "LogEntryMismatch"),
    ("wrong-hashedrekord-cert-and-sig_fail", "LogEntryMismatch"),
    ("wrong-hashedrekord-entry_fail", "LogEntryMismatch"),
    ("wrong-material_fail", "DigestMismatch"),
];

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigstore-conformance")
}

fn read_optional(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_owned())
}

fn run(dir: &Path) -> Result<Verified, SigstoreError> {
    let artifact = std::fs::read(dir.join("artifact"))
        .unwrap_or_else(|_| std::fs::read(vectors().join("a.txt")).unwrap());
    let root = match std::fs::read(dir.join("trusted_root.json")) {
        Ok(json) => TrustedRoot::parse(&json)?,
        Err(_) => TrustedRoot::public_good(),
    };
    let key = read_optional(dir, "key.pub").map(|pem| pem_to_der(&pem).expect("key.pub is PEM"));
    let identity = read_optional(dir, "identity").unwrap_or_else(|| DEFAULT_IDENTITY.to_owned());
    let issuer = read_optional(dir, "issuer").unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
    let policy = Policy {
        identity: Some(&identity),
        issuer: Some(&issuer),
        key: key.as_deref(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let bundle = Bundle::parse(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap())?;
    verify(&bundle, &sha256(&artifact), &root, &policy, now)
}

#[test]
fn conformance_vectors() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(vectors().join("bundle-verify"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() > 60, "the vectors are missing");
    let mut wrong = Vec::new();
    let (mut verified, mut refused) = (0, 0);
    for dir in &cases {
        let name = dir.file_name().unwrap().to_str().unwrap();
        let result = run(dir);
        let outcome = match &result {
            Ok(v) => format!("verified {:?}", v.signed_by),
            Err(e) => format!("refused: {e}"),
        };
        println!("{name}: {outcome}");
        match (name.ends_with("_fail"), &result) {
            (true, Err(error)) => {
                let why = REFUSALS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, why)| *why);
                match why {
                    Some(why) if format!("{error:?}").starts_with(why) => refused += 1,
                    Some(why) => wrong.push(format!("{name}: refused as {error:?}, not {why}")),
                    None => wrong.push(format!("{name}: no expected refusal listed in REFUSALS")),
                }
            }
            (false, Ok(_)) => verified += 1,
            _ => wrong.push(format!("{name}: {outcome}")),
        }
    }
    println!("{verified} verified, {refused} refused as they must be");
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!((verified, refused), (21, 49), "every vector is counted");
}
