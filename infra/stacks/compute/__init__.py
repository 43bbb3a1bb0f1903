"""Compute: the ECS cluster, load balancers, the product's services and functions, scheduled
jobs, and the credential refresh after database rotations.

Services run in private subnets with their own security groups and exactly the grants their
`uses` declare. Load balancers answer CloudFront (managed prefix list plus a secret origin
header) unless a service is exposed on them directly.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.durations import days, hours, seconds
from constructs_lib.encryption import kms_via
from constructs_lib.function import tracing_policy
from constructs_lib.security_matrix import SecurityGroupMatrix
from infra.config import StageConfig
from infra.config.functions import EventTrigger
from infra.config.services import ServiceConfig, TagMutability
from infra.stacks.base import PlatformStack, removal
from infra.stacks.compute.credential_refresh import build_credential_refresh
from infra.stacks.compute.exports import build_outputs, register_for_monitoring
from infra.stacks.compute.functions import FunctionHandle, build_functions, build_queues
from infra.stacks.compute.jobs import build_scheduled_jobs
from infra.stacks.compute.load_balancers import build_entry
from infra.stacks.compute.services import build_services, operator_shell_policy
from infra.stacks.data import DataStack


class ComputeStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        cfg: StageConfig,
        *,
        vpc: ec2.IVpc,
        security_groups: SecurityGroupMatrix,
        data: DataStack,
    ) -> None:
        super().__init__(scope, cfg, "compute", description="ECS services, load balancers, jobs")
        self.security_groups = security_groups
        self.data = data
        compute = cfg.compute
        self.key = self.stage_key("ComputeKey", "compute", "service logs, queues, sessions")
        self.tracing = tracing_policy(self)
        self.tracing_daemon = (
            tracing_policy(self, "TracingDaemon", sampling=True) if compute.xray_sidecar else None
        )
        self._log_groups: dict[str, logs.LogGroup] = {}
        self._metrics: dict[str, iam.ManagedPolicy] = {}
        self._event_dead_letters = False
        self._origin_verify: str | None = None
        self.exec_logs = (
            self.stage_log_group("ExecLogs", "ecs-exec") if compute.exec_enabled else None
        )
        self.uses_service_connect = any(s.uses.services for s in cfg.services.values())
        self.namespace = cfg.resource_name("services")
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=cfg.resource_name("cluster"),
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
            enable_fargate_capacity_providers=True,
            execute_command_configuration=self._exec_configuration(),
            default_cloud_map_namespace=(
                ecs.CloudMapNamespaceOptions(
                    name=self.namespace,
                    # Service Connect only: no DNS records
                    type=servicediscovery.NamespaceType.HTTP,
                    use_for_service_connect=True,
                )
                if self.uses_service_connect
                else None
            ),
        )
        self.operator_shell = operator_shell_policy(self) if compute.exec_enabled else None
        self.repositories = {name: self._repository(name, s) for name, s in cfg.services.items()}
        self.entry = build_entry(self)
        self.load_balancer = self.entry.alb
        needs_bus = any(isinstance(f.trigger, EventTrigger) for f in cfg.functions.values())
        needs_bus |= any(u.events for u in self._declared_uses())
        self.event_bus = (
            events.EventBus(self, "EventBus", event_bus_name=cfg.resource_name("events"))
            if needs_bus
            else None
        )
        queues = build_queues(self)
        self._queues = queues  # first: services and functions may send to any of them
        self.functions: dict[str, FunctionHandle] = build_functions(self, queues)
        self.services = build_services(self)
        build_scheduled_jobs(self, queues)
        build_credential_refresh(self)
        register_for_monitoring(self)
        self.outputs = build_outputs(self)

    # -- helpers the builders share -------------------------------------------------------

    def stage_log_group(
        self, construct_id: str, name: str, days: int | None = None
    ) -> logs.LogGroup:
        return self.log_group(construct_id, self.cfg.log_name(name), self.key, days)

    def service_log_group(self, name: str, spec: ServiceConfig) -> logs.LogGroup:
        if name not in self._log_groups:
            self._log_groups[name] = self.stage_log_group(
                f"Logs-{name}", name, spec.log_retention_days or self.cfg.retention("services")
            )
        return self._log_groups[name]

    @property
    def service_log_groups(self) -> dict[str, logs.LogGroup]:
        return dict(self._log_groups)

    def queue(
        self,
        construct_id: str,
        name: str,
        *,
        retention_days: int,
        visibility_seconds: int | None = None,
        dead_letters: tuple[sqs.IQueue, int] | None = None,
    ) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=self.cfg.resource_name(name),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            data_key_reuse=hours(1),  # fewer KMS calls
            enforce_ssl=True,
            retention_period=days(retention_days),
            visibility_timeout=seconds(visibility_seconds) if visibility_seconds else None,
            dead_letter_queue=(
                sqs.DeadLetterQueue(queue=dead_letters[0], max_receive_count=dead_letters[1])
                if dead_letters
                else None
            ),
            removal_policy=removal(self.cfg.removal_policy),
        )

    def queue_of(self, function: str) -> sqs.Queue | None:
        return self._queues[function][0]

    def allow(
        self, grantee: iam.IGrantable, actions: list[str], resources: list[str], *, via: str
    ) -> None:
        """Exact actions on exact resources, plus this stack's key used through `via` only."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=resources)
        )
        grantee.grant_principal.add_to_principal_policy(
            kms_via(
                self.key.key_arn,
                via,
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                region=self.region,
            )
        )

    def event_dead_letters(self) -> None:
        """EventBridge puts undeliverable events on this stack's KMS-encrypted queues: the key
        must let it encrypt (EventBridge user guide, dead-letter queues), for this account's
        rules only."""
        if self._event_dead_letters:
            return
        self._event_dead_letters = True
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeDeadLetters",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": (
                            f"arn:{self.partition}:events:{self.region}:{self.account}:rule/*"
                        )
                    }
                },
            )
        )

    @property
    def origin_verify_value(self) -> str:
        """CloudFront's secret origin header value, a dynamic reference to the data stack's
        secret, unwrapped once per stack (every CloudFront service's rule requires it)."""
        if self._origin_verify is None:
            self._origin_verify = self.data.origin_verify_secret.secret_value.unsafe_unwrap()
        return self._origin_verify

    def imported_secret(self, name: str, secret: secretsmanager.ISecret) -> secretsmanager.ISecret:
        """The data stack's secret, imported by ARN: a grant on it then changes only roles in
        this stack. Their kms:Decrypt on the data key comes from `decrypt_secrets`."""
        existing = self.node.try_find_child(f"Secret-{name}")
        if existing is not None:
            return existing  # type: ignore[return-value]
        return secretsmanager.Secret.from_secret_attributes(
            self, f"Secret-{name}", secret_complete_arn=secret.secret_arn
        )

    def decrypt_secrets(self, role: iam.IRole, *, write: bool = False) -> None:
        """Secrets are encrypted with the data key: decrypt (and, to `write` them, generate
        data keys) through Secrets Manager only."""
        actions = ["kms:Decrypt", *(["kms:GenerateDataKey"] if write else [])]
        role.add_to_principal_policy(
            kms_via(self.data.key.key_arn, "secretsmanager", *actions, region=self.region)
        )

    def grant_metrics(self, role: iam.IRole, emitter: str) -> None:
        """cloudwatch:PutMetricData for the custom metrics' namespaces this emitter publishes."""
        namespaces = sorted(
            {
                m.namespace
                for m in self.cfg.observability.custom_metrics.values()
                if emitter in m.emitted_by
            }
        )
        for namespace in namespaces:
            if namespace not in self._metrics:
                self._metrics[namespace] = iam.ManagedPolicy(
                    self,
                    f"Metrics-{namespace.replace('/', '-')}",
                    description=f"Publish custom metrics in {namespace} only",
                    statements=[
                        iam.PolicyStatement(
                            actions=["cloudwatch:PutMetricData"],
                            resources=["*"],  # no resource-level permissions; the namespace is
                            conditions={"StringEquals": {"cloudwatch:namespace": namespace}},
                        )
                    ],
                )
            role.add_managed_policy(self._metrics[namespace])

    @property
    def metric_policies(self) -> list[str]:
        """Construct ids of the custom-metric policies (one per namespace)."""
        return [policy.node.id for policy in self._metrics.values()]

    def _declared_uses(self) -> list[Any]:
        return [s.uses for s in self.cfg.services.values()] + [
            f.uses for f in self.cfg.functions.values()
        ]

    # -- cluster-wide pieces --------------------------------------------------------------

    def _exec_configuration(self) -> ecs.ExecuteCommandConfiguration | None:
        """Operator shells through SSM, encrypted and recorded; there is no SSH anywhere."""
        if self.exec_logs is None:
            return None
        return ecs.ExecuteCommandConfiguration(
            kms_key=self.key,
            logging=ecs.ExecuteCommandLogging.OVERRIDE,
            log_configuration=ecs.ExecuteCommandLogConfiguration(
                cloud_watch_log_group=self.exec_logs, cloud_watch_encryption_enabled=True
            ),
        )

    def _repository(self, name: str, spec: ServiceConfig) -> ecr.Repository:
        keep = self.cfg.compute.ecr_keep_images
        return ecr.Repository(
            self,
            f"Repository-{name}",
            repository_name=self.cfg.repository_name(name),
            image_scan_on_push=True,
            image_tag_mutability=(
                ecr.TagMutability.IMMUTABLE
                if spec.tag_mutability is TagMutability.IMMUTABLE
                else ecr.TagMutability.MUTABLE
            ),
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=self.key,
            lifecycle_rules=[
                ecr.LifecycleRule(description=f"keep the last {keep} images", max_image_count=keep)
            ],
            removal_policy=removal(self.cfg.removal_policy),
        )
