//! Image references as `docker pull` understands them.
//!
//! Grammar and normalization follow distribution's `reference` package: a first path component
//! with a `.` or `:`, or one that is `localhost` or has capitals, names a registry; otherwise the
//! registry is `docker.io`, where one-component names get `library/`. Without tag or digest the
//! tag is `latest`.

use std::fmt;
use std::str::FromStr;

use crate::{Digest, Error, Platform};

pub const DOCKER_HUB: &str = "docker.io";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// A parsed, normalized image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Registry host as written, with port: `docker.io`, `ghcr.io`, `localhost:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Repository path inside the registry: `library/nginx`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag; `latest` when the input named neither tag nor digest.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What goes after `/manifests/`: the digest when pinned, else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// The name `docker images` shows: `nginx`, `bitnami/redis`, `ghcr.io/org/app`.
    pub fn familiar_name(&self) -> String {
        if self.registry == DOCKER_HUB {
            match self.repository.strip_prefix("library/") {
                Some(rest) if !rest.contains('/') => rest.to_owned(),
                _ => self.repository.clone(),
            }
        } else {
            format!("{}/{}", self.registry, self.repository)
        }
    }

    /// `registry/repository` without tag or digest: `docker.io/library/nginx`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag `docker load` gives the image (`nginx:latest`), as `docker pull` would name it;
    /// `None` for a pull by digest alone, which docker leaves untagged too.
    pub fn repo_tag(&self) -> Option<String> {
        self.tag
            .as_ref()
            .map(|tag| format!("{}:{tag}", self.familiar_name()))
    }

    /// `<repo>_<tag>.tar`, using the last path component: `nginx_latest.tar`.
    pub fn archive_file_name(&self) -> String {
        let repo = self.repository.rsplit('/').next().unwrap_or("image");
        let suffix = match (&self.tag, &self.digest) {
            (Some(tag), _) => tag.clone(),
            (None, Some(digest)) => format!("sha256-{}", &digest.hex()[..12]),
            (None, None) => "latest".to_owned(),
        };
        format!("{repo}_{suffix}.tar")
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidReference {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        if input.is_empty() {
            return Err(invalid(
                "it is empty; type an image name such as `nginx` or `ghcr.io/org/app:1.0`",
            ));
        }
        if input.chars().any(char::is_whitespace) {
            return Err(invalid("it contains spaces"));
        }
        if let Some((scheme, _)) = input.split_once("://") {
            return Err(invalid(&format!(
                "drop the `{scheme}://`: references name the registry host only, e.g. `ghcr.io/org/app`"
            )));
        }

        let (name, digest) = match input.split_once('@') {
            Some((name, digest)) => (name, Some(digest.parse::<Digest>()?)),
            None => (input, None),
        };
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        if let Some(tag) = tag {
            check_tag(tag).map_err(|reason| invalid(&reason))?;
        }

        let (registry, path) = split_registry(name);
        if let Some(registry) = registry {
            check_registry(registry).map_err(|reason| invalid(&reason))?;
        }
        if path.is_empty() {
            return Err(invalid("the repository name is missing"));
        }
        if registry.is_none() && tag.is_none() && digest.is_none() && is_image_id(path) {
            return Err(invalid(
                "a 64-character hex string is an image ID, not a reference; use `name@sha256:<hex>`",
            ));
        }
        for component in path.split('/') {
            check_path_component(component).map_err(|reason| invalid(&reason))?;
        }

        let registry = match registry {
            None | Some("index.docker.io") => DOCKER_HUB,
            Some(other) => other,
        };
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(invalid("the name is longer than 255 characters"));
        }

        let tag = match (tag, &digest) {
            (Some(tag), _) => Some(tag.to_owned()),
            (None, Some(_)) => None,
            (None, None) => Some("latest".to_owned()),
        };
        Ok(Self {
            registry: registry.to_owned(),
            repository,
            tag,
            digest,
        })
    }
}

/// A registry host as references name it: Docker Hub's aliases become `docker.io`.
pub fn normalize_registry(host: &str) -> String {
    match host.to_ascii_lowercase().as_str() {
        "" => String::new(),
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" | DOCKER_HUB => {
            DOCKER_HUB.to_owned()
        }
        _ => host.to_owned(),
    }
}

fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn is_image_id(path: &str) -> bool {
    path.len() == 64 && path.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_tag(tag: &str) -> Result<(), String> {
    let mut chars = tag.chars();
    let Some(first) = chars.next() else {
        return Err("the tag after `:` is empty".to_owned());
    };
    if tag.len() > MAX_TAG_LEN {
        return Err(format!("the tag is longer than {MAX_TAG_LEN} characters"));
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if !word(first) || !chars.all(|c| word(c) || c == '.' || c == '-') {
        return Err(format!(
            "tag {tag:?} may only use letters, digits, `_`, `.` and `-`, and must not start with `.` or `-`"
        ));
    }
    Ok(())
}

fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        // IPv6 literal: `[::1]:5000`.
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("registry {registry:?} has an unclosed `[`"))?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("registry {registry:?} is not a valid IPv6 address"));
        }
        match after {
            "" => return Ok(()),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return Err(format!("registry {registry:?} is not a valid host")),
            },
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if !host.split('.').all(label_ok) {
            return Err(format!("registry host {host:?} is not a valid host name"));
        }
    }
    if let Some(port) = port {
        if port.is_empty()
            || !port.chars().all(|c| c.is_ascii_digit())
            || port.parse::<u16>().is_err()
        {
            return Err(format!(
                "registry port {port:?} is not a number from 0 to 65535"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn check_path_component(component: &str) -> Result<(), String> {
    if component.is_empty() {
        return Err(
            "the repository path has an empty component (`//` or a trailing `/`)".to_owned(),
        );
    }
    if component.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "repository names must be lowercase (`{}`)",
            component.to_ascii_lowercase()
        ));
    }
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bad = || {
        Err(format!(
            "{component:?} is not a valid repository name component: use lowercase letters and digits, separated by `.`, `_`, `__` or `-`"
        ))
    };
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return bad();
        }
        if i == bytes.len() {
            return Ok(());
        }
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        match &component[sep_start..i] {
            "." | "_" | "__" => {}
            sep if sep.bytes().all(|b| b == b'-') => {}
            _ => return bad(),
        }
    }
}

/// What the user typed in the image box: a reference, or a whole pasted pull command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullInput {
    pub reference: Reference,
    /// The value of a pasted `--platform`.
    pub platform: Option<Platform>,
}

impl FromStr for PullInput {
    type Err = Error;

    /// Accepts `nginx`, `docker pull nginx:1.27`, `podman pull --platform linux/arm64 x`, … .
    fn from_str(input: &str) -> Result<Self, Error> {
        let trimmed = input.trim();
        let mut words = trimmed.split_whitespace().peekable();
        let mut positional = Vec::new();
        let mut platform = None;
        if matches!(words.peek(), Some(&("docker" | "podman" | "nerdctl"))) {
            words.next();
            if words.peek() == Some(&"image") {
                words.next();
            }
            if words.next() != Some("pull") {
                return Err(Error::InvalidReference {
                    input: trimmed.to_owned(),
                    reason: "only `pull` commands can be pasted here".to_owned(),
                });
            }
        }
        while let Some(word) = words.next() {
            if word == "--platform" {
                platform = words.next().map(str::parse).transpose()?;
            } else if let Some(value) = word.strip_prefix("--platform=") {
                platform = Some(value.parse()?);
            } else if !word.starts_with('-') {
                positional.push(word);
            }
        }
        match positional.as_slice() {
            [one] => Ok(Self {
                reference: one.parse()?,
                platform,
            }),
            [] => Err(Error::InvalidReference {
                input: trimmed.to_owned(),
                reason: "it is empty; type an image name such as `nginx` or `ghcr.io/org/app:1.0`"
                    .to_owned(),
            }),
            _ => Err(Error::InvalidReference {
                input: trimmed.to_owned(),
                reason: "it names more than one image; give one reference".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn normalizes_like_docker() {
        let digest = format!("sha256:{HEX}");
        let cases: Vec<(String, String)> = vec![
            ("nginx".into(), "docker.io/library/nginx:latest".into()),
            ("nginx:1.27".into(), "docker.io/library/nginx:1.27".into()),
            (
                "library/nginx".into(),
                "docker.io/library/nginx:latest".into(),
            ),
            (
                "docker.io/nginx".into(),
                "docker.io/library/nginx:latest".into(),
            ),
            (
                "index.docker.io/nginx:1".into(),
                "docker.io/library/nginx:1".into(),
            ),
            (
                "docker.io/library/nginx:latest".into(),
                "docker.io/library/nginx:latest".into(),
            ),
            (
                "bitnami/redis:7.2".into(),
                "docker.io/bitnami/redis:7.2".into(),
            ),
            ("ghcr.io/org/app:v1.0".into(), "ghcr.io/org/app:v1.0".into()),
            (
                "ghcr.io/org/team/app".into(),
                "ghcr.io/org/team/app:latest".into(),
            ),
            ("localhost/app".into(), "localhost/app:latest".into()),
            (
                "localhost:5000/team/app:tag".into(),
                "localhost:5000/team/app:tag".into(),
            ),
            (
                "127.0.0.1:5000/app".into(),
                "127.0.0.1:5000/app:latest".into(),
            ),
            ("[::1]:5000/app:x".into(), "[::1]:5000/app:x".into()),
            ("Registry/app".into(), "Registry/app:latest".into()),
            (
                "quay.io/a.b/c_d__e-f---g".into(),
                "quay.io/a.b/c_d__e-f---g:latest".into(),
            ),
            (
                format!("nginx@{digest}"),
                format!("docker.io/library/nginx@{digest}"),
            ),
            (
                format!("nginx:1.27@{digest}"),
                format!("docker.io/library/nginx:1.27@{digest}"),
            ),
            (
                format!("ghcr.io/o/a@{digest}"),
                format!("ghcr.io/o/a@{digest}"),
            ),
            (
                "busybox:1.36.1-musl".into(),
                "docker.io/library/busybox:1.36.1-musl".into(),
            ),
            ("myhost:5000/a/b/c:_x".into(), "myhost:5000/a/b/c:_x".into()),
        ];
        for (input, expected) in cases {
            let reference: Reference = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(reference.to_string(), expected, "{input}");
        }
    }

    #[test]
    fn rejects_invalid_references() {
        let cases = [
            ("", "empty"),
            ("Nginx", "lowercase"),
            ("docker.io/Library/nginx", "lowercase"),
            ("nginx:", "tag after `:` is empty"),
            ("nginx:-bad", "must not start"),
            ("nginx:a/b", "port"),
            ("nginx@sha256:1234", "64 hex"),
            ("nginx@md5:abcd", "only sha256"),
            ("https://ghcr.io/org/app", "drop the `https://`"),
            ("a//b", "empty component"),
            ("app/", "empty component"),
            ("-app", "not a valid repository name component"),
            ("app-", "not a valid repository name component"),
            ("a..b", "not a valid repository name component"),
            ("a___b", "not a valid repository name component"),
            ("ngi nx", "spaces"),
            (HEX, "image ID"),
            ("localhost:99999/app", "port"),
            ("my_host.io/app", "not a valid host name"),
            ("-host.io/app", "not a valid host name"),
            ("[zz]:5000/app", "IPv6"),
            ("[:::::]:5000/app", "IPv6"),
            ("[1::2::3]/app", "IPv6"),
            ("[]:5000/app", "IPv6"),
        ];
        for (input, needle) in cases {
            match input.parse::<Reference>() {
                Err(err) => {
                    let message = err.to_string();
                    assert!(message.contains(needle), "{input:?}: {message}");
                }
                Ok(reference) => panic!("{input:?} parsed as {reference}"),
            }
        }
        let long = format!("registry.io/{}", "a".repeat(250));
        assert!(long.parse::<Reference>().is_err());
        let long_tag = format!("app:{}", "t".repeat(129));
        assert!(long_tag.parse::<Reference>().is_err());
    }

    #[test]
    fn names_for_docker_load() {
        let hub: Reference = "nginx:1.27".parse().unwrap();
        assert_eq!(hub.repo_tag().as_deref(), Some("nginx:1.27"));
        assert_eq!(hub.archive_file_name(), "nginx_1.27.tar");
        assert_eq!(hub.manifest_reference(), "1.27");
        let org: Reference = "bitnami/redis".parse().unwrap();
        assert_eq!(org.repo_tag().as_deref(), Some("bitnami/redis:latest"));
        let other: Reference = "localhost:5000/team/app:v2".parse().unwrap();
        assert_eq!(
            other.repo_tag().as_deref(),
            Some("localhost:5000/team/app:v2")
        );
        assert_eq!(other.archive_file_name(), "app_v2.tar");
        let pinned: Reference = format!("ghcr.io/o/app@sha256:{HEX}").parse().unwrap();
        assert_eq!(pinned.repo_tag(), None);
        assert_eq!(pinned.archive_file_name(), "app_sha256-e3b0c44298fc.tar");
        assert_eq!(pinned.manifest_reference(), format!("sha256:{HEX}"));
    }

    #[test]
    fn normalizes_registry_hosts() {
        assert_eq!(normalize_registry("index.docker.io"), "docker.io");
        assert_eq!(normalize_registry("registry-1.docker.io"), "docker.io");
        assert_eq!(normalize_registry("ghcr.io"), "ghcr.io");
        assert_eq!(normalize_registry("localhost:5000"), "localhost:5000");
    }

    #[test]
    fn accepts_pasted_pull_commands() {
        let input: PullInput = "  docker pull nginx:1.27 ".parse().unwrap();
        assert_eq!(input.reference.to_string(), "docker.io/library/nginx:1.27");
        assert_eq!(input.platform, None);
        let input: PullInput = "podman image pull --platform linux/arm64 -q ghcr.io/o/a"
            .parse()
            .unwrap();
        assert_eq!(input.reference.to_string(), "ghcr.io/o/a:latest");
        assert_eq!(input.platform.unwrap().to_string(), "linux/arm64");
        let input: PullInput = "docker pull --platform=linux/amd64 busybox"
            .parse()
            .unwrap();
        assert_eq!(input.platform, Some(Platform::linux_amd64()));
        assert!("docker pull --platform linux busybox"
            .parse::<PullInput>()
            .is_err());
        assert!("docker run nginx".parse::<PullInput>().is_err());
        assert!("docker pull".parse::<PullInput>().is_err());
        assert!("nginx redis".parse::<PullInput>().is_err());
    }
}
