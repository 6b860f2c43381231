"""The web client on S3 behind CloudFront (origin access control, security headers).

The bucket stays private: only the distribution reads it, signed by origin access control.
``config.json`` beside ``index.html`` tells the client where the HTTP and WebSocket APIs
are; it is written at deploy time from the APIs' URLs (tokens resolved by CloudFormation).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from cellhub_infra.nag import acknowledge

# Presigned uploads and downloads and the APIs all live on *.amazonaws.com hosts.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data: blob: https://*.amazonaws.com",
        "connect-src 'self' https://*.amazonaws.com wss://*.amazonaws.com",
        "style-src 'self' 'unsafe-inline'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)


class WebHosting(Construct):
    """Attributes: ``bucket``, ``distribution``, ``origin`` (``https://`` + domain)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_bucket: s3.IBucket,
        domain_name: str | None,
        certificate_arn: str | None,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix="web/",
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            auto_delete_objects=not retain,
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365),
                    include_subdomains=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=True
                ),
            ),
        )
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
            if certificate_arn
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
            default_root_object="index.html",
            domain_names=[domain_name] if domain_name else None,
            certificate=certificate,
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
        )
        self.origin = f"https://{domain_name or self.distribution.distribution_domain_name}"
        acknowledge(
            self.distribution,
            "The hub serves labs worldwide; there is no country to block by default.",
            "AwsSolutions-CFR1",
        )
        acknowledge(
            self.distribution,
            "A WAF web ACL costs at least $5/month plus per-request fees, and the distribution "
            "serves static files only; the APIs have their own throttling. Attach one per lab.",
            "AwsSolutions-CFR2",
        )
        if not certificate_arn:
            acknowledge(
                self.distribution,
                "Without a custom domain CloudFront's default certificate is used, whose "
                "minimum TLS version cannot be raised; set web_domain for TLS 1.2 only.",
                "AwsSolutions-CFR4",
            )

    def deploy_client(self, *, web_folder: Path, config: Mapping[str, str]) -> None:
        """Upload ``web_folder`` and a ``config.json`` with ``config`` (API URLs) to the site."""
        deployment = s3deploy.BucketDeployment(
            self,
            "Client",
            sources=[
                s3deploy.Source.asset(str(web_folder)),
                s3deploy.Source.json_data("config.json", dict(config)),
            ],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/index.html", "/config.json"],
            memory_limit=512,
        )
        self.client_deployment = deployment
