"""HubData: the table mirrors the adapters' definition; buckets and secret are locked down."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from cellhub.adapters.aws.dynamodb_table import TTL_ATTRIBUTE, hub_table_definition
from cellhub.services.export_keys import exports_prefix

pytestmark = pytest.mark.slow


def _table(template: Template) -> dict[str, Any]:
    (table,) = template.find_resources("AWS::DynamoDB::Table").values()
    properties: dict[str, Any] = table["Properties"]
    return properties


def _data_bucket(template: Template) -> dict[str, Any]:
    buckets = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"VersioningConfiguration": {"Status": "Enabled"}}}
    )
    assert len(buckets) == 1
    properties: dict[str, Any] = next(iter(buckets.values()))["Properties"]
    return properties


def test_table_keys_and_indexes_equal_the_adapters_definition(prod: Template) -> None:
    table, definition = _table(prod), hub_table_definition("any")
    assert table["KeySchema"] == definition["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(
        definition["AttributeDefinitions"], key=str
    )
    assert table["GlobalSecondaryIndexes"] == definition["GlobalSecondaryIndexes"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_table_has_ttl_pitr_and_prod_only_deletion_protection(
    prod: Template, dev: Template
) -> None:
    for template in (prod, dev):
        table = _table(template)
        assert table["TimeToLiveSpecification"] == {
            "AttributeName": TTL_ATTRIBUTE,
            "Enabled": True,
        }
        assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert _table(prod)["DeletionProtectionEnabled"] is True
    assert _table(dev).get("DeletionProtectionEnabled") in (None, False)
    prod.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain"})


def test_every_bucket_blocks_public_access_encrypts_and_requires_tls(prod: Template) -> None:
    buckets = prod.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 3  # data, web client, access logs
    for bucket in buckets.values():
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    for policy in prod.find_resources("AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_data_bucket_cors_lets_the_web_origin_upload_and_read_etags(prod: Template) -> None:
    (rule,) = _data_bucket(prod)["CorsConfiguration"]["CorsRules"]
    assert rule["ExposedHeaders"] == ["ETag"]
    assert {"PUT", "POST"} <= set(rule["AllowedMethods"])
    (origin,) = rule["AllowedOrigins"]
    assert "DomainName" in str(origin)  # the CloudFront distribution's own name


def test_data_bucket_lifecycle(prod: Template) -> None:
    rules = {rule["Id"]: rule for rule in _data_bucket(prod)["LifecycleConfiguration"]["Rules"]}
    assert rules["abort-incomplete-multipart"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    exports = rules["expire-exports"]
    assert exports["ExpirationInDays"] == 7
    assert exports["Prefix"] == "exports/"
    assert exports_prefix("p1").startswith(exports["Prefix"])
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]


def test_signing_secret_is_generated_and_read_by_api_and_websocket_only(prod: Template) -> None:
    prod.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"PasswordLength": 64})},
    )
    readers = [
        name
        for name, policy in prod.find_resources("AWS::IAM::Policy").items()
        if "secretsmanager:GetSecretValue" in str(policy)
    ]
    assert sorted(name[:3] for name in readers) == ["Api", "Web"]
