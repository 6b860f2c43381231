"""Mail on one machine: each message becomes an ``.eml`` file in an outbox folder.

The embedded hub has no mail server, so a user reads the verification or reset link from
the file (any mail client opens ``.eml``). The body holds that link, so only the fact that a
message was written, its subject and its path are logged, never the body.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

logger = logging.getLogger(__name__)

_SENDER = "Cell Segmentation Hub <hub@localhost>"


class OutboxMailer:
    """A ``Mailer`` writing ``<UTC time>-<id>.eml`` files into ``folder`` (created on demand)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def send(self, to: str, subject: str, text: str) -> None:
        now = datetime.now(UTC)
        message = EmailMessage()
        message["From"] = _SENDER
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_msgid(domain="localhost")
        message.set_content(text)
        self.folder.mkdir(parents=True, exist_ok=True)
        # The time prefix makes a directory listing read in sending order.
        name = f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.eml"
        path = self.folder / name
        # Written beside its final name and renamed, so a reader never sees half a message.
        temp = self.folder / f".{name}.tmp"
        try:
            with temp.open("wb") as stream:
                stream.write(message.as_bytes())
                stream.flush()
                os.fsync(stream.fileno())
            temp.replace(path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        logger.info("mail written to the outbox: %r at %s", subject, path)

    def messages(self) -> list[Path]:
        """The messages written so far, oldest first."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.eml"))
