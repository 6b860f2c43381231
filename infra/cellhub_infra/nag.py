"""Acknowledging cdk-nag findings: one reason per finding, written next to the resource.

cdk-nag v3 reports through CDK's ``Validations`` API; a finding that is neither fixed nor
acknowledged fails ``app.synth()``. Findings of rules that report one id per detail (IAM5's
``[Resource::...]``, IAM4's ``[Policy::...]``) are acknowledged one by one.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge each of ``rule_ids`` on ``scope`` and everything below it, for ``reason``."""
    if len(reason) < 20:
        raise ValueError("an acknowledgment needs a real reason, not a placeholder")
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids)
    )
