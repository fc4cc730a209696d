//! Sigstore's `trusted_root.json`: the certificate authorities (Fulcio), transparency logs
//! (Rekor), certificate transparency logs and timestamp authorities a verifier trusts, each
//! with the time it was valid for. The public-good instance's root ships with Skiff; another
//! one (a private Sigstore) can be given instead.

use serde::Deserialize;

use super::bundle::{RawBytes, RawLogId};
use super::crypto::{sha256, VerifyingKey};
use super::SigstoreError;
use crate::time::days_from_civil;
use crate::trust::base64_decode;

/// Sigstore's public-good trusted root, as published in sigstore/root-signing
/// (`targets/trusted_root.json`, Apache-2.0).
pub const PUBLIC_GOOD_TRUSTED_ROOT: &str = include_str!("public_good_trusted_root.json");

/// Milliseconds since the epoch.
pub type Millis = i64;

/// A closed interval: both ends included; no end is open-ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub start: Millis,
    pub end: Option<Millis>,
}

impl Validity {
    pub fn contains(&self, time: Millis) -> bool {
        time >= self.start && self.end.is_none_or(|end| time <= end)
    }
}

#[derive(Clone, Debug)]
pub struct LogKey {
    /// SHA-256 of the key's DER (Rekor's and CT's log ID).
    pub log_id: Vec<u8>,
    pub key: VerifyingKey,
    pub spki: Vec<u8>,
    pub validity: Validity,
}

#[derive(Clone, Debug)]
pub struct Authority {
    /// DER certificates, the issuing one first, the root last.
    pub chain: Vec<Vec<u8>>,
    pub validity: Validity,
}

#[derive(Clone, Debug)]
pub struct TrustedRoot {
    pub certificate_authorities: Vec<Authority>,
    pub transparency_logs: Vec<LogKey>,
    pub ct_logs: Vec<LogKey>,
    pub timestamp_authorities: Vec<Authority>,
}

impl TrustedRoot {
    pub fn public_good() -> Self {
        Self::parse(PUBLIC_GOOD_TRUSTED_ROOT.as_bytes())
            .expect("the trusted root shipped with Skiff is valid")
    }

    pub fn parse(json: &[u8]) -> Result<Self, SigstoreError> {
        let raw: RawRoot = serde_json::from_slice(json).map_err(|e| malformed(e.to_string()))?;
        if !raw
            .media_type
            .starts_with("application/vnd.dev.sigstore.trustedroot")
        {
            return Err(malformed(format!(
                "its mediaType is {:?}, not a Sigstore trusted root",
                raw.media_type
            )));
        }
        Ok(Self {
            certificate_authorities: raw
                .certificate_authorities
                .into_iter()
                .map(Authority::from_raw)
                .collect::<Result<_, _>>()?,
            transparency_logs: raw
                .tlogs
                .into_iter()
                .filter_map(LogKey::from_raw)
                .collect::<Result<_, _>>()?,
            ct_logs: raw
                .ctlogs
                .into_iter()
                .filter_map(LogKey::from_raw)
                .collect::<Result<_, _>>()?,
            timestamp_authorities: raw
                .timestamp_authorities
                .into_iter()
                .map(Authority::from_raw)
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn transparency_log(&self, log_id: &[u8]) -> Option<&LogKey> {
        self.transparency_logs.iter().find(|l| l.log_id == log_id)
    }
}

impl LogKey {
    /// `None` for a log whose key this root leaves out (a key it no longer gives).
    fn from_raw(raw: RawLog) -> Option<Result<Self, SigstoreError>> {
        let public_key = raw.public_key?;
        let raw_bytes = public_key.raw_bytes?;
        Some((|| {
            let spki = base64_decode(&raw_bytes)
                .ok_or_else(|| malformed("a log's public key is not base64".to_owned()))?;
            let log_id = match raw.log_id {
                Some(id) => base64_decode(&id.key_id)
                    .ok_or_else(|| malformed("a log ID is not base64".to_owned()))?,
                None => sha256(&spki).to_vec(),
            };
            let validity = validity(public_key.valid_for, "a log's key")?;
            Ok(Self {
                key: VerifyingKey::from_spki(&spki)?,
                log_id,
                spki,
                validity,
            })
        })())
        // A key Skiff cannot verify with (an old RSA CT log) is left out: what it signed
        // then counts as signed by a log the root does not name.
        .filter(|log| !matches!(log, Err(SigstoreError::UnsupportedKey { .. })))
    }
}

impl Authority {
    fn from_raw(raw: RawAuthority) -> Result<Self, SigstoreError> {
        let chain = raw
            .cert_chain
            .map(|c| c.certificates)
            .unwrap_or_default()
            .iter()
            .map(|c| {
                base64_decode(&c.raw_bytes)
                    .ok_or_else(|| malformed("a certificate is not base64".to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if chain.is_empty() {
            return Err(malformed("an authority has no certificates".to_owned()));
        }
        Ok(Self {
            chain,
            validity: validity(raw.valid_for, "an authority")?,
        })
    }
}

fn validity(raw: Option<RawValidity>, what: &str) -> Result<Validity, SigstoreError> {
    let raw = raw.ok_or_else(|| malformed(format!("{what} has no validFor")))?;
    let start = raw
        .start
        .ok_or_else(|| malformed(format!("{what}'s validFor has no start")))?;
    Ok(Validity {
        start: parse_rfc3339(&start)
            .ok_or_else(|| malformed(format!("{what}'s start {start:?} is not a time")))?,
        end: raw
            .end
            .map(|end| {
                parse_rfc3339(&end)
                    .ok_or_else(|| malformed(format!("{what}'s end {end:?} is not a time")))
            })
            .transpose()?,
    })
}

fn malformed(reason: String) -> SigstoreError {
    SigstoreError::MalformedTrustedRoot { reason }
}

/// `2022-04-13T20:06:15.123Z` (or with an offset) as milliseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes[16] != b':' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3 = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = first3.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let hours: i64 = rest[1..3].parse().ok()?;
            let minutes: i64 = rest[4..6].parse().ok()?;
            sign * (hours * 60 + minutes)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(60) - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawAuthority>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    public_key: Option<RawPublicKey>,
    log_id: Option<RawLogId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPublicKey {
    raw_bytes: Option<String>,
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
struct RawValidity {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    cert_chain: Option<RawCertChain>,
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
struct RawCertChain {
    #[serde(default)]
    certificates: Vec<RawBytes>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read() {
        let table = [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2022-12-31T23:59:59.999Z", Some(1_672_531_199_999)),
            ("2021-01-12T11:53:27Z", Some(1_610_452_407_000)),
            ("2021-01-12T12:53:27+01:00", Some(1_610_452_407_000)),
            ("2021-01-12T11:53:27.5Z", Some(1_610_452_407_500)),
            ("2021-13-12T11:53:27Z", None),
            ("2021-01-12", None),
            ("2021-01-12T11:53:27", None),
            ("2021-01-12T11:53:27.Z", None),
        ];
        for (text, expected) in table {
            assert_eq!(parse_rfc3339(text), expected, "{text}");
        }
    }

    #[test]
    fn times_are_written() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2026-12-04T08:47:26Z",
            "1969-12-31T23:59:59Z",
        ] {
            let millis = parse_rfc3339(text).unwrap();
            assert_eq!(
                crate::time::utc(millis),
                text.replace('T', " ").replace('Z', " UTC")
            );
        }
    }

    #[test]
    fn validity_is_a_closed_interval() {
        let v = Validity {
            start: 10,
            end: Some(20),
        };
        assert!(v.contains(10) && v.contains(20) && !v.contains(9) && !v.contains(21));
        assert!(Validity {
            start: 10,
            end: None
        }
        .contains(i64::MAX));
    }

    #[test]
    fn the_public_good_root_is_read() {
        let root = TrustedRoot::public_good();
        assert!(root.certificate_authorities.len() >= 2);
        assert!(!root.transparency_logs.is_empty() && !root.ct_logs.is_empty());
    }

    #[test]
    fn a_log_without_a_start_is_refused() {
        let json = br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1",
          "tlogs":[{"publicKey":{"rawBytes":"AA==","validFor":{"end":"2030-01-01T00:00:00Z"}}}]}"#;
        let error = TrustedRoot::parse(json).unwrap_err().to_string();
        assert!(error.contains("has no start"), "{error}");
    }
}
