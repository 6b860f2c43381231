"""The browser client (``web/``, static files, no build step) mounted at ``/`` of an app.

Only the embedded hub serves it this way; in the cloud the same folder sits behind
CloudFront. The mount goes last so every API route keeps precedence over a file path.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

# The repository's web/ folder, beside functions/ (the package is installed editable).
WEB_DIR = Path(__file__).resolve().parents[3] / "web"


def mount_web_client(app: FastAPI, directory: Path = WEB_DIR) -> bool:
    """Serve ``directory`` at ``/`` (``index.html`` for ``/``); False when it is absent."""
    if not (directory / "index.html").is_file():
        return False
    app.mount("/", StaticFiles(directory=directory, html=True), name="web")
    return True
