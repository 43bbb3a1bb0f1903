"""Every accepted compliance finding of the platform, with the reason it is accepted.

One entry per resource and rule. `path` is the construct path inside the stack named by
`stack` (network, data, compute, edge, observability). An entry whose path no longer exists
fails synth, so this list cannot silently rot. Review additions here like code.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from infra.config import StageConfig


@dataclass(frozen=True)
class Ack:
    stack: str
    path: str
    rule: str
    """May name `{replica_bucket}`, `{account}`, `{region}`, `{project}` or `{stage}`, filled
    from the stage config (some finding ids embed them)."""
    reason: str
    stages: tuple[str, ...] = ()
    """Only these stages; empty means every stage."""
    optional: bool = False
    """The resource exists only with some configuration (said in the reason): may match nothing."""


XRAY_WRITE = (
    "X-Ray active tracing: xray:PutTraceSegments and PutTelemetryRecords support no "
    "resource-level permissions, so AWS documents Resource * for them."
)

ACKNOWLEDGMENTS: tuple[Ack, ...] = (
    Ack(
        "network",
        "Vpc/*Subnet*/Subnet",
        "CloudFormation-Validate::W3010",
        "AZs are pinned per stage on purpose: synth needs no AWS lookup, subnets never move "
        "between AZs, and config validation rejects any AZ outside the stage region.",
    ),
    Ack(
        "network",
        "Vpc/publicSubnet*/DefaultRoute",
        "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
        "Only public subnets route 0.0.0.0/0 to the internet gateway; they hold just the "
        "load balancers and NAT gateways. Services, data and caches sit in private and isolated "
        "subnets with no such route.",
    ),
    Ack(
        "network",
        "SecurityGroups/alb/Resource",
        "AwsSolutions-EC23",
        "The internet-facing load balancer must accept clients on 443 (and 80, redirected to "
        "HTTPS) when load_balancer_ingress_cidrs is 0.0.0.0/0; no other port is open and no "
        "other tier accepts a CIDR. WAF filters requests at CloudFront.",
    ),
    Ack(
        "network",
        "SecurityGroups/nlb/Resource",
        "AwsSolutions-EC23",
        "With compute.websocket_entry nlb, WebSocket clients connect to ws.<domain> directly on "
        "443 (TLS) from network.load_balancer_ingress_cidrs; only the ws port lies behind it.",
    ),
    # The delivery pipeline's role in each stage account (compute.migration_runner_account).
    *(
        Ack(
            "compute",
            "PipelineMigrationPolicy/Resource",
            f"AwsSolutions-IAM5[Resource::{resource}]",
            reason,
            optional=True,
        )
        for resource, reason in (
            (
                "arn:aws:cloudformation:{region}:{account}:stack/{project}-{stage}-compute/*",
                "Reads the outputs of this stage's compute stack; the suffix is CloudFormation's "
                "stack id, unknown before the stack exists.",
            ),
            (
                "arn:aws:cloudformation:{region}:{account}:stack/{project}-{stage}-network/*",
                "Reads the outputs of this stage's network stack (private subnets, API security "
                "group) to place the migration task; the suffix is the stack id.",
            ),
            (
                "*",
                "ecs:DescribeTaskDefinition and RegisterTaskDefinition support no resource-level "
                "permissions; running a revision is limited to the migrate family and cluster.",
            ),
            (
                "arn:aws:ecs:{region}:{account}:task-definition/{project}-{stage}-migrate:*",
                "Runs any revision of the migrate family only (the step registers a new one per "
                "deploy), and only on this stage's cluster (ecs:cluster condition).",
            ),
            (
                "arn:aws:ecs:{region}:{account}:task/<ClusterEB0386A7>/*",
                "Watches the migration task it started until it stops; task ids are generated "
                "per run, inside this stage's cluster only.",
            ),
        )
    ),
    # -- cdn -------------------------------------------------------------------------------
    Ack(
        "cdn",
        "Distribution/Origin*",
        "Annotation::@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac",
        "The assets bucket lives in the data stack, whose bucket and key policies already let "
        "this account's distributions read and decrypt it via S3; CDK need not edit them here.",
    ),
    Ack(
        "cdn",
        "Distribution/Resource",
        "AwsSolutions-CFR1",
        "Country restrictions are a product decision made in WAF (edge.geo_allow / geo_block), "
        "where they are logged with every other block; CloudFront's own list stays empty.",
    ),
    *(
        Ack(
            "cdn",
            "Distribution/Resource",
            rule,
            "Without compute.domain the distribution uses the default *.cloudfront.net "
            "certificate (CloudFront fixes its minimum TLS) and reaches the load balancer over "
            "HTTP within AWS's network, admitted only by prefix list and secret header. "
            "Configuring a domain gives TLSv1.2_2021 and HTTPS to the origin.",
            optional=True,
        )
        for rule in ("AwsSolutions-CFR4", "AwsSolutions-CFR5")
    ),
    # -- observability ---------------------------------------------------------------------
    *(
        Ack(
            "observability",
            "ChatWebhook/Resource",
            rule,
            "The webhook URL is issued by the chat provider and rotated there; operators paste "
            "the new URL into this secret. Secrets Manager cannot generate or rotate it.",
        )
        for rule in ("AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled")
    ),
    Ack(
        "observability",
        "ChatNotifier/ServiceRole",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "Lambda's AWS-maintained logging policy; the function's own grants (its secret, its "
        "dead-letter queue, the key) are scoped statements in its policy.",
    ),
    Ack(
        "observability",
        "ChatNotifier/ServiceRole/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Resource::*]",
        XRAY_WRITE,
    ),
    Ack(
        "observability",
        "ChatNotifier/Resource",
        "NIST.800.53.R5-LambdaInsideVPC",
        "The notifier reaches only Secrets Manager and the chat provider's HTTPS endpoint and "
        "no VPC resource; outside the VPC, alerts still go out when the VPC or NAT is broken.",
    ),
    Ack(
        "observability",
        "ConfigRole",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWS_ConfigRole]",
        "The configuration recorder must describe every supported resource type; AWS maintains "
        "this read-only policy as services add types (AWS Config developer guide).",
        optional=True,  # where observability.audit.config_recorder is set
    ),
    Ack(
        "observability",
        "ConfigRole/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Resource::<ConfigBucket2112C5EC.Arn>/AWSLogs/{account}/Config/*]",
        "AWS Config writes snapshot and history objects under AWSLogs/<account>/Config/; the "
        "role may only put there, with the bucket-owner-full-control ACL.",
        optional=True,
    ),
    *(
        Ack(
            "observability",
            path,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK writes each role's scoped statements (one secret, one queue, one log group, the "
            "Config prefix) into that role's own policy; they are reviewed in the snapshots.",
            optional=path.startswith("ConfigRole"),
        )
        for path in (
            "ChatNotifier/ServiceRole/DefaultPolicy/Resource",
            "Trail/LogsRole/DefaultPolicy/Resource",
            "ConfigRole/DefaultPolicy/Resource",
        )
    ),
    *(
        Ack(
            "observability",
            f"{bucket}/Resource",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            reason,
            optional=True,
        )
        for bucket, reason in (
            (
                "TrailBucket",
                "CloudTrail log files carry digest-file validation and the trail is "
                "multi-region; a copy outside the account belongs in an organization trail.",
            ),
            (
                "ConfigBucket",
                "Config snapshots are regenerated by the recorder at any time; "
                "history of record lives in the AWS Config service itself.",
            ),
            (
                "AuditAccessLogs",
                "Access logs of the audit buckets, kept for their retention "
                "in-region; replicating logs of logs adds cost without recovery value.",
            ),
        )
    ),
    Ack(
        "observability",
        "AuditAccessLogs/Resource",
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "Target of S3 server access logging, which cannot write to SSE-KMS buckets; objects "
        "are still encrypted at rest with SSE-S3.",
        optional=True,
    ),
    # -- data ------------------------------------------------------------------------------
    Ack(
        "data",
        "Database*/MonitoringRole",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonRDSEnhancedMonitoringRole]",
        "Enhanced monitoring's role must carry this AWS-maintained policy; it only lets RDS write "
        "OS metrics to the RDSOSMetrics log group and AWS updates it with the service.",
    ),
    Ack(
        "data",
        "Database/Resource",
        "AwsSolutions-RDS11",
        "The database keeps the engine's default port: it sits in isolated subnets and accepts "
        "only the api, ws, workers and rotation security groups, so a non-standard port would "
        "add client configuration without reducing exposure.",
    ),
    *(
        Ack(
            "data",
            path,
            rule,
            "Dev runs single-AZ, without deletion protection, on purpose (cost, disposable "
            "data). Validation makes Multi-AZ, deletion protection and snapshot-on-delete "
            "mandatory in prod (prod.data.database / prod.data.cache).",
            stages=("dev",),
            optional=path.startswith("DatabaseReplica"),
        )
        for path, rule in (
            ("Database/Resource", "AwsSolutions-RDS3"),
            ("Database/Resource", "AwsSolutions-RDS10"),
            ("Database/Resource", "NIST.800.53.R5-RDSMultiAZSupport"),
            ("Database/Resource", "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled"),
            ("DatabaseReplica/Resource", "AwsSolutions-RDS10"),
            ("DatabaseReplica/Resource", "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled"),
            ("Cache", "AwsSolutions-AEC4"),
        )
    ),
    *(
        Ack(
            "data",
            "DatabaseReplica/Resource",
            rule,
            "A read replica (data.database.read_replica) is a read-scaling copy: the source is "
            "Multi-AZ outside dev, is in the backup plan, and a replica can be recreated from it.",
            optional=True,
        )
        for rule in (
            "AwsSolutions-RDS3",
            "AwsSolutions-RDS11",
            "NIST.800.53.R5-RDSMultiAZSupport",
            "NIST.800.53.R5-RDSInBackupPlan",
        )
    ),
    *(
        Ack(
            "data",
            "DatabaseReplica/Resource",
            rule,
            "A read replica inherits the KMS encryption of its encrypted source; CloudFormation "
            "rejects StorageEncrypted together with SourceDBInstanceIdentifier (F3020).",
            optional=True,
        )
        for rule in ("AwsSolutions-RDS2", "NIST.800.53.R5-RDSStorageEncrypted")
    ),
    Ack(
        "data",
        "Database/*/Resource",
        "NIST.800.53.R5-RDSInBackupPlan",
        "Aurora (data.database.engine aurora-*) is backed up per cluster: the cluster ARN is in "
        "the AWS Backup selection, which covers its writer and reader instances.",
        optional=True,
    ),
    Ack(
        "data",
        "Database/Resource",
        "AwsSolutions-RDS14",
        "Aurora MySQL backtrack rewinds the whole cluster in place and is not compatible with "
        "cross-region copies; recovery uses point-in-time restore and AWS Backup instead.",
        optional=True,
    ),
    Ack(
        "data",
        "Database/Resource",
        "NIST.800.53.R5-RDSLoggingEnabled[LogExport::general]",
        "Aurora MySQL's general log records every statement, including application data, at "
        "high volume; audit (logins, DDL, DCL), error and slow-query logs are exported instead.",
        optional=True,
    ),
    *(
        Ack(
            "data",
            "CacheAuthToken/Resource",
            rule,
            "ElastiCache has no managed rotation for AUTH tokens: rotating means "
            "ModifyReplicationGroup with strategy ROTATE, a client roll-out, then SET. The 64-char "
            "token is KMS-encrypted, only readable by granted task roles, and used over TLS only; "
            "it is rotated with that runbook.",
        )
        for rule in ("AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled")
    ),
    Ack(
        "data",
        "Cache",
        "NIST.800.53.R5-ElastiCacheRedisClusterAutomaticBackup",
        "The rule wants 15+ days of cache snapshots. The cache holds rebuildable data (sessions, "
        "cached reads); durable state lives in PostgreSQL with point-in-time recovery. Snapshots "
        "are kept per stage (snapshot_retention_days) for fast warm-up only.",
    ),
    *(
        Ack(
            "data",
            "BackupPlan/Selection/Role",
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
            "AWS Backup's selection role needs this AWS-maintained service-role policy to back up "
            "and restore RDS and S3; AWS keeps it in step with the service's API calls.",
        )
        for policy in (
            "AWSBackupServiceRolePolicyForBackup",
            "AWSBackupServiceRolePolicyForRestores",
        )
    ),
    *(
        Ack(
            "data",
            "ReplicationPolicy/Resource",
            f"AwsSolutions-IAM5[Resource::{objects}/*]",
            "S3 replication reads every object version of the source and writes every object of "
            "the replica, so object-level ARNs are bucket/*; the policy names only these two "
            "buckets, their two keys (via S3 only) and the replication actions.",
            stages=("prod",),  # where data.uploads.replicate_to_dr is set
        )
        for objects in ("<UploadsBucket5E5E9B64.Arn>", "arn:aws:s3:::{replica_bucket}")
    ),
    *(
        Ack(
            stack,
            f"{bucket}/Resource",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            reason,
        )
        for stack, bucket, reason in (
            (
                "data",
                "AccessLogsBucket",
                "Access logs are kept for audit in-region for "
                "access_log_retention_days; replicating logs would double their cost for no RPO.",
            ),
            (
                "data",
                "AssetsBucket",
                "Static assets are build outputs, republished from CI by "
                "every deploy; a region loss is recovered by a new deploy, not a replica.",
            ),
            (
                "data",
                "BackupsBucket",
                "Application exports only; database and upload recovery "
                "points are copied to the DR vault by AWS Backup where backup.copy_to_dr is set.",
            ),
            (
                "dr",
                "AccessLogsBucket",
                "Server access logs of the DR replica bucket; they "
                "describe the copy, are needed only in its region and expire with the log policy.",
            ),
            (
                "dr",
                "ReplicaBucket",
                "This bucket is the cross-region replica of the uploads "
                "bucket; replicating the replica again would add cost without a further RPO gain.",
            ),
        )
    ),
    Ack(
        "data",
        "UploadsBucket/Resource",
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "Uploads are replicated to the DR region where data.uploads.replicate_to_dr is set "
        "(prod); dev and staging hold test data that versioning and AWS Backup already protect.",
        stages=("dev", "staging"),
    ),
    *(
        Ack(
            "data",
            path,
            rule,
            reason,
        )
        for path, reason in (
            (
                "AppSecret/Resource",
                "The JWT signing key is rotated by the application team with key ids (old and "
                "new key valid together); an automatic swap would sign out every user at once.",
            ),
            (
                "OriginVerifySecret/Resource",
                "The origin header value must change in CloudFront and the load balancer rule "
                "together; it is rotated by redeploying both stacks, never by a lone rotation.",
            ),
        )
        for rule in ("AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled")
    ),
    *(
        Ack(
            "data",
            f"{policy}/Resource",
            f"AwsSolutions-IAM5[Resource::<UploadsBucket5E5E9B64.Arn>/{objects}]",
            "Object-level S3 permissions name objects by prefix: this managed policy grants "
            "exact actions (no wildcards) on the uploads bucket's objects only, KMS via S3 only.",
        )
        for policy, objects in (
            ("UploadsReadWrite", "*"),
            ("UploadsRead", "*"),
            ("ReportsWrite", "reports/*"),
        )
    ),
    # -- compute ---------------------------------------------------------------------------
    *(
        Ack(
            "compute",
            "Worker/ServiceRole",
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
            "A Lambda in a VPC needs these AWS-maintained policies: CloudWatch Logs delivery and "
            "ENI management (ec2:CreateNetworkInterface has no resource-level scoping).",
        )
        for policy in ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole")
    ),
    Ack(
        "compute",
        "Worker/ServiceRole/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Resource::*]",
        XRAY_WRITE,
    ),
    Ack(
        "compute",
        "Service-*/Task/TaskRole/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Resource::*]",
        "ECS Exec (compute.exec_enabled, never in prod) opens its channel with "
        "ssmmessages:Create/OpenControlChannel and DataChannel, and the optional X-Ray sidecar "
        "(compute.xray_sidecar) writes traces; neither service has resource-level permissions.",
    ),
    Ack(
        "compute",
        "Service-*/Task/TaskRole/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:"
        "<ExecLogsLogGroup270FF9D1>:*]",
        "ECS Exec session logs go to one encrypted log group; streams are created per "
        "session, so the grant names that group's streams (log-group:...:*) and nothing else.",
    ),
    Ack(
        "compute",
        "SchedulerRoleForTarget-*/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        "EventBridge Scheduler's SQS target encrypts with the job queue's key: CDK grants "
        "GenerateDataKey and GenerateDataKeyWithoutPlaintext on that single key only.",
    ),
    *(
        Ack(
            "compute",
            path,
            "AwsSolutions-ECS2",
            "Containers get only non-secret settings (host names, bucket, queue URL, stage) as "
            "environment variables; every credential comes from Secrets Manager as an ECS secret.",
        )
        for path in ("Service-*/Task/Resource", "MigrationTask/Resource")
    ),
    *(
        Ack(
            "compute",
            path,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK grants write each role's least-privilege statements into the role's own policy "
            "(exact resources, reviewed in the template snapshots); shared access is attached "
            "as managed policies from the data stack.",
        )
        for path in (
            "Service-*/Task/*Role/DefaultPolicy/Resource",
            "MigrationTask/*Role/DefaultPolicy/Resource",
            "Worker/ServiceRole/DefaultPolicy/Resource",
            "SchedulerRoleForTarget-*/DefaultPolicy/Resource",
        )
    ),
    Ack(
        "compute",
        "Worker/Resource",
        "NIST.800.53.R5-LambdaDLQ",
        "The worker is invoked by its SQS event source, not asynchronously: failed messages go "
        "back to the queue and, after max_receive_count, to the queue's dead-letter queue.",
    ),
    Ack(
        "compute",
        "Service-*/Deployment5xx/Resource",
        "NIST.800.53.R5-CloudWatchAlarmAction",
        "These alarms drive ECS deployment rollback (deployment alarms), not paging; alerting "
        "alarms with SNS actions are defined by the observability stack.",
    ),
    Ack(
        "compute",
        "LoadBalancer/Resource",
        "NIST.800.53.R5-ALBWAFEnabled",
        "The WAF web ACL is attached at CloudFront (CLOUDFRONT scope); the load balancer only "
        "admits CloudFront's origin-facing prefix list carrying the secret origin header.",
    ),
    Ack(
        "compute",
        "LoadBalancer/Redirect80To443/Resource",
        "NIST.800.53.R5-ELBv2ACMCertificateRequired",
        "With compute.domain, port 80 only answers 301 to HTTPS on 443, which presents the ACM "
        "certificate; it serves no content and forwards nothing to the services.",
        optional=True,
    ),
    Ack(
        "compute",
        "LoadBalancer/Resource",
        "NIST.800.53.R5-ELBDeletionProtectionEnabled",
        "Dev's load balancer holds no data and is recreated at will; validation requires "
        "compute.load_balancer_deletion_protection in prod.",
        stages=("dev",),
    ),
    *(
        Ack(
            "compute",
            "LoadBalancer/Http/Resource",
            rule,
            "Without compute.domain there is no certificate the load balancer could present: "
            "viewers use HTTPS at CloudFront and the HTTP listener admits only CloudFront's "
            "prefix list with the origin header. Configure a domain for TLS to the origin.",
            optional=True,
        )
        for rule in (
            "NIST.800.53.R5-ALBHttpToHttpsRedirection",
            "NIST.800.53.R5-ELBv2ACMCertificateRequired",
        )
    ),
    *(
        Ack(
            stack,
            "AccessLogsBucket/Resource",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "Log-delivery targets must use SSE-S3: ALB access logs and S3 server access logs "
            "cannot be written to an SSE-KMS bucket. Objects are still encrypted at rest.",
        )
        for stack in ("data", "dr")
    ),
)


def apply_acknowledgments(
    cfg: StageConfig, stacks: Mapping[str, Stack], acks: tuple[Ack, ...] = ACKNOWLEDGMENTS
) -> None:
    values = {
        "replica_bucket": cfg.replica_bucket_name,
        "account": cfg.account,
        "region": cfg.region,
        "project": cfg.project,
        "stage": cfg.name,
    }
    acknowledge(stacks, [a for a in acks if not a.stages or cfg.name in a.stages], values)


def acknowledge(
    stacks: Mapping[str, IConstruct], acks: Sequence[Ack], values: Mapping[str, str]
) -> None:
    """Applies `acks` to the constructs their paths name; a non-optional path that matches
    nothing is an error. Rule ids may use `{name}` placeholders from `values`."""
    children: ChildCache = {}
    for ack in acks:
        if ack.stack not in stacks:
            continue
        targets = find_constructs(stacks[ack.stack], ack.path, children)
        if not targets and not ack.optional:
            raise ValueError(
                f"acknowledgment {ack.rule} names {ack.stack}/{ack.path}, which matches nothing; "
                "remove or update it in infra/compliance/acknowledgments.py"
            )
        for target in targets:
            Validations.of(target).acknowledge(
                Acknowledgment(id=ack.rule.format(**values), reason=ack.reason)
            )


# parent's id() -> (parent, [(child id, child)]); holding the parent keeps its id() unique.
ChildCache = dict[int, tuple[IConstruct, list[tuple[str, IConstruct]]]]


def find_constructs(
    root: IConstruct, path: str, children: ChildCache | None = None
) -> list[IConstruct]:
    """Constructs under `root` at `path`; a segment may use shell wildcards (`publicSubnet*`).

    `children` caches each parent's (id, child) list across calls: every jsii call counts."""
    cache: ChildCache = {} if children is None else children
    found = [root]
    for segment in path.split("/"):
        if not any(char in segment for char in "*?["):
            # One jsii call per parent; listing children costs one per child.
            found = [c for p in found if (c := p.node.try_find_child(segment)) is not None]
            continue
        for parent in found:
            if id(parent) not in cache:
                cache[id(parent)] = (
                    parent,
                    [(child.node.id, child) for child in parent.node.children],
                )
        found = [
            child
            for parent in found
            for name, child in cache[id(parent)][1]
            if fnmatch.fnmatchcase(name, segment)
        ]
    return found


# -- delivery pipeline ------------------------------------------------------------------------
# CDK Pipelines generates its roles; their grants come from CDK's helpers (artifact bucket and
# key access by action families). One reason per family; ids naming generated projects or the
# support buckets are derived from the synthesized constructs.
_PIPELINE_ROLES = ("Pipeline", "CodePipeline")  # the pipelines.CodePipeline and its Pipeline
_PIPELINE_FAMILIES = {
    **dict.fromkeys(
        (
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
            "AwsSolutions-IAM5[Resource::<{artifacts}.Arn>/*]",
        ),
        "CDK Pipelines grants its steps read/write on the pipeline's own artifact bucket and "
        "key only; the action families are CDK's grant helpers, the resources are that bucket.",
    ),
    "AwsSolutions-IAM5[Resource::*]": "CodeStar connection use, CodeBuild report and pipeline "
    "state calls without resource-level permissions; they reach nothing outside the pipeline.",
    "AwsSolutions-IAM5[Resource::arn:*:iam::{account}:role/*]": "Self-mutation and asset "
    "publishing assume the CDK bootstrap roles (cdk-hnb659fds-*), whose names CDK resolves per "
    "target account at run time.",
    "AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/*]": (
        "Asset-publishing projects are created per asset; their shared role writes only to "
        "CodeBuild's own log groups."
    ),
    "AwsSolutions-IAM5[Resource::arn:aws:codebuild:{region}:{account}:report-group/*]": (
        "Asset-publishing projects report test results to CodeBuild report groups named after "
        "themselves, which exist only once the projects run."
    ),
    "NIST.800.53.R5-IAMNoInlinePolicy": "CDK Pipelines writes each generated role's grants "
    "into that role's own policy; they are scoped to the pipeline's bucket, key and projects.",
}


def pipeline_acknowledgments(stack: Stack, support: Sequence[Stack]) -> list[Ack]:
    """Acks for a pipeline stack's generated roles and CDK's cross-region support stacks."""
    acks = [
        Ack("pipeline", path, rule, reason, optional=True)
        for rule, reason in _PIPELINE_FAMILIES.items()
        for path in _PIPELINE_ROLES
    ]
    acks += [
        Ack("pipeline", f"{bucket}/Resource", rule, reason)
        for bucket, rule, reason in (
            (
                "ArtifactsBucket",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "Pipeline artifacts are rebuilt from the repository by any run and expire after "
                "90 days; a replica would protect nothing the source does not.",
            ),
            (
                "AccessLogs",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "Access logs of the artifact bucket, kept in the tooling account for a year.",
            ),
            (
                "AccessLogs",
                "NIST.800.53.R5-S3DefaultEncryptionKMS",
                "Target of S3 server access logging, which cannot write to SSE-KMS buckets; "
                "objects are still encrypted with SSE-S3.",
            ),
        )
    ]
    for project in stack.node.find_all():
        if isinstance(project, codebuild.Project) and project.node.default_child is not None:
            logical = stack.get_logical_id(project.node.default_child)  # type: ignore[arg-type]
            for resource in (
                f"arn:aws:logs:{{region}}:{{account}}:log-group:/aws/codebuild/<{logical}>:*",
                f"arn:aws:codebuild:{{region}}:{{account}}:report-group/<{logical}>-*",
            ):
                acks += [
                    Ack(
                        "pipeline",
                        path,
                        f"AwsSolutions-IAM5[Resource::{resource}]",
                        "A CodeBuild project may write only its own log group and report groups; "
                        "CDK names them after the project.",
                        optional=True,
                    )
                    for path in _PIPELINE_ROLES
                ]
    for index, support_stack in enumerate(support):
        # CDK generates the bucket's physical name on the L2 bucket (its CfnBucket has none).
        bucket = next(c for c in support_stack.node.find_all() if isinstance(c, s3.Bucket))
        acks.append(
            Ack(
                "pipeline",
                "CodePipeline/Role",
                f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{stack.resolve(bucket.bucket_name)}/*]",
                "The pipeline copies artifacts into CDK's replication bucket for a stage "
                "region other than its own (us-east-1 edge, DR region); objects only.",
            )
        )
        acks += [
            Ack(
                f"support-{index}",
                "Default/CrossRegionCodePipelineReplicationBucket/Resource",
                rule,
                "CDK's cross-region replication bucket holds transient, KMS-encrypted "
                "pipeline artifacts for one region; they are recreated by every run and "
                "expire with the pipeline's artifacts.",
                optional=True,
            )
            for rule in (
                "AwsSolutions-S1",
                "NIST.800.53.R5-S3BucketLoggingEnabled",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "NIST.800.53.R5-S3BucketVersioningEnabled",
            )
        ]
    return acks
