"""HMAC-signed upload and download grants for the local blob store, shaped like S3's presigning.

A ``Grant`` is what a URL or an upload form lets its holder do: one method on one key until
an expiry, within limits (largest body, content type, multipart upload id and part number,
download file name). Its canonical string is the compact JSON array
``["cellhub-blob/1", method, key, expires_at, [[name, value], ...]]`` with the limits sorted
by name. JSON quoting keeps it unambiguous whatever a key or value holds, so two different
grants never share a canonical string: a signature for one key, method, expiry or limit is
never valid for another. The signature is the hex HMAC-SHA256 of that string under the
server's secret, compared in constant time.

Upload forms carry the canonical string itself, base64url-encoded, as their ``policy`` field
(S3 signs its base64 policy document the same way); URLs carry the grant as query parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cellhub.errors import InvalidParameter, PolicyViolation, SignatureInvalid, UrlExpired
from cellhub.ports.blob_store import check_expires_in

SCHEME = "cellhub-blob/1"
POLICY_FIELD = "policy"
SIGNATURE_FIELD = "x-cellhub-signature"
# A genuine policy is a few hundred bytes; refuse to decode anything far bigger.
MAX_POLICY_CHARS = 8192
MIN_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class Grant:
    method: str
    key: str
    expires_at: int
    limits: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, method: str, key: str, expires_at: int, **limits: str | int | None) -> Grant:
        """A grant with the limits that are not None, as strings, sorted by name."""
        kept = sorted((name, str(value)) for name, value in limits.items() if value is not None)
        return cls(method, key, expires_at, tuple(kept))

    def limit(self, name: str) -> str | None:
        return dict(self.limits).get(name)

    def canonical(self) -> bytes:
        document = [SCHEME, self.method, self.key, self.expires_at, [list(p) for p in self.limits]]
        return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")

    @classmethod
    def from_canonical(cls, text: bytes) -> Grant:
        """Parse a canonical string; ``SignatureInvalid`` if it is not one."""
        try:
            document: Any = json.loads(text)
            scheme, method, key, expires_at, limits = document
            pairs = tuple((str(name), str(value)) for name, value in limits)
        except (ValueError, TypeError) as exc:
            raise SignatureInvalid("malformed upload policy") from exc
        valid = (
            scheme == SCHEME
            and isinstance(method, str)
            and isinstance(key, str)
            and type(expires_at) is int
        )
        if not valid:
            raise SignatureInvalid("malformed upload policy")
        return cls(method, key, expires_at, pairs)


class UrlSigner:
    """Signs and verifies grants with one secret; the secret never appears in output or logs.

    In production the secret comes from ``Settings.blob_signing_secret``; every process that
    serves the same blob store must share it, or URLs signed by one are refused by another.
    """

    def __init__(self, secret: bytes, *, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise InvalidParameter(f"blob signing secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._clock = clock

    def __repr__(self) -> str:
        return "UrlSigner(secret=<hidden>)"

    def expiry(self, expires_in: int) -> int:
        """The Unix time ``expires_in`` seconds from now, after checking S3's bounds."""
        check_expires_in(expires_in)
        return int(self._clock()) + expires_in

    def sign(self, grant: Grant) -> str:
        return hmac.new(self._secret, grant.canonical(), hashlib.sha256).hexdigest()

    def verify(self, grant: Grant, signature: str) -> None:
        """Raise ``SignatureInvalid`` unless ``signature`` signs ``grant``, then ``UrlExpired``
        if it has run out. The signature is checked first so that a forged request learns
        nothing about expiry."""
        expected = self.sign(grant).encode("ascii")
        given = signature.encode("utf-8", errors="replace")
        if not hmac.compare_digest(expected, given):
            raise SignatureInvalid("signature does not match", key=grant.key)
        if self._clock() >= grant.expires_at:
            raise UrlExpired("signed request has expired", key=grant.key)

    def post_fields(self, grant: Grant) -> dict[str, str]:
        """The form fields of a presigned POST for ``grant`` (method POST)."""
        policy = base64.urlsafe_b64encode(grant.canonical()).decode("ascii")
        fields = {"key": grant.key, POLICY_FIELD: policy, SIGNATURE_FIELD: self.sign(grant)}
        content_type = grant.limit("content_type")
        if content_type is not None:
            fields["Content-Type"] = content_type
        return fields

    def verify_post_fields(self, fields: Mapping[str, str]) -> Grant:
        """The grant a POST form's policy carries, once its signature and expiry check out and
        the form's key and content type keep to it (``PolicyViolation`` if not).

        Field names are matched without regard to case, as S3 does.
        """
        lowered = {name.lower(): value for name, value in fields.items()}
        policy = lowered.get(POLICY_FIELD, "")
        signature = lowered.get(SIGNATURE_FIELD, "")
        if not policy or not signature or len(policy) > MAX_POLICY_CHARS:
            raise SignatureInvalid("upload form lacks a policy or signature")
        try:
            canonical = base64.urlsafe_b64decode(policy.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise SignatureInvalid("malformed upload policy") from exc
        # Authenticate the bytes before trusting their structure.
        expected = hmac.new(self._secret, canonical, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
            raise SignatureInvalid("signature does not match the upload policy")
        grant = Grant.from_canonical(canonical)
        if grant.method != "POST":
            raise SignatureInvalid("policy is not an upload policy")
        self.verify(grant, signature)
        if lowered.get("key") != grant.key:
            raise PolicyViolation("form key differs from the signed key", key=grant.key)
        content_type = grant.limit("content_type")
        if content_type is not None and lowered.get("content-type") != content_type:
            raise PolicyViolation("content type differs from the signed one", key=grant.key)
        return grant

    def query(self, grant: Grant) -> dict[str, str]:
        """The query parameters of a presigned URL for ``grant``."""
        params = {"key": grant.key, "expires": str(grant.expires_at), **dict(grant.limits)}
        params["signature"] = self.sign(grant)
        return params

    def verify_query(
        self, method: str, query: Mapping[str, str], limit_names: Collection[str]
    ) -> Grant:
        """The grant a URL's query carries for ``method``, once signature and expiry check out.

        Only ``limit_names`` are read back: a parameter added to a URL after signing is
        ignored, and one removed or altered breaks the signature.
        """
        key = query.get("key", "")
        signature = query.get("signature", "")
        try:
            expires_at = int(query.get("expires", ""))
        except ValueError as exc:
            raise SignatureInvalid("signed URL lacks a valid expiry") from exc
        if not key or not signature:
            raise SignatureInvalid("signed URL lacks a key or signature")
        limits = {name: query.get(name) for name in limit_names}
        grant = Grant.of(method, key, expires_at, **limits)
        self.verify(grant, signature)
        return grant
