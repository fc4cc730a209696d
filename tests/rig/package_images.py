#!/usr/bin/env python3
"""Root file system trees for the rig's package-database images (#22 item 5).

    package_images.py WORK PACKAGES FIXTURES

writes into WORK the layer trees
  debian-l1/  etc/os-release (Debian 12), var/lib/dpkg/status: this machine's own status file
  debian-l2/  var/lib/dpkg/status again, replacing layer 1's: a few packages gone, one left as
              `deinstall ok config-files`, tzdata moved out to status.d/tzdata (distroless style,
              no Status field, with its .md5sums beside it)
  alpine-l1/  etc/os-release, etc/alpine-release (3.19.1), lib/apk/db/installed (FIXTURES/alpine-3.19-installed)
  rpm-l1/     etc/os-release (Fedora 39), var/lib/rpm/rpmdb.sqlite (an empty SQLite database)
and into PACKAGES, for tests to compute what the app should list:
  debian/status, debian/status.d/tzdata  the merged image's databases (debian/ works as dpkg-query's --admindir)
  debian/base-status                     layer 1's status, which the merged file system no longer shows
  debian-changes.json                    what layer 2 changed: removed packages, the config-files one, status.d
  alpine/installed                       the apk database
"""
import json
import os
import shutil
import sqlite3
import sys

work, packages, fixtures = sys.argv[1:4]

DEBIAN_OS_RELEASE = '''PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
'''
ALPINE_OS_RELEASE = '''NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
'''
FEDORA_OS_RELEASE = '''NAME="Fedora Linux"
VERSION="39 (Container Image)"
ID=fedora
VERSION_ID=39
VERSION_CODENAME=""
PLATFORM_ID="platform:f39"
PRETTY_NAME="Fedora Linux 39 (Container Image)"
ANSI_COLOR="0;38;2;60;110;180"
CPE_NAME="cpe:/o:fedoraproject:fedora:39"
HOME_URL="https://fedoraproject.org/"
VARIANT="Container Image"
VARIANT_ID=container
'''
# Used when this machine has no tzdata: bookworm's own stanza.
TZDATA_STANZA = '''Package: tzdata
Priority: required
Section: localization
Installed-Size: 3484
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: all
Multi-Arch: foreign
Version: 2024a-0+deb12u1
Replaces: libc0.1, libc0.3, libc6, libc6.1
Provides: tzdata-bookworm
Depends: debconf (>= 0.5) | debconf-2.0
Description: time zone and daylight-saving time data
 This package contains data required for the implementation of
 standard local time for many representative locations around the
 globe. It is updated periodically to reflect changes made by
 political bodies to time zone boundaries, UTC offsets, and
 daylight-saving rules.
Homepage: https://www.iana.org/time-zones
'''


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    os.chmod(path, mode)


def stanzas(text):
    return [s for s in text.strip('\n').split('\n\n') if s.strip()]


def field(stanza, name):
    for line in stanza.split('\n'):
        if line.startswith(name + ':'):
            return line.split(':', 1)[1].strip()
    return None


def without_fields(stanza, names):
    """The stanza less the named fields, their continuation lines included."""
    out, skipping = [], False
    for line in stanza.split('\n'):
        if line[:1] in (' ', '\t'):
            if not skipping:
                out.append(line)
            continue
        skipping = line.split(':', 1)[0] in names
        if not skipping:
            out.append(line)
    return '\n'.join(out)


def debian():
    with open('/var/lib/dpkg/status', encoding='utf-8') as f:
        base = f.read()
    all_stanzas = stanzas(base)
    installed = [s for s in all_stanzas if (field(s, 'Status') or '').split()[2:3] == ['installed']]
    names = [field(s, 'Package') for s in installed]
    # Packages layer 2 removes: common ones when present, else some by position.
    removed = [n for n in ('curl', 'less', 'wget', 'netbase', 'xz-utils', 'file') if n in names][:3]
    for i in (len(names) // 4, len(names) // 2, 3 * len(names) // 4):
        if len(removed) < 3 and names[i] not in removed and names[i] != 'tzdata':
            removed.append(names[i])
    # The package left with only its configuration files: one that has some.
    with_conffiles = [field(s, 'Package') for s in installed if 'Conffiles:' in s]
    config_only = next((n for n in ('logrotate', 'cron', 'openssh-client', 'sudo', 'procps', 'adduser')
                        if n in with_conffiles and n not in removed),
                       next(n for n in with_conffiles if n not in removed and n != 'tzdata'))
    # tzdata moves to status.d/, as distroless lists it.
    tz = next((s for s in installed if field(s, 'Package') == 'tzdata'), None)
    tz_stanza = without_fields(tz, {'Status', 'Conffiles', 'Config-Version'}) if tz else TZDATA_STANZA.strip('\n')

    final = []
    for s in all_stanzas:
        name = field(s, 'Package')
        if name in removed or name == 'tzdata':
            continue
        if name == config_only:
            lines = []
            for line in s.split('\n'):
                if line.startswith('Status:'):
                    line = 'Status: deinstall ok config-files'
                lines.append(line)
                if line.startswith('Version:'):
                    lines.append('Config-Version:' + line.split(':', 1)[1])
            s = '\n'.join(lines)
        final.append(s)
    final_text = '\n\n'.join(final) + '\n'

    write(f'{work}/debian-l1/etc/os-release', DEBIAN_OS_RELEASE)
    write(f'{work}/debian-l1/var/lib/dpkg/status', base)
    write(f'{work}/debian-l2/var/lib/dpkg/status', final_text)
    write(f'{work}/debian-l2/var/lib/dpkg/status.d/tzdata', tz_stanza + '\n')
    md5sums = '/var/lib/dpkg/info/tzdata.md5sums'
    if tz and os.path.exists(md5sums):
        os.makedirs(f'{work}/debian-l2/var/lib/dpkg/status.d', exist_ok=True)
        shutil.copyfile(md5sums, f'{work}/debian-l2/var/lib/dpkg/status.d/tzdata.md5sums')
        os.chmod(f'{work}/debian-l2/var/lib/dpkg/status.d/tzdata.md5sums', 0o644)

    write(f'{packages}/debian/status', final_text)
    write(f'{packages}/debian/status.d/tzdata', tz_stanza + '\n')
    write(f'{packages}/debian/base-status', base)
    changes = {
        'removed': sorted(removed + (['tzdata'] if tz else [])),
        'configFilesOnly': config_only,
        'statusD': {'file': 'var/lib/dpkg/status.d/tzdata', 'package': 'tzdata', 'version': field(tz_stanza, 'Version')},
        'baseInstalled': len(installed),
    }
    write(f'{packages}/debian-changes.json', json.dumps(changes, indent=2) + '\n')


def alpine():
    write(f'{work}/alpine-l1/etc/os-release', ALPINE_OS_RELEASE)
    write(f'{work}/alpine-l1/etc/alpine-release', '3.19.1\n')
    os.makedirs(f'{work}/alpine-l1/lib/apk/db', exist_ok=True)
    os.makedirs(f'{packages}/alpine', exist_ok=True)
    for target in (f'{work}/alpine-l1/lib/apk/db/installed', f'{packages}/alpine/installed'):
        shutil.copyfile(f'{fixtures}/alpine-3.19-installed', target)
        os.chmod(target, 0o644)


def rpm():
    write(f'{work}/rpm-l1/etc/os-release', FEDORA_OS_RELEASE)
    os.makedirs(f'{work}/rpm-l1/var/lib/rpm', exist_ok=True)
    db = sqlite3.connect(f'{work}/rpm-l1/var/lib/rpm/rpmdb.sqlite')
    # rpm's own schema, with no package in it.
    db.execute("CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    db.execute("CREATE TABLE 'Name' (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, "
               "FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))")
    db.commit()
    db.close()
    os.chmod(f'{work}/rpm-l1/var/lib/rpm/rpmdb.sqlite', 0o644)


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
debian()
alpine()
rpm()
