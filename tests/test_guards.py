"""Deploy-safety guards: a change must not replace stateful resources (a new logical id, or a
new value of a property whose change requires replacement), break a cross-stack import or
rename a stack. Each guard compares the synthesized templates of every profile with the record
committed in tests/records/<profile>.json.

Refresh the records deliberately with `make records` and review their diff like a migration.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.jobs import PROFILES
from tests.synth import Pool, Synthesized

RECORDS = Path(__file__).parent / "records"
# Stateful types, and the properties whose change makes CloudFormation replace the resource
# (CloudFormation resource reference, "Update requires: Replacement").
REPLACING: dict[str, tuple[str, ...]] = {
    "AWS::KMS::Key": ("KeySpec", "KeyUsage", "MultiRegion"),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::RDS::DBInstance": (
        "DBInstanceIdentifier",
        "Engine",
        "DBName",
        "KmsKeyId",
        "StorageEncrypted",
        "SourceDBInstanceIdentifier",
        "DBClusterIdentifier",
        "CharacterSetName",
    ),
    "AWS::RDS::DBCluster": (
        "DBClusterIdentifier",
        "Engine",
        "KmsKeyId",
        "StorageEncrypted",
        "DatabaseName",
        "MasterUsername",
    ),
    "AWS::ElastiCache::ReplicationGroup": (
        "ReplicationGroupId",
        "AtRestEncryptionEnabled",
        "KmsKeyId",
        "CacheSubnetGroupName",
        "Port",
    ),
    "AWS::S3::Bucket": ("BucketName", "ObjectLockEnabled"),
    "AWS::SecretsManager::Secret": ("Name",),
    "AWS::DynamoDB::Table": ("TableName", "KeySchema"),
    "AWS::DynamoDB::GlobalTable": ("TableName", "KeySchema"),
    "AWS::Backup::BackupVault": ("BackupVaultName", "EncryptionKeyArn"),
    "AWS::SQS::Queue": ("QueueName", "FifoQueue"),
    "AWS::ECR::Repository": ("RepositoryName", "EncryptionConfiguration"),
    # Not replaced, but not changeable either: the bootstrap creates the application login once
    # (and rotation alternates it with its clone); renaming it needs a planned migration.
    "Custom::DatabaseBootstrap": ("AppUsername", "Engine"),
}
KEPT = {"Retain", "Snapshot", "RetainExceptOnCreate"}
HOW_TO_ACCEPT = (
    "If this is intended, migrate or snapshot the data first, then run `make records` and commit "
    "the record diff together with the migration plan."
)


def stateful_record(result: Synthesized) -> dict[str, Any]:
    """stage -> stack -> logical id -> {type, and each replacement-causing property's value}."""
    record: dict[str, dict[str, Any]] = defaultdict(dict)
    for stack in result.stacks:
        record[stack.stage][stack.stack_name] = {
            logical_id: {
                "type": resource["Type"],
                **{
                    name: resource["Properties"][name]
                    for name in REPLACING[resource["Type"]]
                    if name in resource.get("Properties", {})
                },
            }
            for logical_id, resource in sorted(stack.template["Resources"].items())
            if resource["Type"] in REPLACING
        }
    return dict(record)


def cross_stack_record(result: Synthesized) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for stage in result.stages:
        stacks = [s for s in result.stacks if s.stage == stage]
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
def records(pool: Pool, request: pytest.FixtureRequest) -> dict[str, Any]:
    recorded = {}
    for profile in PROFILES:
        path = RECORDS / f"{profile}.json"
        if request.config.getoption("--update-records"):
            result = pool.result(profile)
            current = {
                "stateful": stateful_record(result),
                "cross_stack": cross_stack_record(result),
            }
            path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        recorded[profile] = json.loads(path.read_text())
    return recorded


def replaced_stateful(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Why each recorded stateful resource would be deleted or replaced by this change."""
    found = []
    for stage, stacks in recorded.items():
        for stack, resources in stacks.items():
            for logical_id, before in resources.items():
                after = current.get(stage, {}).get(stack, {}).get(logical_id)
                where = f"{stage} {stack} {logical_id} ({before['type']})"
                if after is None or after["type"] != before["type"]:
                    found.append(
                        f"{where}: its logical id disappeared or changed type, so CloudFormation "
                        "DELETES it (and creates any renamed copy empty)"
                    )
                    continue
                found += [
                    f"{where}: {name} changes from {json.dumps(before.get(name))} to "
                    f"{json.dumps(after.get(name))}; that property can only change by "
                    "REPLACEMENT: a new, empty resource, the old one and its data deleted"
                    for name in REPLACING[before["type"]]
                    if before.get(name) != after.get(name)
                ]
    return found


def missing_imports(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    return [
        f"{stage}: {name} (imported by {stack})"
        for stage, stage_record in recorded.items()
        for stack, names in stage_record["imports"].items()
        for name in names
        if name not in {e for exports in current[stage]["exports"].values() for e in exports}
    ]


@pytest.mark.parametrize("profile", PROFILES)
def test_stateful_resources_are_never_replaced(
    pool: Pool, records: dict[str, Any], profile: str
) -> None:
    replaced = replaced_stateful(
        records[profile]["stateful"], stateful_record(pool.result(profile))
    )
    assert not replaced, (
        "These changes would destroy data in a deployed stage:\n  "
        + "\n  ".join(replaced)
        + f"\n{HOW_TO_ACCEPT}"
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_new_stateful_resources_are_recorded(
    pool: Pool, records: dict[str, Any], profile: str
) -> None:
    recorded = records[profile]["stateful"]
    unrecorded = [
        f"{stage} {stack} {logical_id}"
        for stage, stacks in stateful_record(pool.result(profile)).items()
        for stack, resources in stacks.items()
        for logical_id in resources
        if logical_id not in recorded.get(stage, {}).get(stack, {})
    ]
    assert not unrecorded, f"record new stateful resources with `make records`: {unrecorded}"


def _cluster_member(resource: dict[str, Any]) -> bool:
    """An Aurora instance holds no data (the cluster volume does, and the cluster is kept); CDK
    gives it the Delete policy, as RDS cannot snapshot a cluster member."""
    return "DBClusterIdentifier" in resource.get("Properties", {})


@pytest.mark.parametrize("profile", PROFILES)
def test_stateful_resources_are_kept_where_the_stage_keeps_data(pool: Pool, profile: str) -> None:
    from tests.stacks import profile_stages  # noqa: PLC0415

    keeping = {cfg.construct_id for cfg in profile_stages(profile) if cfg.guarantees.keeps_data}
    result = pool.result(profile)
    exposed = [
        f"{stack.stage} {stack.stack_name} {logical_id} ({resource['Type']}): DeletionPolicy "
        f"{resource.get('DeletionPolicy', 'Delete')}, UpdateReplacePolicy "
        f"{resource.get('UpdateReplacePolicy', 'Delete')}"
        for stack in result.stacks
        if stack.stage in keeping
        for logical_id, resource in stack.template["Resources"].items()
        if resource["Type"] in REPLACING
        and not resource["Type"].startswith("Custom::")  # holds nothing itself
        and not {resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")} <= KEPT
        and not _cluster_member(resource)
    ]
    assert not exposed, (
        "In stages that guarantee to keep data, deleting a stack or replacing a resource must "
        "keep (or snapshot) it; these would be deleted with it:\n  "
        + "\n  ".join(exposed)
        + "\nSet removal policies from the stage (cfg.removal_policy / data.*.removal_policy)."
    )
    auto_delete = [
        s.stack_name
        for s in result.stacks
        if s.stage in keeping and "Custom::S3AutoDeleteObjects" in json.dumps(s.template)
    ]
    assert auto_delete == []


@pytest.mark.parametrize("profile", PROFILES)
def test_recorded_imports_are_still_exported(
    pool: Pool, records: dict[str, Any], profile: str
) -> None:
    missing = missing_imports(
        records[profile]["cross_stack"], cross_stack_record(pool.result(profile))
    )
    assert not missing, (
        "These exports are still imported by the deployed (recorded) templates. CloudFormation "
        "refuses the deploy: 'Export ... cannot be deleted as it is in use'. Remove in two "
        "steps: keep the export with `stack.export_value(...)` while the consumer stops using "
        "it, deploy, then drop it and run `make records`:\n  " + "\n  ".join(missing)
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_stack_names_are_recorded(pool: Pool, records: dict[str, Any], profile: str) -> None:
    current = cross_stack_record(pool.result(profile))
    for stage, stage_record in records[profile]["cross_stack"].items():
        assert current[stage]["stacks"] == stage_record["stacks"], (
            f"{profile} {stage}: stack names changed. A renamed stack is a NEW stack; the old one "
            "stays deployed (orphaned) with its resources. Run `make records` only with a plan."
        )


def test_guards_catch_a_rename_a_replacing_property_and_a_dropped_export(
    platform: Synthesized,
) -> None:
    """The guards above can fail: simulate refactors against the current templates."""
    current = stateful_record(platform)
    stack = "webplat-prod-data"
    (database,) = [
        lid
        for lid, r in current["Prod"][stack].items()
        if r["type"] == "AWS::RDS::DBInstance" and "SourceDBInstanceIdentifier" not in r
    ]
    changed = json.loads(json.dumps(current))
    changed["Prod"][stack][database]["DBInstanceIdentifier"] = "webplat-prod-db-2"
    (message,) = replaced_stateful(current, changed)
    assert message == (
        f"Prod {stack} {database} (AWS::RDS::DBInstance): DBInstanceIdentifier changes from "
        '"webplat-prod-db" to "webplat-prod-db-2"; that property can only change by '
        "REPLACEMENT: a new, empty resource, the old one and its data deleted"
    )
    # Engine, the database's key and a secret's name replace just the same.
    secrets = [
        lid
        for lid, r in current["Prod"][stack].items()
        if r["type"] == "AWS::SecretsManager::Secret" and "Name" in r
    ]
    for logical_id, prop, value in [
        (database, "Engine", "mysql"),
        (database, "KmsKeyId", {"Fn::GetAtt": ["OtherKey", "Arn"]}),
        (secrets[0], "Name", "webplat/prod/renamed"),
    ]:
        assert prop in current["Prod"][stack][logical_id], (logical_id, prop)
        edited = json.loads(json.dumps(current))
        edited["Prod"][stack][logical_id][prop] = value
        (found,) = replaced_stateful(current, edited)
        assert f"{logical_id} " in found
        assert f": {prop} changes from " in found
        assert found.endswith(
            "REPLACEMENT: a new, empty resource, the old one and its data deleted"
        )
    renamed = json.loads(json.dumps(current))
    renamed["Prod"][stack]["Renamed0000"] = renamed["Prod"][stack].pop(database)
    assert replaced_stateful(current, renamed)[0].startswith(
        f"Prod {stack} {database} (AWS::RDS::DBInstance): its logical id disappeared"
    )
    stacks = cross_stack_record(platform)
    dropped = json.loads(json.dumps(stacks))
    imported = stacks["Dev"]["imports"]["webplat-dev-data"][0]
    for exports in dropped["Dev"]["exports"].values():
        if imported in exports:
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
