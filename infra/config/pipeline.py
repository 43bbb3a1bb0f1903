"""Delivery configuration: where the CDK Pipelines pipeline lives and what it watches.

Enabled with `-c pipeline=true` (or PLATFORM_PIPELINE=1); every field comes from context
`pipeline.<field>` or PLATFORM_PIPELINE_<FIELD>, so no repository-specific value is in code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError

from infra.config import aws
from infra.config.base import ConfigError, Model, parse_bool, setting, validation_problems

_CONNECTION = re.compile(
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:"
    r"connection/[0-9a-f-]{36}$"
)
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_BRANCH = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)[A-Za-z0-9._/-]+(?<![/.])$")


class PipelineConfig(Model):
    account: str = Field(default=aws.PLACEHOLDER_ACCOUNT, examples=["111111111111"])
    """The tooling account that runs the pipeline."""
    region: str = "ap-northeast-2"
    connection_arn: str = Field(
        default="", examples=["arn:aws:codeconnections:ap-northeast-2:111111111111:connection/..."]
    )
    """CodeConnections (GitHub) connection, created and authorised once in the console."""
    repository: str = Field(default="", examples=["acme/webplat"])
    """owner/name on GitHub."""
    branch: str = "main"
    separate_accounts: bool = True
    """Require every stage in its own account, none the tooling one."""
    notification_emails: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        """The PLATFORM_PIPELINE_* variables `load_pipeline` reads back into this config."""
        values = self.model_dump()
        values["separate_accounts"] = str(self.separate_accounts).lower()
        values["notification_emails"] = ",".join(self.notification_emails)
        return {"PLATFORM_PIPELINE": "1"} | {
            f"PLATFORM_PIPELINE_{name.upper()}": str(value) for name, value in values.items()
        }

    def validate_for(self, stage_accounts: Mapping[str, str]) -> None:
        problems = []
        if not aws.ACCOUNT_ID.match(self.account) or self.account == aws.PLACEHOLDER_ACCOUNT:
            problems.append(
                f"pipeline.account: {self.account!r}; set the tooling account "
                "(-c pipeline.account=123456789012)"
            )
        if not _CONNECTION.match(self.connection_arn):
            problems.append(
                f"pipeline.connection_arn: {self.connection_arn!r} is not a CodeConnections ARN; "
                "create a GitHub connection and pass -c pipeline.connection_arn=arn:aws:..."
            )
        if not _REPOSITORY.match(self.repository):
            problems.append(
                f"pipeline.repository: {self.repository!r}; give the GitHub repository as "
                "owner/name (-c pipeline.repository=acme/webplat)"
            )
        if not _BRANCH.match(self.branch):
            problems.append(
                f"pipeline.branch: {self.branch!r} is not a valid git branch name; e.g. "
                "-c pipeline.branch=main"
            )
        if self.region not in aws.known_regions():
            problems.append(
                f"pipeline.region: unknown region {self.region!r}; e.g. "
                "-c pipeline.region=ap-northeast-2"
            )
        problems += [
            f"pipeline.notification_emails: {address!r} is not an e-mail address; e.g. "
            "-c pipeline.notification_emails=releases@example.com"
            for address in self.notification_emails
            if not aws.EMAIL.match(address)
        ]
        if self.separate_accounts:
            seen = {"tooling": self.account}
            for stage, account in stage_accounts.items():
                other = next((name for name, acct in seen.items() if acct == account), None)
                if other is not None:
                    problems.append(
                        f"{stage}.account: {account} is also the {other} account; with "
                        "pipeline.separate_accounts every stage needs its own account "
                        "(or set it to false)"
                    )
                seen[stage] = account
        if problems:
            raise ConfigError(*problems)


PIPELINE_FIELDS = tuple(PipelineConfig.model_fields)


def load_pipeline(context: Mapping[str, Any], environ: Mapping[str, str]) -> PipelineConfig | None:
    if not parse_bool("pipeline", setting(context, environ, "pipeline", "PLATFORM_PIPELINE")):
        return None
    values: dict[str, Any] = {}
    for name in PIPELINE_FIELDS:
        value = setting(context, environ, f"pipeline.{name}", f"PLATFORM_PIPELINE_{name.upper()}")
        if value in (None, ""):
            continue
        if name == "notification_emails" and isinstance(value, str):
            value = [e.strip() for e in value.split(",") if e.strip()]
        if name == "separate_accounts":
            value = parse_bool("pipeline.separate_accounts", value)
        values[name] = value
    try:
        return PipelineConfig.model_validate(values)
    except ValidationError as err:
        raise ConfigError(*validation_problems(err, PipelineConfig, "pipeline")) from None


def step_role_name(project: str, stage: str, step: str) -> str:
    """The tooling-account role a stage's pipeline step runs as; the stage trusts exactly it."""
    return f"{project}-{stage}-{step}-step"


def stage_role_name(project: str, stage: str, step: str) -> str:
    """The stage-account role that step assumes."""
    return f"{project}-{stage}-pipeline-{step}"
