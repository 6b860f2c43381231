"""WebHosting and Monitoring: CloudFront with OAC and headers, config.json, alarms, dashboard."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

pytestmark = pytest.mark.slow


def test_distribution_reads_the_private_site_bucket_through_oac(prod: Template) -> None:
    prod.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    (distribution,) = prod.find_resources("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert "OriginAccessControlId" in origin
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert config["DefaultRootObject"] == "index.html"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "ResponseHeadersPolicyId" in config["DefaultCacheBehavior"]
    assert config["Logging"]["Prefix"] == "cloudfront/"


def test_security_headers(prod: Template) -> None:
    (policy,) = prod.find_resources("AWS::CloudFront::ResponseHeadersPolicy").values()
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == 365 * 24 * 3600
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"]["Override"] is True
    assert "frame-ancestors 'none'" in (headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])


def test_client_upload_writes_config_json_with_both_api_urls(prod: Template) -> None:
    (deployment,) = prod.find_resources("Custom::CDKBucketDeployment").values()
    properties = deployment["Properties"]
    assert len(properties["SourceObjectKeys"]) == 2  # the web/ folder and config.json
    markers = json.dumps(properties["SourceMarkers"])
    assert "HttpApi" in markers and "LiveApi" in markers
    assert "DistributionId" in properties


def test_dead_letters_api_5xx_and_crash_loops_page_through_sns(prod: Template) -> None:
    (topic,) = prod.find_resources("AWS::SNS::Topic")
    paging = {
        name: alarm["Properties"]
        for name, alarm in prod.find_resources("AWS::CloudWatch::Alarm").items()
        if {"Ref": topic} in alarm["Properties"].get("AlarmActions", [])
    }
    dead_letter = [
        a for a in paging.values() if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    assert len(dead_letter) == 3
    assert all(a["Threshold"] == 1 for a in dead_letter)
    assert any(a.get("MetricName") == "5xx" for a in paging.values())
    assert any("CrashLoop" in name for name in paging)
    # Each function's two release alarms page as well.
    lambda_alarms = [a for a in paging.values() if a.get("Namespace") == "AWS/Lambda"]
    assert sorted(a["MetricName"] for a in lambda_alarms) == ["Duration"] * 4 + ["Errors"] * 4


def test_dashboard_covers_api_queues_worker_and_exports(prod: Template) -> None:
    (dashboard,) = prod.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in (
        "API latency",
        "API errors",
        "Queue depth",
        "Oldest message age",
        "Dead-letter depth",
        "Worker images/s",
        "Export duration",
    ):
        assert title in body, title


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_every_log_has_a_retention(stage: str, prod: Template, dev: Template) -> None:
    template = prod if stage == "prod" else dev
    groups = template.find_resources("AWS::Logs::LogGroup")
    assert groups and all("RetentionInDays" in g["Properties"] for g in groups.values())
    for function in template.find_resources("AWS::Lambda::Function").values():
        assert "LogGroup" in function["Properties"]["LoggingConfig"]
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"LifecycleConfiguration": {"Rules": [Match.object_like({"ExpirationInDays": 365})]}},
    )
