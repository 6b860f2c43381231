"""Unit tests for the HMAC grants behind the local blob store's presigned URLs and forms."""

from __future__ import annotations

import base64

import pytest

from cellhub.adapters.local.url_signing import (
    POLICY_FIELD,
    SIGNATURE_FIELD,
    Grant,
    UrlSigner,
)
from cellhub.errors import InvalidParameter, SignatureInvalid, UrlExpired

from .conftest import Clock


def test_round_trip(signer: UrlSigner) -> None:
    grant = Grant.of("GET", "a/b", signer.expiry(60), filename="x.zip")
    signer.verify(grant, signer.sign(grant))


@pytest.mark.parametrize(
    "other",
    [
        Grant.of("GET", "a/c", 1_000_060, filename="x.zip"),
        Grant.of("PUT", "a/b", 1_000_060, filename="x.zip"),
        Grant.of("GET", "a/b", 1_000_061, filename="x.zip"),
        Grant.of("GET", "a/b", 1_000_060, filename="y.zip"),
        Grant.of("GET", "a/b", 1_000_060),
    ],
)
def test_signature_binds_every_part_of_the_grant(signer: UrlSigner, other: Grant) -> None:
    signature = signer.sign(Grant.of("GET", "a/b", 1_000_060, filename="x.zip"))
    with pytest.raises(SignatureInvalid):
        signer.verify(other, signature)


def test_canonical_strings_are_unambiguous() -> None:
    first = Grant.of("GET", 'a","b', 1, filename="c")
    second = Grant.of("GET", "a", 1, filename='b","c')
    assert first.canonical() != second.canonical()
    assert Grant.from_canonical(first.canonical()) == first


def test_expiry_checked_after_signature(signer: UrlSigner, clock: Clock) -> None:
    grant = Grant.of("GET", "k", signer.expiry(10))
    signature = signer.sign(grant)
    clock.now += 9.9
    signer.verify(grant, signature)
    clock.now += 0.1
    with pytest.raises(UrlExpired):
        signer.verify(grant, signature)
    with pytest.raises(SignatureInvalid):
        signer.verify(grant, "0" * 64)


@pytest.mark.parametrize("expires_in", [0, -5, 7 * 24 * 3600 + 1])
def test_expiry_bounds(signer: UrlSigner, expires_in: int) -> None:
    with pytest.raises(InvalidParameter):
        signer.expiry(expires_in)


def test_secret_is_long_and_never_shown(signer: UrlSigner) -> None:
    with pytest.raises(InvalidParameter):
        UrlSigner(b"short")
    assert "s" * 8 not in repr(signer)
    assert "s" * 8 not in str(signer)


def test_non_ascii_signature_is_refused_not_crashed(signer: UrlSigner) -> None:
    grant = Grant.of("GET", "k", signer.expiry(10))
    with pytest.raises(SignatureInvalid):
        signer.verify(grant, "é" * 64)


def test_query_round_trip_ignores_added_parameters(signer: UrlSigner) -> None:
    grant = Grant.of("PUT", "k", signer.expiry(10), upload_id="u1", part_number=3)
    query = signer.query(grant) | {"extra": "ignored"}
    assert signer.verify_query("PUT", query, ("upload_id", "part_number")) == grant
    with pytest.raises(SignatureInvalid):
        signer.verify_query("GET", query, ("upload_id", "part_number"))
    del query["part_number"]
    with pytest.raises(SignatureInvalid):
        signer.verify_query("PUT", query, ("upload_id", "part_number"))
    with pytest.raises(SignatureInvalid):
        signer.verify_query("PUT", {"key": "k", "expires": "soon"}, ())


def test_post_fields_round_trip(signer: UrlSigner) -> None:
    grant = Grant.of("POST", "k", signer.expiry(10), max_bytes=5, content_type="image/png")
    fields = signer.post_fields(grant)
    assert fields["key"] == "k"
    assert fields["Content-Type"] == "image/png"
    upper = {name.upper(): value for name, value in fields.items()}
    assert signer.verify_post_fields(upper) == grant


def test_post_policy_cannot_be_widened(signer: UrlSigner) -> None:
    fields = signer.post_fields(Grant.of("POST", "k", signer.expiry(10), max_bytes=5))
    wider = Grant.of("POST", "k", signer.expiry(10), max_bytes=5_000_000)
    fields[POLICY_FIELD] = base64.urlsafe_b64encode(wider.canonical()).decode()
    with pytest.raises(SignatureInvalid):
        signer.verify_post_fields(fields)


@pytest.mark.parametrize("policy", ["", "!!!not base64", "é", base64.b64encode(b"[1]").decode()])
def test_malformed_post_policy_refused(signer: UrlSigner, policy: str) -> None:
    with pytest.raises(SignatureInvalid):
        signer.verify_post_fields({POLICY_FIELD: policy, SIGNATURE_FIELD: "0" * 64, "key": "k"})


def test_download_grant_is_not_an_upload_policy(signer: UrlSigner) -> None:
    download = Grant.of("GET", "k", signer.expiry(10))
    fields = {
        "key": "k",
        POLICY_FIELD: base64.urlsafe_b64encode(download.canonical()).decode(),
        SIGNATURE_FIELD: signer.sign(download),
    }
    with pytest.raises(SignatureInvalid):
        signer.verify_post_fields(fields)
