"""Delivery configuration: where the CDK Pipelines pipeline lives and what it watches.

Enabled with `-c pipeline=true` (or PLATFORM_PIPELINE=1); every field comes from context
`pipeline.<field>` or PLATFORM_PIPELINE_<FIELD>, so no repository-specific value is in code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.config.loader import ContextGetter
from infra.config.primitives import ACCOUNT_ID, EMAIL, PLACEHOLDER_ACCOUNT, TRUTHY, ConfigError
from infra.config.validation import known_regions

_CONNECTION = re.compile(
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:"
    r"connection/[0-9a-f-]{36}$"
)
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_BRANCH = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)[A-Za-z0-9._/-]+(?<![/.])$")


@dataclass(frozen=True)
class PipelineConfig:
    account: str = PLACEHOLDER_ACCOUNT
    """The tooling account that runs the pipeline."""
    region: str = "ap-northeast-2"
    connection_arn: str = ""
    """CodeConnections (GitHub) connection, created and authorised once in the console."""
    repository: str = ""
    """owner/name on GitHub."""
    branch: str = "main"
    separate_accounts: bool = True
    """Require dev, staging and prod in three different accounts, none the tooling one."""
    notification_emails: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        """The PLATFORM_PIPELINE_* variables `load_pipeline` reads back into this config."""
        values = {
            "account": self.account,
            "region": self.region,
            "connection_arn": self.connection_arn,
            "repository": self.repository,
            "branch": self.branch,
            "separate_accounts": str(self.separate_accounts).lower(),
            "notification_emails": ",".join(self.notification_emails),
        }
        return {"PLATFORM_PIPELINE": "1"} | {
            f"PLATFORM_PIPELINE_{field.upper()}": value for field, value in values.items()
        }

    def validate(self, stage_accounts: Mapping[str, str]) -> None:
        problems = []
        if not ACCOUNT_ID.match(self.account) or self.account == PLACEHOLDER_ACCOUNT:
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
            problems.append(f"pipeline.branch: {self.branch!r} is not a valid git branch name")
        if self.region not in known_regions():
            problems.append(f"pipeline.region: unknown region {self.region!r}")
        problems += [
            f"pipeline.notification_emails: {address!r} is not an e-mail address"
            for address in self.notification_emails
            if not EMAIL.match(address)
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


def load_pipeline(context: ContextGetter, environ: Mapping[str, str]) -> PipelineConfig | None:
    def setting(field: str) -> Any:
        value = context(f"pipeline.{field}")
        return (
            value if value not in (None, "") else environ.get(f"PLATFORM_PIPELINE_{field.upper()}")
        )

    enabled = context("pipeline") or environ.get("PLATFORM_PIPELINE", "")
    if str(enabled).lower() not in TRUTHY:
        return None
    defaults = PipelineConfig()
    emails = setting("notification_emails") or ""
    separate = setting("separate_accounts")
    return PipelineConfig(
        account=str(setting("account") or defaults.account),
        region=str(setting("region") or defaults.region),
        connection_arn=str(setting("connection_arn") or ""),
        repository=str(setting("repository") or ""),
        branch=str(setting("branch") or defaults.branch),
        separate_accounts=str(separate).lower() in TRUTHY if separate is not None else True,
        notification_emails=tuple(e.strip() for e in str(emails).split(",") if e.strip()),
    )
