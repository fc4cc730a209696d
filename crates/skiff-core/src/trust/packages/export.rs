//! A package list written as an SPDX 2.3 or a CycloneDX 1.5 JSON document, so an image without
//! an SBOM can be given one; `sbom::read_sbom` reads either back to the same list.

use std::collections::HashSet;

use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::percent_encode;
use crate::trust::sbom::Package;

/// What a document says about itself.
#[derive(Clone, Copy, Debug)]
pub struct DocumentInfo<'a> {
    /// The image's reference, the document's name.
    pub image: &'a str,
    /// Unique to the image, such as its digest: the SPDX namespace and the CycloneDX serial
    /// number derive from it.
    pub unique: &'a str,
    /// When the document is made, RFC 3339 in UTC (`2024-03-01T12:00:00Z`): the core has no
    /// clock.
    pub created: &'a str,
    /// Skiff's version, the tool that made the document.
    pub tool_version: &'a str,
}

/// An SPDX 2.3 document describing each package.
pub fn spdx_document(packages: &[Package], info: &DocumentInfo) -> Value {
    let mut extracted: Vec<&str> = Vec::new();
    let mut spdx_packages = Vec::new();
    let mut relationships = Vec::new();
    for (index, package) in packages.iter().enumerate() {
        // The position keeps identifiers unique when names repeat or sanitize alike.
        let id = format!("SPDXRef-Package-{}-{}", sanitize(&package.name), index + 1);
        let license = spdx_license(package.license.as_deref(), &mut extracted);
        let mut entry = Map::new();
        entry.insert("name".into(), json!(package.name));
        entry.insert("SPDXID".into(), json!(id));
        if let Some(version) = &package.version {
            entry.insert("versionInfo".into(), json!(version));
        }
        entry.insert("downloadLocation".into(), json!("NOASSERTION"));
        entry.insert("filesAnalyzed".into(), json!(false));
        entry.insert("licenseConcluded".into(), json!(license));
        entry.insert("licenseDeclared".into(), json!(license));
        if let Some(purl) = &package.purl {
            entry.insert(
                "externalRefs".into(),
                json!([{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": purl,
                }]),
            );
        }
        spdx_packages.push(Value::Object(entry));
        relationships.push(json!({
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": id,
        }));
    }
    let mut document = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": info.image,
        "documentNamespace": format!(
            "https://skiff.invalid/spdx/{}-{}",
            percent_encode(info.image, b"/:@"),
            percent_encode(info.unique, b"/:@"),
        ),
        "creationInfo": {
            "created": info.created,
            "creators": [format!("Tool: skiff-{}", info.tool_version)],
        },
        "packages": spdx_packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        document["hasExtractedLicensingInfos"] = extracted
            .iter()
            .enumerate()
            .map(|(index, text)| {
                json!({"licenseId": license_ref(text, index), "extractedText": text, "name": text})
            })
            .collect();
    }
    document
}

/// The license as SPDX writes it. Licenses that are not SPDX expressions (`MIT BSD`,
/// `custom`) go in as LicenseRefs, their text in `extracted`, for the document to stay valid.
fn spdx_license<'a>(license: Option<&'a str>, extracted: &mut Vec<&'a str>) -> String {
    match license {
        None => "NOASSERTION".to_owned(),
        Some(license) if is_spdx_expression(license) => license.to_owned(),
        Some(license) => {
            let index = match extracted.iter().position(|known| *known == license) {
                Some(index) => index,
                None => {
                    extracted.push(license);
                    extracted.len() - 1
                }
            };
            license_ref(license, index)
        }
    }
}

/// A CycloneDX 1.5 document with each package a library component of the image.
pub fn cyclonedx_document(packages: &[Package], info: &DocumentInfo) -> Value {
    let mut bom_refs = HashSet::new();
    let components: Vec<Value> = packages
        .iter()
        .enumerate()
        .map(|(index, package)| {
            let mut component = Map::new();
            component.insert("type".into(), json!("library"));
            component.insert("name".into(), json!(package.name));
            if let Some(version) = &package.version {
                component.insert("version".into(), json!(version));
            }
            if let Some(purl) = &package.purl {
                component.insert("purl".into(), json!(purl));
            }
            // purls start with `pkg:`, so they never meet the numbered ones.
            let bom_ref = match &package.purl {
                Some(purl) if bom_refs.insert(purl.clone()) => purl.clone(),
                _ => format!("component-{}", index + 1),
            };
            component.insert("bom-ref".into(), json!(bom_ref));
            if let Some(license) = &package.license {
                component.insert("licenses".into(), json!([cyclonedx_license(license)]));
            }
            Value::Object(component)
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial_number(packages, info),
        "version": 1,
        "metadata": {
            "timestamp": info.created,
            "tools": {
                "components": [{"type": "application", "name": "skiff", "version": info.tool_version}],
            },
            "component": {"type": "container", "name": info.image},
        },
        "components": components,
    })
}

/// CycloneDX checks `license.id` against the SPDX list, so only listed ids go there; other
/// single names go in `name`, and expressions in `expression`.
fn cyclonedx_license(license: &str) -> Value {
    let single = !license.contains([' ', '(', ')', '+']);
    if single && COMMON_SPDX_IDS.contains(&license) {
        json!({"license": {"id": license}})
    } else if is_spdx_expression(license) && (!single || license.starts_with("LicenseRef-")) {
        json!({"expression": license})
    } else {
        json!({"license": {"name": license}})
    }
}

/// The ids Alpine and Debian packages mostly use; a subset of the SPDX license list, enough
/// for `license.id` without carrying the whole list.
const COMMON_SPDX_IDS: &[&str] = &[
    "0BSD",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-2.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "BSL-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "EPL-2.0",
    "FTL",
    "GFDL-1.3-or-later",
    "GPL-1.0-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ICU",
    "IJG",
    "ISC",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Libpng",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "OFL-1.1",
    "OpenSSL",
    "PHP-3.01",
    "PSF-2.0",
    "PostgreSQL",
    "Python-2.0",
    "Ruby",
    "Sleepycat",
    "Unicode-DFS-2016",
    "Unlicense",
    "Vim",
    "WTFPL",
    "X11",
    "Zlib",
    "blessing",
    "bzip2-1.0.6",
    "curl",
    "libtiff",
];

/// Whether `license` follows the SPDX license expression grammar; the ids are not checked
/// against the list.
fn is_spdx_expression(license: &str) -> bool {
    let spaced = license.replace('(', " ( ").replace(')', " ) ");
    let mut depth = 0usize;
    let mut want_operand = true;
    for token in spaced.split_ascii_whitespace() {
        match (token, want_operand) {
            ("(", true) => depth += 1,
            (")", false) if depth > 0 => depth -= 1,
            ("AND" | "OR" | "WITH", false) => want_operand = true,
            ("AND" | "OR" | "WITH", true) => return false,
            (id, true) => {
                let id = id.strip_suffix('+').unwrap_or(id);
                if id.is_empty() || !id.bytes().all(is_id_byte) {
                    return false;
                }
                want_operand = false;
            }
            _ => return false,
        }
    }
    !want_operand && depth == 0
}

fn is_id_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.'
}

fn license_ref(text: &str, index: usize) -> String {
    format!("LicenseRef-{}-{}", sanitize(text), index + 1)
}

/// SPDX identifiers allow only letters, digits, `.` and `-`.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| match c.is_ascii() && is_id_byte(c as u8) {
            true => c,
            false => '-',
        })
        .collect()
}

/// `urn:uuid:` and a UUID from the SHA-256 of everything the document says, so the same
/// inputs give the same serial number. It is marked version 5 (name-based): CycloneDX wants
/// serial numbers that conform to RFC 4122, which defines versions 1 to 5 only.
fn serial_number(packages: &[Package], info: &DocumentInfo) -> String {
    let mut hasher = Sha256::new();
    let mut absorb = |part: Option<&str>| match part {
        None => hasher.update([0]),
        Some(text) => {
            hasher.update([1]);
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
    };
    for part in [info.image, info.unique, info.created, info.tool_version] {
        absorb(Some(part));
    }
    for package in packages {
        absorb(Some(&package.name));
        absorb(package.version.as_deref());
        absorb(package.license.as_deref());
        absorb(package.purl.as_deref());
    }
    let mut bytes: [u8; 16] = hasher.finalize()[..16].try_into().expect("16 of 32 bytes");
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    // RFC 4122's variant: 10xx.
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = crate::trust::hex(&bytes);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::packages::{read_apk_installed, read_dpkg_status};
    use crate::trust::sbom::{read_sbom, SbomFormat};

    const INFO: DocumentInfo = DocumentInfo {
        image: "docker.io/library/debian:bookworm",
        unique: "sha256:4a6b0c5d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b",
        created: "2024-03-01T12:00:00Z",
        tool_version: "0.1.0",
    };

    fn package(name: &str, v: Option<&str>, l: Option<&str>, purl: Option<&str>) -> Package {
        Package::new(name, v, l, purl)
    }

    /// Package lists as the readers give them, and the odd cases: repeated and unusual names,
    /// missing versions, licenses of every kind CycloneDX writes differently.
    fn lists() -> Vec<Vec<Package>> {
        let dpkg = b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\n\
            Architecture: amd64\n\nPackage: login\nStatus: install ok installed\n\
            Version: 1:4.13+dfsg1-1+b1\nArchitecture: amd64\n";
        let apk = b"P:musl\nV:1.2.4-r2\nA:aarch64\nL:MIT\n\n\
            P:libc-utils\nV:0.7.2-r5\nL:BSD-2-Clause AND BSD-3-Clause\n";
        vec![
            read_dpkg_status("var/lib/dpkg/status", dpkg, "debian")
                .unwrap()
                .packages,
            read_apk_installed("lib/apk/db/installed", apk, "alpine")
                .unwrap()
                .packages,
            vec![
                package(
                    "libstdc++6",
                    Some("12.2.0-14"),
                    Some("GPL-3.0-or-later WITH GCC-exception-3.1"),
                    Some("pkg:deb/debian/libstdc%2B%2B6@12.2.0-14"),
                ),
                package(
                    "libstdc++6",
                    Some("12.2.0-14"),
                    None,
                    Some("pkg:deb/debian/libstdc%2B%2B6@12.2.0-14"),
                ),
                package("no-version", None, Some("Public-Domain"), None),
                package("or-later", Some("1"), Some("GPL-2.0+"), None),
                package(
                    "grouped",
                    Some("1"),
                    Some("(MIT OR Apache-2.0) AND Zlib"),
                    None,
                ),
                package("ref", Some("1"), Some("LicenseRef-custom"), None),
                package("ünïcode name", Some("1"), Some("GPL-2.0-only"), None),
            ],
            vec![],
        ]
    }

    #[test]
    fn spdx_and_cyclonedx_documents_read_back_to_the_same_packages() {
        for packages in lists() {
            let spdx = serde_json::to_vec(&spdx_document(&packages, &INFO)).unwrap();
            let sbom = read_sbom(&spdx).unwrap();
            assert_eq!(
                (sbom.format, sbom.spec_version.as_str()),
                (SbomFormat::Spdx, "SPDX-2.3")
            );
            assert_eq!(sbom.packages, packages);
            let cyclonedx = serde_json::to_vec(&cyclonedx_document(&packages, &INFO)).unwrap();
            let sbom = read_sbom(&cyclonedx).unwrap();
            assert_eq!(
                (sbom.format, sbom.spec_version.as_str()),
                (SbomFormat::CycloneDx, "1.5")
            );
            assert_eq!(sbom.packages, packages);
        }
    }

    #[test]
    fn spdx_documents_have_the_required_fields_and_unique_identifiers() {
        let packages = &lists()[2];
        let document = spdx_document(packages, &INFO);
        assert_eq!(document["spdxVersion"], "SPDX-2.3");
        assert_eq!(document["dataLicense"], "CC0-1.0");
        assert_eq!(document["SPDXID"], "SPDXRef-DOCUMENT");
        assert_eq!(document["name"], INFO.image);
        assert_eq!(
            document["documentNamespace"],
            "https://skiff.invalid/spdx/docker.io/library/debian:bookworm-sha256:4a6b0c5d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b"
        );
        assert_eq!(
            document["creationInfo"],
            json!({"created": "2024-03-01T12:00:00Z", "creators": ["Tool: skiff-0.1.0"]})
        );
        let ids: Vec<&str> = document["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["SPDXID"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "SPDXRef-Package-libstdc--6-1",
                "SPDXRef-Package-libstdc--6-2",
                "SPDXRef-Package-no-version-3",
                "SPDXRef-Package-or-later-4",
                "SPDXRef-Package-grouped-5",
                "SPDXRef-Package-ref-6",
                "SPDXRef-Package--n-code-name-7",
            ]
        );
        let first = &document["packages"][0];
        assert_eq!(first["downloadLocation"], "NOASSERTION");
        assert_eq!(first["filesAnalyzed"], false);
        assert_eq!(
            first["licenseDeclared"],
            "GPL-3.0-or-later WITH GCC-exception-3.1"
        );
        assert_eq!(document["packages"][1]["licenseConcluded"], "NOASSERTION");
        assert_eq!(
            first["externalRefs"],
            json!([{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                    "referenceLocator": "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14"}])
        );
        let described: Vec<&str> = document["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|r| {
                assert_eq!(
                    (&r["spdxElementId"], &r["relationshipType"]),
                    (&json!("SPDXRef-DOCUMENT"), &json!("DESCRIBES"))
                )
            })
            .map(|r| r["relatedSpdxElement"].as_str().unwrap())
            .collect();
        assert_eq!(described, ids);
        assert!(document.get("hasExtractedLicensingInfos").is_none());
    }

    #[test]
    fn spdx_documents_carry_licenses_that_are_not_expressions_as_license_refs() {
        let packages = [
            package("a", None, Some("MIT BSD GPL2+"), None),
            package("b", None, Some("custom:proprietary"), None),
            package("c", None, Some("MIT BSD GPL2+"), None),
        ];
        let document = spdx_document(&packages, &INFO);
        let licenses: Vec<&str> = (0..3)
            .map(|i| {
                document["packages"][i]["licenseConcluded"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            licenses,
            [
                "LicenseRef-MIT-BSD-GPL2--1",
                "LicenseRef-custom-proprietary-2",
                "LicenseRef-MIT-BSD-GPL2--1"
            ]
        );
        assert_eq!(
            document["hasExtractedLicensingInfos"],
            json!([
                {"licenseId": "LicenseRef-MIT-BSD-GPL2--1", "extractedText": "MIT BSD GPL2+", "name": "MIT BSD GPL2+"},
                {"licenseId": "LicenseRef-custom-proprietary-2", "extractedText": "custom:proprietary", "name": "custom:proprietary"},
            ])
        );
        // CycloneDX has room for any text: those read back as they were.
        let cyclonedx = serde_json::to_vec(&cyclonedx_document(&packages, &INFO)).unwrap();
        assert_eq!(read_sbom(&cyclonedx).unwrap().packages, packages);
    }

    #[test]
    fn tells_spdx_expressions_by_their_grammar() {
        let table = [
            ("MIT", true),
            ("GPL-2.0+", true),
            ("MIT OR Apache-2.0", true),
            ("(MIT OR Apache-2.0) AND Zlib", true),
            ("GPL-3.0-or-later WITH GCC-exception-3.1", true),
            ("LicenseRef-foo.bar", true),
            ("MIT BSD", false),
            ("MIT AND", false),
            ("AND MIT", false),
            ("(MIT", false),
            ("MIT)", false),
            ("()", false),
            ("GPL2+ LGPL", false),
            ("custom:foo", false),
            ("MIT and BSD", false),
            ("+", false),
            ("", false),
        ];
        for (license, expected) in table {
            assert_eq!(is_spdx_expression(license), expected, "{license:?}");
        }
    }

    #[test]
    fn cyclonedx_documents_have_the_required_fields_and_unique_references() {
        let packages = &lists()[2];
        let document = cyclonedx_document(packages, &INFO);
        assert_eq!(document["bomFormat"], "CycloneDX");
        assert_eq!(document["specVersion"], "1.5");
        assert_eq!(document["version"], 1);
        assert_eq!(
            document["metadata"],
            json!({
                "timestamp": "2024-03-01T12:00:00Z",
                "tools": {"components": [{"type": "application", "name": "skiff", "version": "0.1.0"}]},
                "component": {"type": "container", "name": INFO.image},
            })
        );
        let components = document["components"].as_array().unwrap();
        assert!(components.iter().all(|c| c["type"] == "library"));
        let refs: Vec<&str> = components
            .iter()
            .map(|c| c["bom-ref"].as_str().unwrap())
            .collect();
        assert_eq!(
            refs,
            [
                "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14",
                "component-2",
                "component-3",
                "component-4",
                "component-5",
                "component-6",
                "component-7",
            ]
        );
        let licenses: Vec<&Value> = components.iter().map(|c| &c["licenses"]).collect();
        assert_eq!(
            licenses,
            [
                &json!([{"expression": "GPL-3.0-or-later WITH GCC-exception-3.1"}]),
                &Value::Null,
                &json!([{"license": {"name": "Public-Domain"}}]),
                &json!([{"expression": "GPL-2.0+"}]),
                &json!([{"expression": "(MIT OR Apache-2.0) AND Zlib"}]),
                &json!([{"expression": "LicenseRef-custom"}]),
                &json!([{"license": {"id": "GPL-2.0-only"}}]),
            ]
        );
    }

    #[test]
    fn cyclonedx_serial_numbers_are_uuids_that_follow_the_inputs() {
        let packages = &lists()[0];
        let serial = |packages: &[Package], info: &DocumentInfo| {
            cyclonedx_document(packages, info)["serialNumber"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let first = serial(packages, &INFO);
        let uuid = first.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(uuid
            .chars()
            .all(|c| c == '-' || matches!(c, '0'..='9' | 'a'..='f')));
        assert!(groups[2].starts_with('5'), "{uuid}");
        assert!(
            matches!(groups[3].chars().next(), Some('8' | '9' | 'a' | 'b')),
            "{uuid}"
        );
        assert_eq!(serial(packages, &INFO), first);
        assert_ne!(serial(&packages[1..], &INFO), first);
        assert_ne!(
            serial(
                packages,
                &DocumentInfo {
                    unique: "sha256:other",
                    ..INFO
                }
            ),
            first
        );
    }
}
