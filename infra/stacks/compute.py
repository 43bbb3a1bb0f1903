"""Compute: the ECS cluster, load balancer, web/API/WebSocket services, async job worker,
scheduled jobs and the one-off migration task.

The load balancer only answers CloudFront (managed prefix list plus a secret origin header)
unless a domain and client CIDRs are configured; services run in private subnets with the
matrix's security groups and get exactly the grants they need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, TimeZone
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.fargate_service import (
    FargateWebService,
    FargateWebServiceProps,
    NetworkRoutingProps,
    RoutingProps,
    ScalingProps,
    ScheduledBounds,
    cron_schedule,
)
from constructs_lib.python_function import PythonFunctionProps, python_function
from constructs_lib.security_matrix import SecurityGroupMatrix
from infra.config import StageConfig
from infra.config.compute import PLACEHOLDER_IMAGE, ServiceConfig
from infra.stacks.base import PlatformStack
from infra.stacks.data import DataStack

ORIGIN_HEADER = "X-Origin-Verify"
ORIGIN_HOST = "origin"
WORKER_CODE = Path(__file__).resolve().parents[2] / "lambda_src" / "job_worker"
DATA_CLIENTS = ("api", "ws")
PRIVATE = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


def placeholder_command(service: ServiceConfig, port: int) -> list[str]:
    """busybox httpd answering 200 on the health path (for the ALB and the container check)."""
    path = service.health_check_path
    return [
        "sh",
        "-c",
        f"mkdir -p /tmp/www{path.rsplit('/', 1)[0]} && echo ok > /tmp/www{path} "
        f"&& exec httpd -f -p {port} -h /tmp/www",
    ]


def rule_order(services: tuple[ServiceConfig, ...]) -> list[ServiceConfig]:
    """Most specific first: a catch-all such as /* must be evaluated last."""
    return sorted(
        services, key=lambda s: (-max(len(p.rstrip("*")) for p in s.path_patterns), s.name)
    )


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
        super().__init__(scope, cfg, "compute", description="ECS services, load balancer, jobs")
        self.security_groups = security_groups
        self.data = data
        compute = cfg.compute
        self.key = self.stage_key("ComputeKey", "compute", "service logs, job queue, sessions")
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=cfg.resource_name("cluster"),
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
            enable_fargate_capacity_providers=True,
            execute_command_configuration=self._exec_configuration()
            if compute.exec_enabled
            else None,
        )
        self.repositories = {s.name: self._repository(s.name) for s in compute.services}
        self.service_log_groups: dict[str, logs.ILogGroup] = {}
        self.certificate: acm.ICertificate | None = None
        self.load_balancer, self.listener = self._load_balancer()
        self.network_listener = (
            self._websocket_load_balancer() if compute.websocket_entry == "nlb" else None
        )
        self._jobs()
        self.services = {
            service.name: self._service(service, priority=10 * (index + 1))
            for index, service in enumerate(rule_order(compute.services))
        }
        self._off_hours()
        self._scheduled_jobs()
        self._migration_task()

    # -- cluster, images, load balancer -------------------------------------------------------

    def _log_group(self, construct_id: str, name: str) -> logs.LogGroup:
        return self.log_group(construct_id, self.cfg.log_name(name), self.key)

    def _service_log_group(self, name: str) -> logs.ILogGroup:
        log_group = self._log_group(f"Logs-{name}", name)
        self.service_log_groups[name] = log_group
        return log_group

    def _exec_configuration(self) -> ecs.ExecuteCommandConfiguration:
        """Operator shells through SSM, encrypted and recorded; there is no SSH anywhere."""
        return ecs.ExecuteCommandConfiguration(
            kms_key=self.key,
            logging=ecs.ExecuteCommandLogging.OVERRIDE,
            log_configuration=ecs.ExecuteCommandLogConfiguration(
                cloud_watch_log_group=self._log_group("ExecLogs", "ecs-exec"),
                cloud_watch_encryption_enabled=True,
            ),
        )

    def _repository(self, name: str) -> ecr.Repository:
        return ecr.Repository(
            self,
            f"Repository-{name}",
            repository_name=self.cfg.resource_name(name),
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=self.key,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description=f"keep the last {self.cfg.compute.ecr_keep_images} images",
                    max_image_count=self.cfg.compute.ecr_keep_images,
                )
            ],
            removal_policy=self.cfg.removal_policy,
        )

    def _load_balancer(self) -> tuple[elbv2.ApplicationLoadBalancer, elbv2.ApplicationListener]:
        cfg, compute = self.cfg, self.cfg.compute
        alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            load_balancer_name=cfg.resource_name("alb"),
            vpc=self.cluster.vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_group=self.security_groups.group("alb"),
            drop_invalid_header_fields=True,
            deletion_protection=compute.load_balancer_deletion_protection,
            idle_timeout=Duration.seconds(compute.idle_timeout_seconds),
        )
        self._access_logs(alb, "alb")
        denied = elbv2.ListenerAction.fixed_response(
            403, content_type="text/plain", message_body="Forbidden"
        )
        if compute.domain is None:
            listener = alb.add_listener("Http", port=80, open=False, default_action=denied)
            return alb, listener
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self,
            "Zone",
            hosted_zone_id=compute.domain.hosted_zone_id,
            zone_name=compute.domain.zone_name,
        )
        names = [
            f"{host}.{compute.domain.zone_name}"
            for host in (
                ORIGIN_HOST,  # CloudFront reaches the load balancer by this name over HTTPS
                compute.domain.ws_host,  # served here directly when WebSockets use the NLB
            )
        ]
        certificate = self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=names[0],
            subject_alternative_names=names[1:],
            validation=acm.CertificateValidation.from_dns(zone),
        )
        listener = alb.add_listener(
            "Https",
            port=443,
            open=False,
            certificates=[certificate],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_action=denied,
        )
        alb.add_redirect(source_port=80, target_port=443, open=False)
        return alb, listener

    def _websocket_load_balancer(self) -> elbv2.NetworkListener:
        """TLS on 443 for ws.<domain>; clients connect directly (reference architecture 4)."""
        cfg, compute = self.cfg, self.cfg.compute
        assert self.certificate is not None  # validation: an NLB needs the domain
        nlb = elbv2.NetworkLoadBalancer(
            self,
            "WebSocketLoadBalancer",
            load_balancer_name=cfg.resource_name("ws-nlb"),
            vpc=self.cluster.vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_groups=[self.security_groups.group("nlb")],
            cross_zone_enabled=True,
            deletion_protection=compute.load_balancer_deletion_protection,
        )
        self._access_logs(nlb, "nlb")
        self.websocket_load_balancer = nlb
        return nlb.add_listener(
            "Tls",
            port=443,
            protocol=elbv2.Protocol.TLS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(self.certificate)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
        )

    def _access_logs(self, load_balancer: elbv2.BaseLoadBalancer, prefix: str) -> None:
        """Set as attributes: the data stack's bucket policy already admits log delivery under
        alb/ and nlb/, so CDK's log_access_logs must not add grants of its own."""
        load_balancer.set_attribute("access_logs.s3.enabled", "true")
        load_balancer.set_attribute("access_logs.s3.bucket", self.data.access_logs.bucket_name)
        load_balancer.set_attribute("access_logs.s3.prefix", prefix)

    # -- services -------------------------------------------------------------------------

    def _service(self, service: ServiceConfig, priority: int) -> FargateWebService:
        cfg, compute = self.cfg, self.cfg.compute
        port = getattr(cfg.ports, service.name)
        image: ecs.ContainerImage
        if service.image_tag:
            image = ecs.ContainerImage.from_ecr_repository(
                self.repositories[service.name], service.image_tag
            )
            command = list(service.command) or None
        else:
            image = ecs.ContainerImage.from_registry(service.image)
            command = list(service.command) or (
                placeholder_command(service, port) if service.image == PLACEHOLDER_IMAGE else None
            )
        environment, secrets = self._runtime_settings(service.name)
        environment |= dict(service.environment) | {"PORT": str(port)}
        web = FargateWebService(
            self,
            f"Service-{service.name}",
            FargateWebServiceProps(
                cluster=self.cluster,
                service_name=cfg.resource_name(service.name),
                image=image,
                command=command,
                port=port,
                cpu=service.cpu,
                memory_mib=service.memory_mib,
                security_group=self.security_groups.group(service.name),
                log_group=self._service_log_group(service.name),
                health_check_path=service.health_check_path,
                environment=environment,
                secrets=secrets,
                read_only_root_filesystem=service.read_only_root_filesystem,
                user=service.user,
                min_healthy_percent=compute.min_healthy_percent,
                max_healthy_percent=compute.max_percent,
                enable_execute_command=compute.exec_enabled,
                spot_weight=service.spot_weight,
                xray_daemon_image=compute.xray_daemon_image if compute.xray_sidecar else None,
                routing=self._routing(service, priority),
                scaling=ScalingProps(
                    min_tasks=service.min_tasks,
                    max_tasks=service.max_tasks,
                    cpu_target_percent=service.cpu_target_percent,
                    memory_target_percent=service.memory_target_percent,
                    requests_per_target=service.requests_per_target,
                    scheduled=[
                        ScheduledBounds(s.name, s.cron, s.min_tasks, s.max_tasks)
                        for s in service.scheduled_capacity
                    ],
                ),
            ),
        )
        self._decrypt_secrets(web.task_definition)
        if service.name in DATA_CLIENTS:
            self.data.grant_uploads_read_write(web.task_definition.task_role)
            self._allow_send_jobs(web.task_definition.task_role)
        return web

    def _routing(self, service: ServiceConfig, priority: int) -> RoutingProps | NetworkRoutingProps:
        # Longer than the idle timeout, so open WebSockets drain before a task stops.
        drain = self.cfg.compute.idle_timeout_seconds + 30 if service.sticky_sessions else 30
        if service.name == "ws" and self.network_listener is not None:
            return NetworkRoutingProps(
                listener=self.network_listener, deregistration_delay_seconds=drain
            )
        return RoutingProps(
            listener=self.listener,
            priority=priority,
            path_patterns=service.path_patterns,
            required_header=self._origin_header(),
            sticky=service.sticky_sessions,
            deregistration_delay_seconds=drain,
        )

    def _origin_header(self) -> tuple[str, str] | None:
        """Required unless clients may reach the load balancer directly (domain + CIDRs)."""
        if self.cfg.network.load_balancer_ingress_cidrs:
            return None
        value = self.data.origin_verify_secret.secret_value.unsafe_unwrap()  # dynamic reference
        return ORIGIN_HEADER, value

    def _runtime_settings(self, service: str) -> tuple[dict[str, str], dict[str, ecs.Secret]]:
        """Plain settings and secrets (never plain values) for one service, least privilege:
        only the tiers the matrix lets reach the data tier get its credentials."""
        data = self.data
        secrets = {
            "JWT_SECRET": ecs.Secret.from_secrets_manager(
                self._secret("App", data.app_secret), "jwt_secret"
            )
        }
        environment = {"STAGE": self.cfg.name}
        if service not in DATA_CLIENTS:
            return environment, secrets
        cache = self.cfg.data.cache
        environment |= {
            "DB_NAME": self.cfg.data.database.database_name,
            "REDIS_HOST": (
                data.cache.attr_configuration_end_point_address
                if cache.shards > 1
                else data.cache.attr_primary_end_point_address
            ),
            "REDIS_PORT": str(self.cfg.ports.cache),
            "REDIS_TLS": "true",
            "UPLOADS_BUCKET": data.uploads.bucket_name,
            "JOB_QUEUE_URL": self.job_queue.queue_url,
        }
        database = self._secret("Database", data.database_secret)
        secrets |= {
            f"DB_{name.upper()}": ecs.Secret.from_secrets_manager(database, name)
            for name in ("host", "port", "username", "password")
        }
        secrets["REDIS_AUTH_TOKEN"] = ecs.Secret.from_secrets_manager(
            self._secret("Cache", data.cache_auth_token)
        )
        return environment, secrets

    def _secret(self, name: str, secret: secretsmanager.ISecret) -> secretsmanager.ISecret:
        """The data stack's secret, imported by ARN: a grant on it then changes only roles in
        this stack. Their kms:Decrypt on the data key comes from `_decrypt_secrets`."""
        existing = self.node.try_find_child(f"Secret-{name}")
        if existing is not None:
            return existing  # type: ignore[return-value]
        return secretsmanager.Secret.from_secret_attributes(
            self, f"Secret-{name}", secret_complete_arn=secret.secret_arn
        )

    def _decrypt_secrets(self, task: ecs.TaskDefinition) -> None:
        """Secrets are encrypted with the data key: the execution role may decrypt through
        Secrets Manager only."""
        task.obtain_execution_role().add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[self.data.key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com"
                    }
                },
            )
        )

    def _off_hours(self) -> None:
        off_hours = self.cfg.compute.off_hours
        if off_hours is None:
            return
        for name, service in self.services.items():
            config = self.cfg.compute.service(name)
            assert config is not None
            service.scalable.scale_on_schedule(
                "OffHoursStop",
                schedule=cron_schedule(off_hours.stop),
                min_capacity=0,
                max_capacity=0,
                time_zone=TimeZone.ASIA_SEOUL,
            )
            service.scalable.scale_on_schedule(
                "OffHoursStart",
                schedule=cron_schedule(off_hours.start),
                min_capacity=config.min_tasks,
                max_capacity=config.max_tasks,
                time_zone=TimeZone.ASIA_SEOUL,
            )

    # -- async jobs -----------------------------------------------------------------------

    def _jobs(self) -> None:
        cfg, worker = self.cfg, self.cfg.compute.worker
        queue_settings: dict[str, Any] = {
            "encryption": sqs.QueueEncryption.KMS,
            "encryption_master_key": self.key,
            "data_key_reuse": Duration.hours(1),  # fewer KMS calls
            "enforce_ssl": True,
            "removal_policy": cfg.removal_policy,
        }
        self.dead_letters = sqs.Queue(
            self,
            "JobsDeadLetters",
            queue_name=cfg.resource_name("jobs-dlq"),
            retention_period=Duration.days(14),
            **queue_settings,
        )
        self.job_queue = sqs.Queue(
            self,
            "Jobs",
            queue_name=cfg.resource_name("jobs"),
            visibility_timeout=Duration.seconds(worker.queue_visibility_timeout_seconds),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=worker.max_receive_count
            ),
            **queue_settings,
        )
        self.idempotency = dynamodb.TableV2(
            self,
            "JobsIdempotency",
            table_name=cfg.resource_name("jobs-idempotency"),
            partition_key=dynamodb.Attribute(name="job_id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expires_at",
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(self.key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=cfg.termination_protection,
            removal_policy=cfg.removal_policy,
        )
        self.worker = python_function(
            self,
            "Worker",
            PythonFunctionProps(
                function_name=cfg.resource_name("job-worker"),
                description="Processes the job queue (partial batch failures, idempotent)",
                code=WORKER_CODE,
                key=self.key,
                log_group=self._log_group("WorkerLogs", "job-worker"),
                memory_mib=worker.memory_mib,
                timeout_seconds=worker.timeout_seconds,
                reserved_concurrency=worker.reserved_concurrency,
                vpc=self.cluster.vpc,
                security_groups=[self.security_groups.group("workers")],
                environment={
                    "IDEMPOTENCY_TABLE": self.idempotency.table_name,
                    "REPORTS_BUCKET": self.data.uploads.bucket_name,
                    "CLAIM_SECONDS": str(worker.timeout_seconds + 60),
                },
            ),
        )
        self.worker.add_event_source(
            event_sources.SqsEventSource(
                self.job_queue, batch_size=worker.batch_size, report_batch_item_failures=True
            )
        )
        self._allow(
            self.worker,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
            [self.idempotency.table_arn],
            via="dynamodb",
        )
        assert self.worker.role is not None
        self.data.grant_reports_write(self.worker.role)

    def _allow(
        self, grantee: iam.IGrantable, actions: list[str], resources: list[str], *, via: str
    ) -> None:
        """Exact actions on exact resources, plus this stack's key used through `via` only."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=resources)
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[self.key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"{via}.{self.region}.amazonaws.com"}
                },
            )
        )

    def _allow_send_jobs(self, grantee: iam.IGrantable) -> None:
        self._allow(grantee, ["sqs:SendMessage"], [self.job_queue.queue_arn], via="sqs")

    def _scheduled_jobs(self) -> None:
        """EventBridge Scheduler in Seoul time puts a message on the job queue."""
        for job in self.cfg.compute.scheduled_jobs:
            scheduler.Schedule(
                self,
                f"Schedule-{job.name}",
                schedule_name=self.cfg.resource_name(job.name),
                description=f"{job.job_type} job",
                schedule=scheduler.ScheduleExpression.expression(
                    job.cron, time_zone=TimeZone.ASIA_SEOUL
                ),
                target=targets.SqsSendMessage(
                    self.job_queue,
                    input=scheduler.ScheduleTargetInput.from_object({"job_type": job.job_type}),
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=3,
                ),
            )

    # -- operations -----------------------------------------------------------------------

    def _migration_task(self) -> None:
        """One-off task: the API image with the migrate command; the pipeline runs it in the
        network stack's PrivateSubnetIds with its ApiSecurityGroupId (outputs there)."""
        cfg = self.cfg
        api = cfg.compute.service("api")
        assert api is not None  # validation keeps the API service
        task = ecs.FargateTaskDefinition(
            self,
            "MigrationTask",
            family=cfg.resource_name("migrate"),
            cpu=api.cpu,
            memory_limit_mib=api.memory_mib,
        )
        image = (
            ecs.ContainerImage.from_ecr_repository(self.repositories["api"], api.image_tag)
            if api.image_tag
            else ecs.ContainerImage.from_registry(api.image)
        )
        environment, secrets = self._runtime_settings("api")
        task.add_container(
            "migrate",
            image=image,
            command=list(cfg.compute.migration_command),
            environment=environment,
            secrets=secrets,
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="migrate",
                log_group=self._log_group("MigrationLogs", "migrate"),
            ),
            readonly_root_filesystem=api.read_only_root_filesystem,
            user=api.user,
        )
        self._decrypt_secrets(task)
        self.data.grant_uploads_read(task.task_role)
        outputs = {
            "ClusterName": self.cluster.cluster_name,
            "MigrationTaskDefinitionArn": task.task_definition_arn,
            "LoadBalancerDnsName": self.load_balancer.load_balancer_dns_name,
        }
        self.outputs = {
            name: CfnOutput(self, name, value=value, description=f"{name} for pipeline steps")
            for name, value in outputs.items()
        }
        if cfg.compute.migration_runner_account:
            self._migration_runner(task, cfg.compute.migration_runner_account)

    def _migration_runner(self, task: ecs.FargateTaskDefinition, account: str) -> None:
        """What the delivery pipeline (another account) may do here: run this stage's
        migration task with a new image before the services roll, and nothing else."""
        cfg = self.cfg
        role = iam.Role(
            self,
            "PipelineMigrationRole",
            role_name=cfg.resource_name("pipeline-migrate"),
            assumed_by=iam.AccountPrincipal(account),
            description="Runs the migration task from the delivery pipeline",
        )
        family = cfg.resource_name("migrate")
        stacks = [
            self.format_arn(service="cloudformation", resource="stack", resource_name=f"{name}/*")
            for name in (cfg.stack_name("compute"), cfg.stack_name("network"))
        ]
        statements = [
            iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=stacks),
            iam.PolicyStatement(  # no resource-level permissions exist for these two
                actions=["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=[
                    self.format_arn(
                        service="ecs", resource="task-definition", resource_name=f"{family}:*"
                    )
                ],
                conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}},
            ),
            iam.PolicyStatement(
                actions=["ecs:DescribeTasks"],
                resources=[
                    self.format_arn(
                        service="ecs",
                        resource="task",
                        resource_name=f"{self.cluster.cluster_name}/*",
                    )
                ],
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[task.task_role.role_arn, task.obtain_execution_role().role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            ),
        ]
        policy = iam.ManagedPolicy(self, "PipelineMigrationPolicy", statements=statements)
        role.add_managed_policy(policy)
