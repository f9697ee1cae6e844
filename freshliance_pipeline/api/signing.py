"""RSA2 request signing for the Freshliance gateway, as pure functions.

The gateway signs the request parameters, not the HTTP body: every non-empty parameter except
``sign`` is written as ``name=value``, the pairs are sorted by name (byte order) and joined with
``&``, and that string is signed with SHA256withRSA (PKCS#1 v1.5), base64 encoded.

``bizContent`` enters the string as compact JSON with sorted keys and non-ASCII characters kept
as UTF-8, which is how every example in the docs is written; the client sends that same string
in the request so the text the gateway verifies is the text we signed.

Key loading accepts what users paste into environment variables: PKCS#1 (``BEGIN RSA PRIVATE
KEY``) and PKCS#8 (``BEGIN PRIVATE KEY``) PEM, a bare base64 DER body without header lines, and
PEM whose line breaks arrived as the two characters ``\\n``. Errors never echo the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ACCEPTED_PRIVATE_KEY_FORMATS = (
    "PKCS#1 PEM (-----BEGIN RSA PRIVATE KEY-----), PKCS#8 PEM (-----BEGIN PRIVATE KEY-----), "
    "a bare base64 DER body of either without header lines, or PEM with literal \\n line breaks"
)
ACCEPTED_PUBLIC_KEY_FORMATS = (
    "SubjectPublicKeyInfo PEM (-----BEGIN PUBLIC KEY-----), PKCS#1 PEM "
    "(-----BEGIN RSA PUBLIC KEY-----), a bare base64 DER body of either, or PEM with literal \\n"
)


class KeyFormatError(ValueError):
    """A key could not be read. The message names the accepted formats, never the key."""


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys and UTF-8 kept as is: the form the gateway signs."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def string_to_sign(params: Mapping[str, Any]) -> str:
    """Build the string the gateway verifies from the request parameters.

    ``sign`` and empty values (None or "") are left out; names are sorted by their UTF-8 bytes.
    A ``bizContent`` given as a mapping is serialised with :func:`canonical_json`.
    """
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if name == "sign" or value is None:
            continue
        text = _param_text(value)
        if text == "":
            continue
        pairs.append((name, text))
    pairs.sort(key=lambda pair: pair[0].encode("utf-8"))
    return "&".join(f"{name}={text}" for name, text in pairs)


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return canonical_json(value)
    return str(value)


def sign(message: str, private_key: rsa.RSAPrivateKey) -> str:
    """SHA256withRSA (PKCS#1 v1.5) over the UTF-8 bytes of ``message``, base64 encoded."""
    signature = private_key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(message: str, signature_b64: str, public_key: rsa.RSAPublicKey) -> bool:
    """True when ``signature_b64`` is a valid RSA2 signature of ``message``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def sign_params(params: Mapping[str, Any], private_key: rsa.RSAPrivateKey) -> str:
    """The ``sign`` value for a request's parameters."""
    return sign(string_to_sign(params), private_key)


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)


def _pem_or_der(text: str) -> tuple[bytes, bool]:
    """Return (bytes, is_pem) from pasted key text, undoing escaped line breaks."""
    cleaned = text.strip().strip('"').strip("'").replace("\\r", "").replace("\\n", "\n")
    match = _PEM_BLOCK.search(cleaned)
    if match:
        label, body = match.group(1), re.sub(r"\s+", "", match.group(2))
        # Re-wrap so a PEM pasted on one line (spaces instead of breaks) still parses.
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        pem = f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"
        return pem.encode("ascii"), True
    body = re.sub(r"\s+", "", cleaned)
    try:
        return base64.b64decode(body, validate=True), False
    except (binascii.Error, ValueError):
        return b"", False


def load_private_key(text: str | bytes) -> rsa.RSAPrivateKey:
    """Read an RSA private key in any of :data:`ACCEPTED_PRIVATE_KEY_FORMATS`."""
    raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    data, is_pem = _pem_or_der(raw)
    key: object = None
    if data:
        try:
            if is_pem:
                key = serialization.load_pem_private_key(data, password=None)
            else:
                key = serialization.load_der_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError(
            "The private key could not be read as an unencrypted RSA key. Accepted formats: "
            f"{ACCEPTED_PRIVATE_KEY_FORMATS}."
        )
    return key


def load_public_key(text: str | bytes) -> rsa.RSAPublicKey:
    """Read an RSA public key in any of :data:`ACCEPTED_PUBLIC_KEY_FORMATS`."""
    raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    data, is_pem = _pem_or_der(raw)
    key: object = None
    if data:
        try:
            if is_pem:
                key = serialization.load_pem_public_key(data)
            else:
                key = serialization.load_der_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            key = None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError(
            "The public key could not be read as an RSA key. Accepted formats: "
            f"{ACCEPTED_PUBLIC_KEY_FORMATS}."
        )
    return key


def generate_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """A fresh RSA key pair; 2048 bits matches the 344-character ``sign`` of the docs."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 PEM text of a private key (for files the user keeps, never for logs)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """SubjectPublicKeyInfo PEM of the public half: the text uploaded to the platform."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_fingerprint(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """SHA-256 of the public key's DER (SubjectPublicKeyInfo), base64 without padding, as
    ``openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`` prints it.
    Safe to show: it identifies the key pair without revealing it."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


def constant_time_equal(left: str, right: str) -> bool:
    """Compare two secrets without leaking where they differ."""
    return hmac.compare_digest(left.encode("utf-8"), right.encode("utf-8"))
