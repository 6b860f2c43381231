"""Mail through Amazon SES (the v1 ``ses`` API, ``SendEmail``): one plain-text message a call.

The body carries one-time links, so it is never logged; only the recipient's domain, the
subject and SES's message id or error code are. SES's refusals become the project's errors:

    SES says                                              raised          permanent
    InvalidParameterValue (a malformed address)           InvalidParameter  yes
    Throttling, TooManyRequests, LimitExceeded (rate or   RateLimited      no
        daily quota)
    MessageRejected, MailFromDomainNotVerified, sending   ProcessingError  no
        paused, configuration set missing, 5xx, any other
    no answer (network, timeout)                          ProcessingError  no

``ProcessingError`` covers the account's own state (sandbox, unverified sender, paused
sending): the request was valid and an operator has to act, so it is retryable, not the
user's fault.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cellhub.errors import CellhubError, InvalidParameter, ProcessingError, RateLimited

logger = logging.getLogger(__name__)

_THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException"}
)
_INVALID = frozenset({"InvalidParameterValue", "BadRequestException"})
# SES's retry hint for a throttled send; its own limits are per second or per day.
_RETRY_AFTER_S = 1


class SesMailer:
    """A ``Mailer`` sending from ``sender`` (a verified SES identity) through a boto3 SES client."""

    def __init__(self, sender: str, *, client: Any, configuration_set: str | None = None) -> None:
        if not sender or "@" not in sender:
            raise InvalidParameter("sender must be an email address", sender=sender)
        self.sender = sender
        self.configuration_set = configuration_set
        self._client = client

    def send(self, to: str, subject: str, text: str) -> None:
        if not to or "@" not in to or any(c in to for c in "\r\n,;"):
            raise InvalidParameter("recipient must be one email address")
        params: dict[str, Any] = {
            "Source": self.sender,
            "Destination": {"ToAddresses": [to]},
            "Message": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        }
        if self.configuration_set is not None:
            params["ConfigurationSetName"] = self.configuration_set
        domain = to.rpartition("@")[2]
        try:
            response = self._client.send_email(**params)
        except ClientError as exc:
            error = mail_error(exc)
            logger.warning(
                "SES refused mail to a %s address (%r): %s", domain, subject, error.as_dict()
            )
            raise error from exc
        except BotoCoreError as exc:
            logger.warning("SES unreachable for mail %r: %s", subject, type(exc).__name__)
            raise ProcessingError("mail service unreachable", error=type(exc).__name__) from exc
        logger.info("mail %r to a %s address sent: %s", subject, domain, response["MessageId"])


def mail_error(exc: ClientError) -> CellhubError:
    """The project's error for an SES refusal (see the module's table)."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _THROTTLED:
        return RateLimited("mail service is throttling", code=code, retry_after=_RETRY_AFTER_S)
    if code in _INVALID:
        return InvalidParameter("mail service refused the address or message", code=code)
    return ProcessingError("mail service refused the message", code=code, status=status)
