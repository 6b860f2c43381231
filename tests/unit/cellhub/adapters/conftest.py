"""A settable clock and a signer on it, shared by the local adapters' signing tests."""

from __future__ import annotations

import pytest

from cellhub.adapters.local.url_signing import UrlSigner

SECRET = b"s" * 32


class Clock:
    """Stands in for ``time.time``; tests move ``now`` to cross expiries."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signer(clock: Clock) -> UrlSigner:
    return UrlSigner(SECRET, clock=clock)
