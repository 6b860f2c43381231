"""The mail port: how services send a plain-text message to one address.

SES is the cloud adapter; ``OutboxMailer`` writes each message to a folder on one machine.
Messages may carry secrets (verification and reset links), so adapters never log a body.
"""

from __future__ import annotations

from typing import Protocol


class Mailer(Protocol):
    def send(self, to: str, subject: str, text: str) -> None:
        """Deliver (or durably queue) one message; raising means it was not sent."""
        ...
