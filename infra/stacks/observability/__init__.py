"""Observability: alert topics per severity and who they reach, alarms and a dashboard for
everything the other stacks registered, log queries, alert forwarders, audit and budgets."""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnOutput
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.function import tracing_policy
from constructs_lib.monitoring import facade
from infra.config import StageConfig, aws
from infra.config.pipeline import stage_role_name, step_role_name
from infra.stacks.base import PlatformStack
from infra.stacks.compute import ComputeStack
from infra.stacks.data import DataStack
from infra.stacks.network import NetworkStack
from infra.stacks.observability.alarms import monitor
from infra.stacks.observability.alerts import (
    alerts_key,
    build_forwarders,
    build_topics,
    scope_event_publishers,
)
from infra.stacks.observability.audit import build_audit
from infra.stacks.observability.budget import build_budgets
from infra.stacks.observability.logs import rejected_flows, saved_queries
from infra.stacks.observability.recovery import build_recovery_alerts


class ObservabilityStack(PlatformStack):
    audit_key: kms.Key
    audit_logs: s3.Bucket

    def __init__(
        self,
        scope: Construct,
        cfg: StageConfig,
        *,
        network: NetworkStack,
        compute: ComputeStack,
        data: DataStack,
        edge_alarm_names: list[str],
    ) -> None:
        """`edge_alarm_names`: the critical alarms in us-east-1 the bake step reads too."""
        super().__init__(scope, cfg, "observability", description="alerts, dashboards, audit")
        self.edge_alarm_names = edge_alarm_names
        self.key = alerts_key(self)
        self.tracing = tracing_policy(self)
        self.topics = build_topics(self)
        build_forwarders(self)
        self.forwarder_alarms: list[cloudwatch.AlarmBase] = []
        """The alert forwarders' own alarms (monitor_functions records them as it makes them)."""
        dashboard = cfg.resource_name("overview")
        self.monitoring = facade(
            self, "Monitoring", prefix=cfg.prefix, dashboard_name=dashboard, topics=self.topics
        )
        monitor(self, (compute.inventory, data.inventory, self.inventory), data)
        CfnOutput(
            self,
            "DashboardUrl",
            value=f"https://{cfg.region}.console.aws.amazon.com/cloudwatch/home"
            f"?region={cfg.region}#dashboards:name={dashboard}",
            description="The stage's CloudWatch dashboard",
        )
        rejected_flows(self, network)
        saved_queries(self, compute.inventory)
        self._service_down()
        build_audit(self)
        build_recovery_alerts(self)
        build_budgets(self)
        scope_event_publishers(self)

    def _service_down(self) -> None:
        """One page when users cannot use the product: any critical alarm of the stage."""
        # Alert forwarders failing is an alerting problem (it pages), not users being down,
        # and must not hold a release back: they stay out of the composite and the bake.
        # By identity, not by name: a forwarder named "db" must not take the db-* alarms along.
        forwarders = {id(alarm) for alarm in self.forwarder_alarms}  # alive: the list holds them
        critical, names = [], []
        for alarm, name in zip(
            self.monitoring.alarms("Critical"), self.monitoring.alarm_names("Critical"), strict=True
        ):
            if id(alarm) not in forwarders:
                critical.append(alarm)
                names.append(name)
        self.critical_alarm_names: list[str] = []
        if not critical:
            return
        down = cloudwatch.CompositeAlarm(
            self,
            "ServiceDown",
            composite_alarm_name=self.cfg.resource_name("service-down"),
            alarm_description="Users cannot use the product: a critical alarm of the stage fired",
            alarm_rule=cloudwatch.AlarmRule.any_of(*critical),
        )
        down.add_alarm_action(actions.SnsAction(self.topics["critical"]))
        down.add_ok_action(actions.SnsAction(self.topics["critical"]))
        self.critical_alarm_names = names
        if self.cfg.pipeline_account is not None and self.cfg.delivery.bake_minutes:
            self._alarm_reader(self.cfg.pipeline_account)  # the bake step exists: it reads

    def _alarm_reader(self, account: str) -> None:
        """The pipeline's bake step may read the state and history of this stage's critical
        alarms (by name), and nothing else."""
        cfg = self.cfg
        step_role = step_role_name(cfg.project, cfg.name, "bake")
        step = f"arn:{self.partition}:iam::{account}:role/{step_role}"
        role = iam.Role(
            self,
            "PipelineBakeRole",
            role_name=stage_role_name(cfg.project, cfg.name, "bake"),
            assumed_by=iam.ArnPrincipal(step),
            description="Lets the delivery pipeline's bake step read the critical alarms",
        )
        alarms = [
            self.format_arn(
                service="cloudwatch",
                region=region,
                resource="alarm",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for region, names in (
                (self.region, self.critical_alarm_names),
                (aws.CLOUDFRONT_REGION, self.edge_alarm_names),
            )
            for name in names
        ]
        role.add_managed_policy(
            iam.ManagedPolicy(
                self,
                "PipelineBakePolicy",
                statements=[
                    iam.PolicyStatement(
                        # History too: an alarm that fired and recovered between two polls
                        # still fails the bake.
                        actions=["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
                        resources=alarms,
                    )
                ],
            )
        )
