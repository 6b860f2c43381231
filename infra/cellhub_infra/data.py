"""Stateful resources: the single DynamoDB table, the data and log buckets, the signing secret.

The table's keys and indexes come from ``cellhub.adapters.aws.dynamodb_table`` (the same
definition the adapters' tests create on moto), so the deployed table cannot drift from
what the code queries.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cellhub.adapters.aws.dynamodb_table import TTL_ATTRIBUTE, hub_table_definition
from cellhub_infra.nag import acknowledge

# Export ZIPs live under this prefix (cellhub.services.export_keys.exports_prefix), apart from
# projects/, so one lifecycle rule expires them and upload notifications never see them.
EXPORTS_PREFIX = "exports/"


def _key(schema: list[dict[str, str]], key_type: str) -> dynamodb.Attribute:
    name = next(item["AttributeName"] for item in schema if item["KeyType"] == key_type)
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class HubData(Construct):
    """Table, data bucket (with its access-log bucket) and the access-token signing secret.

    Attributes: ``table``, ``bucket``, ``log_bucket``, ``jwt_secret``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        export_expiry_days: int,
        noncurrent_version_days: int,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        self.table = self._table(prefix, retain, removal)
        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # CloudFront's standard logs are written with ACLs; S3 server logs don't mind.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=removal,
            auto_delete_objects=not retain,
        )
        acknowledge(
            self.log_bucket,
            "This is the access-log bucket itself; logging it into itself would loop.",
            "AwsSolutions-S1",
        )
        self.bucket = s3.Bucket(
            self,
            "Data",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="data/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-multipart",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-exports",
                    prefix=EXPORTS_PREFIX,
                    expiration=Duration.days(export_expiry_days),
                ),
                # Versioning guards originals and segmentations against a bad delete or
                # overwrite; old versions (and regenerable thumbnails') go after a while.
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(noncurrent_version_days),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=removal,
            auto_delete_objects=not retain,
        )
        self.jwt_secret = secretsmanager.Secret(
            self,
            "JwtSecret",
            description="Access-token signing key of the hub (raw string).",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=removal,
        )
        acknowledge(
            self.jwt_secret,
            "Functions cache the signing key per container; rotating it signs every user out "
            "and needs a two-key overlap the token service does not have yet. Rotate by hand.",
            "AwsSolutions-SMG4",
        )

    def allow_browser_uploads(self, origins: Sequence[str]) -> None:
        """Let pages from ``origins`` PUT/POST presigned uploads and read back each part's ETag."""
        self.bucket.add_cors_rule(
            allowed_methods=[
                s3.HttpMethods.GET,
                s3.HttpMethods.HEAD,
                s3.HttpMethods.PUT,
                s3.HttpMethods.POST,
            ],
            allowed_origins=list(origins),
            allowed_headers=["*"],
            # Multipart completion needs each part's ETag, read by the browser.
            exposed_headers=["ETag"],
            max_age=3600,
        )

    def _table(self, prefix: str, retain: bool, removal: RemovalPolicy) -> dynamodb.Table:
        definition = hub_table_definition(f"{prefix}-hub")
        table = dynamodb.Table(
            self,
            "Table",
            partition_key=_key(definition["KeySchema"], "HASH"),
            sort_key=_key(definition["KeySchema"], "RANGE"),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=retain,
            removal_policy=removal,
        )
        for index in definition["GlobalSecondaryIndexes"]:
            table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=_key(index["KeySchema"], "HASH"),
                sort_key=_key(index["KeySchema"], "RANGE"),
                projection_type=dynamodb.ProjectionType(index["Projection"]["ProjectionType"]),
            )
        return table
