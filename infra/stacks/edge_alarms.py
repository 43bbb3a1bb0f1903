"""Alarms on metrics that exist only in us-east-1: CloudFront's error rate and WAF's blocks.

CloudWatch alarms must live in their metric's region, and the distribution is created after
the us-east-1 edge stack, so these alarms get a stack of their own, deployed after the CDN.
They notify a us-east-1 topic with the stage's critical and warning recipients (alarm actions
cannot reach topics in another region).
"""

from __future__ import annotations

import cdk_monitoring_constructs as cmc
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib.monitoring import facade, levels
from infra.config import StageConfig
from infra.config.aws import CLOUDFRONT_REGION
from infra.stacks.base import PlatformStack
from infra.stacks.cdn import CdnStack
from infra.stacks.edge import EdgeStack
from infra.stacks.observability.alerts import subscribe


class EdgeAlarmsStack(PlatformStack):
    def __init__(
        self, scope: Construct, cfg: StageConfig, *, edge: EdgeStack, cdn: CdnStack
    ) -> None:
        super().__init__(
            scope,
            cfg,
            "edge-alarms",
            description="CloudFront and WAF alarms (us-east-1)",
            region=CLOUDFRONT_REGION,
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
        alerts = cfg.observability.alerts
        subscribe(self.topic, alerts.critical, alerts.warning)
        a = cfg.observability.alarms
        monitoring = facade(
            self,
            "Monitoring",
            prefix=cfg.resource_name("edge"),
            dashboard_name=cfg.resource_name("edge"),
            topics={"critical": self.topic, "warning": self.topic},
        )
        monitoring.monitor_cloud_front_distribution(
            distribution=cdn.distribution,  # its id is stable for the distribution's lifetime
            alarm_friendly_name="cloudfront",
            human_readable_name="CloudFront",
            add_fault5xx_rate=levels(
                a.cloudfront_5xx_percent, cmc.ErrorRateThreshold, "max_error_rate"
            ),
        )
        monitoring.monitor_web_application_firewall_acl_v2(
            acl=edge.web_acl,
            alarm_friendly_name="waf",
            human_readable_name="WAF",
            add_blocked_requests_count_alarm=levels(
                a.waf_blocked, cmc.ErrorCountThreshold, "max_error_count"
            ),
        )
        self.critical_alarm_names = monitoring.alarm_names("Critical")
        """What the pipeline's bake step watches here, besides the observability stack's."""
        self.add_stack_dependency(edge)
