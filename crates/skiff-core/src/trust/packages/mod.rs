//! The packages an image installed, read from its package manager's own database (issue #22,
//! item 4), for images that carry no SBOM: dpkg's status file (and distroless's `status.d/`),
//! apk's `installed`, `os-release` for the distribution. Which paths to look at, which
//! databases are found but not read (rpm), and the list exported as SPDX or CycloneDX.

use super::sbom::Package;

mod apk;
mod dpkg;
mod export;
mod inventory;

pub use apk::read_apk_installed;
pub use dpkg::{read_dpkg_status, read_dpkg_status_d};
pub use export::{cyclonedx_document, spdx_document, DocumentInfo};
pub use inventory::{inventory, DatabaseRead, FoundDatabase, Inventory};

/// A package database inside an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PackageDatabase {
    /// `var/lib/dpkg/status` (Debian, Ubuntu).
    Dpkg,
    /// One stanza file per package in `var/lib/dpkg/status.d/` (distroless).
    DpkgStatusD,
    /// `lib/apk/db/installed` (Alpine, Wolfi).
    Apk,
    /// rpm's SQLite database (Fedora 33+, RHEL 9, Amazon Linux 2023): found, not read.
    RpmSqlite,
    /// rpm's Berkeley DB `Packages` (RHEL 7–8, CentOS, Amazon Linux 2): found, not read.
    RpmBerkeleyDb,
    /// rpm's NDB `Packages.db` (SUSE): found, not read.
    RpmNdb,
}

impl PackageDatabase {
    /// Why Skiff does not read it, or None when it does.
    pub fn not_read_because(self) -> Option<&'static str> {
        match self {
            Self::Dpkg | Self::DpkgStatusD | Self::Apk => None,
            Self::RpmSqlite => Some("it is rpm's database, in SQLite, which Skiff does not read"),
            Self::RpmBerkeleyDb => {
                Some("it is rpm's database, in Berkeley DB, which Skiff does not read")
            }
            Self::RpmNdb => Some("it is rpm's database, in NDB, which Skiff does not read"),
        }
    }
}

/// Where package databases are, as paths in the image's root file system; `*` is any one file
/// name. The app lists the rpm ones too, to say "rpm's database found, not read".
pub const WELL_KNOWN_DATABASES: &[(&str, PackageDatabase)] = &[
    ("var/lib/dpkg/status", PackageDatabase::Dpkg),
    ("var/lib/dpkg/status.d/*", PackageDatabase::DpkgStatusD),
    ("lib/apk/db/installed", PackageDatabase::Apk),
    ("var/lib/rpm/rpmdb.sqlite", PackageDatabase::RpmSqlite),
    (
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        PackageDatabase::RpmSqlite,
    ),
    ("var/lib/rpm/Packages", PackageDatabase::RpmBerkeleyDb),
    ("var/lib/rpm/Packages.db", PackageDatabase::RpmNdb),
    ("usr/lib/sysimage/rpm/Packages.db", PackageDatabase::RpmNdb),
];

/// Where `os-release` is, in the order to try; `etc/os-release` is often a symbolic link to
/// the other one.
pub const OS_RELEASE_PATHS: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];

/// Which package database a path in the image's root file system is (as tar writes it: no
/// leading slash, maybe a leading `./`), or None.
pub fn database_at(path: &str) -> Option<PackageDatabase> {
    let path = path.trim_start_matches("./").trim_start_matches('/');
    WELL_KNOWN_DATABASES
        .iter()
        .find(|(pattern, _)| match pattern.strip_suffix('*') {
            // distroless keeps `<package>.md5sums` files beside the stanzas.
            Some(folder) => path.strip_prefix(folder).is_some_and(|name| {
                !name.is_empty()
                    && !name.contains('/')
                    && !name.starts_with('.')
                    && !name.ends_with(".md5sums")
            }),
            None => path == *pattern,
        })
        .map(|(_, database)| *database)
}

/// The packages a database lists, and the stanzas that could not be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageList {
    pub packages: Vec<Package>,
    pub skipped: Vec<SkippedStanza>,
}

/// A stanza left out of the list, and why; the others are still read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedStanza {
    /// The stanza's first line, counting from 1.
    pub line: usize,
    /// The package's name, when the stanza got that far.
    pub package: Option<String>,
    pub reason: PackagesError,
}

/// Why a package database, or a stanza of it, cannot be read, in words that say what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PackagesError {
    #[error("line {line} of {path} is not a field (`{expected}`), it reads {text:?}; the package database is damaged")]
    NotAField {
        path: String,
        line: usize,
        expected: &'static str,
        text: String,
    },
    #[error("line {line} of {path} continues a field, but no field comes before it; the package database is damaged")]
    StrayContinuation { path: String, line: usize },
    #[error(
        "the stanza at line {line} of {path} has no {field} field; the package database is damaged"
    )]
    MissingField {
        path: String,
        line: usize,
        field: &'static str,
    },
    #[error("the {field} field at line {line} of {path} is not UTF-8; the package database is damaged or in another encoding")]
    NotUtf8 {
        path: String,
        line: usize,
        field: &'static str,
    },
    #[error("{path} is not a text file, so not a package database Skiff reads; its packages are not listed")]
    NotText { path: String },
    #[error("{path} is not read: {reason}; its packages are not listed")]
    NotRead { path: String, reason: &'static str },
}

/// The packages of the database at `path` (a [`database_at`] answer), with `distro` as the
/// purl namespace (the `os-release` ID, e.g. `debian`, `alpine`).
pub fn read_database(
    database: PackageDatabase,
    path: &str,
    bytes: &[u8],
    distro: &str,
) -> Result<PackageList, PackagesError> {
    match database {
        PackageDatabase::Dpkg => read_dpkg_status(path, bytes, distro),
        PackageDatabase::DpkgStatusD => read_dpkg_status_d(path, bytes, distro),
        PackageDatabase::Apk => read_apk_installed(path, bytes, distro),
        unread => Err(PackagesError::NotRead {
            path: path.to_owned(),
            reason: unread.not_read_because().unwrap_or_default(),
        }),
    }
}

/// What `os-release` says about the distribution; each key is None when absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OsRelease {
    /// `debian`, `ubuntu`, `alpine`, …: the purl namespace.
    pub id: Option<String>,
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
}

/// `os-release`'s `KEY=value` lines; values may be quoted as a shell would.
pub fn read_os_release(bytes: &[u8]) -> OsRelease {
    let mut release = OsRelease::default();
    for line in String::from_utf8_lossy(bytes).lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let slot = match key.trim() {
            "ID" => &mut release.id,
            "VERSION_ID" => &mut release.version_id,
            "PRETTY_NAME" => &mut release.pretty_name,
            _ => continue,
        };
        *slot = Some(unquote(value.trim())).filter(|v| !v.is_empty());
    }
    release
}

fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'') {
        return inner.strip_suffix('\'').unwrap_or(inner).to_owned();
    }
    let Some(inner) = value.strip_prefix('"') else {
        return value.to_owned();
    };
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        // Only these are escaped inside double quotes, as in the shell.
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('"' | '\\' | '$' | '`'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// `pkg:<kind>/<namespace>/<name>@<version>?arch=<arch>`, escaped as the purl spec says; the
/// deb and apk types want the namespace and name in lower case.
fn package_url(
    kind: &str,
    namespace: &str,
    name: &str,
    version: Option<&str>,
    arch: Option<&str>,
) -> String {
    let mut purl = format!("pkg:{kind}/");
    if !namespace.is_empty() {
        purl += &percent_encode(&namespace.to_lowercase(), b"");
        purl.push('/');
    }
    purl += &percent_encode(&name.to_lowercase(), b"");
    if let Some(version) = version {
        purl.push('@');
        purl += &percent_encode(version, b"");
    }
    if let Some(arch) = arch {
        purl += "?arch=";
        purl += &percent_encode(arch, b"");
    }
    purl
}

/// Escapes all but RFC 3986's unreserved characters and `keep`.
fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out += &format!("%{byte:02X}");
        }
    }
    out
}

/// One stanza's lines (without line ends), numbered from 1; stanzas end at blank lines.
struct Stanza<'a> {
    first_line: usize,
    lines: Vec<(usize, &'a [u8])>,
}

fn stanzas(bytes: &[u8]) -> Vec<Stanza<'_>> {
    let mut stanzas = Vec::new();
    let mut current: Option<Stanza> = None;
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|b| *b == b' ' || *b == b'\t') {
            stanzas.extend(current.take());
        } else {
            current
                .get_or_insert_with(|| Stanza {
                    first_line: index + 1,
                    lines: Vec::new(),
                })
                .lines
                .push((index + 1, line));
        }
    }
    stanzas.extend(current);
    stanzas
}

/// The start of a line that is not a field, for messages.
fn excerpt(line: &[u8]) -> String {
    String::from_utf8_lossy(line).chars().take(40).collect()
}

fn reject_binary(path: &str, bytes: &[u8]) -> Result<(), PackagesError> {
    match bytes.contains(&0) {
        true => Err(PackagesError::NotText {
            path: path.to_owned(),
        }),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_package_databases_by_their_path() {
        use PackageDatabase::*;
        let table: &[(&str, Option<PackageDatabase>)] = &[
            ("var/lib/dpkg/status", Some(Dpkg)),
            ("./var/lib/dpkg/status", Some(Dpkg)),
            ("/var/lib/dpkg/status", Some(Dpkg)),
            ("var/lib/dpkg/status-old", None),
            ("var/lib/dpkg/status.d/libc6", Some(DpkgStatusD)),
            ("./var/lib/dpkg/status.d/base-files", Some(DpkgStatusD)),
            ("var/lib/dpkg/status.d/libc6.md5sums", None),
            ("var/lib/dpkg/status.d/.wh.libc6", None),
            ("var/lib/dpkg/status.d/", None),
            ("var/lib/dpkg/status.d/sub/libc6", None),
            ("lib/apk/db/installed", Some(Apk)),
            ("lib/apk/db/installed.old", None),
            ("var/lib/rpm/rpmdb.sqlite", Some(RpmSqlite)),
            ("usr/lib/sysimage/rpm/rpmdb.sqlite", Some(RpmSqlite)),
            ("var/lib/rpm/Packages", Some(RpmBerkeleyDb)),
            ("var/lib/rpm/Packages.db", Some(RpmNdb)),
            ("etc/os-release", None),
            ("", None),
        ];
        for (path, expected) in table {
            assert_eq!(database_at(path), *expected, "{path:?}");
        }
        for (_, database) in WELL_KNOWN_DATABASES {
            let is_rpm = matches!(database, RpmSqlite | RpmBerkeleyDb | RpmNdb);
            assert_eq!(
                database.not_read_because().is_some(),
                is_rpm,
                "{database:?}"
            );
        }
    }

    #[test]
    fn says_plainly_that_rpm_is_not_read() {
        let error = read_database(
            PackageDatabase::RpmSqlite,
            "var/lib/rpm/rpmdb.sqlite",
            b"SQLite format 3\0",
            "fedora",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "var/lib/rpm/rpmdb.sqlite is not read: it is rpm's database, in SQLite, which Skiff \
             does not read; its packages are not listed"
        );
        let list = read_database(
            PackageDatabase::Apk,
            "lib/apk/db/installed",
            b"P:musl\nV:1.2.4-r2\n",
            "alpine",
        )
        .unwrap();
        assert_eq!(list.packages[0].name, "musl");
    }

    #[test]
    fn reads_os_release() {
        let table: &[(&str, OsRelease)] = &[
            (
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                 VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\n\
                 ID=debian\nHOME_URL=\"https://www.debian.org/\"\n",
                release(Some("debian"), Some("12"), Some("Debian GNU/Linux 12 (bookworm)")),
            ),
            (
                "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n\
                 PRETTY_NAME=\"Alpine Linux v3.19\"\n",
                release(Some("alpine"), Some("3.19.1"), Some("Alpine Linux v3.19")),
            ),
            (
                "# comment\r\n  ID='ubuntu'  \r\nVERSION_ID='22.04'\r\n\r\nPRETTY_NAME=\"Say \\\"hi\\\" \\$HOME \\n\"\r\n",
                release(Some("ubuntu"), Some("22.04"), Some("Say \"hi\" $HOME \\n")),
            ),
            (
                "NAME=Distroless\nID=\"\"\nnonsense\n",
                release(None, None, None),
            ),
            ("", release(None, None, None)),
            ("ID=\"unterminated\nVERSION_ID=1", release(Some("unterminated"), Some("1"), None)),
        ];
        for (text, expected) in table {
            assert_eq!(read_os_release(text.as_bytes()), *expected, "{text:?}");
        }
        assert_eq!(
            read_os_release(b"ID=alpine\nVERSION_ID=3.19\xff\n")
                .version_id
                .as_deref(),
            Some("3.19\u{fffd}")
        );
    }

    fn release(id: Option<&str>, version: Option<&str>, pretty: Option<&str>) -> OsRelease {
        OsRelease {
            id: id.map(Into::into),
            version_id: version.map(Into::into),
            pretty_name: pretty.map(Into::into),
        }
    }

    #[test]
    fn writes_package_urls_as_the_purl_spec_escapes_them() {
        // kind, namespace, name, version, arch, purl
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
        );
        let table: &[Case] = &[
            (
                "deb",
                "debian",
                "libc6",
                Some("2.36-9+deb12u4"),
                Some("amd64"),
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64",
            ),
            (
                "deb",
                "debian",
                "util-linux",
                Some("2.38.1-5+deb12u1"),
                Some("arm64"),
                "pkg:deb/debian/util-linux@2.38.1-5%2Bdeb12u1?arch=arm64",
            ),
            (
                "deb",
                "debian",
                "login",
                Some("1:4.13+dfsg1-1+b1"),
                Some("amd64"),
                "pkg:deb/debian/login@1%3A4.13%2Bdfsg1-1%2Bb1?arch=amd64",
            ),
            (
                "deb",
                "ubuntu",
                "libstdc++6",
                Some("12.3.0-1ubuntu1~22.04"),
                Some("amd64"),
                "pkg:deb/ubuntu/libstdc%2B%2B6@12.3.0-1ubuntu1~22.04?arch=amd64",
            ),
            (
                "apk",
                "Alpine",
                "Py3-Foo",
                Some("1.0_rc1-r0"),
                Some("x86_64"),
                "pkg:apk/alpine/py3-foo@1.0_rc1-r0?arch=x86_64",
            ),
            ("apk", "", "musl", None, None, "pkg:apk/musl"),
            (
                "deb",
                "debian",
                "a b/c",
                Some("1 2"),
                Some("a&b"),
                "pkg:deb/debian/a%20b%2Fc@1%202?arch=a%26b",
            ),
        ];
        for (kind, namespace, name, version, arch, expected) in table {
            assert_eq!(
                package_url(kind, namespace, name, *version, *arch),
                *expected
            );
        }
    }
}
