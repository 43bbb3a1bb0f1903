"""Account-level audit: CloudTrail (always), GuardDuty, Security Hub and AWS Config (once per
account and region, by the stage that owns the account), and alarms on anyone tampering with
the audit trail or its keys.

The trail's bucket is object-locked in compliance mode for the trail's retention: an attacker
with console access can stop the trail (which pages the critical tier) but cannot delete or
rewrite what it already recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_config as config
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_securityhub as securityhub

from constructs_lib.buckets import SecureBucketProps, log_bucket, secure_bucket
from constructs_lib.durations import days
from constructs_lib.encryption import kms_via
from infra.stacks.base import removal

if TYPE_CHECKING:
    from infra.stacks.observability import ObservabilityStack

FSBP = "standards/aws-foundational-security-best-practices/v/1.0.0"
CONFIG_RULES = {
    "S3BucketPublicReadProhibited": config.ManagedRuleIdentifiers.S3_BUCKET_PUBLIC_READ_PROHIBITED,
    "RdsStorageEncrypted": config.ManagedRuleIdentifiers.RDS_STORAGE_ENCRYPTED,
    "CloudTrailEnabled": config.ManagedRuleIdentifiers.CLOUD_TRAIL_ENABLED,
    "VpcFlowLogsEnabled": config.ManagedRuleIdentifiers.VPC_FLOW_LOGS_ENABLED,
    "RootAccountMfaEnabled": config.ManagedRuleIdentifiers.ROOT_ACCOUNT_MFA_ENABLED,
}
TAMPERING = {
    "aws.cloudtrail": ("cloudtrail.amazonaws.com", ["StopLogging", "DeleteTrail", "UpdateTrail"]),
    "aws.kms": ("kms.amazonaws.com", ["ScheduleKeyDeletion", "DisableKey"]),
}


def build_audit(stack: ObservabilityStack) -> None:
    audit = stack.cfg.observability.audit
    critical = event_targets.SnsTopic(stack.topics["critical"])
    if audit.cloudtrail or audit.config_recorder:
        stack.audit_key = stack.stage_key("AuditKey", "audit", "CloudTrail and Config")
        stack.audit_logs = log_bucket(
            stack,
            "AuditAccessLogs",
            retention_days=audit.trail_retention_days,
            removal_policy=removal(stack.cfg.removal_policy),
        )
    if audit.cloudtrail:
        _trail(stack)
        _tampering_alarms(stack, critical)
        if stack.cfg.compute.exec_enabled:
            events.Rule(
                stack,
                "OperatorShells",
                description="Every ECS Exec session (a shell in a task) tells the warning tier",
                event_pattern=events.EventPattern(
                    source=["aws.ecs"],
                    detail_type=["AWS API Call via CloudTrail"],
                    detail={"eventSource": ["ecs.amazonaws.com"], "eventName": ["ExecuteCommand"]},
                ),
                targets=[event_targets.SnsTopic(stack.topics["warning"])],
            )
    if audit.guardduty:
        guardduty.CfnDetector(
            stack, "GuardDuty", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES"
        )
        events.Rule(
            stack,
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
        hub = securityhub.CfnHub(stack, "SecurityHub")
        standard = securityhub.CfnStandard(
            stack,
            "FoundationalBestPractices",
            standards_arn=f"arn:{stack.partition}:securityhub:{stack.region}::{FSBP}",
        )
        standard.node.add_dependency(hub)
        events.Rule(
            stack,
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
        _config_recorder(stack)


def _audit_bucket(
    stack: ObservabilityStack, construct_id: str, prefix: str, *, locked: bool = False
) -> s3.Bucket:
    retention = stack.cfg.observability.audit.trail_retention_days
    return secure_bucket(
        stack,
        construct_id,
        SecureBucketProps(
            encryption_key=stack.audit_key,
            access_logs=stack.audit_logs,
            access_logs_prefix=prefix,
            removal_policy=removal(stack.cfg.removal_policy),
            object_lock_days=retention if locked else None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="archive",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=days(90),
                        )
                    ],
                    expiration=days(retention),
                    noncurrent_version_expiration=days(30),
                )
            ],
        ),
    )


def _trail(stack: ObservabilityStack) -> None:
    cfg = stack.cfg
    name = cfg.resource_name("trail")
    bucket = _audit_bucket(
        stack, "TrailBucket", "s3/trail/", locked=cfg.observability.audit.trail_object_lock
    )
    trail_logs = stack.log_group("TrailLogs", cfg.log_name("cloudtrail"), stack.audit_key)
    trail_arn = f"arn:{stack.partition}:cloudtrail:{stack.region}:{stack.account}:trail/{name}"
    principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
    # What CloudTrail needs on the key (CloudTrail user guide, "Configure AWS KMS key policies"):
    # data keys for this trail's log files, and the key's description.
    stack.audit_key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudTrailEncryptLogs",
            principals=[principal],
            actions=["kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={
                "StringEquals": {"aws:SourceArn": trail_arn},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:{stack.partition}:cloudtrail:*:{stack.account}:trail/*"
                    )
                },
            },
        )
    )
    stack.audit_key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudTrailDescribeKey",
            principals=[principal],
            actions=["kms:DescribeKey"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
        )
    )
    cloudtrail.Trail(
        stack,
        "Trail",
        trail_name=name,
        bucket=bucket,
        encryption_key=stack.audit_key,
        is_multi_region_trail=True,
        include_global_service_events=True,
        enable_file_validation=True,
        send_to_cloud_watch_logs=True,
        cloud_watch_log_group=trail_logs,
    )


def _tampering_alarms(stack: ObservabilityStack, critical: event_targets.SnsTopic) -> None:
    """Stopping, deleting or rewiring the trail, or disabling a key, pages the critical tier."""
    for source, (event_source, names) in TAMPERING.items():
        label = source.removeprefix("aws.").capitalize()
        events.Rule(
            stack,
            f"Tampering-{label}",
            description=f"{', '.join(names)} page the critical tier",
            event_pattern=events.EventPattern(
                source=[source],
                detail_type=["AWS API Call via CloudTrail"],
                detail={"eventSource": [event_source], "eventName": names},
            ),
            targets=[critical],
        )


def _config_recorder(stack: ObservabilityStack) -> None:
    bucket = _audit_bucket(stack, "ConfigBucket", "s3/config/")
    role = iam.Role(
        stack,
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
            resources=[bucket.arn_for_objects(f"AWSLogs/{stack.account}/Config/*")],
            conditions={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        ),
        kms_via(
            stack.audit_key.key_arn, "s3", "kms:Decrypt", "kms:GenerateDataKey", region=stack.region
        ),
    ):
        role.add_to_policy(statement)
    recorder = config.CfnConfigurationRecorder(
        stack,
        "ConfigRecorder",
        role_arn=role.role_arn,
        recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
            all_supported=True, include_global_resource_types=True
        ),
    )
    channel = config.CfnDeliveryChannel(
        stack,
        "ConfigDelivery",
        s3_bucket_name=bucket.bucket_name,
        s3_kms_key_arn=stack.audit_key.key_arn,
    )
    # AWS Config refuses a delivery channel before a recorder exists, and checks on creation
    # that the recorder's role can write to the bucket.
    channel.node.add_dependency(recorder, role)
    for name, identifier in CONFIG_RULES.items():
        rule = config.ManagedRule(stack, f"Rule-{name}", identifier=identifier)
        rule.node.add_dependency(recorder)
        rule.node.add_dependency(channel)
