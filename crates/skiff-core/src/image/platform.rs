//! Platforms (`linux/amd64`, `linux/arm64/v8`, `windows/amd64`) and choosing one from an index.

use std::fmt;
use std::str::FromStr;

use crate::image::manifest::{Descriptor, ImageIndex, PlatformSpec};
use crate::Error;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn linux_amd64() -> Self {
        Self {
            os: "linux".to_owned(),
            architecture: "amd64".to_owned(),
            variant: None,
        }
    }

    /// containerd's normalization: `aarch64` is `arm64`, whose default variant is `v8`; `arm`
    /// defaults to `v7`; `x86_64` is `amd64`.
    fn normalized(&self) -> (String, String, Option<String>) {
        let os = self.os.to_ascii_lowercase();
        let architecture = match self.architecture.to_ascii_lowercase().as_str() {
            "x86_64" | "x86-64" => "amd64".to_owned(),
            "aarch64" => "arm64".to_owned(),
            "i386" => "386".to_owned(),
            other => other.to_owned(),
        };
        let variant = self.variant.as_ref().map(|v| v.to_ascii_lowercase());
        let variant = match (architecture.as_str(), variant.as_deref()) {
            ("arm64", None | Some("8") | Some("v8")) => None,
            ("arm", None | Some("7")) => Some("v7".to_owned()),
            ("amd64", Some("v1")) => None,
            (_, other) => other.map(str::to_owned),
        };
        (os, architecture, variant)
    }

    pub fn matches(&self, spec: &PlatformSpec) -> bool {
        self.normalized() == Platform::from(spec).normalized()
    }
}

impl From<&PlatformSpec> for Platform {
    fn from(spec: &PlatformSpec) -> Self {
        Self {
            os: spec.os.clone(),
            architecture: spec.architecture.clone(),
            variant: spec.variant.clone(),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidPlatform {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let parts: Vec<&str> = input.trim().split('/').collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        };
        if !parts.iter().all(|p| valid(p)) {
            return Err(invalid(
                "use os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8",
            ));
        }
        match parts.as_slice() {
            [os, architecture] => Ok(Self {
                os: os.to_ascii_lowercase(),
                architecture: architecture.to_ascii_lowercase(),
                variant: None,
            }),
            [os, architecture, variant] => Ok(Self {
                os: os.to_ascii_lowercase(),
                architecture: architecture.to_ascii_lowercase(),
                variant: Some(variant.to_ascii_lowercase()),
            }),
            _ => Err(invalid(
                "use os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8",
            )),
        }
    }
}

/// An index entry that is a real image for some platform, not an attestation or other artifact.
pub fn is_runnable_entry(descriptor: &Descriptor) -> bool {
    let attestation = descriptor
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("vnd.docker.reference.type"));
    let unknown = descriptor
        .platform
        .as_ref()
        .is_some_and(|p| p.os == "unknown" || p.architecture == "unknown");
    descriptor.platform.is_some() && !attestation && !unknown
}

/// What an index offers, attestations hidden, with a readable label each: `linux/arm64/v8`,
/// `windows/amd64 10.0.17763.5820`.
pub fn offered(index: &ImageIndex) -> Vec<(String, &Descriptor)> {
    index
        .manifests
        .iter()
        .filter(|d| is_runnable_entry(d))
        .map(|d| {
            let spec = d
                .platform
                .as_ref()
                .expect("runnable entries have a platform");
            let mut label = Platform::from(spec).to_string();
            if let Some(version) = &spec.os_version {
                label.push(' ');
                label.push_str(version);
            }
            (label, d)
        })
        .collect()
}

/// The entry for `wanted`. With several (Windows builds by `os.version`), the first, as docker
/// does when no version is asked for.
pub fn choose<'a>(index: &'a ImageIndex, wanted: &Platform) -> Option<&'a Descriptor> {
    index
        .manifests
        .iter()
        .filter(|d| is_runnable_entry(d))
        .find(|d| d.platform.as_ref().is_some_and(|p| wanted.matches(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::manifest::Manifest;

    fn index() -> ImageIndex {
        let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"{a}","platform":{{"architecture":"amd64","os":"linux"}}}},
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"{b}","platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"{c}","platform":{{"architecture":"arm","os":"linux","variant":"v6"}}}},
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"{d}","platform":{{"architecture":"amd64","os":"windows","os.version":"10.0.17763.5820"}}}},
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"{e}","platform":{{"architecture":"unknown","os":"unknown"}},"annotations":{{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"{a}"}}}}
            ]}}"#,
            a = digest('a'),
            b = digest('b'),
            c = digest('c'),
            d = digest('d'),
            e = digest('e')
        );
        match Manifest::parse(None, body.as_bytes()).unwrap().0 {
            Manifest::Index(index) => index,
            Manifest::Image(_) => panic!("an index"),
        }
    }

    #[test]
    fn parses_and_displays_platforms() {
        assert_eq!(
            "linux/amd64".parse::<Platform>().unwrap(),
            Platform::linux_amd64()
        );
        let arm: Platform = "Linux/ARM64/v8".parse().unwrap();
        assert_eq!(arm.to_string(), "linux/arm64/v8");
        for bad in ["", "linux", "linux/", "a/b/c/d", "linux/am d64"] {
            assert!(
                matches!(bad.parse::<Platform>(), Err(Error::InvalidPlatform { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn lists_offers_without_attestations() {
        let index = index();
        let labels: Vec<String> = offered(&index)
            .into_iter()
            .map(|(label, _)| label)
            .collect();
        assert_eq!(
            labels,
            [
                "linux/amd64",
                "linux/arm64/v8",
                "linux/arm/v6",
                "windows/amd64 10.0.17763.5820"
            ]
        );
    }

    #[test]
    fn chooses_with_normalization() {
        let index = index();
        let hex = |d: &Descriptor| d.digest.hex().chars().next().unwrap();
        let pick = |p: &str| choose(&index, &p.parse().unwrap()).map(hex);
        assert_eq!(pick("linux/amd64"), Some('a'));
        assert_eq!(pick("linux/arm64"), Some('b'));
        assert_eq!(pick("linux/aarch64"), Some('b'));
        assert_eq!(pick("linux/arm64/v8"), Some('b'));
        assert_eq!(pick("linux/arm/v6"), Some('c'));
        assert_eq!(
            pick("linux/arm"),
            None,
            "arm means arm/v7, which is not offered"
        );
        assert_eq!(pick("windows/amd64"), Some('d'));
        assert_eq!(pick("unknown/unknown"), None);
        assert_eq!(pick("linux/s390x"), None);
    }
}
