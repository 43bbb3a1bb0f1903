"""Python Lambda functions with the platform's defaults: latest runtime, ARM, X-Ray, encrypted
environment, a named log group, and a concurrency ceiling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct


@dataclass(frozen=True)
class PythonFunctionProps:
    function_name: str
    description: str
    code: Path
    """A folder with handler.py exposing handler(event, context); no bundling needed."""
    key: kms.IKey
    log_group: logs.ILogGroup
    memory_mib: int = 256
    timeout_seconds: int = 30
    reserved_concurrency: int = 5
    environment: Mapping[str, str] = field(default_factory=dict)
    vpc: ec2.IVpc | None = None
    security_groups: Sequence[ec2.ISecurityGroup] = ()
    dead_letter_queue: sqs.IQueue | None = None


def python_function(
    scope: Construct, construct_id: str, props: PythonFunctionProps
) -> lambda_.Function:
    return lambda_.Function(
        scope,
        construct_id,
        function_name=props.function_name,
        description=props.description,
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        handler="handler.handler",
        code=lambda_.Code.from_asset(str(props.code)),
        memory_size=props.memory_mib,
        timeout=Duration.seconds(props.timeout_seconds),
        reserved_concurrent_executions=props.reserved_concurrency,
        tracing=lambda_.Tracing.ACTIVE,
        environment=dict(props.environment),
        environment_encryption=props.key,
        log_group=props.log_group,
        vpc=props.vpc,
        vpc_subnets=(
            ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
            if props.vpc
            else None
        ),
        security_groups=list(props.security_groups) or None,
        dead_letter_queue=props.dead_letter_queue,
    )
