//! Verifies a Sigstore bundle with Skiff's verifier, from a terminal: for checking a bundle
//! (or the rig's own Sigstore instance) without the browser.
//!
//! `cargo run -p skiff-core --example sigstore_verify -- BUNDLE sha256:DIGEST [TRUSTED_ROOT] [IDENTITY ISSUER]`

use skiff_core::trust::sigstore::bundle::Bundle;
use skiff_core::trust::sigstore::root::TrustedRoot;
use skiff_core::trust::sigstore::{verify, Policy};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bundle, digest, rest @ ..] = args.as_slice() else {
        eprintln!("usage: sigstore_verify BUNDLE sha256:DIGEST [TRUSTED_ROOT] [IDENTITY ISSUER]");
        std::process::exit(2);
    };
    let bundle = Bundle::parse(&std::fs::read(bundle).expect("the bundle can be read"));
    let root = match rest.first() {
        Some(path) => TrustedRoot::parse(&std::fs::read(path).expect("the root can be read")),
        None => Ok(TrustedRoot::public_good()),
    };
    let hex = digest.strip_prefix("sha256:").expect("a sha256: digest");
    let digest: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let digest: [u8; 32] = digest.try_into().expect("32 bytes");
    let policy = Policy {
        identity: rest.get(1).map(String::as_str),
        issuer: rest.get(2).map(String::as_str),
        key: None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    match bundle.and_then(|b| root.and_then(|r| verify(&b, &digest, &r, &policy, now))) {
        Ok(verified) => println!("verified: {verified:?}"),
        Err(error) => {
            println!("refused: {error}");
            std::process::exit(1);
        }
    }
}
