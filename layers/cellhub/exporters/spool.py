"""A disk-backed list of JSON values, for outputs that are one file for the whole run.

A COCO file or a workbook covers every image, but can only be written once the run ends. The
exporters append each image's entries here as it arrives (one JSON document per line in an
anonymous temporary file), so memory holds one image's entries at most, then read the
spool back in order at ``close``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import IO, Any

_COPY_CHUNK = 1 << 20


class JsonLinesSpool:
    """Append JSON values now; replay or splice them into a JSON array later."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives until close()
        self.count = 0

    def append(self, value: Any) -> None:
        # NaN survives the round trip (Python's json reads back what it writes).
        line = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        self._file.write(line.encode("utf-8") + b"\n")
        self.count += 1

    def __iter__(self) -> Iterator[Any]:
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            yield json.loads(line)
        self._file.seek(0, 2)

    def write_array(self, target: IO[bytes]) -> None:
        """Write ``[v1,v2,...]`` to ``target`` without decoding: lines become array items."""
        self._file.flush()
        self._file.seek(0)
        target.write(b"[")
        # A newline ends an item; it turns into a comma only if another item follows.
        separator_owed = False
        while chunk := self._file.read(_COPY_CHUNK):
            for i, piece in enumerate(chunk.split(b"\n")):
                separator_owed = separator_owed or i > 0
                if piece:
                    if separator_owed:
                        target.write(b",")
                    separator_owed = False
                    target.write(piece)
        target.write(b"]")
        self._file.seek(0, 2)

    def close(self) -> None:
        self._file.close()
