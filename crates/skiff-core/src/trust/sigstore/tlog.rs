//! A transparency log entry (Rekor's) checked offline: the log's signed promise to include
//! it (the SET), the Merkle inclusion proof with the signed checkpoint it ends in, and that
//! the entry's body is about this signature, this artifact and this signer.

use serde_json::Value;

use super::bundle::{Content, InclusionProof, TlogEntry};
use super::crypto::{hex, pem_to_der, sha256};
use super::root::LogKey;
use super::SigstoreError;
use crate::trust::base64_decode;

/// Whether the SET signs this entry: Rekor signs the canonical JSON of body, integrated time,
/// log ID and index.
pub fn verify_promise(entry: &TlogEntry, log: &LogKey, set: &[u8]) -> Result<(), SigstoreError> {
    let signed = format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        entry.body_base64,
        entry.integrated_time,
        hex(&entry.log_id),
        entry.log_index
    );
    if log.key.verifies(signed.as_bytes(), set) {
        Ok(())
    } else {
        Err(SigstoreError::BadLogEntry {
            reason: "its signed entry timestamp (SET) does not verify with the log's key"
                .to_owned(),
        })
    }
}

/// The Merkle inclusion proof (RFC 9162 §2.1.3.2) from the entry's leaf to the root its
/// checkpoint signs, and that checkpoint's signature by the log.
pub fn verify_inclusion(
    entry: &TlogEntry,
    proof: &InclusionProof,
    log: &LogKey,
) -> Result<(), SigstoreError> {
    let bad = |reason: &str| SigstoreError::BadLogEntry {
        reason: reason.to_owned(),
    };
    let leaf = leaf_hash(&entry.body);
    let root = root_from_proof(proof.log_index, proof.tree_size, leaf, &proof.hashes)
        .ok_or_else(|| bad("its inclusion proof is malformed for the tree size it gives"))?;
    if root.as_slice() != proof.root_hash.as_slice() {
        return Err(bad(
            "its inclusion proof does not lead to the root hash it gives",
        ));
    }
    let checkpoint =
        Checkpoint::parse(&proof.checkpoint).ok_or_else(|| bad("its checkpoint cannot be read"))?;
    if checkpoint.size != proof.tree_size || checkpoint.root_hash != proof.root_hash {
        return Err(bad(
            "its checkpoint is for another tree than its inclusion proof",
        ));
    }
    if !checkpoint.signed_by(log) {
        return Err(bad("its checkpoint is not signed by the log"));
    }
    Ok(())
}

fn leaf_hash(body: &[u8]) -> [u8; 32] {
    let mut data = Vec::with_capacity(body.len() + 1);
    data.push(0);
    data.extend_from_slice(body);
    sha256(&data)
}

fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut data = Vec::with_capacity(65);
    data.push(1);
    data.extend_from_slice(left);
    data.extend_from_slice(right);
    sha256(&data)
}

/// The root a proof of `index` in a tree of `size` leaves computes; `None` if the proof has
/// the wrong length for them.
fn root_from_proof(index: u64, size: u64, leaf: [u8; 32], path: &[Vec<u8>]) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let (mut fn_, mut sn, mut hash) = (index, size - 1, leaf);
    for sibling in path {
        if sibling.len() != 32 || sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            hash = node_hash(sibling, &hash);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(hash)
}

/// A signed note (the checkpoint format): origin, tree size and root hash, then signatures.
#[derive(Debug)]
pub struct Checkpoint<'a> {
    pub origin: &'a str,
    pub size: u64,
    pub root_hash: Vec<u8>,
    /// The signed text: every line of the note before the blank one, with their newlines.
    pub text: &'a str,
    /// Each signature line's name and its bytes (a 4-byte key hint, then the signature).
    pub signatures: Vec<(&'a str, Vec<u8>)>,
}

impl<'a> Checkpoint<'a> {
    pub fn parse(envelope: &'a str) -> Option<Self> {
        let split = envelope.find("\n\n")?;
        let text = &envelope[..split + 1];
        let mut lines = text.lines();
        let origin = lines.next().filter(|o| !o.is_empty())?;
        let size = lines.next()?.parse().ok()?;
        let root_hash = base64_decode(lines.next()?)?;
        let mut signatures = Vec::new();
        for line in envelope[split + 2..].lines().filter(|l| !l.is_empty()) {
            let rest = line.strip_prefix("\u{2014} ")?;
            let (name, signature) = rest.rsplit_once(' ')?;
            let bytes = base64_decode(signature)?;
            if bytes.len() < 5 {
                return None;
            }
            signatures.push((name, bytes));
        }
        Some(Self {
            origin,
            size,
            root_hash,
            text,
            signatures,
        })
    }

    /// Whether a signature by `log` (named by its key hint) signs the note.
    pub fn signed_by(&self, log: &LogKey) -> bool {
        self.signatures.iter().any(|(name, bytes)| {
            let (hint, signature) = bytes.split_at(4);
            let hinted = hint == &log.log_id[..4] || hint == note_key_id(name, log).as_slice();
            hinted && log.key.verifies(self.text.as_bytes(), signature)
        })
    }
}

/// A signed note's key ID for an Ed25519 key: SHA-256 of name, newline, 0x01, key.
fn note_key_id(name: &str, log: &LogKey) -> [u8; 4] {
    let raw = &log.spki[log.spki.len().saturating_sub(32)..];
    let mut data = name.as_bytes().to_vec();
    data.push(b'\n');
    data.push(1);
    data.extend_from_slice(raw);
    let id = sha256(&data);
    [id[0], id[1], id[2], id[3]]
}

/// Who signed, as the log entry must name them.
#[derive(Clone, Copy, Debug)]
pub enum Signer<'a> {
    /// The signing certificate, DER.
    Certificate(&'a [u8]),
    /// A public key, DER SubjectPublicKeyInfo.
    Key(&'a [u8]),
}

impl Signer<'_> {
    fn der(&self) -> &[u8] {
        match self {
            Self::Certificate(der) | Self::Key(der) => der,
        }
    }
}

/// Whether the entry's body records this signature over `artifact_digest` (SHA-256) by
/// `signer`: an entry about something else proves nothing about this bundle.
pub fn verify_body(
    entry: &TlogEntry,
    content: &Content,
    artifact_digest: &[u8; 32],
    signer: Signer<'_>,
) -> Result<(), SigstoreError> {
    let mismatch = |what: &str| SigstoreError::LogEntryMismatch {
        what: what.to_owned(),
    };
    let body: Value =
        serde_json::from_slice(&entry.body).map_err(|_| mismatch("its body, which is not JSON"))?;
    let (kind, version) = (body["kind"].as_str(), body["apiVersion"].as_str());
    if kind != Some(entry.kind.as_str()) || version != Some(entry.version.as_str()) {
        return Err(mismatch("its kind and version"));
    }
    let spec = &body["spec"];
    let names_signer = |pem_base64: &Value| {
        pem_base64
            .as_str()
            .and_then(base64_decode)
            .and_then(|pem| pem_to_der(&String::from_utf8_lossy(&pem)))
            .is_some_and(|der| der == signer.der())
    };
    match (entry.kind.as_str(), entry.version.as_str(), content) {
        ("hashedrekord", "0.0.1", Content::MessageSignature { signature, .. }) => {
            let hash = &spec["data"]["hash"];
            if hash["algorithm"] != "sha256" || hash["value"] != hex(artifact_digest).as_str() {
                return Err(mismatch("the artifact's digest"));
            }
            let logged = spec["signature"]["content"]
                .as_str()
                .and_then(base64_decode);
            if logged.as_deref() != Some(signature.as_slice()) {
                return Err(mismatch("the signature"));
            }
            if !names_signer(&spec["signature"]["publicKey"]["content"]) {
                return Err(mismatch("the signer's certificate or key"));
            }
        }
        ("dsse", "0.0.1", Content::Dsse(envelope)) => {
            if spec["payloadHash"]["value"] != hex(&sha256(&envelope.payload)).as_str() {
                return Err(mismatch("the DSSE payload"));
            }
            let logged = spec["signatures"].as_array().cloned().unwrap_or_default();
            let same = logged.len() == envelope.signatures.len()
                && envelope.signatures.iter().all(|sig| {
                    logged.iter().any(|l| {
                        l["signature"].as_str().and_then(base64_decode).as_deref()
                            == Some(sig.as_slice())
                            && names_signer(&l["verifier"])
                    })
                });
            if !same {
                return Err(mismatch("the DSSE signatures"));
            }
        }
        ("intoto", "0.0.2", Content::Dsse(envelope)) => {
            let content = &spec["content"];
            if content["payloadHash"]["value"] != hex(&sha256(&envelope.payload)).as_str() {
                return Err(mismatch("the in-toto payload"));
            }
            let logged = content["envelope"]["signatures"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            // This version stores each signature base64-encoded twice.
            let same = logged.len() == envelope.signatures.len()
                && envelope.signatures.iter().all(|sig| {
                    logged.iter().any(|l| {
                        l["sig"]
                            .as_str()
                            .and_then(base64_decode)
                            .and_then(|inner| base64_decode(&String::from_utf8_lossy(&inner)))
                            .as_deref()
                            == Some(sig.as_slice())
                            && names_signer(&l["publicKey"])
                    })
                });
            if !same {
                return Err(mismatch("the in-toto signatures"));
            }
        }
        ("hashedrekord", "0.0.2", content) => {
            let spec = &spec["hashedRekordV002"];
            // Over a DSSE envelope, Rekor v2 records the hash of its pre-authentication encoding.
            let (digest, signature) = match content {
                Content::MessageSignature { signature, .. } => (*artifact_digest, signature),
                Content::Dsse(envelope) => match envelope.signatures.as_slice() {
                    [signature] => (
                        sha256(&super::pae(&envelope.payload_type, &envelope.payload)),
                        signature,
                    ),
                    _ => return Err(mismatch("the number of DSSE signatures")),
                },
            };
            let data = &spec["data"];
            let logged = data["digest"].as_str().and_then(base64_decode);
            if data["algorithm"] != "SHA2_256" || logged.as_deref() != Some(digest.as_slice()) {
                return Err(mismatch("the signed digest"));
            }
            if !same_signature(&spec["signature"], signature, signer) {
                return Err(mismatch("the signature or its signer"));
            }
        }
        ("dsse", "0.0.2", Content::Dsse(envelope)) => {
            let spec = &spec["dsseV002"];
            let hash = &spec["payloadHash"];
            let logged = hash["digest"].as_str().and_then(base64_decode);
            if hash["algorithm"] != "SHA2_256"
                || logged.as_deref() != Some(sha256(&envelope.payload).as_slice())
            {
                return Err(mismatch("the DSSE payload"));
            }
            let logged = spec["signatures"].as_array().cloned().unwrap_or_default();
            let same = logged.len() == envelope.signatures.len()
                && envelope
                    .signatures
                    .iter()
                    .all(|sig| logged.iter().any(|l| same_signature(l, sig, signer)));
            if !same {
                return Err(mismatch("the DSSE signatures"));
            }
        }
        (kind, version, _) => {
            return Err(SigstoreError::UnsupportedLogEntry {
                kind: format!("{kind} {version}"),
            })
        }
    }
    Ok(())
}

/// Rekor v2's `{content, verifier: {x509Certificate | publicKey: {rawBytes}}}`.
fn same_signature(logged: &Value, signature: &[u8], signer: Signer<'_>) -> bool {
    let content = logged["content"].as_str().and_then(base64_decode);
    let verifier = &logged["verifier"];
    let raw = match signer {
        Signer::Certificate(_) => &verifier["x509Certificate"]["rawBytes"],
        Signer::Key(_) => &verifier["publicKey"]["rawBytes"],
    };
    content.as_deref() == Some(signature)
        && raw.as_str().and_then(base64_decode).as_deref() == Some(signer.der())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of `n` leaves, its root, and an audit path, built the slow way (RFC 9162 §2.1.1).
    fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
        match leaves.len() {
            1 => leaves[0],
            n => {
                let k = n.next_power_of_two() / 2;
                let k = if k == n { n / 2 } else { k };
                node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
            }
        }
    }

    fn path(index: usize, leaves: &[[u8; 32]]) -> Vec<Vec<u8>> {
        if leaves.len() == 1 {
            return Vec::new();
        }
        let n = leaves.len();
        let k = n.next_power_of_two() / 2;
        let k = if k == n { n / 2 } else { k };
        if index < k {
            let mut p = path(index, &leaves[..k]);
            p.push(root(&leaves[k..]).to_vec());
            p
        } else {
            let mut p = path(index - k, &leaves[k..]);
            p.push(root(&leaves[..k]).to_vec());
            p
        }
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves() {
        for size in 1..=20u64 {
            let leaves: Vec<[u8; 32]> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let expected = root(&leaves);
            for index in 0..size {
                let proof = path(index as usize, &leaves);
                let got = root_from_proof(index, size, leaves[index as usize], &proof);
                assert_eq!(got, Some(expected), "leaf {index} of {size}");
                if let Some(first) = proof.first() {
                    let mut corrupted = proof.clone();
                    corrupted[0][0] ^= 1;
                    assert_ne!(
                        root_from_proof(index, size, leaves[index as usize], &corrupted),
                        Some(expected)
                    );
                    assert!(!first.is_empty());
                }
                let too_long = [proof.clone(), vec![vec![0; 32]]].concat();
                assert_eq!(
                    root_from_proof(index, size, leaves[index as usize], &too_long),
                    None
                );
            }
            assert_eq!(root_from_proof(size, size, leaves[0], &[]), None);
        }
    }

    #[test]
    fn checkpoints_are_read() {
        let note = "rekor.sigstore.dev - 1\n3\nAAAA\n\n\u{2014} rekor.sigstore.dev AQIDBAUG\n";
        let checkpoint = Checkpoint::parse(note).unwrap();
        assert_eq!(
            (checkpoint.origin, checkpoint.size),
            ("rekor.sigstore.dev - 1", 3)
        );
        assert_eq!(checkpoint.text, "rekor.sigstore.dev - 1\n3\nAAAA\n");
        assert_eq!(
            checkpoint.signatures,
            vec![("rekor.sigstore.dev", vec![1, 2, 3, 4, 5, 6])]
        );
        for broken in [
            "no blank line\n",
            "origin\nnot a size\nAAAA\n\n\u{2014} a AQIDBAUG\n",
            "origin\n3\nAAAA\n\n- a AQIDBAUG\n",
            "\n3\nAAAA\n\n\u{2014} a AQIDBAUG\n",
        ] {
            assert!(Checkpoint::parse(broken).is_none(), "{broken:?}");
        }
    }
}
