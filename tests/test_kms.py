"""Every encrypted resource that an AWS service writes to has that service granted in the key
policy of its key; otherwise the first deploy (or the first alarm, event or log line) fails
with AccessDenied. One check over every template of every job."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.jobs import JOBS
from tests.synth import Pool, Template, resources
from tests.templates import actions, mentions, ref


def _key_statements(template: Template, key_ref: Any) -> list[dict[str, Any]]:
    """The key policy statements of the key a property references (same template)."""
    key = template["Resources"].get(ref(key_ref) or "", {})
    if key.get("Type") != "AWS::KMS::Key":
        return []
    statements: list[dict[str, Any]] = key["Properties"]["KeyPolicy"]["Statement"]
    return statements


def _allows(statements: list[dict[str, Any]], service: str, *needed: str) -> bool:
    granted = set()
    for statement in statements:
        principal = json.dumps(statement.get("Principal", {}))
        if statement["Effect"] == "Allow" and service in principal:
            granted |= set(actions(statement))
    return all(
        any(g == need or (g.endswith("*") and need.startswith(g[:-1])) for g in granted)
        for need in needed
    )


def writers(template: Template) -> list[tuple[str, str, Any, tuple[str, ...]]]:
    """(what, service principal, key reference, actions it needs) per service-written resource."""
    found: list[tuple[str, str, Any, tuple[str, ...]]] = []
    region_logs = "logs."
    for lid, group in resources(template, "AWS::Logs::LogGroup").items():
        if "KmsKeyId" in group["Properties"]:
            found.append(
                (
                    lid,
                    region_logs,
                    group["Properties"]["KmsKeyId"],
                    ("kms:GenerateDataKey", "kms:Decrypt"),
                )
            )
    for lid, trail in resources(template, "AWS::CloudTrail::Trail").items():
        found.append(
            (
                lid,
                "cloudtrail.amazonaws.com",
                trail["Properties"].get("KMSKeyId"),
                ("kms:GenerateDataKey", "kms:DescribeKey"),
            )
        )
    alarms = [
        *resources(template, "AWS::CloudWatch::Alarm").values(),
        *resources(template, "AWS::CloudWatch::CompositeAlarm").values(),
    ]
    rules = resources(template, "AWS::Events::Rule").values()
    budgets = resources(template, "AWS::Budgets::Budget").values()
    for lid, topic in resources(template, "AWS::SNS::Topic").items():
        key = topic["Properties"].get("KmsMasterKeyId")
        if key is None:
            continue
        if any(mentions(alarm["Properties"].get("AlarmActions", []), lid) for alarm in alarms):
            found.append(
                (lid, "cloudwatch.amazonaws.com", key, ("kms:GenerateDataKey", "kms:Decrypt"))
            )
        if any(mentions(t["Arn"], lid) for r in rules for t in r["Properties"].get("Targets", [])):
            found.append((lid, "events.amazonaws.com", key, ("kms:GenerateDataKey", "kms:Decrypt")))
        if any(mentions(b["Properties"], lid) for b in budgets):
            found.append(
                (lid, "budgets.amazonaws.com", key, ("kms:GenerateDataKey", "kms:Decrypt"))
            )
    for lid, queue in resources(template, "AWS::SQS::Queue").items():
        key = queue["Properties"].get("KmsMasterKeyId")
        dead_letters = [
            t
            for r in rules
            for t in r["Properties"].get("Targets", [])
            if mentions(t.get("DeadLetterConfig", {}), lid) or mentions(t["Arn"], lid)
        ]
        if key is not None and dead_letters:
            found.append((lid, "events.amazonaws.com", key, ("kms:GenerateDataKey", "kms:Decrypt")))
    return found


@pytest.mark.parametrize("job", [job.name for job in JOBS if job.name != "wildcards"])
def test_services_that_write_encrypted_resources_may_use_their_keys(pool: Pool, job: str) -> None:
    missing = []
    checked = 0
    for stack in pool.result(job).stacks:
        for what, service, key, needed in writers(stack.template):
            statements = _key_statements(stack.template, key)
            if not statements:
                continue  # a key of another stack or an AWS-managed key: checked where it lives
            checked += 1
            if not _allows(statements, service, *needed):
                missing.append(f"{stack.stack_name} {what}: {service} needs {needed} on its key")
    assert checked > 0
    assert missing == []


def test_the_trail_key_grants_cloudtrail_for_this_trail_only(platform: Any) -> None:
    template = platform.template("Prod", "observability")
    (trail,) = resources(template, "AWS::CloudTrail::Trail").values()
    statements = _key_statements(template, trail["Properties"]["KMSKeyId"])
    (encrypt,) = [s for s in statements if s.get("Sid") == "CloudTrailEncryptLogs"]
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"]["StringEquals"] == {
        "aws:SourceArn": "arn:aws:cloudtrail:ap-northeast-2:000000000000:trail/webplat-prod-trail"
    }
    assert encrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:000000000000:trail/*"
    }
