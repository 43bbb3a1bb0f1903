"""Functions: any number, each with its own code folder, runtime, size and one trigger."""

from __future__ import annotations

import importlib.util
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from infra.config import aws
from infra.config.access import Access
from infra.config.base import Model

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_./]*\.[A-Za-z_][A-Za-z0-9_]*$")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class Runtime(StrEnum):
    PYTHON_3_14 = "python3.14"
    PYTHON_3_13 = "python3.13"
    PYTHON_3_12 = "python3.12"
    PYTHON_3_11 = "python3.11"
    NODEJS_24 = "nodejs24.x"
    NODEJS_22 = "nodejs22.x"

    @property
    def is_python(self) -> bool:
        return self.value.startswith("python")

    @property
    def newest(self) -> Runtime:
        """The newest runtime of the same language (what cdk-nag's L1 rule expects)."""
        return Runtime.PYTHON_3_14 if self.is_python else Runtime.NODEJS_24


class Architecture(StrEnum):
    ARM64 = "arm64"
    X86_64 = "x86_64"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class QueueTrigger(Model):
    """An SQS queue of its own, with a dead-letter queue and partial batch failures."""

    type: Literal["queue"]
    batch_size: int = 10
    max_receive_count: int = 5
    """Deliveries before a message goes to the dead-letter queue."""
    visibility_timeout_seconds: int | None = None
    """Default six times the function timeout (AWS's recommendation for Lambda consumers)."""
    max_batching_window_seconds: int = 0
    retention_days: int = 4


class ScheduleTrigger(Model):
    """EventBridge Scheduler invokes the function on a schedule, in a time zone."""

    type: Literal["schedule"]
    expression: str = Field(examples=["cron(0 0 * * ? *)"])
    """cron(minutes hours day-of-month month day-of-week year) or rate(1 hour)."""
    time_zone: str | None = None
    """Default: the stage's time zone."""
    input: dict[str, Any] = {}


class BucketTrigger(Model):
    """Object-created events of a product bucket, delivered through EventBridge (so the data and
    compute stacks never reference each other both ways)."""

    type: Literal["bucket"]
    bucket: str = Field(examples=["uploads"])
    prefix: str = ""
    suffix: str = ""


class EventTrigger(Model):
    """A pattern on the product's own event bus."""

    type: Literal["event"]
    source: tuple[str, ...] = Field(examples=[["shop.orders"]])
    detail_type: tuple[str, ...] = ()


class AlertsTrigger(Model):
    """The stage's alert topics (chat and pager forwarders)."""

    type: Literal["alerts"]
    severities: tuple[Severity, ...] = (Severity.CRITICAL, Severity.WARNING)


Trigger = Annotated[
    QueueTrigger | ScheduleTrigger | BucketTrigger | EventTrigger | AlertsTrigger,
    Field(discriminator="type"),
]


class FunctionConfig(Model):
    trigger: Trigger
    code: str | None = Field(default=None, examples=["image_processor"])
    """Folder under lambda_src/; default the function name with - as _."""
    handler: str = "handler.handler"
    runtime: Runtime = Runtime.PYTHON_3_14
    architecture: Architecture = Architecture.ARM64
    memory_mib: int = 256
    timeout_seconds: int = 30
    reserved_concurrency: int | None = 5
    """A ceiling on parallel runs; None leaves the function on the account's shared pool."""
    vpc: bool = True
    """In the private subnets (needed to reach the database or cache)."""
    uses: Access = Access()
    environment: dict[str, str] = {}
    log_retention_days: int | None = None
    """Default: the stage's observability.logs.functions."""
    idempotency_table: bool = False
    """A DynamoDB table (IDEMPOTENCY_TABLE) for exactly-once processing of deliveries."""
    packages: tuple[str, ...] = Field(default=(), examples=[["pg8000"]])
    """Pure-Python packages (pinned in requirements.txt) copied into the function at synth,
    with every package they require."""
    description: str = ""

    def code_folder(self, name: str) -> str:
        return self.code or name.replace("-", "_")

    def queue_visibility_seconds(self) -> int:
        assert isinstance(self.trigger, QueueTrigger)
        return self.trigger.visibility_timeout_seconds or 6 * self.timeout_seconds

    def problems(self) -> list[str]:
        problems = []
        low, high = aws.LAMBDA_MEMORY
        if not low <= self.memory_mib <= high:
            problems.append(f"memory_mib: {self.memory_mib} must be {low}-{high}")
        if not 1 <= self.timeout_seconds <= aws.LAMBDA_MAX_TIMEOUT:
            problems.append(
                f"timeout_seconds: {self.timeout_seconds} must be 1-{aws.LAMBDA_MAX_TIMEOUT}"
            )
        if self.reserved_concurrency is not None and self.reserved_concurrency < 1:
            problems.append(
                "reserved_concurrency: must be >= 1 (0 would stop the function); None for none"
            )
        if not _HANDLER.match(self.handler):
            problems.append(f"handler: {self.handler!r}; use file.function, e.g. handler.handler")
        if self.code is not None and not _CODE.match(self.code):
            problems.append(f"code: {self.code!r} must be a folder name such as image_processor")
        problems += [
            f"packages: {package!r} is not installed here; pin it in requirements.txt"
            for package in self.packages
            if importlib.util.find_spec(package) is None
        ]
        if self.packages and not self.runtime.is_python:
            problems.append("packages: only Python functions can have packages copied in")
        if self.uses.uses_data_tier and not self.vpc:
            problems.append("vpc: a function that uses the database or cache must run in the VPC")
        trigger = self.trigger
        if isinstance(trigger, QueueTrigger):
            problems += self._queue_problems(trigger)
        elif isinstance(trigger, ScheduleTrigger) and not (
            aws.SCHEDULER_CRON.match(trigger.expression)
            or aws.SCHEDULER_RATE.match(trigger.expression)
        ):
            problems.append(
                f"trigger.expression: {trigger.expression!r} does not parse; use "
                "cron(minutes hours day-of-month month day-of-week year), e.g. "
                "cron(0 0 * * ? *), or rate(1 hour)"
            )
        elif isinstance(trigger, EventTrigger) and not trigger.source:
            problems.append("trigger.source: name the event source(s), e.g. ['shop.orders']")
        return problems

    def _queue_problems(self, trigger: QueueTrigger) -> list[str]:
        problems = []
        visibility = self.queue_visibility_seconds()
        if visibility <= self.timeout_seconds:
            problems.append(
                f"trigger.visibility_timeout_seconds: {visibility} must exceed timeout_seconds "
                f"({self.timeout_seconds}), or a message becomes visible again while it is "
                "still being processed (6x is recommended)"
            )
        if visibility > aws.SQS_MAX_VISIBILITY:
            problems.append(
                f"trigger.visibility_timeout_seconds: {visibility} exceeds SQS's "
                f"{aws.SQS_MAX_VISIBILITY}"
            )
        if not 1 <= trigger.max_receive_count <= 1000:  # noqa: PLR2004
            problems.append(
                f"trigger.max_receive_count: {trigger.max_receive_count} must be 1-1000"
            )
        if not 1 <= trigger.batch_size <= aws.SQS_MAX_BATCH and not (
            trigger.max_batching_window_seconds and trigger.batch_size <= 10000  # noqa: PLR2004
        ):
            problems.append(
                f"trigger.batch_size: {trigger.batch_size} must be 1-10 (up to 10000 with a "
                "batching window)"
            )
        if not 1 <= trigger.retention_days <= 14:  # noqa: PLR2004
            problems.append(f"trigger.retention_days: {trigger.retention_days} must be 1-14")
        return problems
