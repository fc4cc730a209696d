//! apk's database of installed packages: a stanza per package, one `X:value` line per field
//! (P name, V version, A architecture, L license, …), the file lists (F:, R:, a:, Z:) repeating.

use super::{
    excerpt, package_url, reject_binary, stanzas, PackageList, PackagesError, SkippedStanza,
};
use crate::trust::sbom::Package;

/// The packages of `lib/apk/db/installed`; everything apk lists there is installed.
pub fn read_apk_installed(
    path: &str,
    bytes: &[u8],
    distro: &str,
) -> Result<PackageList, PackagesError> {
    reject_binary(path, bytes)?;
    let mut list = PackageList::default();
    for stanza in stanzas(bytes) {
        let mut damage = None;
        let mut fields = Vec::new();
        for &(line, text) in &stanza.lines {
            match text {
                [key, b':', value @ ..] if key.is_ascii_alphabetic() => {
                    fields.push((*key, value, line))
                }
                _ => {
                    damage.get_or_insert(PackagesError::NotAField {
                        path: path.to_owned(),
                        line,
                        expected: "X:value",
                        text: excerpt(text),
                    });
                }
            }
        }
        let text = |key: u8, field: &'static str| -> Result<Option<&str>, PackagesError> {
            match fields.iter().find(|(k, _, _)| *k == key) {
                None => Ok(None),
                Some(&(_, value, line)) => std::str::from_utf8(value)
                    .map(|value| Some(value.trim()).filter(|v| !v.is_empty()))
                    .map_err(|_| PackagesError::NotUtf8 {
                        path: path.to_owned(),
                        line,
                        field,
                    }),
            }
        };
        let package = || -> Result<Package, PackagesError> {
            if let Some(damage) = damage.clone() {
                return Err(damage);
            }
            let name = text(b'P', "P (name)")?.ok_or_else(|| PackagesError::MissingField {
                path: path.to_owned(),
                line: stanza.first_line,
                field: "P (name)",
            })?;
            let version = text(b'V', "V (version)")?;
            Ok(Package {
                name: name.to_owned(),
                version: version.map(str::to_owned),
                license: text(b'L', "L (license)")?.map(str::to_owned),
                purl: Some(package_url(
                    "apk",
                    distro,
                    name,
                    version,
                    text(b'A', "A (architecture)")?,
                )),
            })
        };
        match package() {
            Ok(package) => list.packages.push(package),
            Err(reason) => list.skipped.push(SkippedStanza {
                line: stanza.first_line,
                package: text(b'P', "P (name)").ok().flatten().map(str::to_owned),
                reason,
            }),
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From an Alpine 3.19 image, file lists shortened.
    const ALPINE_3_19: &str = "\
C:Q1Ta1g3sSwz1LbMj5nYbv4Vn3yOc0=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407683
I:662528
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1705308480
c:03c2d87c6d1d0bba1e3d0e8b0bd6a0ac1d3e0a5e
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1d1vaNm6hLTqqpx3PxGZUuyLOnbE=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=

C:Q1lNpJnH6FHNbGZtRrk8WoY9UrxYM=
P:busybox
V:1.36.1-r15
A:x86_64
S:509228
I:959488
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
m:Sören Tempel <soeren+alpine@soeren-tempel.net>
t:1705308480
c:2dc9da6b1ec7ac8a0f3d9a3bd43de2a0bfe91ae0
D:so:libc.musl-x86_64.so.1
p:cmd:busybox=1.36.1-r15
r:busybox-initscripts
F:bin
R:busybox
a:0:0:755
Z:Q1WUwBY0eOGgzhVxTZxu/z6NzFG4s=
F:etc
R:securetty
Z:Q1mB95Hq2NUTZ599RDiSsj9w5FrOU=

C:Q1Kj8ETQaNEK8J+CDaqVbIiMvBmNY=
P:libc-utils
V:0.7.2-r5
A:x86_64
S:1473
I:4096
T:Meta package to pull in correct libc
U:https://alpinelinux.org
L:BSD-2-Clause AND BSD-3-Clause
o:libc-dev
m:Natanael Copa <ncopa@alpinelinux.org>
t:1693233436
c:6a1c2bbd0b3a0a6b4a2d7b5c0e1c2b3a4d5e6f70
D:musl-utils

C:Q1j3Yp9VA6Z1l2uS3Xg9Rnn5B1zYk=
P:ca-certificates-bundle
V:20240226-r0
A:x86_64
S:128024
I:237568
T:Pre generated bundle of Mozilla certificates
U:https://www.mozilla.org/en-US/about/governance/policies/security-group/certs/
L:MPL-2.0 AND MIT
o:ca-certificates
m:Natanael Copa <ncopa@alpinelinux.org>
t:1709143839
c:4a3b5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d
p:ca-certificates-cacert=20240226-r0
F:etc
F:etc/ssl
F:etc/ssl/certs
R:ca-certificates.crt
Z:Q1cV/rP1q4DQLLH8sUyXJ9FqTjQKc=
";

    fn apk(name: &str, version: &str, license: &str, purl: &str) -> Package {
        Package::new(name, Some(version), Some(license), Some(purl))
    }

    #[test]
    fn lists_the_packages_of_an_alpine_3_19_database() {
        let list =
            read_apk_installed("lib/apk/db/installed", ALPINE_3_19.as_bytes(), "alpine").unwrap();
        assert_eq!(list.skipped, []);
        assert_eq!(
            list.packages,
            [
                apk(
                    "musl",
                    "1.2.4_git20230717-r4",
                    "MIT",
                    "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64"
                ),
                apk(
                    "busybox",
                    "1.36.1-r15",
                    "GPL-2.0-only",
                    "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64"
                ),
                apk(
                    "libc-utils",
                    "0.7.2-r5",
                    "BSD-2-Clause AND BSD-3-Clause",
                    "pkg:apk/alpine/libc-utils@0.7.2-r5?arch=x86_64"
                ),
                apk(
                    "ca-certificates-bundle",
                    "20240226-r0",
                    "MPL-2.0 AND MIT",
                    "pkg:apk/alpine/ca-certificates-bundle@20240226-r0?arch=x86_64"
                ),
            ]
        );
    }

    #[test]
    fn skips_damaged_stanzas_and_keeps_the_others() {
        let path = "lib/apk/db/installed";
        let skipped = |line, package: Option<&str>, reason| SkippedStanza {
            line,
            package: package.map(Into::into),
            reason,
        };
        let table: &[(&[u8], &[&str], &[SkippedStanza])] = &[
            (
                b"V:1.0-r0\nA:x86_64\n\nP:zlib\nV:1.3.1-r0\n",
                &["zlib"],
                &[skipped(
                    1,
                    None,
                    PackagesError::MissingField {
                        path: path.into(),
                        line: 1,
                        field: "P (name)",
                    },
                )],
            ),
            (
                b"P:zlib\nV:1.3.1-r0\nPackage: zlib\n\nP:musl\n",
                &["musl"],
                &[skipped(
                    1,
                    Some("zlib"),
                    PackagesError::NotAField {
                        path: path.into(),
                        line: 3,
                        expected: "X:value",
                        text: "Package: zlib".into(),
                    },
                )],
            ),
            (
                b"P:zlib\nV:1.3.1-r0\nL:Zlib\xff\n\nP:musl\nT:caf\xe9\n",
                &["musl"],
                &[skipped(
                    1,
                    Some("zlib"),
                    PackagesError::NotUtf8 {
                        path: path.into(),
                        line: 3,
                        field: "L (license)",
                    },
                )],
            ),
            (
                b"\xff\xfe\xfd\xfc\n\xca\xfe\n",
                &[],
                &[skipped(
                    1,
                    None,
                    PackagesError::NotAField {
                        path: path.into(),
                        line: 1,
                        expected: "X:value",
                        text: "\u{fffd}\u{fffd}\u{fffd}\u{fffd}".into(),
                    },
                )],
            ),
        ];
        for (bytes, names, expected_skips) in table {
            let list = read_apk_installed(path, bytes, "alpine").unwrap();
            let read: Vec<_> = list.packages.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(read, *names, "{:?}", String::from_utf8_lossy(bytes));
            assert_eq!(
                list.skipped,
                *expected_skips,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        // A package with nothing but its name is still listed.
        let bare = read_apk_installed(path, b"P:bare\n", "").unwrap();
        assert_eq!(bare.packages[0].purl.as_deref(), Some("pkg:apk/bare"));
        assert_eq!(bare.packages[0].version, None);
        assert!(matches!(
            read_apk_installed(path, b"SQLite format 3\0", "alpine"),
            Err(PackagesError::NotText { .. })
        ));
    }
}
