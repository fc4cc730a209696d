//! An image's packages from every database found in its merged root file system: the caller
//! (a worker reading the layers) hands over each database's path and bytes and the
//! `os-release`; this says what was read, what was not and why, and the one list.

use serde::{Deserialize, Serialize};

use super::{read_database, read_os_release, OsRelease, PackageDatabase};
use crate::trust::sbom::Package;

/// A database found at `path` of the merged tree; `bytes` is `None` for one not read (rpm's),
/// which needs none.
#[derive(Clone, Debug)]
pub struct FoundDatabase {
    pub path: String,
    pub database: PackageDatabase,
    pub bytes: Option<Vec<u8>>,
}

/// What one database gave: how many packages, or why none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseRead {
    pub path: String,
    pub outcome: Result<usize, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub os: Option<OsRelease>,
    /// Every package once (a distroless `status.d` file and `status` may both list one),
    /// by name.
    pub packages: Vec<Package>,
    pub databases: Vec<DatabaseRead>,
    /// Stanzas left out, each said with its line and why.
    pub skipped: Vec<String>,
}

pub fn inventory(found: &[FoundDatabase], os_release: Option<&[u8]>) -> Inventory {
    let os = os_release.map(read_os_release);
    let distro = |database: PackageDatabase| {
        os.as_ref()
            .and_then(|os| os.id.clone())
            .unwrap_or_else(|| match database {
                PackageDatabase::Apk => "alpine".to_owned(),
                _ => "debian".to_owned(),
            })
    };
    let mut inventory = Inventory {
        os: os.clone(),
        ..Inventory::default()
    };
    for database in found {
        let bytes = database.bytes.as_deref().unwrap_or_default();
        let read = read_database(
            database.database,
            &database.path,
            bytes,
            &distro(database.database),
        );
        let outcome = match read {
            Ok(list) => {
                let count = list.packages.len();
                inventory.packages.extend(list.packages);
                inventory
                    .skipped
                    .extend(list.skipped.into_iter().map(|s| s.reason.to_string()));
                Ok(count)
            }
            Err(why) => Err(why.to_string()),
        };
        inventory.databases.push(DatabaseRead {
            path: database.path.clone(),
            outcome,
        });
    }
    inventory.packages.sort();
    inventory
        .packages
        .dedup_by(|a, b| a.name == b.name && a.version == b.version);
    inventory
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\n\nPackage: tzdata\nStatus: install ok installed\nVersion: 2024a-0\nArchitecture: all\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n";
    const STATUS_D: &str = "Package: tzdata\nVersion: 2024a-0\nArchitecture: all\n";

    #[test]
    fn databases_are_merged_and_what_is_not_read_is_said() {
        let found = [
            FoundDatabase {
                path: "var/lib/dpkg/status".into(),
                database: PackageDatabase::Dpkg,
                bytes: Some(STATUS.as_bytes().to_vec()),
            },
            FoundDatabase {
                path: "var/lib/dpkg/status.d/tzdata".into(),
                database: PackageDatabase::DpkgStatusD,
                bytes: Some(STATUS_D.as_bytes().to_vec()),
            },
            FoundDatabase {
                path: "var/lib/rpm/rpmdb.sqlite".into(),
                database: PackageDatabase::RpmSqlite,
                bytes: None,
            },
        ];
        let inventory = inventory(&found, Some(b"ID=ubuntu\nVERSION_ID=\"24.04\"\n"));
        let names: Vec<_> = inventory.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libc6", "tzdata"]);
        assert!(inventory.packages[0]
            .purl
            .as_deref()
            .unwrap()
            .starts_with("pkg:deb/ubuntu/libc6@2.36-9"));
        assert_eq!(inventory.databases[0].outcome, Ok(2));
        assert_eq!(inventory.databases[1].outcome, Ok(1));
        let rpm = inventory.databases[2].outcome.as_ref().unwrap_err();
        assert!(rpm.contains("rpm's database, in SQLite"), "{rpm}");
        assert_eq!(inventory.os.unwrap().version_id.as_deref(), Some("24.04"));
    }

    #[test]
    fn without_os_release_the_database_names_the_distribution() {
        let found = [FoundDatabase {
            path: "lib/apk/db/installed".into(),
            database: PackageDatabase::Apk,
            bytes: Some(b"P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n\n".to_vec()),
        }];
        let inventory = inventory(&found, None);
        assert_eq!(inventory.os, None);
        assert_eq!(
            inventory.packages[0].purl.as_deref(),
            Some("pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64")
        );
        assert_eq!(inventory.packages[0].license.as_deref(), Some("MIT"));
    }
}
