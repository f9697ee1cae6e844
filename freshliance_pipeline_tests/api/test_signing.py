"""Signing: the docs' worked example byte for byte, and every accepted key format."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from freshliance_pipeline.api import signing

# freshliance-api.md section 3.2: the parameters of the documented example and the string to
# sign printed for them.
DOCS_PARAMS = {
    "appId": "658409073956360262328652394",
    "method": "tracker.userDevice.page",
    "format": "JSON",
    "charset": "UTF-8",
    "signType": "RSA2",
    "timestamp": "1747208216323",
    "version": "1.0",
    "bizContent": {"pageNum": 1, "pageSize": 10},
}
DOCS_STRING_TO_SIGN = (
    'appId=658409073956360262328652394&bizContent={"pageNum":1,"pageSize":10}&charset=UTF-8'
    "&format=JSON&method=tracker.userDevice.page&signType=RSA2&timestamp=1747208216323"
    "&version=1.0"
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return signing.generate_private_key()


def test_string_to_sign_matches_the_docs_example_byte_for_byte() -> None:
    text = signing.string_to_sign({**DOCS_PARAMS, "sign": "ignored"})

    assert text == DOCS_STRING_TO_SIGN
    # The values freshliance-api.md computed for the same string.
    assert len(text.encode("utf-8")) == 179
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest == "e9812191bfe50a1d481b5453914dd14065b41774afc824902bd3e293dd5df3ee"


def test_biz_content_given_as_text_signs_the_same_as_the_mapping() -> None:
    as_text = {**DOCS_PARAMS, "bizContent": '{"pageNum":1,"pageSize":10}'}

    assert signing.string_to_sign(as_text) == DOCS_STRING_TO_SIGN


def test_empty_values_and_sign_are_left_out_and_names_sort_by_bytes() -> None:
    text = signing.string_to_sign({"b": "2", "a": "", "sign": "x", "C": "3", "d": None})

    assert text == "C=3&b=2"


def test_canonical_json_is_compact_sorted_and_keeps_utf8() -> None:
    assert signing.canonical_json({"z": 1, "goods": "疫苗 Ω", "a": [1, 2]}) == (
        '{"a":[1,2],"goods":"疫苗 Ω","z":1}'
    )


def _pkcs1_pem(k: rsa.RSAPrivateKey) -> str:
    return k.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _pkcs8_pem(k: rsa.RSAPrivateKey) -> str:
    return signing.private_key_pem(k)


def _bare_pkcs8(k: rsa.RSAPrivateKey) -> str:
    der = k.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode()


def _bare_pkcs1(k: rsa.RSAPrivateKey) -> str:
    der = k.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode()


def _escaped_newlines(k: rsa.RSAPrivateKey) -> str:
    return _pkcs8_pem(k).replace("\n", "\\n")


def _one_line_pem(k: rsa.RSAPrivateKey) -> str:
    return _pkcs1_pem(k).replace("\n", " ")


@pytest.mark.parametrize(
    "render",
    [_pkcs1_pem, _pkcs8_pem, _bare_pkcs8, _bare_pkcs1, _escaped_newlines, _one_line_pem],
    ids=["pkcs1-pem", "pkcs8-pem", "bare-pkcs8", "bare-pkcs1", "escaped-newlines", "one-line"],
)
def test_sign_then_verify_round_trip_for_each_key_format(
    key: rsa.RSAPrivateKey, render: Callable[[rsa.RSAPrivateKey], str]
) -> None:
    loaded = signing.load_private_key(render(key))

    signature = signing.sign(DOCS_STRING_TO_SIGN, loaded)

    assert len(signature) == 344  # 256 bytes: the length the docs give for sign
    assert signing.verify(DOCS_STRING_TO_SIGN, signature, key.public_key())
    assert not signing.verify(DOCS_STRING_TO_SIGN + "x", signature, key.public_key())


def test_public_key_formats_verify(key: rsa.RSAPrivateKey) -> None:
    signature = signing.sign("message", key)
    pem = signing.public_key_pem(key)
    pkcs1 = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        .decode()
    )
    bare = "".join(line for line in pem.splitlines() if "-----" not in line)

    for text in (pem, pkcs1, bare, pem.replace("\n", "\\n")):
        assert signing.verify("message", signature, signing.load_public_key(text))


def test_signing_is_deterministic(key: rsa.RSAPrivateKey) -> None:
    assert signing.sign_params(DOCS_PARAMS, key) == signing.sign_params(DOCS_PARAMS, key)


def test_garbage_signature_does_not_verify(key: rsa.RSAPrivateKey) -> None:
    assert not signing.verify("message", "not base64 !!", key.public_key())


def test_a_bad_key_names_the_accepted_formats_and_never_echoes_the_key(
    key: rsa.RSAPrivateKey,
) -> None:
    # A real key body with its middle damaged: close enough to leak if echoed.
    body = _bare_pkcs8(key)
    broken = body[:200] + "AAAA" + body[210:]

    with pytest.raises(signing.KeyFormatError) as caught:
        signing.load_private_key(broken)

    message = str(caught.value)
    assert "PKCS#1" in message and "PKCS#8" in message and "base64" in message
    assert body[:40] not in message and broken[-40:] not in message
    assert caught.value.__cause__ is None or body[:40] not in str(caught.value.__cause__)


def test_a_public_key_is_not_accepted_as_a_private_key(key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(signing.KeyFormatError, match="Accepted formats"):
        signing.load_private_key(signing.public_key_pem(key))
