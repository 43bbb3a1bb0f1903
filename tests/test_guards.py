"""Deploy-safety guards: refactors must not replace stateful resources, break imports or rename
stacks. Each guard compares the synthesized templates with a record committed in tests/records/.

Refresh the records deliberately with `make records` and review their diff like a migration.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STAGES
from tests.synth import Synthesized

RECORDS = Path(__file__).parent / "records"
STATEFUL_TYPES = frozenset(
    {
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::Backup::BackupVault",
        "AWS::SQS::Queue",
        "AWS::ECR::Repository",
    }
)
KEPT = {"Retain", "Snapshot", "RetainExceptOnCreate"}
HOW_TO_ACCEPT = (
    "If this is intended, migrate or snapshot the data first, then run `make records` and commit "
    "the record diff together with the migration plan."
)


def stateful_record(platform: Synthesized) -> dict[str, dict[str, dict[str, str]]]:
    record: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for stack in platform.stacks:
        record[stack.stage][stack.stack_name] = {
            logical_id: resource["Type"]
            for logical_id, resource in sorted(stack.template["Resources"].items())
            if resource["Type"] in STATEFUL_TYPES
        }
    return dict(record)


def cross_stack_record(platform: Synthesized) -> dict[str, dict[str, Any]]:
    record: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        stacks = [s for s in platform.stacks if s.stage == stage]
        record[stage] = {
            "stacks": sorted(s.stack_name for s in stacks),
            "exports": {s.stack_name: sorted(_exports(s.template)) for s in stacks},
            "imports": {s.stack_name: sorted(_all_imports(s.template)) for s in stacks},
        }
    return record


def _exports(template: dict[str, Any]) -> set[str]:
    """CloudFormation exports, plus the SSM parameters CDK writes for cross-region readers."""
    exports = {o["Export"]["Name"] for o in template.get("Outputs", {}).values() if "Export" in o}
    for resource in template["Resources"].values():
        if resource["Type"] == "Custom::CrossRegionExportWriter":
            exports |= set(resource["Properties"]["WriterProps"]["exports"])
    return exports


def _all_imports(template: dict[str, Any]) -> set[str]:
    imports = _imports(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "Custom::CrossRegionExportReader":
            imports |= set(resource["Properties"]["ReaderProps"]["imports"])
    return imports


def _imports(node: Any) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {"Fn::ImportValue"} and isinstance(node["Fn::ImportValue"], str):
            return {node["Fn::ImportValue"]}
        return set().union(*(_imports(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_imports(v) for v in node)) if node else set()
    return set()


@pytest.fixture(scope="module")
def records(platform: Synthesized, request: pytest.FixtureRequest) -> dict[str, Any]:
    current = {
        "stateful_resources": stateful_record(platform),
        "cross_stack": cross_stack_record(platform),
    }
    for name, value in current.items():
        path = RECORDS / f"{name}.json"
        if request.config.getoption("--update-records"):
            path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
    return {name: json.loads((RECORDS / f"{name}.json").read_text()) for name in current}


def lost_stateful(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    return [
        f"{stage} {stack} {logical_id} ({kind})"
        for stage, stacks in recorded.items()
        for stack, resources in stacks.items()
        for logical_id, kind in resources.items()
        if current.get(stage, {}).get(stack, {}).get(logical_id) != kind
    ]


def missing_imports(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    return [
        f"{stage}: {name} (imported by {stack})"
        for stage, stage_record in recorded.items()
        for stack, names in stage_record["imports"].items()
        for name in names
        if name not in {e for exports in current[stage]["exports"].values() for e in exports}
    ]


def test_stateful_resources_keep_their_logical_ids(
    platform: Synthesized, records: dict[str, Any]
) -> None:
    lost = lost_stateful(records["stateful_resources"], stateful_record(platform))
    assert not lost, (
        "These stateful resources disappeared or changed logical id or type. CloudFormation would "
        "DELETE or REPLACE them on deploy, losing their data:\n  "
        + "\n  ".join(lost)
        + f"\n{HOW_TO_ACCEPT}"
    )


def test_new_stateful_resources_are_recorded(
    platform: Synthesized, records: dict[str, Any]
) -> None:
    recorded = records["stateful_resources"]
    unrecorded = [
        f"{stage} {stack} {logical_id}"
        for stage, stacks in stateful_record(platform).items()
        for stack, resources in stacks.items()
        for logical_id in resources
        if logical_id not in recorded.get(stage, {}).get(stack, {})
    ]
    assert not unrecorded, f"record new stateful resources with `make records`: {unrecorded}"


def test_stateful_resources_outside_dev_survive_deletion(platform: Synthesized) -> None:
    exposed = [
        f"{stack.stage} {stack.stack_name} {logical_id}"
        for stack in platform.stacks
        if stack.stage != "Dev"
        for logical_id, resource in stack.template["Resources"].items()
        if resource["Type"] in STATEFUL_TYPES
        and not {resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")} <= KEPT
    ]
    assert exposed == []
    auto_delete = [
        s.stack_name
        for s in platform.stacks
        if s.stage != "Dev" and "Custom::S3AutoDeleteObjects" in json.dumps(s.template)
    ]
    assert auto_delete == []


def test_recorded_imports_are_still_exported(
    platform: Synthesized, records: dict[str, Any]
) -> None:
    missing = missing_imports(records["cross_stack"], cross_stack_record(platform))
    assert not missing, (
        "These exports are still imported by the deployed (recorded) templates. CloudFormation "
        "refuses the deploy: 'Export ... cannot be deleted as it is in use'. Remove in two "
        "steps: keep the export with `stack.export_value(...)` while the consumer stops using "
        "it, deploy, then drop it and run `make records`:\n  " + "\n  ".join(missing)
    )


def test_stack_names_are_recorded(platform: Synthesized, records: dict[str, Any]) -> None:
    current = cross_stack_record(platform)
    for stage in STAGES:
        assert current[stage]["stacks"] == records["cross_stack"][stage]["stacks"], (
            f"{stage}: stack names changed. A renamed stack is a NEW stack; the old one stays "
            "deployed (orphaned) with its resources. Run `make records` only with a plan."
        )


def test_guards_catch_a_renamed_resource_and_a_dropped_export(platform: Synthesized) -> None:
    """The guards above can fail: simulate a refactor against the current templates."""
    current = stateful_record(platform)
    renamed = json.loads(json.dumps(current))
    kind = renamed["Prod"]["webplat-prod-network"].pop("FlowLogsLogGroup9853A85F")
    renamed["Prod"]["webplat-prod-network"]["FlowLogsRenamed0000"] = kind
    assert lost_stateful(current, renamed) == [
        "Prod webplat-prod-network FlowLogsLogGroup9853A85F (AWS::Logs::LogGroup)"
    ]

    stacks = cross_stack_record(platform)
    dropped = json.loads(json.dumps(stacks))
    exports = dropped["Dev"]["exports"]["webplat-dev-network"]
    imported = stacks["Dev"]["imports"]["webplat-dev-data"][0]
    exports.remove(imported)
    assert missing_imports(stacks, dropped) == [f"Dev: {imported} (imported by webplat-dev-data)"]


def test_cross_region_references_are_guarded_too(platform: Synthesized) -> None:
    """The WAF ARN reaches the CDN through CDK's SSM-based cross-region reference."""
    stacks = cross_stack_record(platform)
    (acl,) = [n for n in stacks["Prod"]["imports"]["webplat-prod-cdn"] if "WebAcl" in n]
    assert acl in stacks["Prod"]["exports"]["webplat-prod-edge"]
    dropped = json.loads(json.dumps(stacks))
    dropped["Prod"]["exports"]["webplat-prod-edge"].remove(acl)
    assert missing_imports(stacks, dropped) == [f"Prod: {acl} (imported by webplat-prod-cdn)"]
