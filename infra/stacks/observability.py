"""Observability: alert topics per severity, alarms on every tier, the stage dashboard, log
metric filters and saved queries, chat notifications, audit services and the cost budget.

Alarms are written here against the other stacks' constructs, one naming scheme
(`<project>-<stage>-<what>`), each routed to the critical or warning topic.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_config as config
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_securityhub as securityhub
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.alarms import ABOVE, AT_LEAST, BELOW, notifying_alarm
from constructs_lib.buckets import SecureBucketProps, log_bucket, secure_bucket
from constructs_lib.python_function import PythonFunctionProps, python_function
from infra.config import StageConfig
from infra.config.observability import SEVERITIES
from infra.stacks.base import PlatformStack
from infra.stacks.compute import ComputeStack
from infra.stacks.data import DataStack
from infra.stacks.network import NetworkStack

METRIC_NAMESPACE = "Platform/Network"
NOTIFIER_CODE = Path(__file__).resolve().parents[2] / "lambda_src" / "chat_notifier"
MINUTE = Duration.minutes(1)
FIVE_MINUTES = Duration.minutes(5)
GIB = 1024**3
FSBP = "standards/aws-foundational-security-best-practices/v/1.0.0"
CONFIG_RULES = {
    "S3BucketPublicReadProhibited": config.ManagedRuleIdentifiers.S3_BUCKET_PUBLIC_READ_PROHIBITED,
    "RdsStorageEncrypted": config.ManagedRuleIdentifiers.RDS_STORAGE_ENCRYPTED,
    "CloudTrailEnabled": config.ManagedRuleIdentifiers.CLOUD_TRAIL_ENABLED,
    "VpcFlowLogsEnabled": config.ManagedRuleIdentifiers.VPC_FLOW_LOGS_ENABLED,
    "RootAccountMfaEnabled": config.ManagedRuleIdentifiers.ROOT_ACCOUNT_MFA_ENABLED,
}


class ObservabilityStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        cfg: StageConfig,
        *,
        network: NetworkStack,
        compute: ComputeStack,
        data: DataStack,
    ) -> None:
        super().__init__(scope, cfg, "observability", description="alerts, dashboards, audit")
        self.thresholds = cfg.observability.thresholds
        self.key = self.stage_key("AlertsKey", "alerts", "alert topics")
        # Services that publish to the encrypted topics must be allowed to use the key.
        for service in ("cloudwatch", "events", "budgets"):
            self.key.grant(
                iam.ServicePrincipal(f"{service}.amazonaws.com"),
                "kms:Decrypt",
                "kms:GenerateDataKey*",
            )
        self.topics = {
            severity: sns.Topic(
                self,
                f"{severity.capitalize()}Topic",
                topic_name=cfg.resource_name(f"alerts-{severity}"),
                master_key=self.key,
                enforce_ssl=True,
            )
            for severity in SEVERITIES
        }
        for severity, address in cfg.observability.alert_emails:
            self.topics[severity].add_subscription(subscriptions.EmailSubscription(address))
        if cfg.observability.chat_notifications:
            self._chat_notifier()

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=cfg.resource_name("overview")
        )
        self._network(network)
        service_down = self._compute(compute)
        self._data(data)
        self._jobs(compute)
        self._service_down(service_down)
        self._logs(compute)
        self._audit()
        self._budget()

    # -- building blocks --------------------------------------------------------------------

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        severity: str,
        description: str,
        *,
        comparison: cloudwatch.ComparisonOperator = ABOVE,
        periods: int = 2,
    ) -> cloudwatch.Alarm:
        return notifying_alarm(
            self,
            f"Alarm-{name}",
            name=self.cfg.resource_name(name),
            metric=metric,
            threshold=threshold,
            description=description,
            topic=self.topics[severity],
            periods=periods,
            comparison=comparison,
        )

    def _chat_notifier(self) -> None:
        cfg = self.cfg
        webhook = secretsmanager.Secret(
            self,
            "ChatWebhook",
            secret_name=f"{cfg.project}/{cfg.name}/chat-webhook",
            description="Incoming-webhook URL for alerts; replace the generated value after deploy",
            encryption_key=self.key,
            removal_policy=cfg.removal_policy,
        )
        failed = sqs.Queue(
            self,
            "ChatNotifierFailures",
            queue_name=cfg.resource_name("chat-notifier-dlq"),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=cfg.removal_policy,
        )
        notifier = python_function(
            self,
            "ChatNotifier",
            PythonFunctionProps(
                function_name=cfg.resource_name("chat-notifier"),
                description="Formats alarm state changes for a Slack-style webhook",
                code=NOTIFIER_CODE,
                key=self.key,
                log_group=self.log_group(
                    "ChatNotifierLogs", cfg.log_name("chat-notifier"), self.key
                ),
                dead_letter_queue=failed,
                environment={"WEBHOOK_SECRET_ARN": webhook.secret_arn},
            ),
        )
        webhook.grant_read(notifier)
        for severity in ("critical", "warning"):
            self.topics[severity].add_subscription(subscriptions.LambdaSubscription(notifier))
        self.notifier = notifier

    # -- tiers -------------------------------------------------------------------------------

    def _network(self, network: NetworkStack) -> None:
        rejected = logs.MetricFilter(
            self,
            "RejectedFlows",
            log_group=network.flow_logs,
            filter_pattern=logs.FilterPattern.literal(
                "[version, account, eni, source, destination, srcport, destport, protocol, "
                'packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]'
            ),
            metric_namespace=METRIC_NAMESPACE,
            metric_name=f"{self.cfg.name}-RejectedFlows",
            metric_value="1",
        ).metric(statistic="Sum", period=FIVE_MINUTES)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Rejected VPC flows", left=[rejected], width=24)
        )

    def _compute(self, compute: ComputeStack) -> list[cloudwatch.IAlarm]:
        """Load balancer and services; returns the alarms that mean the service is down."""
        t = self.thresholds
        alb = compute.load_balancer.metrics
        requests = alb.request_count(period=MINUTE)
        elb_5xx = alb.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=MINUTE)
        target_5xx = alb.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=MINUTE)
        error_rate = cloudwatch.MathExpression(
            expression="100 * (FILL(elb, 0) + FILL(target, 0)) / IF(requests > 0, requests, 1)",
            using_metrics={"elb": elb_5xx, "target": target_5xx, "requests": requests},
            label="5xx %",
            period=MINUTE,
        )
        down: list[cloudwatch.IAlarm] = [
            self._alarm(
                "alb-5xx-rate",
                error_rate,
                t.alb_5xx_percent,
                "critical",
                f"More than {t.alb_5xx_percent} % of requests fail with 5xx",
                periods=3,
            )
        ]
        latency = {
            stat: alb.target_response_time(statistic=stat, period=MINUTE)
            for stat in ("p50", "p95", "p99")
        }
        for stat, limit in (("p95", t.target_p95_seconds), ("p99", t.target_p99_seconds)):
            self._alarm(
                f"latency-{stat}",
                latency[stat],
                limit,
                "warning",
                f"Target response time {stat} above {limit} s",
                periods=5,
            )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Latency p50 / p95 / p99 (s)", left=list(latency.values()), width=12
            ),
            cloudwatch.GraphWidget(
                title="Requests and 5xx",
                left=[requests],
                right=[elb_5xx, target_5xx, error_rate],
                width=12,
            ),
        )
        usage: list[cloudwatch.IMetric] = []
        for name, service in compute.services.items():
            cpu = service.service.metric_cpu_utilization(period=MINUTE)
            memory = service.service.metric_memory_utilization(period=MINUTE)
            usage += [cpu, memory]
            self._alarm(
                f"{name}-cpu", cpu, t.ecs_cpu_percent, "warning", f"{name} CPU above target"
            )
            self._alarm(
                f"{name}-memory", memory, t.ecs_memory_percent, "warning", f"{name} memory high"
            )
            unhealthy = (
                service.target_group.metrics.unhealthy_host_count(period=MINUTE)
                if isinstance(service.target_group, elbv2.ApplicationTargetGroup)
                else service.target_group.metrics.un_healthy_host_count(period=MINUTE)
            )
            missing = cloudwatch.MathExpression(
                expression="FILL(desired, 0) - FILL(running, 0)",
                using_metrics={
                    "desired": self._insights(compute, name, "DesiredTaskCount"),
                    "running": self._insights(compute, name, "RunningTaskCount"),
                },
                label=f"{name} tasks missing",
                period=MINUTE,
            )
            down += [
                self._alarm(
                    f"{name}-unhealthy-hosts",
                    unhealthy,
                    0,
                    "critical",
                    f"{name} targets fail health checks",
                    periods=3,
                ),
                self._alarm(
                    f"{name}-tasks-below-desired",
                    missing,
                    0,
                    "critical",
                    f"{name} runs fewer tasks than desired",
                    periods=5,
                ),
            ]
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="ECS CPU / memory per service (%)", left=usage, width=24)
        )
        return down

    @staticmethod
    def _insights(compute: ComputeStack, service: str, metric: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name=metric,
            dimensions_map={
                "ClusterName": compute.cluster.cluster_name,
                "ServiceName": compute.services[service].service.service_name,
            },
            statistic="Average",
            period=MINUTE,
        )

    def _data(self, data: DataStack) -> None:
        t = self.thresholds
        database = data.database
        cpu = database.metric_cpu_utilization(period=MINUTE)
        connections = database.metric_database_connections(period=MINUTE)
        self._alarm("db-cpu", cpu, t.rds_cpu_percent, "warning", "Database CPU high", periods=5)
        self._alarm(
            "db-connections",
            connections,
            t.rds_connections,
            "warning",
            f"More than {t.rds_connections} database connections",
            periods=3,
        )
        if isinstance(database, rds.DatabaseInstance):
            self._alarm(
                "db-free-storage",
                database.metric_free_storage_space(period=FIVE_MINUTES),
                t.rds_free_storage_gib * GIB,
                "critical",
                f"Less than {t.rds_free_storage_gib} GiB of database storage left",
                comparison=BELOW,
            )
        if data.read_replica is not None:
            self._alarm(
                "db-replica-lag",
                data.read_replica.metric("ReplicaLag", period=MINUTE, statistic="Maximum"),
                t.rds_replica_lag_seconds,
                "warning",
                "Read replica lags behind",
                periods=5,
            )
        cache = self._cache_metrics()
        self._alarm(
            "cache-cpu",
            cache["EngineCPUUtilization"],
            t.cache_cpu_percent,
            "warning",
            "Cache CPU high",
            periods=5,
        )
        self._alarm(
            "cache-memory",
            cache["DatabaseMemoryUsagePercentage"],
            t.cache_memory_percent,
            "warning",
            "Cache memory nearly full",
            periods=5,
        )
        self._alarm(
            "cache-evictions",
            cache["Evictions"],
            t.cache_evictions_per_5_min,
            "warning",
            "Cache evicts keys: it is too small for its working set",
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Database connections", left=[connections], width=8),
            cloudwatch.GraphWidget(title="Database CPU (%)", left=[cpu], width=8),
            cloudwatch.GraphWidget(
                title="Cache hit rate (%)", left=[cache["CacheHitRate"]], width=8
            ),
        )

    def _cache_metrics(self) -> dict[str, cloudwatch.MathExpression]:
        """ElastiCache reports per node: take the worst node (the average for hit rate)."""
        cache = self.cfg.data.cache
        group = self.cfg.resource_name("cache")
        nodes = (
            [
                f"{group}-{shard:04d}-{node:03d}"
                for shard in range(1, cache.shards + 1)
                for node in range(1, cache.replicas_per_shard + 2)
            ]
            if cache.shards > 1
            else [f"{group}-{node:03d}" for node in range(1, cache.replicas_per_shard + 2)]
        )
        metrics = {}
        for name, statistic, combine in (
            ("EngineCPUUtilization", "Maximum", "MAX"),
            ("DatabaseMemoryUsagePercentage", "Maximum", "MAX"),
            ("Evictions", "Sum", "SUM"),
            ("CacheHitRate", "Average", "AVG"),
        ):
            using = {
                f"n{index}": cloudwatch.Metric(
                    namespace="AWS/ElastiCache",
                    metric_name=name,
                    dimensions_map={"CacheClusterId": node},
                    statistic=statistic,
                    period=FIVE_MINUTES if name == "Evictions" else MINUTE,
                )
                for index, node in enumerate(nodes)
            }
            metrics[name] = cloudwatch.MathExpression(
                expression=f"{combine}([{', '.join(using)}])",
                using_metrics=using,
                label=name,
                period=FIVE_MINUTES if name == "Evictions" else MINUTE,
            )
        return metrics

    def _jobs(self, compute: ComputeStack) -> None:
        t = self.thresholds
        oldest = compute.job_queue.metric_approximate_age_of_oldest_message(period=MINUTE)
        dead = compute.dead_letters.metric_approximate_number_of_messages_visible(period=MINUTE)
        self._alarm(
            "jobs-oldest-message",
            oldest,
            t.queue_oldest_message_seconds,
            "warning",
            "Jobs wait too long: the worker is failing or too slow",
            periods=3,
        )
        self._alarm(
            "jobs-dead-letters",
            dead,
            0,
            "critical",
            "Jobs reached the dead-letter queue",
            periods=1,
        )
        worker = compute.worker
        errors = worker.metric_errors(period=FIVE_MINUTES)
        throttles = worker.metric_throttles(period=FIVE_MINUTES)
        self._alarm(
            "worker-errors",
            errors,
            t.lambda_errors_per_5_min,
            "warning",
            "Worker invocations fail",
            periods=1,
            comparison=AT_LEAST,  # thresholds are counts: "N or more per 5 minutes"
        )
        self._alarm(
            "worker-throttles",
            throttles,
            t.lambda_throttles_per_5_min,
            "warning",
            "Worker throttled at its reserved concurrency",
            periods=1,
            comparison=AT_LEAST,  # thresholds are counts: "N or more per 5 minutes"
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Job queue depth / oldest (s)",
                left=[
                    compute.job_queue.metric_approximate_number_of_messages_visible(period=MINUTE)
                ],
                right=[oldest],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Worker health",
                left=[worker.metric_invocations(period=FIVE_MINUTES), errors, throttles],
                right=[worker.metric_duration(period=FIVE_MINUTES, statistic="p95")],
                width=12,
            ),
        )

    def _service_down(self, alarms: list[cloudwatch.IAlarm]) -> None:
        down = cloudwatch.CompositeAlarm(
            self,
            "ServiceDown",
            composite_alarm_name=self.cfg.resource_name("service-down"),
            alarm_description=(
                "Users cannot use the product: errors, missing tasks or no healthy targets"
            ),
            alarm_rule=cloudwatch.AlarmRule.any_of(*alarms),
        )
        down.add_alarm_action(actions.SnsAction(self.topics["critical"]))
        down.add_ok_action(actions.SnsAction(self.topics["critical"]))

    def _logs(self, compute: ComputeStack) -> None:
        t = self.thresholds
        groups = list(compute.service_log_groups.values())
        for name, log_group in compute.service_log_groups.items():
            errors = logs.MetricFilter(
                self,
                f"Errors-{name}",
                log_group=log_group,
                filter_pattern=logs.FilterPattern.any_term("ERROR", "FATAL"),
                metric_namespace=f"{self.cfg.project}/{self.cfg.name}",
                metric_name=f"{name}-errors",
                metric_value="1",
                default_value=0,
            ).metric(statistic="Sum", period=FIVE_MINUTES)
            self._alarm(
                f"{name}-error-logs",
                errors,
                t.error_logs_per_5_min,
                "warning",
                f"{name} logs ERROR lines",
                periods=1,
            )
        queries = {
            "error-rate": logs.QueryString(
                fields=["@timestamp", "@logStream"],
                filter_statements=["@message like /ERROR|FATAL/"],
                stats_statements=["count(*) as errors by bin(5m), @logStream"],
            ),
            "latency-percentiles": logs.QueryString(
                filter_statements=["ispresent(duration_ms)"],
                stats_statements=[
                    "pct(duration_ms, 50) as p50, pct(duration_ms, 95) as p95, "
                    "pct(duration_ms, 99) as p99 by bin(5m)"
                ],
            ),
            # Replace USER_ID when running it: everything one user did, newest first.
            "user-activity": logs.QueryString(
                fields=["@timestamp", "@logStream", "@message"],
                filter_statements=["user_id = 'USER_ID'"],
                sort="@timestamp desc",
                limit=200,
            ),
        }
        for name, query in queries.items():
            logs.QueryDefinition(
                self,
                f"Query-{name}",
                query_definition_name=f"{self.cfg.project}/{self.cfg.name}/{name}",
                query_string=query,
                log_groups=groups,
            )

    # -- audit and cost ----------------------------------------------------------------------

    def _audit(self) -> None:
        audit = self.cfg.observability.audit
        critical = event_targets.SnsTopic(self.topics["critical"])
        if audit.cloudtrail or audit.config_recorder:
            self.audit_key = self.stage_key("AuditKey", "audit", "CloudTrail and Config")
            self.audit_logs = log_bucket(
                self,
                "AuditAccessLogs",
                retention_days=audit.trail_retention_days,
                removal_policy=self.cfg.removal_policy,
            )
        if audit.cloudtrail:
            self._trail()
        if audit.guardduty:
            guardduty.CfnDetector(
                self, "GuardDuty", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES"
            )
            events.Rule(
                self,
                "GuardDutyFindings",
                description="High-severity GuardDuty findings page the critical tier",
                event_pattern=events.EventPattern(
                    source=["aws.guardduty"],
                    detail_type=["GuardDuty Finding"],
                    detail={"severity": [{"numeric": [">=", 7]}]},
                ),
                targets=[critical],
            )
        if audit.security_hub:
            hub = securityhub.CfnHub(self, "SecurityHub")
            standard = securityhub.CfnStandard(
                self,
                "FoundationalBestPractices",
                standards_arn=f"arn:{self.partition}:securityhub:{self.region}::{FSBP}",
            )
            standard.node.add_dependency(hub)
            events.Rule(
                self,
                "SecurityHubFindings",
                description="New critical or high Security Hub findings page the critical tier",
                event_pattern=events.EventPattern(
                    source=["aws.securityhub"],
                    detail_type=["Security Hub Findings - Imported"],
                    detail={
                        "findings": {
                            "Severity": {"Label": ["CRITICAL", "HIGH"]},
                            "Workflow": {"Status": ["NEW"]},
                        }
                    },
                ),
                targets=[critical],
            )
        if audit.config_recorder:
            self._config_recorder()

    def _audit_bucket(self, construct_id: str, prefix: str) -> s3.Bucket:
        return secure_bucket(
            self,
            construct_id,
            SecureBucketProps(
                encryption_key=self.audit_key,
                access_logs=self.audit_logs,
                access_logs_prefix=prefix,
                removal_policy=self.cfg.removal_policy,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="archive",
                        transitions=[
                            s3.Transition(
                                storage_class=s3.StorageClass.GLACIER,
                                transition_after=Duration.days(90),
                            )
                        ],
                        expiration=Duration.days(self.cfg.observability.audit.trail_retention_days),
                        noncurrent_version_expiration=Duration.days(30),
                    )
                ],
            ),
        )

    def _trail(self) -> None:
        cfg = self.cfg
        bucket = self._audit_bucket("TrailBucket", "s3/trail/")
        trail_logs = self.log_group("TrailLogs", cfg.log_name("cloudtrail"), self.audit_key)
        cloudtrail.Trail(
            self,
            "Trail",
            trail_name=cfg.resource_name("trail"),
            bucket=bucket,
            encryption_key=self.audit_key,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=trail_logs,
        )

    def _config_recorder(self) -> None:
        bucket = self._audit_bucket("ConfigBucket", "s3/config/")
        role = iam.Role(
            self,
            "ConfigRole",
            assumed_by=iam.ServicePrincipal("config.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWS_ConfigRole")
            ],
        )
        # Exactly what AWS Config's delivery channel needs (AWS Config developer guide).
        for statement in (
            iam.PolicyStatement(actions=["s3:GetBucketAcl"], resources=[bucket.bucket_arn]),
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"AWSLogs/{self.account}/Config/*")],
                conditions={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self.audit_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}},
            ),
        ):
            role.add_to_policy(statement)
        recorder = config.CfnConfigurationRecorder(
            self,
            "ConfigRecorder",
            role_arn=role.role_arn,
            recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True, include_global_resource_types=True
            ),
        )
        channel = config.CfnDeliveryChannel(
            self,
            "ConfigDelivery",
            s3_bucket_name=bucket.bucket_name,
            s3_kms_key_arn=self.audit_key.key_arn,
        )
        for name, identifier in CONFIG_RULES.items():
            rule = config.ManagedRule(self, f"Rule-{name}", identifier=identifier)
            rule.node.add_dependency(recorder)
            rule.node.add_dependency(channel)

    def _budget(self) -> None:
        obs = self.cfg.observability
        subscribers = [
            budgets.CfnBudget.SubscriberProperty(
                subscription_type="SNS", address=self.topics["info"].topic_arn
            ),
            *(
                budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=a)
                for a in obs.budget_emails
            ),
        ]
        self.topics["info"].add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                resources=[self.topics["info"].topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=self.cfg.resource_name("monthly"),
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(
                    amount=obs.monthly_budget_usd, unit="USD"
                ),
                # Activate the Stage cost-allocation tag once per account for per-stage figures.
                cost_filters={"TagKeyValue": [f"user:Stage${self.cfg.name}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for kind, percent in (("ACTUAL", 80), ("FORECASTED", 100))
            ],
        )
