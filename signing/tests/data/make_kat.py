# One-off generator of the kat-* fixtures (needs PyNaCl and pyca/cryptography); kept for provenance, not run by the tests.
# Builds a cosign-format encrypted key with independent implementations:
# hashlib.scrypt (OpenSSL) + PyNaCl SecretBox (libsodium) + pyca/cryptography PKCS#8.
import base64, hashlib, json, sys
import nacl.secret
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization, hashes
x = int("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721", 16)  # RFC 6979 A.2.5
key = ec.derive_private_key(x, ec.SECP256R1())
der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
password = b"kat-password"
salt = bytes(range(32))
nonce = bytes(range(100, 124))
k = hashlib.scrypt(password, salt=salt, n=32768, r=8, p=1, maxmem=64 * 1024 * 1024, dklen=32)
ct = nacl.secret.SecretBox(k).encrypt(der, nonce).ciphertext  # tag || ciphertext
b = lambda v: base64.b64encode(v).decode()
doc = {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": b(salt)},
       "cipher": {"name": "nacl/secretbox", "nonce": b(nonce)}, "ciphertext": b(ct)}
body = base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()
pem = "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n" + "\n".join(body[i:i+64] for i in range(0, len(body), 64)) + "\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n"
open("kat-cosign.key", "w").write(pem)
pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
open("kat-cosign.pub", "wb").write(pub)
# A signature by pyca/cryptography (random k) over a fixed simple-signing payload.
payload = b'{"critical":{"identity":{"docker-reference":"registry.test/bp/demo:0.1.0"},"image":{"docker-manifest-digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},"type":"cosign container image signature"},"optional":null}'
open("kat-payload.json", "wb").write(payload)
sig = key.sign(payload, ec.ECDSA(hashes.SHA256()))
open("kat-payload.sig", "w").write(b(sig) + "\n")
