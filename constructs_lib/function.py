"""Lambda functions with the platform's defaults: ARM, X-Ray, an encrypted environment, a named
log group, a concurrency ceiling, and code that needs no Docker to package: a Python function's
asset is its folder, the `shared` package next to it (lambda_src/shared, imported from the asset
root) and any pure-Python packages it declares, bundled here.

X-Ray's write actions have no resource-level permissions. They come from one shared managed
policy (`tracing_policy`) instead of the role's own policy, so the role's own policy never holds
a `Resource: *` statement and any new wildcard there is a compliance finding.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.durations import seconds
from constructs_lib.encryption import kms_via

RUNTIMES = {
    "python3.14": lambda_.Runtime.PYTHON_3_14,
    "python3.13": lambda_.Runtime.PYTHON_3_13,
    "python3.12": lambda_.Runtime.PYTHON_3_12,
    "python3.11": lambda_.Runtime.PYTHON_3_11,
    "nodejs24.x": lambda_.Runtime.NODEJS_24_X,
    "nodejs22.x": lambda_.Runtime.NODEJS_22_X,
}
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}
XRAY_WRITE = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
XRAY_SAMPLING = ("xray:GetSamplingRules", "xray:GetSamplingTargets")
SHARED = "shared"
"""The package next to the function folders that every Python function gets as `shared/`."""


@jsii.implements(ILocalBundling)
class WithPackages:
    """Packages the code folder, the `shared` folder (if any) as shared/, and pure-Python
    packages copied from this environment (pinned in requirements.txt) with everything they
    require: offline, deterministic (no byte code), no Docker."""

    def __init__(self, source: Path, packages: Sequence[str], shared: Path | None = None) -> None:
        self.source, self.shared = source, shared
        self.distributions = required_distributions(tuple(packages))

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        out = Path(output_dir)
        shutil.copytree(self.source, out, dirs_exist_ok=True, ignore=_ignored)
        if self.shared is not None:
            shutil.copytree(self.shared, out / SHARED, dirs_exist_ok=True, ignore=_ignored)
        for dist in self.distributions:
            # Every installed file, metadata included (scramp reads its own version from it).
            for file in dist.files or []:
                if file.parts[0] == ".." or "__pycache__" in file.parts:
                    continue  # console scripts outside site-packages; byte code
                target = out / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(str(dist.locate_file(file))), target)
        return True


@functools.cache
def _owners() -> Mapping[str, list[str]]:
    """Import name -> distributions providing it (scans every installed package: once)."""
    return importlib.metadata.packages_distributions()


@functools.cache
def required_distributions(packages: tuple[str, ...]) -> list[importlib.metadata.Distribution]:
    """The installed distributions providing `packages` (import names) and every distribution
    they require (requirements behind an extra left out): a function lists what it imports."""
    owners = _owners()
    todo = [dist for package in packages for dist in owners.get(package, [package])]
    found: dict[str, importlib.metadata.Distribution] = {}
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        try:
            found[key] = dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError as err:
            raise RuntimeError(f"{name} is not installed; pin it in requirements.txt") from err
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                todo.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
    return [found[key] for key in sorted(found)]


def _ignored(_: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or n.endswith(".pyc")]


def is_python(folder: Path) -> bool:
    """A Python function's folder: it holds a .py file (a Node.js one holds .js/.mjs/.cjs)."""
    return any(folder.glob("*.py"))


def code_asset(folder: Path, packages: Sequence[str] = ()) -> lambda_.Code:
    """The function's code. A Python folder is bundled locally with the `shared` folder next to
    it and `packages`; the asset is hashed by that bundle, so a change to shared code redeploys
    every function using it. Any other folder is the asset as it is."""
    if not is_python(folder):
        return lambda_.Code.from_asset(str(folder))
    shared = folder.parent / SHARED
    return lambda_.Code.from_asset(
        str(folder),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            image=lambda_.Runtime.PYTHON_3_14.bundling_image,  # never pulled: bundled locally
            local=WithPackages(folder, packages, shared if shared.is_dir() else None),
        ),
    )


def tracing_policy(
    scope: Construct, construct_id: str = "TracingWrite", *, sampling: bool = False
) -> iam.ManagedPolicy:
    """The stack's X-Ray policy (X-Ray permits only Resource *): trace writes, plus sampling
    rules for the X-Ray daemon."""
    actions = list(XRAY_WRITE) + (list(XRAY_SAMPLING) if sampling else [])
    return iam.ManagedPolicy(
        scope,
        construct_id,
        description="X-Ray traces (the service has no resource-level permissions)",
        statements=[iam.PolicyStatement(actions=actions, resources=["*"])],
    )


@dataclass(frozen=True)
class FunctionProps:
    function_name: str
    description: str
    code: lambda_.Code
    key: kms.IKey
    """Encrypts the environment."""
    log_group: logs.ILogGroup
    tracing: iam.IManagedPolicy
    handler: str = "handler.handler"
    runtime: str = "python3.14"
    architecture: str = "arm64"
    memory_mib: int = 256
    timeout_seconds: int = 30
    reserved_concurrency: int | None = 5
    environment: Mapping[str, str] = field(default_factory=dict)
    vpc: ec2.IVpc | None = None
    security_groups: Sequence[ec2.ISecurityGroup] = ()
    dead_letter_queue: sqs.IQueue | None = None


def platform_function(
    scope: Construct, construct_id: str, props: FunctionProps
) -> lambda_.Function:
    function = lambda_.Function(
        scope,
        construct_id,
        function_name=props.function_name,
        description=props.description,
        runtime=RUNTIMES[props.runtime],
        architecture=ARCHITECTURES[props.architecture],
        handler=props.handler,
        code=props.code,
        memory_size=props.memory_mib,
        timeout=seconds(props.timeout_seconds),
        reserved_concurrent_executions=props.reserved_concurrency,
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
    # Active tracing, with its permissions from the shared policy rather than the role's own.
    cfn = function.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    cfn.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
    assert function.role is not None
    function.role.add_managed_policy(props.tracing)
    dead_letters = props.dead_letter_queue
    if dead_letters is not None and dead_letters.encryption_master_key is not None:
        # Lambda writes failed events with the function's role: an encrypted queue also needs
        # its key, or the events are dropped (CDK grants only sqs:SendMessage; aws-cdk#33153).
        function.add_to_role_policy(
            kms_via(
                dead_letters.encryption_master_key.key_arn,
                "sqs",
                "kms:GenerateDataKey",
                "kms:Decrypt",
                region=Stack.of(scope).region,
            )
        )
    return function
