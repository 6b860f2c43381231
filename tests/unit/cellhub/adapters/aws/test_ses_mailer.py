"""The SES mailer: a real send on moto, and SES's refusals (via Stubber) in the error tree.

moto is not enough for the refusals: it never throttles, never pauses sending, knows no
daily quota and rejects only unverified senders, so the error mapping is fed the codes SES
itself returns. Every test also checks that the body, which holds one-time links, is never
logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from cellhub.adapters.aws.ses_mailer import SesMailer
from cellhub.errors import CellhubError, InvalidParameter, ProcessingError, RateLimited
from tests.contract.aws_fixtures import REGION, fake_credentials

SENDER = "hub@lab.example.org"
SECRET_LINK = "https://hub.example.org/verify-email?token=s3cr3t-t0ken"


@pytest.fixture
def moto_ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    fake_credentials(monkeypatch)
    with mock_aws():
        yield boto3.client("ses", region_name=REGION)


@pytest.fixture
def stubber(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    fake_credentials(monkeypatch)
    with Stubber(boto3.client("ses", region_name=REGION)) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_sends_plain_text_from_the_verified_sender(
    moto_ses: object, caplog: pytest.LogCaptureFixture
) -> None:
    moto_ses.verify_email_identity(EmailAddress=SENDER)  # type: ignore[attr-defined]
    # The adapter's own logs, at every level. (botocore's DEBUG log prints request parameters,
    # mail bodies included: deployments keep the botocore logger at INFO or above.)
    caplog.set_level(logging.DEBUG, logger="cellhub")
    SesMailer(SENDER, client=moto_ses).send("ana@uni.example", "Confirm", f"Open {SECRET_LINK}")
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    assert (sent.source, sent.destinations["ToAddresses"]) == (SENDER, ["ana@uni.example"])
    assert (sent.subject, sent.body) == ("Confirm", f"Open {SECRET_LINK}")
    assert "s3cr3t" not in caplog.text
    assert "ana@" not in caplog.text  # only the recipient's domain is logged


def test_an_unverified_sender_is_a_processing_error(
    moto_ses: object, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ProcessingError) as raised:
        SesMailer(SENDER, client=moto_ses).send("ana@uni.example", "Reset", SECRET_LINK)
    assert raised.value.details["code"] == "MessageRejected"
    assert "s3cr3t" not in caplog.text


def test_request_shape(stubber: Stubber) -> None:
    stubber.add_response(
        "send_email",
        {"MessageId": "0100-abc"},
        {
            "Source": SENDER,
            "Destination": {"ToAddresses": ["ana@uni.example"]},
            "Message": {
                "Subject": {"Data": "Zurücksetzen", "Charset": "UTF-8"},
                "Body": {"Text": {"Data": "Grüße", "Charset": "UTF-8"}},
            },
            "ConfigurationSetName": "hub",
        },
    )
    SesMailer(SENDER, client=stubber.client, configuration_set="hub").send(
        "ana@uni.example", "Zurücksetzen", "Grüße"
    )


@pytest.mark.parametrize(
    ("code", "status", "raised", "permanent"),
    [
        ("Throttling", 400, RateLimited, False),  # "Maximum sending rate exceeded."
        ("TooManyRequestsException", 429, RateLimited, False),
        ("LimitExceededException", 400, RateLimited, False),  # daily quota
        ("InvalidParameterValue", 400, InvalidParameter, True),  # malformed address
        ("MessageRejected", 400, ProcessingError, False),  # sandbox: recipient unverified
        ("MailFromDomainNotVerifiedException", 400, ProcessingError, False),
        ("AccountSendingPausedException", 400, ProcessingError, False),
        ("ConfigurationSetDoesNotExist", 400, ProcessingError, False),
        ("ServiceUnavailable", 503, ProcessingError, False),
    ],
)
def test_ses_refusals_map_onto_the_error_tree(
    stubber: Stubber,
    caplog: pytest.LogCaptureFixture,
    code: str,
    status: int,
    raised: type[CellhubError],
    permanent: bool,
) -> None:
    stubber.add_client_error("send_email", service_error_code=code, http_status_code=status)
    with pytest.raises(raised) as error:
        SesMailer(SENDER, client=stubber.client).send("ana@uni.example", "Reset", SECRET_LINK)
    assert error.value.permanent is permanent
    assert error.value.details["code"] == code
    if raised is RateLimited:
        assert error.value.details["retry_after"] >= 1
    assert "s3cr3t" not in caplog.text


@pytest.mark.parametrize("to", ["", "no-at-sign", "a@b.example\r\nBcc: x@y.example", "a@b,c@d"])
def test_malformed_recipients_are_refused_before_any_request(stubber: Stubber, to: str) -> None:
    with pytest.raises(InvalidParameter):
        SesMailer(SENDER, client=stubber.client).send(to, "Hi", "text")


def test_sender_must_be_an_address(stubber: Stubber) -> None:
    with pytest.raises(InvalidParameter):
        SesMailer("hub", client=stubber.client)
