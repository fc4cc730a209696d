//! A Sigstore bundle (`application/vnd.dev.sigstore.bundle…`, versions 0.1 to 0.3) read from
//! its protobuf JSON into types: every base64 field decoded, every number checked, so the
//! verifier works on bytes and never on strings.

use serde::Deserialize;

use super::SigstoreError;
use crate::trust::base64_decode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BundleVersion {
    V01,
    V02,
    V03,
}

#[derive(Clone, Debug)]
pub enum Material {
    /// The signing certificate (DER), and the rest of a chain a 0.1/0.2 bundle carried.
    Certificate { leaf: Vec<u8>, rest: Vec<Vec<u8>> },
    /// Signed with a key the verifier is given (`hint` names it).
    PublicKey { hint: Option<String> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub payload: Vec<u8>,
    pub payload_type: String,
    pub signatures: Vec<Vec<u8>>,
}

#[derive(Clone, Debug)]
pub enum Content {
    /// A signature over the artifact, with the digest the signer says it had (a hint).
    MessageSignature {
        digest: Option<(String, Vec<u8>)>,
        signature: Vec<u8>,
    },
    Dsse(Envelope),
}

#[derive(Clone, Debug)]
pub struct InclusionProof {
    pub log_index: u64,
    pub root_hash: Vec<u8>,
    pub tree_size: u64,
    pub hashes: Vec<Vec<u8>>,
    pub checkpoint: String,
}

#[derive(Clone, Debug)]
pub struct TlogEntry {
    pub log_index: u64,
    pub log_id: Vec<u8>,
    pub kind: String,
    pub version: String,
    /// Seconds since the epoch; 0 when the log gives none (Rekor v2).
    pub integrated_time: i64,
    pub signed_entry_timestamp: Option<Vec<u8>>,
    pub inclusion_proof: Option<InclusionProof>,
    pub body: Vec<u8>,
    /// The body as the bundle carried it (base64), which is what the SET signs.
    pub body_base64: String,
}

#[derive(Clone, Debug)]
pub struct Bundle {
    pub version: BundleVersion,
    pub material: Material,
    pub tlog_entries: Vec<TlogEntry>,
    /// RFC 3161 timestamp responses (DER).
    pub timestamps: Vec<Vec<u8>>,
    pub content: Content,
}

pub const BUNDLE_MEDIA_TYPES: &[(&str, BundleVersion)] = &[
    (
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        BundleVersion::V01,
    ),
    (
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        BundleVersion::V02,
    ),
    (
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        BundleVersion::V03,
    ),
    (
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        BundleVersion::V03,
    ),
];

impl Bundle {
    pub fn parse(json: &[u8]) -> Result<Self, SigstoreError> {
        let raw: RawBundle = serde_json::from_slice(json).map_err(|e| malformed(e.to_string()))?;
        let version = BUNDLE_MEDIA_TYPES
            .iter()
            .find(|(media_type, _)| *media_type == raw.media_type)
            .map(|(_, version)| *version)
            .ok_or_else(|| SigstoreError::UnknownBundleVersion {
                media_type: raw.media_type.clone(),
            })?;
        let material = raw.verification_material;
        let material_kind = match (
            material.certificate,
            material.x509_certificate_chain,
            material.public_key,
        ) {
            (Some(cert), None, None) => Material::Certificate {
                leaf: decode(&cert.raw_bytes, "the certificate")?,
                rest: Vec::new(),
            },
            (None, Some(chain), None) => {
                let mut certificates = chain
                    .certificates
                    .iter()
                    .map(|c| decode(&c.raw_bytes, "a certificate of the chain"))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter();
                let leaf = certificates
                    .next()
                    .ok_or_else(|| malformed("its certificate chain is empty".to_owned()))?;
                Material::Certificate {
                    leaf,
                    rest: certificates.collect(),
                }
            }
            (None, None, Some(key)) => Material::PublicKey { hint: key.hint },
            _ => {
                return Err(malformed(
                    "it needs exactly one of certificate, x509CertificateChain and publicKey"
                        .to_owned(),
                ))
            }
        };
        let tlog_entries = material
            .tlog_entries
            .into_iter()
            .map(TlogEntry::from_raw)
            .collect::<Result<Vec<_>, _>>()?;
        let timestamps = material
            .timestamp_verification_data
            .map(|data| data.rfc3161_timestamps)
            .unwrap_or_default()
            .iter()
            .map(|t| decode(&t.signed_timestamp, "an RFC 3161 timestamp"))
            .collect::<Result<Vec<_>, _>>()?;
        let content = match (raw.message_signature, raw.dsse_envelope) {
            (Some(message), None) => Content::MessageSignature {
                digest: message
                    .message_digest
                    .map(|d| {
                        Ok::<_, SigstoreError>((
                            d.algorithm,
                            decode(&d.digest, "the message digest")?,
                        ))
                    })
                    .transpose()?,
                signature: decode(&message.signature, "the signature")?,
            },
            (None, Some(envelope)) => Content::Dsse(Envelope {
                payload: decode(&envelope.payload, "the DSSE payload")?,
                payload_type: envelope.payload_type,
                signatures: envelope
                    .signatures
                    .iter()
                    .map(|s| decode(&s.sig, "a DSSE signature"))
                    .collect::<Result<_, _>>()?,
            }),
            _ => {
                return Err(malformed(
                    "it needs exactly one of messageSignature and dsseEnvelope".to_owned(),
                ))
            }
        };
        Ok(Self {
            version,
            material: material_kind,
            tlog_entries,
            timestamps,
            content,
        })
    }
}

impl TlogEntry {
    fn from_raw(raw: RawTlogEntry) -> Result<Self, SigstoreError> {
        let inclusion_proof = raw
            .inclusion_proof
            .map(|proof| {
                Ok::<_, SigstoreError>(InclusionProof {
                    log_index: unsigned(&proof.log_index, "the inclusion proof's log index")?,
                    root_hash: decode(&proof.root_hash, "the inclusion proof's root hash")?,
                    tree_size: unsigned(&proof.tree_size, "the inclusion proof's tree size")?,
                    hashes: proof
                        .hashes
                        .iter()
                        .map(|h| decode(h, "an inclusion proof hash"))
                        .collect::<Result<_, _>>()?,
                    checkpoint: proof.checkpoint.map(|c| c.envelope).unwrap_or_default(),
                })
            })
            .transpose()?;
        let integrated_time = match &raw.integrated_time {
            Some(time) => i64::try_from(unsigned(time, "the integrated time")?)
                .map_err(|_| malformed("its integrated time is out of range".to_owned()))?,
            None => 0,
        };
        Ok(Self {
            log_index: unsigned(&raw.log_index, "the log index")?,
            log_id: decode(&raw.log_id.key_id, "the log ID")?,
            kind: raw.kind_version.kind,
            version: raw.kind_version.version,
            integrated_time,
            signed_entry_timestamp: raw
                .inclusion_promise
                .map(|p| decode(&p.signed_entry_timestamp, "the signed entry timestamp"))
                .transpose()?,
            inclusion_proof,
            body: decode(&raw.canonicalized_body, "the log entry's body")?,
            body_base64: raw.canonicalized_body,
        })
    }
}

fn malformed(reason: String) -> SigstoreError {
    SigstoreError::MalformedBundle { reason }
}

fn decode(text: &str, what: &str) -> Result<Vec<u8>, SigstoreError> {
    base64_decode(text).ok_or_else(|| malformed(format!("{what} is not base64")))
}

/// Protobuf's JSON writes 64-bit integers as strings (or numbers); a negative one is refused.
fn unsigned(number: &Int64, what: &str) -> Result<u64, SigstoreError> {
    let text = match number {
        Int64::Text(text) => text.clone(),
        Int64::Number(n) => n.to_string(),
    };
    text.parse::<u64>()
        .map_err(|_| malformed(format!("{what} ({text}) is not a number of zero or more")))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Int64 {
    Text(String),
    Number(i64),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: RawMaterial,
    message_signature: Option<RawMessageSignature>,
    dsse_envelope: Option<RawEnvelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    certificate: Option<RawBytes>,
    x509_certificate_chain: Option<RawChain>,
    public_key: Option<RawKeyHint>,
    #[serde(default)]
    tlog_entries: Vec<RawTlogEntry>,
    timestamp_verification_data: Option<RawTimestamps>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawBytes {
    pub(super) raw_bytes: String,
}

#[derive(Deserialize)]
struct RawChain {
    #[serde(default)]
    certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
struct RawKeyHint {
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestamps {
    #[serde(default)]
    rfc3161_timestamps: Vec<RawTimestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestamp {
    signed_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTlogEntry {
    log_index: Int64,
    log_id: RawLogId,
    kind_version: RawKindVersion,
    integrated_time: Option<Int64>,
    inclusion_promise: Option<RawPromise>,
    inclusion_proof: Option<RawProof>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawLogId {
    pub(super) key_id: String,
}

#[derive(Deserialize)]
struct RawKindVersion {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPromise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProof {
    log_index: Int64,
    root_hash: String,
    tree_size: Int64,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    message_digest: Option<RawDigest>,
    signature: String,
}

#[derive(Deserialize)]
struct RawDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEnvelope {
    payload: String,
    payload_type: String,
    #[serde(default)]
    signatures: Vec<RawDsseSignature>,
}

#[derive(Deserialize)]
struct RawDsseSignature {
    sig: String,
}
