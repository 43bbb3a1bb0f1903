"""Observability: alert topics per severity and the stage dashboard (alarms arrive later)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import StageConfig
from infra.stacks.base import PlatformStack

SEVERITIES = ("critical", "warning", "info")
METRIC_NAMESPACE = "Platform/Network"


class ObservabilityStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        cfg: StageConfig,
        *,
        flow_logs: logs.ILogGroup,
        cluster: ecs.ICluster,
    ) -> None:
        super().__init__(scope, cfg, "observability", description="alerts, dashboards, audit")
        key = self.stage_key("AlertsKey", "alerts", "alert topics")
        # CloudWatch alarms publish to encrypted topics only if they may use the key.
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topics = {
            severity: sns.Topic(
                self,
                f"{severity.capitalize()}Topic",
                topic_name=cfg.resource_name(f"alerts-{severity}"),
                master_key=key,
                enforce_ssl=True,
            )
            for severity in SEVERITIES
        }

        rejected = logs.MetricFilter(
            self,
            "RejectedFlows",
            log_group=flow_logs,
            filter_pattern=logs.FilterPattern.literal(
                "[version, account, eni, source, destination, srcport, destport, protocol, "
                'packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]'
            ),
            metric_namespace=METRIC_NAMESPACE,
            metric_name=f"{cfg.name}-RejectedFlows",
            metric_value="1",
        ).metric(statistic="Sum", period=Duration.minutes(5))

        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=cfg.resource_name("overview")
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="ECS cluster CPU / memory (%)",
                left=[
                    _cluster_metric(cluster, "CpuUtilized", "CpuReserved"),
                    _cluster_metric(cluster, "MemoryUtilized", "MemoryReserved"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(title="Rejected VPC flows", left=[rejected], width=12),
        )


def _cluster_metric(cluster: ecs.ICluster, used: str, reserved: str) -> cloudwatch.MathExpression:
    def metric(name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name=name,
            dimensions_map={"ClusterName": cluster.cluster_name},
            statistic="Sum",
            period=Duration.minutes(1),
        )

    # Expression ids must be unique across a graph, hence the metric-specific prefix.
    prefix = used.removesuffix("Utilized").lower()
    return cloudwatch.MathExpression(
        expression=f"100 * {prefix}_used / {prefix}_reserved",
        using_metrics={f"{prefix}_used": metric(used), f"{prefix}_reserved": metric(reserved)},
        label=used.removesuffix("Utilized"),
        period=Duration.minutes(1),
    )
