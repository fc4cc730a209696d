#!/usr/bin/python3
"""The rig's own Sigstore instance, offline: a certificate authority (root and intermediate,
as Fulcio has), a certificate transparency log and a transparency log (Rekor), each a key of
their own, and the trusted_root.json that names them.

  sigstore_rig.py root WORK                  the instance's keys and trusted_root.json
  sigstore_rig.py sign WORK DIGEST REPO OUT [SBOM]  a keyless signature of the image DIGEST in
      REPO, as cosign v3 stores it (OUT/bundle.json: a Sigstore bundle of a DSSE in-toto
      statement, predicate https://sigstore.dev/cosign/sign/v1) and as cosign v2 did
      (OUT/payload.json, OUT/annotations.json: signature, certificate, chain, Rekor bundle);
      with SBOM (a CycloneDX file), also an attestation of it as `cosign attest --type
      cyclonedx` makes one (OUT/attestation.json)

Signing identity: IDENTITY below, vouched for by ISSUER. Runs with Debian's python3-cryptography.
"""
import base64
import datetime
import hashlib
import json
import os
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

IDENTITY = "https://github.com/skiff-rig/release/.github/workflows/sign.yml@refs/heads/main"
ISSUER = "https://token.actions.githubusercontent.com"
LOG_NAME = "rekor.skiff-rig.invalid"


def b64(data):
    return base64.b64encode(data).decode()


def der_public(key):
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def save_key(key, path):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def name(common):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "skiff-rig"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def ca_cert(subject, key, issuer, issuer_key, start, path_length):
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                           critical=True)
            .sign(issuer_key, hashes.SHA384()))


def rfc3339(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def root(work):
    os.makedirs(work, exist_ok=True)
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(days=1)
    keys = {n: ec.generate_private_key(c) for n, c in
            [("ca-root", ec.SECP384R1()), ("ca-intermediate", ec.SECP384R1()),
             ("ctlog", ec.SECP256R1()), ("rekor", ec.SECP256R1())]}
    for n, k in keys.items():
        save_key(k, os.path.join(work, n + ".key"))
    root_cert = ca_cert(name("skiff-rig-fulcio-root"), keys["ca-root"], name("skiff-rig-fulcio-root"),
                        keys["ca-root"], start, 1)
    intermediate = ca_cert(name("skiff-rig-fulcio-intermediate"), keys["ca-intermediate"],
                           root_cert.subject, keys["ca-root"], start, 0)
    for n, c in [("ca-root", root_cert), ("ca-intermediate", intermediate)]:
        with open(os.path.join(work, n + ".pem"), "w") as f:
            f.write(pem_cert(c))
    valid = {"start": rfc3339(start)}

    def log(key, url):
        spki = der_public(key)
        return {"baseUrl": url, "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": valid},
                "logId": {"keyId": b64(hashlib.sha256(spki).digest())}}
    trusted = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [log(keys["rekor"], "https://" + LOG_NAME)],
        "certificateAuthorities": [{
            "subject": {"organization": "skiff-rig", "commonName": "skiff-rig-fulcio"},
            "uri": "https://fulcio.skiff-rig.invalid",
            "certChain": {"certificates": [{"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))}
                                           for c in (intermediate, root_cert)]},
            "validFor": valid}],
        "ctlogs": [log(keys["ctlog"], "https://ctfe.skiff-rig.invalid")],
        "timestampAuthorities": [],
    }
    with open(os.path.join(work, "trusted_root.json"), "w") as f:
        json.dump(trusted, f, indent=2)


def der_length(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der(tag, content):
    return bytes([tag]) + der_length(len(content)) + content


def leaf_certificate(work, leaf_key, now):
    """A Fulcio-like certificate for IDENTITY, with an SCT from the rig's CT log embedded."""
    intermediate = x509.load_pem_x509_certificate(open(os.path.join(work, "ca-intermediate.pem"), "rb").read())
    ca_key, ct_key = load_key(os.path.join(work, "ca-intermediate.key")), load_key(os.path.join(work, "ctlog.key"))
    builder = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(intermediate.subject)
               .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=1))
               .not_valid_after(now + datetime.timedelta(minutes=10))
               .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
               .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(IDENTITY)]), critical=True)
               .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1"),
                                                         ISSUER.encode()), critical=False)
               .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"),
                                                         der(0x0c, ISSUER.encode())), critical=False))
    precert = builder.sign(ca_key, hashes.SHA384())
    tbs = precert.tbs_certificate_bytes
    issuer_key_hash = hashlib.sha256(der_public(ca_key)).digest()
    timestamp = int(now.timestamp() * 1000)
    signed = (bytes([0, 0]) + struct.pack(">Q", timestamp) + bytes([0, 1]) + issuer_key_hash
              + len(tbs).to_bytes(3, "big") + tbs + struct.pack(">H", 0))
    signature = ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
    log_id = hashlib.sha256(der_public(ct_key)).digest()
    sct = (bytes([0]) + log_id + struct.pack(">Q", timestamp) + struct.pack(">H", 0) + bytes([4, 3])
           + struct.pack(">H", len(signature)) + signature)
    sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
    cert = builder.add_extension(
        x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"), der(0x04, sct_list)),
        critical=False).sign(ca_key, hashes.SHA384())
    assert cert.tbs_precertificate_bytes == tbs, "the SCT must sign the certificate without it"
    return cert, intermediate


def log_entry(work, body, now, index):
    """Rekor's entry for BODY at INDEX of a tree of INDEX+1 leaves: SET, inclusion proof and
    checkpoint, as Rekor v1 returns them."""
    rekor = load_key(os.path.join(work, "rekor.key"))
    log_id = hashlib.sha256(der_public(rekor)).digest()
    integrated = int(now.timestamp())
    body_b64 = b64(body)
    promise = json.dumps({"body": body_b64, "integratedTime": integrated, "logID": log_id.hex(),
                          "logIndex": index}, sort_keys=True, separators=(",", ":")).encode()
    set_signature = rekor.sign(promise, ec.ECDSA(hashes.SHA256()))
    # Earlier leaves: other entries of the log, so the proof has hashes to climb.
    leaves = [hashlib.sha256(b"\0" + b"earlier entry %d" % i).digest() for i in range(index)]
    leaves.append(hashlib.sha256(b"\0" + body).digest())
    root_hash, path = merkle(leaves, index)
    size = len(leaves)
    note = "%s - 1\n%d\n%s\n" % (LOG_NAME, size, b64(root_hash))
    note_signature = rekor.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
    checkpoint = note + "\n\u2014 %s %s\n" % (LOG_NAME, b64(log_id[:4] + note_signature))
    return {
        "logIndex": str(index), "logId": {"keyId": b64(log_id)},
        "integratedTime": str(integrated),
        "inclusionPromise": {"signedEntryTimestamp": b64(set_signature)},
        "inclusionProof": {"logIndex": str(index), "rootHash": b64(root_hash), "treeSize": str(size),
                           "hashes": [b64(h) for h in path], "checkpoint": {"envelope": checkpoint}},
        "canonicalizedBody": body_b64,
    }, {"SignedEntryTimestamp": b64(set_signature),
        "Payload": {"body": body_b64, "integratedTime": integrated, "logIndex": index, "logID": log_id.hex()}}


def merkle(leaves, index):
    """RFC 9162's tree hash of LEAVES (leaf hashes) and the audit path of INDEX."""
    if len(leaves) == 1:
        return leaves[0], []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    left, right = leaves[:k], leaves[k:]
    if index < k:
        sub, path = merkle(left, index)
        other, _ = merkle(right, 0)
    else:
        sub, path = merkle(right, index - k)
        other, _ = merkle(left, 0)
    root = hashlib.sha256(b"\1" + (sub + other if index < k else other + sub)).digest()
    return root, path + [other]


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def dsse_bundle(work, leaf_key, cert, statement, now, index):
    """A Sigstore bundle (v0.3) of STATEMENT in a DSSE envelope, logged at INDEX."""
    cert_pem = pem_cert(cert)
    payload_type = "application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(statement), statement)
    dsse_signature = leaf_key.sign(pae, ec.ECDSA(hashes.SHA256()))
    envelope = {"payload": b64(statement), "payloadType": payload_type, "signatures": [{"sig": b64(dsse_signature)}]}
    dsse_body = canonical({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(canonical(envelope)).hexdigest()},
        "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(statement).hexdigest()},
        "signatures": [{"signature": b64(dsse_signature), "verifier": b64(cert_pem.encode())}]}})
    entry, _ = log_entry(work, dsse_body, now, index)
    entry["kindVersion"] = {"kind": "dsse", "version": "0.0.1"}
    return {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"certificate": {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))},
                                     "tlogEntries": [entry]},
            "dsseEnvelope": envelope}


def sign(work, digest, repo, out, sbom=None):
    os.makedirs(out, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    cert, intermediate = leaf_certificate(work, leaf_key, now)
    cert_pem = pem_cert(cert)
    subject = [{"name": repo, "digest": {"sha256": digest.split(":", 1)[1]}}]
    # cosign v3: a DSSE envelope of an in-toto statement about the image.
    statement = canonical({"_type": "https://in-toto.io/Statement/v1", "subject": subject,
                           "predicateType": "https://sigstore.dev/cosign/sign/v1", "predicate": {}})
    with open(os.path.join(out, "bundle.json"), "w") as f:
        json.dump(dsse_bundle(work, leaf_key, cert, statement, now, 5), f)
    if sbom:
        with open(sbom) as f:
            predicate = json.load(f)
        statement = canonical({"_type": "https://in-toto.io/Statement/v1", "subject": subject,
                               "predicateType": "https://cyclonedx.org/bom", "predicate": predicate})
        with open(os.path.join(out, "attestation.json"), "w") as f:
            json.dump(dsse_bundle(work, leaf_key, cert, statement, now, 7), f)
    # cosign v2: simple signing, the certificate and Rekor's promise in annotations.
    payload = canonical({"critical": {"identity": {"docker-reference": repo},
                                      "image": {"docker-manifest-digest": digest},
                                      "type": "cosign container image signature"}, "optional": None})
    signature = leaf_key.sign(payload, ec.ECDSA(hashes.SHA256()))
    rekord_body = canonical({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
        "signature": {"content": b64(signature), "publicKey": {"content": b64(cert_pem.encode())}}}})
    _, rekor_bundle = log_entry(work, rekord_body, now, 6)
    with open(os.path.join(out, "payload.json"), "wb") as f:
        f.write(payload)
    root_pem = open(os.path.join(work, "ca-root.pem")).read()
    annotations = {"dev.cosignproject.cosign/signature": b64(signature),
                   "dev.sigstore.cosign/certificate": cert_pem,
                   "dev.sigstore.cosign/chain": pem_cert(intermediate) + root_pem,
                   "dev.sigstore.cosign/bundle": json.dumps(rekor_bundle, separators=(",", ":"))}
    with open(os.path.join(out, "annotations.json"), "w") as f:
        json.dump(annotations, f)


if __name__ == "__main__":
    if sys.argv[1:2] == ["root"] and len(sys.argv) == 3:
        root(sys.argv[2])
    elif sys.argv[1:2] == ["sign"] and len(sys.argv) in (6, 7):
        sign(*sys.argv[2:])
    else:
        sys.exit(__doc__)
