//! Sigstore's conformance vectors (tests/sigstore-conformance, Apache-2.0, see its NOTICE.md)
//! against Skiff's verifier: every case meant to verify verifies, every case meant to fail
//! fails; a case whose kind Skiff does not check yet is listed in `NOT_COVERED` and must fail
//! with the error that says so (so covering it later means taking it off the list).

use std::path::{Path, PathBuf};

use skiff_core::trust::sigstore::bundle::Bundle;
use skiff_core::trust::sigstore::crypto::{pem_to_der, sha256};
use skiff_core::trust::sigstore::root::TrustedRoot;
use skiff_core::trust::sigstore::{verify, Policy, SigstoreError, Verified};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Cases of a kind Skiff does not check yet, with the reason.
const NOT_COVERED: &[(&str, &str)] = &[];

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
    let (mut verified, mut refused, mut not_covered) = (0, 0, 0);
    for dir in &cases {
        let name = dir.file_name().unwrap().to_str().unwrap();
        let result = run(dir);
        let uncovered = NOT_COVERED.iter().find(|(n, _)| *n == name);
        let outcome = match &result {
            Ok(v) => format!("verified {:?}", v.signed_by),
            Err(e) => format!("refused: {e}"),
        };
        println!("{name}: {outcome}");
        match (uncovered, name.ends_with("_fail"), &result) {
            (Some(_), _, Err(SigstoreError::UnsupportedLogEntry { .. })) => not_covered += 1,
            (Some((_, why)), _, _) => wrong.push(format!("{name} (not covered: {why}): {outcome}")),
            (None, true, Err(_)) => refused += 1,
            (None, false, Ok(_)) => verified += 1,
            (None, _, _) => wrong.push(format!("{name}: {outcome}")),
        }
    }
    println!("{verified} verified, {refused} refused as they must be, {not_covered} not covered");
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
