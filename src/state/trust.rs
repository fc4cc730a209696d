//! Who the user trusts to have signed, as typed: a public key, a keyless identity and its
//! issuer, a Sigstore trusted root. Turned into the core's [`TrustPolicy`] when used.

use skiff_core::trust::keys::PublicKey;
use skiff_core::trust::signatures::TrustPolicy;
use skiff_core::trust::sigstore::root::TrustedRoot;
use skiff_core::trust::TrustError;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignerFields {
    /// A public key, PEM (cosign.pub).
    pub key: String,
    /// A keyless certificate's identity (subject alternative name), exactly.
    pub identity: String,
    /// The OIDC issuer that vouched for it, exactly.
    pub issuer: String,
    /// A Sigstore trusted_root.json the user gave (its file name and text); none: the
    /// public-good instance.
    pub root: Option<(String, String)>,
}

impl SignerFields {
    /// Nothing asked of a signer.
    pub fn is_empty(&self) -> bool {
        self.key.trim().is_empty() && self.identity.trim().is_empty()
    }

    pub fn policy(&self) -> Result<TrustPolicy, TrustError> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(TrustPolicy {
            key: text(&self.key)
                .map(|pem| PublicKey::from_pem(&pem))
                .transpose()?,
            identity: text(&self.identity),
            issuer: text(&self.issuer),
            root: self
                .root
                .as_ref()
                .map(|(_, json)| TrustedRoot::parse(json.as_bytes()))
                .transpose()?,
        })
    }

    /// Who is required, in words: "the key sha256:…", "https://github.com/… (issuer …)".
    pub fn describe(&self, policy: &TrustPolicy) -> String {
        let identity = policy
            .identity
            .as_ref()
            .map(|identity| match &policy.issuer {
                Some(issuer) => format!("{identity} (issuer {issuer})"),
                None => identity.clone(),
            });
        let key = policy
            .key
            .as_ref()
            .map(|key| format!("the key you require ({})", key.fingerprint()));
        match (key, identity) {
            (Some(key), Some(identity)) => format!("{key} or by {identity}"),
            (Some(key), None) => key,
            (None, Some(identity)) => identity,
            (None, None) => "anyone you trust".to_owned(),
        }
    }
}
