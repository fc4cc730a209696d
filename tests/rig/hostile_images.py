#!/usr/bin/env python3
"""Layers built to hurt their readers, for the hardening tests (written into OUT_DIR):

- bomb: one gzip layer of ~2 MB holding a single 2 GiB file of zeros (a decompression bomb);
- deep: one tiny gzip layer holding one file 32,000 directories deep (a 64 kB GNU long name).

Each gets an image config naming the layer's real diff ID, and a Docker v2s2 manifest, so the
image is valid and only its size hurts. Usage: hostile_images.py OUT_DIR
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


class Zeros(io.RawIOBase):
    """`size` zero bytes, read without holding them."""

    def __init__(self, size):
        self.left = size

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


class HashingGzip(io.RawIOBase):
    """Writes gzip to `path` and hashes what was written before compression."""

    def __init__(self, path):
        self.raw = hashlib.sha256()
        self.file = gzip.open(path, 'wb', compresslevel=9)

    def writable(self):
        return True

    def write(self, data):
        self.raw.update(data)
        self.file.write(data)
        return len(data)

    def close(self):
        self.file.close()
        super().close()


def layer(name, entries):
    path = os.path.join(out, f'{name}.layer.gz')
    sink = HashingGzip(path)
    with tarfile.open(fileobj=sink, mode='w|', format=tarfile.GNU_FORMAT) as tar:
        for member, size in entries:
            info = tarfile.TarInfo(member)
            info.size = size
            info.mode = 0o644
            tar.addfile(info, Zeros(size) if size else None)
    diff_id = 'sha256:' + sink.raw.hexdigest()
    sink.close()
    return path, diff_id


def describe(path, media_type):
    data = open(path, 'rb').read()
    return {'mediaType': media_type, 'digest': 'sha256:' + hashlib.sha256(data).hexdigest(), 'size': len(data)}


for name, entries in [
    ('bomb', [('zeros.bin', 2 << 30)]),
    ('deep', [('a/' * 32000 + 'f', 0)]),
]:
    layer_path, diff_id = layer(name, entries)
    config = {
        'architecture': 'amd64',
        'os': 'linux',
        'config': {'Cmd': ['/bin/sh']},
        'rootfs': {'type': 'layers', 'diff_ids': [diff_id]},
        'history': [{'created_by': f'a {name} layer'}],
    }
    config_path = os.path.join(out, f'{name}.config.json')
    with open(config_path, 'w') as f:
        json.dump(config, f)
    manifest = {
        'schemaVersion': 2,
        'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',
        'config': describe(config_path, 'application/vnd.docker.container.image.v1+json'),
        'layers': [describe(layer_path, 'application/vnd.docker.image.rootfs.diff.tar.gzip')],
    }
    with open(os.path.join(out, f'{name}.manifest.json'), 'w') as f:
        json.dump(manifest, f)
