//! What an SBOM lists (issue #22, item 3): the packages of an SPDX or CycloneDX document, as
//! attached (JSON), or inside an in-toto statement, or inside a DSSE envelope around one; and
//! how two images' package lists differ.

use serde_json::Value;

use super::{base64_decode, TrustError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbomFormat {
    Spdx,
    CycloneDx,
}

/// One package as the table shows it.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Package {
    pub name: String,
    pub version: Option<String>,
    pub license: Option<String>,
    pub purl: Option<String>,
}

impl Package {
    pub fn new(
        name: &str,
        version: Option<&str>,
        license: Option<&str>,
        purl: Option<&str>,
    ) -> Self {
        Self {
            name: name.into(),
            version: version.map(Into::into),
            license: license.map(Into::into),
            purl: purl.map(Into::into),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sbom {
    pub format: SbomFormat,
    /// `SPDX-2.3`, `1.5`, …
    pub spec_version: String,
    pub packages: Vec<Package>,
}

/// How many wrappings (DSSE, in-toto) are read through; real ones have two.
const MAX_DEPTH: usize = 4;

/// The packages of an SBOM document.
pub fn read_sbom(bytes: &[u8]) -> Result<Sbom, TrustError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| malformed(&e.to_string()))?;
    read_value(&value, 0)
}

fn malformed(reason: &str) -> TrustError {
    TrustError::MalformedSbom {
        reason: reason.to_owned(),
    }
}

fn read_value(value: &Value, depth: usize) -> Result<Sbom, TrustError> {
    if depth > MAX_DEPTH {
        return Err(malformed("it is wrapped too deeply"));
    }
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    if let Some(version) = text("spdxVersion") {
        return Ok(Sbom {
            format: SbomFormat::Spdx,
            spec_version: version.to_owned(),
            packages: spdx_packages(value),
        });
    }
    if text("bomFormat") == Some("CycloneDX") {
        let mut packages = Vec::new();
        cyclonedx_components(value.get("components"), &mut packages);
        return Ok(Sbom {
            format: SbomFormat::CycloneDx,
            spec_version: text("specVersion").unwrap_or("?").to_owned(),
            packages,
        });
    }
    // A Sigstore bundle carries the DSSE envelope.
    if let Some(envelope) = value.get("dsseEnvelope") {
        return read_value(envelope, depth + 1);
    }
    // An in-toto statement carries the SBOM as its predicate.
    if let Some(predicate) = value.get("predicate") {
        return read_value(predicate, depth + 1);
    }
    // A DSSE envelope carries the statement, base64.
    if let Some(payload) = text("payload") {
        let bytes =
            base64_decode(payload).ok_or_else(|| malformed("its DSSE payload is not base64"))?;
        let inner: Value = serde_json::from_slice(&bytes).map_err(|e| malformed(&e.to_string()))?;
        return read_value(&inner, depth + 1);
    }
    Err(malformed(
        "it is neither SPDX (spdxVersion) nor CycloneDX (bomFormat), nor an attestation around one",
    ))
}

fn spdx_packages(document: &Value) -> Vec<Package> {
    let asserted = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty() && *v != "NOASSERTION" && *v != "NONE")
            .map(str::to_owned)
    };
    document
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|package| {
            let name = package.get("name")?.as_str()?.to_owned();
            let purl = package
                .get("externalRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                .and_then(|r| r.get("referenceLocator"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            Some(Package {
                name,
                version: asserted(package.get("versionInfo")),
                license: asserted(package.get("licenseConcluded"))
                    .or_else(|| asserted(package.get("licenseDeclared"))),
                purl,
            })
        })
        .collect()
}

fn cyclonedx_components(components: Option<&Value>, out: &mut Vec<Package>) {
    for component in components.and_then(Value::as_array).into_iter().flatten() {
        let text = |key: &str| {
            component
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if let Some(name) = text("name") {
            let license = component
                .get("licenses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|choice| {
                    choice
                        .get("expression")
                        .or_else(|| choice.pointer("/license/id"))
                        .or_else(|| choice.pointer("/license/name"))
                        .and_then(Value::as_str)
                })
                .collect::<Vec<_>>();
            out.push(Package {
                name,
                version: text("version"),
                license: (!license.is_empty()).then(|| license.join(" AND ")),
                purl: text("purl"),
            });
        }
        cyclonedx_components(component.get("components"), out);
    }
}

/// How the packages of `after` differ from those of `before`, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageChanges {
    pub added: Vec<Package>,
    pub removed: Vec<Package>,
    /// Name, version before, version after.
    pub changed: Vec<(String, Option<String>, Option<String>)>,
}

pub fn compare(before: &[Package], after: &[Package]) -> PackageChanges {
    let mut changes = PackageChanges::default();
    for package in after {
        match before.iter().find(|p| p.name == package.name) {
            None => changes.added.push(package.clone()),
            Some(old) if old.version != package.version => changes.changed.push((
                package.name.clone(),
                old.version.clone(),
                package.version.clone(),
            )),
            Some(_) => {}
        }
    }
    changes.removed = before
        .iter()
        .filter(|p| !after.iter().any(|a| a.name == p.name))
        .cloned()
        .collect();
    changes.added.sort();
    changes.removed.sort();
    changes.changed.sort();
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPDX: &str = r#"{"spdxVersion":"SPDX-2.3","name":"img","packages":[
        {"name":"busybox","versionInfo":"1.36.1","licenseConcluded":"GPL-2.0-only",
         "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:apk/alpine/busybox@1.36.1"}]},
        {"name":"musl","versionInfo":"NOASSERTION","licenseConcluded":"NOASSERTION","licenseDeclared":"MIT"},
        {"versionInfo":"no name: skipped"}]}"#;
    const CYCLONEDX: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
        {"type":"library","name":"openssl","version":"3.1.4","purl":"pkg:deb/debian/openssl@3.1.4","licenses":[{"license":{"id":"Apache-2.0"}}],
         "components":[{"name":"libssl3","version":"3.1.4","licenses":[{"expression":"Apache-2.0 OR MIT"}]}]},
        {"name":"zlib"}]}"#;

    fn package(name: &str, v: Option<&str>, l: Option<&str>, purl: Option<&str>) -> Package {
        Package::new(name, v, l, purl)
    }

    #[test]
    fn an_sbom_inside_a_sigstore_bundle_is_read() {
        let statement = serde_json::json!({"_type": "https://in-toto.io/Statement/v1",
            "predicateType": "https://cyclonedx.org/bom", "subject": [],
            "predicate": serde_json::from_str::<Value>(CYCLONEDX).unwrap()});
        let payload = crate::protocol::auth::base64(statement.to_string().as_bytes());
        let bundle = serde_json::json!({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {}, "dsseEnvelope": {"payloadType": "application/vnd.in-toto+json",
            "payload": payload, "signatures": []}});
        let sbom = read_sbom(bundle.to_string().as_bytes()).unwrap();
        assert_eq!(sbom.format, SbomFormat::CycloneDx);
        assert_eq!(sbom.packages.len(), 3);
    }

    #[test]
    fn reads_spdx_and_cyclonedx_packages() {
        let spdx = read_sbom(SPDX.as_bytes()).unwrap();
        assert_eq!(
            (spdx.format, spdx.spec_version.as_str()),
            (SbomFormat::Spdx, "SPDX-2.3")
        );
        assert_eq!(
            spdx.packages,
            [
                package(
                    "busybox",
                    Some("1.36.1"),
                    Some("GPL-2.0-only"),
                    Some("pkg:apk/alpine/busybox@1.36.1")
                ),
                package("musl", None, Some("MIT"), None),
            ]
        );
        let cdx = read_sbom(CYCLONEDX.as_bytes()).unwrap();
        assert_eq!(
            (cdx.format, cdx.spec_version.as_str()),
            (SbomFormat::CycloneDx, "1.5")
        );
        assert_eq!(
            cdx.packages,
            [
                package(
                    "openssl",
                    Some("3.1.4"),
                    Some("Apache-2.0"),
                    Some("pkg:deb/debian/openssl@3.1.4")
                ),
                package("libssl3", Some("3.1.4"), Some("Apache-2.0 OR MIT"), None),
                package("zlib", None, None, None),
            ]
        );
    }

    #[test]
    fn reads_through_in_toto_statements_and_dsse_envelopes() {
        let statement = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://spdx.dev/Document","predicate":{SPDX}}}"#
        );
        assert_eq!(read_sbom(statement.as_bytes()).unwrap().packages.len(), 2);
        // base64 of the statement, as a DSSE envelope carries it.
        let encoded = {
            const TABLE: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let bytes = statement.as_bytes();
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
                for i in 0..=chunk.len() {
                    out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
                }
            }
            out
        };
        let envelope = format!(
            r#"{{"payloadType":"application/vnd.in-toto+json","payload":"{encoded}","signatures":[]}}"#
        );
        assert_eq!(read_sbom(envelope.as_bytes()).unwrap().packages.len(), 2);
        for bad in [&b"[]"[..], b"{}", b"nope", br#"{"payload":"!!"}"#] {
            assert!(
                matches!(read_sbom(bad), Err(TrustError::MalformedSbom { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn compares_two_package_lists() {
        let before = [
            package("a", Some("1"), None, None),
            package("b", Some("1"), None, None),
            package("c", None, None, None),
        ];
        let after = [
            package("a", Some("1"), None, None),
            package("b", Some("2"), None, None),
            package("d", Some("1"), None, None),
        ];
        let changes = compare(&before, &after);
        assert_eq!(changes.added, [package("d", Some("1"), None, None)]);
        assert_eq!(changes.removed, [package("c", None, None, None)]);
        assert_eq!(
            changes.changed,
            [("b".to_owned(), Some("1".to_owned()), Some("2".to_owned()))]
        );
        assert_eq!(compare(&after, &after), PackageChanges::default());
    }
}
