"""How the hub client turns an error reply into an exception.

An error reply ``{"error": {code, message, details}}`` is raised as the ``cellhub.errors``
class of that code (its details gain ``status``), or as ``HubError`` for a code outside the
error tree or a reply that is not the API's error body.
"""

from __future__ import annotations

import httpx

from cellhub.errors import CellhubError


class HubError(Exception):
    """An error reply whose code has no class in ``cellhub.errors``."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(f"{message} [{code}, HTTP {status}]")
        self.code = code
        self.status = status
        self.message = message


def _errors_by_code() -> dict[str, type[CellhubError]]:
    """Each code to the most general class carrying it (breadth-first over the tree)."""
    found: dict[str, type[CellhubError]] = {}
    level: list[type[CellhubError]] = [CellhubError]
    while level:
        for cls in level:
            found.setdefault(cls.code, cls)
        level = [sub for cls in level for sub in cls.__subclasses__()]
    found.pop(CellhubError.code, None)
    return found


_ERRORS = _errors_by_code()


def raise_for_reply(response: httpx.Response) -> None:
    """Raise the typed error of an error reply; do nothing for a success."""
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
        details = dict(error.get("details") or {})
    except (ValueError, KeyError, TypeError):
        raise HubError(
            f"http_{response.status_code}", response.status_code, response.text
        ) from None
    cls = _ERRORS.get(code)
    if cls is None:
        raise HubError(code, response.status_code, message)
    raise cls(message, **{**details, "status": response.status_code})
