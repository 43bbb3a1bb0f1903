"""Alarms on metrics that exist only in us-east-1: CloudFront's error rate and WAF's blocks.

CloudWatch alarms must live in their metric's region, and the distribution is created after
the us-east-1 edge stack, so these alarms get a stack of their own, deployed after the CDN.
They notify a us-east-1 topic with the stage's critical and warning e-mail subscribers (alarm
actions cannot reach topics in another region).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from constructs_lib.alarms import AT_LEAST, notifying_alarm
from infra.config import StageConfig
from infra.stacks.base import PlatformStack
from infra.stacks.cdn import CdnStack
from infra.stacks.edge import EdgeStack


class EdgeAlarmsStack(PlatformStack):
    def __init__(
        self, scope: Construct, cfg: StageConfig, *, edge: EdgeStack, cdn: CdnStack
    ) -> None:
        super().__init__(
            scope,
            cfg,
            "edge-alarms",
            description="CloudFront and WAF alarms (us-east-1)",
            region=cfg.edge.waf_region,
            cross_region_references=True,
        )
        key = self.stage_key("EdgeAlertsKey", "edge-alerts", "edge alert topic")
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(
            self,
            "EdgeAlerts",
            topic_name=cfg.resource_name("edge-alerts"),
            master_key=key,
            enforce_ssl=True,
        )
        for severity, address in cfg.observability.alert_emails:
            if severity in ("critical", "warning"):
                self.topic.add_subscription(subscriptions.EmailSubscription(address))
        t = cfg.observability.thresholds
        errors = cloudwatch.Metric(
            namespace="AWS/CloudFront",
            metric_name="5xxErrorRate",
            dimensions_map={
                "DistributionId": cdn.distribution.distribution_id,  # stable for its lifetime
                "Region": "Global",
            },
            statistic="Average",
            period=Duration.minutes(1),
        )
        blocked = cloudwatch.Metric(
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            dimensions_map={"WebACL": str(edge.web_acl.name), "Rule": "ALL"},
            statistic="Sum",
            period=Duration.minutes(5),
        )
        for name, metric, threshold, periods, description in (
            ("cloudfront-5xx-rate", errors, t.cloudfront_5xx_percent, 3, "CloudFront answers 5xx"),
            (
                "waf-blocked-spike",
                blocked,
                t.waf_blocked_per_5_min,
                1,
                "WAF blocks a surge of requests",
            ),
        ):
            notifying_alarm(
                self,
                f"Alarm-{name}",
                name=cfg.resource_name(name),
                metric=metric,
                threshold=threshold,
                description=description,
                topic=self.topic,
                periods=periods,
                comparison=AT_LEAST,
            )
        self.add_stack_dependency(edge)
