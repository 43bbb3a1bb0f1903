"""Customer-managed KMS keys, the log groups they protect, and grants on a key through one
service only, with secure defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.durations import days
from constructs_lib.retention import RETENTION_BY_DAYS


@dataclass(frozen=True)
class KeyProps:
    alias: str
    """Without the `alias/` prefix."""
    description: str
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    pending_window_days: int = 30
    """Longest window AWS allows: a scheduled deletion can be cancelled for a month."""


def encryption_key(scope: Construct, construct_id: str, props: KeyProps) -> kms.Key:
    """A symmetric key with yearly rotation; the key policy is CDK's account-root default."""
    return kms.Key(
        scope,
        construct_id,
        alias=f"alias/{props.alias}",
        description=props.description,
        enable_key_rotation=True,
        pending_window=days(props.pending_window_days),
        removal_policy=props.removal_policy,
    )


def kms_via(key_arn: str, service: str, *actions: str, region: str) -> iam.PolicyStatement:
    """`actions` on the key, only through `service` in `region` (kms:ViaService): a role that
    reads secrets, say, may decrypt with their key through Secrets Manager and no other way."""
    return iam.PolicyStatement(
        actions=list(actions),
        resources=[key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}},
    )


@dataclass(frozen=True)
class EncryptedLogGroupProps:
    name: str
    key: kms.IKey
    retention_days: int
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN


class EncryptedLogGroup(Construct):
    """A named log group encrypted with a customer key.

    The key policy lets CloudWatch Logs use the key only for this log group (encryption-context
    condition), which is what AWS requires and nothing more.
    """

    def __init__(self, scope: Construct, construct_id: str, props: EncryptedLogGroupProps) -> None:
        super().__init__(scope, construct_id)
        arn_of, logs_service = _log_facts(scope)
        arn = arn_of(props.name)
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"CloudWatchLogs-{props.name}",
                principals=[logs_service],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": arn}},
            )
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=props.name,
            encryption_key=props.key,
            retention=RETENTION_BY_DAYS[props.retention_days],
            removal_policy=props.removal_policy,
        )


def _log_facts(scope: Construct) -> tuple[Callable[[str], str], iam.ServicePrincipal]:
    """The stack's log-group ARN maker and CloudWatch Logs principal, made once per stack (each
    is a few jsii round trips, and a stack has a dozen log groups)."""
    stack = scope if isinstance(scope, Stack) else Stack.of(scope)
    facts: tuple[Callable[[str], str], iam.ServicePrincipal] | None = getattr(
        stack, "_log_facts", None
    )
    if facts is None:
        marker = "LOG-GROUP-NAME"
        template = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=marker,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        facts = (
            lambda name: template.replace(marker, name),
            iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com"),
        )
        stack._log_facts = facts  # type: ignore[attr-defined]
    return facts
