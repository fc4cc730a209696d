//! dpkg's status database: RFC 822-like stanzas, one per package, `Name: value` fields whose
//! values continue on lines that start with a space or a tab.

use super::{
    excerpt, package_url, reject_binary, stanzas, PackageList, PackagesError, SkippedStanza, Stanza,
};
use crate::trust::sbom::Package;

/// The installed packages of `var/lib/dpkg/status`; packages removed but for their
/// configuration files, or half installed, are not listed.
pub fn read_dpkg_status(
    path: &str,
    bytes: &[u8],
    distro: &str,
) -> Result<PackageList, PackagesError> {
    read(path, bytes, distro, true)
}

/// The packages of one file of `var/lib/dpkg/status.d/`, as distroless writes them: the same
/// stanzas, usually without a `Status` field, which means installed.
pub fn read_dpkg_status_d(
    path: &str,
    bytes: &[u8],
    distro: &str,
) -> Result<PackageList, PackagesError> {
    read(path, bytes, distro, false)
}

fn read(
    path: &str,
    bytes: &[u8],
    distro: &str,
    status_required: bool,
) -> Result<PackageList, PackagesError> {
    reject_binary(path, bytes)?;
    let mut list = PackageList::default();
    for stanza in stanzas(bytes) {
        let fields = Fields::read(path, &stanza);
        match fields.package(distro, status_required) {
            Ok(Some(package)) => list.packages.push(package),
            Ok(None) => {}
            Err(reason) => list.skipped.push(SkippedStanza {
                line: stanza.first_line,
                package: fields.text("Package").ok().flatten().map(str::to_owned),
                reason,
            }),
        }
    }
    Ok(list)
}

/// A stanza's fields, each the first line of its value and where it is; continuation lines
/// only carry what the list does not show (Description, Conffiles).
struct Fields<'a> {
    path: &'a str,
    first_line: usize,
    fields: Vec<(&'a [u8], &'a [u8], usize)>,
    /// The first line that is not a field: the stanza is skipped, but its name still read.
    damage: Option<PackagesError>,
}

impl<'a> Fields<'a> {
    fn read(path: &'a str, stanza: &Stanza<'a>) -> Self {
        let mut fields = Vec::new();
        let mut damage = None;
        for &(line, text) in &stanza.lines {
            let error = if text.starts_with(b" ") || text.starts_with(b"\t") {
                match fields.is_empty() {
                    true => PackagesError::StrayContinuation {
                        path: path.to_owned(),
                        line,
                    },
                    false => continue,
                }
            } else {
                let colon = text.iter().position(|b| *b == b':').unwrap_or(0);
                let name = &text[..colon];
                if !name.is_empty() && name.iter().all(u8::is_ascii_graphic) {
                    fields.push((name, text[colon + 1..].trim_ascii(), line));
                    continue;
                }
                PackagesError::NotAField {
                    path: path.to_owned(),
                    line,
                    expected: "Name: value",
                    text: excerpt(text),
                }
            };
            damage.get_or_insert(error);
        }
        Fields {
            path,
            first_line: stanza.first_line,
            fields,
            damage,
        }
    }

    /// A field's value; field names are case-insensitive, as dpkg reads them.
    fn text(&self, name: &'static str) -> Result<Option<&'a str>, PackagesError> {
        let Some(&(_, value, line)) = self
            .fields
            .iter()
            .find(|(field, _, _)| field.eq_ignore_ascii_case(name.as_bytes()))
        else {
            return Ok(None);
        };
        let value = std::str::from_utf8(value).map_err(|_| PackagesError::NotUtf8 {
            path: self.path.to_owned(),
            line,
            field: name,
        })?;
        Ok(Some(value))
    }

    fn required(&self, name: &'static str) -> Result<&'a str, PackagesError> {
        self.text(name)?
            .filter(|value| !value.is_empty())
            .ok_or_else(|| PackagesError::MissingField {
                path: self.path.to_owned(),
                line: self.first_line,
                field: name,
            })
    }

    /// The package, or None when it is not installed.
    fn package(
        &self,
        distro: &str,
        status_required: bool,
    ) -> Result<Option<Package>, PackagesError> {
        if let Some(damage) = &self.damage {
            return Err(damage.clone());
        }
        let name = self.required("Package")?;
        let status = match status_required {
            true => Some(self.required("Status")?),
            false => self.text("Status")?,
        };
        // `<wanted> <flag> <state>`: only the state `installed` means the files are there.
        if status.is_some_and(|status| status.split_ascii_whitespace().nth(2) != Some("installed"))
        {
            return Ok(None);
        }
        let version = self.text("Version")?.filter(|v| !v.is_empty());
        let arch = self.text("Architecture")?.filter(|a| !a.is_empty());
        Ok(Some(Package {
            name: name.to_owned(),
            version: version.map(str::to_owned),
            license: None,
            purl: Some(package_url("deb", distro, name, version, arch)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From a Debian bookworm image, Descriptions and Conffiles shortened.
    const BOOKWORM_STATUS: &str = "\
Package: adduser
Status: install ok installed
Priority: important
Section: admin
Installed-Size: 849
Maintainer: Debian Adduser Developers <adduser@packages.debian.org>
Architecture: all
Multi-Arch: foreign
Version: 3.134
Depends: passwd (>= 1:4.11)
Suggests: liblocale-gettext-perl, perl, cron, quota
Conffiles:
 /etc/adduser.conf cc3493ecd2d09837ffdcc3e25fdfff18
 /etc/deluser.conf 11a06baf8245fd2ef9a2b7f9e8a8c7d8
Description: add and remove users and groups
 This package includes the 'adduser' and 'deluser' commands for creating
 and removing users.
 .
 Multiple users can be created in one go.

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Replaces: libc6-amd64
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
Homepage: https://www.gnu.org/software/libc/libc.html

Package: libcom-err2
Status: deinstall ok config-files
Priority: optional
Section: libs
Installed-Size: 53
Maintainer: Theodore Y. Ts'o <tytso@mit.edu>
Architecture: amd64
Source: e2fsprogs
Version: 1.47.0-2
Conffiles:
 /etc/obsolete.conf 0123456789abcdef0123456789abcdef obsolete
Description: common error description library

Package: libstdc++6
Status: install ok half-installed
Architecture: amd64
Source: gcc-12
Version: 12.2.0-14

Package: mount
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 384
Maintainer: util-linux packagers <util-linux@packages.debian.org>
Architecture: amd64
Multi-Arch: foreign
Source: util-linux (2.38.1-5+deb12u1)
Version: 2.38.1-5+deb12u1
Depends: util-linux (= 2.38.1-5+deb12u1), libblkid1 (>= 2.17.2), libc6 (>= 2.34)
Description: tools for mounting and manipulating filesystems
 This package provides the mount(8), umount(8), swapon(8),
 swapoff(8), and losetup(8) commands.

Package: login
Status: hold ok installed
Priority: required
Essential: yes
Architecture: amd64
Source: shadow
Version: 1:4.13+dfsg1-1+b1
Description: system login tools
";

    /// One of distroless's `status.d/` files: no Status.
    const DISTROLESS_LIBSSL3: &str = "\
Package: libssl3
Source: openssl
Version: 3.0.11-1~deb12u2
Architecture: arm64
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Installed-Size: 6196
Depends: libc6 (>= 2.34)
Section: libs
Priority: optional
Multi-Arch: same
Homepage: https://www.openssl.org/
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation of the SSL
 and TLS cryptographic protocols for secure communication over the
 Internet.
";

    fn deb(name: &str, version: &str, purl: &str) -> Package {
        Package::new(name, Some(version), None, Some(purl))
    }

    #[test]
    fn lists_the_installed_packages_of_a_bookworm_status_file() {
        let list =
            read_dpkg_status("var/lib/dpkg/status", BOOKWORM_STATUS.as_bytes(), "debian").unwrap();
        assert_eq!(list.skipped, []);
        assert_eq!(
            list.packages,
            [
                deb("adduser", "3.134", "pkg:deb/debian/adduser@3.134?arch=all"),
                deb(
                    "libc6",
                    "2.36-9+deb12u4",
                    "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64"
                ),
                deb(
                    "mount",
                    "2.38.1-5+deb12u1",
                    "pkg:deb/debian/mount@2.38.1-5%2Bdeb12u1?arch=amd64"
                ),
                deb(
                    "login",
                    "1:4.13+dfsg1-1+b1",
                    "pkg:deb/debian/login@1%3A4.13%2Bdfsg1-1%2Bb1?arch=amd64"
                ),
            ]
        );
        // CRLF line ends and whitespace-only separators read the same.
        let crlf = BOOKWORM_STATUS
            .replace('\n', "\r\n")
            .replace("\r\n\r\n", "\r\n \t\r\n");
        let again = read_dpkg_status("var/lib/dpkg/status", crlf.as_bytes(), "debian").unwrap();
        assert_eq!(again, list);
    }

    #[test]
    fn reads_distroless_status_d_stanzas_without_status() {
        let path = "var/lib/dpkg/status.d/libssl3";
        let list = read_dpkg_status_d(path, DISTROLESS_LIBSSL3.as_bytes(), "debian").unwrap();
        assert_eq!(
            list,
            PackageList {
                packages: vec![deb(
                    "libssl3",
                    "3.0.11-1~deb12u2",
                    "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64"
                )],
                skipped: vec![],
            }
        );
        // A Status, when there is one, still counts.
        let removed = "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n";
        let list = read_dpkg_status_d(path, removed.as_bytes(), "debian").unwrap();
        assert_eq!(list, PackageList::default());
        // In the status file itself, a stanza without Status is damage.
        let list = read_dpkg_status(
            "var/lib/dpkg/status",
            DISTROLESS_LIBSSL3.as_bytes(),
            "debian",
        )
        .unwrap();
        assert_eq!(list.packages, []);
        assert_eq!(list.skipped[0].package.as_deref(), Some("libssl3"));
        assert_eq!(
            list.skipped[0].reason.to_string(),
            "the stanza at line 1 of var/lib/dpkg/status has no Status field; the package \
             database is damaged"
        );
    }

    #[test]
    fn skips_damaged_stanzas_and_keeps_the_others() {
        let path = "var/lib/dpkg/status";
        let skipped = |line, package: Option<&str>, reason| SkippedStanza {
            line,
            package: package.map(Into::into),
            reason,
        };
        let table: &[(&[u8], &[&str], &[SkippedStanza])] = &[
            (
                b"Status: install ok installed\nVersion: 1\n\nPackage: ok\nStatus: install ok installed\n",
                &["ok"],
                &[skipped(1, None, PackagesError::MissingField { path: path.into(), line: 1, field: "Package" })],
            ),
            (
                b"Package: a\nStatus: install ok installed\nthis line has no colon\n\nPackage: b\nStatus: install ok installed\n",
                &["b"],
                &[skipped(1, Some("a"), PackagesError::NotAField {
                    path: path.into(),
                    line: 3,
                    expected: "Name: value",
                    text: "this line has no colon".into(),
                })],
            ),
            (
                b" stray continuation\nPackage: a\nStatus: install ok installed\n",
                &[],
                &[skipped(1, Some("a"), PackagesError::StrayContinuation { path: path.into(), line: 1 })],
            ),
            (
                b"Package: a\nStatus: install ok installed\nVersion: 1.0\xe9\n\nPackage: b\nMaintainer: Ren\xe9\nStatus: install ok installed\n",
                &["b"],
                &[skipped(1, Some("a"), PackagesError::NotUtf8 { path: path.into(), line: 3, field: "Version" })],
            ),
            (
                b"\xff\xfe\xfdgarbage\n: empty name\n",
                &[],
                &[skipped(1, None, PackagesError::NotAField {
                    path: path.into(),
                    line: 1,
                    expected: "Name: value",
                    text: "\u{fffd}\u{fffd}\u{fffd}garbage".into(),
                })],
            ),
            (b"", &[], &[]),
            (b"\n\n\n", &[], &[]),
        ];
        for (bytes, names, expected_skips) in table {
            let list = read_dpkg_status(path, bytes, "debian").unwrap();
            let read: Vec<_> = list.packages.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(read, *names, "{:?}", String::from_utf8_lossy(bytes));
            assert_eq!(
                list.skipped,
                *expected_skips,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(
            read_dpkg_status(path, b"\x7fELF\x02\x01\x01\0\0\0", "debian"),
            Err(PackagesError::NotText { path: path.into() })
        );
        assert_eq!(
            PackagesError::NotAField {
                path: path.into(),
                line: 12,
                expected: "Name: value",
                text: "garbage".into(),
            }
            .to_string(),
            "line 12 of var/lib/dpkg/status is not a field (`Name: value`), it reads \"garbage\"; \
             the package database is damaged"
        );
    }
}
