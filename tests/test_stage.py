"""Stage composition: one stack per concern (and DR where the stage copies data away), named,
placed in its account and region, and wired only through CDK's generated references; only
the selected stages are built."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_stages
from infra.config.aws import PLACEHOLDER_ACCOUNT
from tests.conftest import STAGES
from tests.stacks import CONCERNS, profile_stages
from tests.synth import Synthesized, new_app

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}
GLOBAL_ONLY = ("edge", "edge-alarms")  # WAF, CloudFront's certificate and metrics: us-east-1


def test_only_a_stage_that_copies_data_away_has_a_dr_stack(platform: Synthesized) -> None:
    assert {stage for stage, concern in platform.by_key if concern == "dr"} == {"Prod"}
    assert [cfg.construct_id for cfg in CONFIGS.values() if cfg.has_dr] == ["Prod"]


def test_disaster_recovery_stack_lives_in_the_dr_region(platform: Synthesized) -> None:
    dr = platform.by_key[("Prod", "dr")]
    assert (dr.stack_name, dr.region) == ("webplat-prod-dr", "ap-northeast-1")
    assert dr.region == CONFIGS["Prod"].data.dr_region != CONFIGS["Prod"].region


@pytest.mark.parametrize("stage", STAGES)
def test_stack_names_and_regions(platform: Synthesized, stage: str) -> None:
    for concern in CONCERNS:
        stack = platform.by_key[(stage, concern)]
        assert stack.stack_name == f"webplat-{stage.lower()}-{concern}"
        assert stack.region == ("us-east-1" if concern in GLOBAL_ONLY else "ap-northeast-2")


@pytest.mark.parametrize("stage", STAGES)
def test_offline_synthesis_uses_the_placeholder_account(platform: Synthesized, stage: str) -> None:
    # Each stack's account and region, as the cloud assembly's manifests give them.
    found = {f"aws://{s.account}/{s.region}" for s in platform.stacks if s.stage == stage}
    expected = {f"aws://{PLACEHOLDER_ACCOUNT}/{r}" for r in ("ap-northeast-2", "us-east-1")}
    if CONFIGS[stage].has_dr:
        expected.add(f"aws://{PLACEHOLDER_ACCOUNT}/{CONFIGS[stage].data.dr_region}")
    assert found == expected


def test_defaults_need_no_account_or_region() -> None:
    stages = load_stages({}, {}).stages
    assert [s.name for s in stages] == ["dev", "staging", "prod"]
    assert {s.account for s in stages} == {PLACEHOLDER_ACCOUNT}
    assert {s.region for s in stages} == {"ap-northeast-2"}


def test_account_and_region_come_from_context_before_environment() -> None:
    context = {
        "prod.account": "111122223333",
        "prod.region": "ap-southeast-1",
        "prod.network.availability_zones": "ap-southeast-1a,ap-southeast-1b,ap-southeast-1c",
        "require_accounts": "true",
        "stages": "prod",
    }
    environ = {"PLATFORM_PROD_ACCOUNT": "999999999999", "PLATFORM_PROD_REGION": "eu-west-1"}
    deployable = {
        "prod.domain.hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        "prod.observability.alerts.critical.emails": "oncall@acme.io",
    }
    (prod,) = load_stages({**context, **deployable}, environ).stages
    assert (prod.account, prod.region) == ("111122223333", "ap-southeast-1")
    assert prod.network.availability_zones == (
        "ap-southeast-1a",
        "ap-southeast-1b",
        "ap-southeast-1c",
    )
    assert prod.require_account is True


def _imports(platform: Synthesized, stage: str, concern: str) -> set[str]:
    """The concerns whose exports a stack imports (Fn::ImportValue of <prefix><concern>:...)."""
    text = json.dumps(platform.template(stage, concern))
    prefix = f"webplat-{stage.lower()}-"
    return set(re.findall(rf'"Fn::ImportValue": "{prefix}([\w-]+?):', text))


def _cross_region_readers(platform: Synthesized, stage: str, concern: str) -> set[str]:
    """The stacks whose values reach this one through CDK's SSM-based cross-region reads."""
    found: set[str] = set()
    for resource in platform.template(stage, concern)["Resources"].values():
        if resource["Type"] == "Custom::CrossRegionExportReader":
            imports: dict[str, Any] = resource["Properties"]["ReaderProps"]["imports"]
            found |= {
                re.sub(r"(ap|us)[a-z]+\d+(Ref|FnGetAtt).*", "", n.split("/")[-1]) for n in imports
            }
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_stacks_are_wired_by_generated_cross_stack_references(
    platform: Synthesized, stage: str
) -> None:
    imports = {concern: _imports(platform, stage, concern) for concern in CONCERNS}
    assert imports == {
        "network": set(),
        "data": {"network"},  # subnets and security groups
        "compute": {"network", "data"},  # subnets, groups; secrets, buckets, the cache
        "observability": {"network", "compute", "data"},  # what it watches
        "cdn": {"compute", "data"},  # load balancer, assets, origin secret
        # us-east-1: nothing imported by export; the ACL and certificate ARNs reach the CDN and
        # the distribution id reaches edge-alarms through CDK's cross-region references.
        "edge": set(),
        "edge-alarms": set(),
    }
    prefix = f"webplat{stage.lower()}"
    assert _cross_region_readers(platform, stage, "cdn") == {f"{prefix}edge"}
    assert _cross_region_readers(platform, stage, "edge-alarms") == {f"{prefix}cdn"}


def test_prod_data_reads_the_dr_replica_key_across_regions(platform: Synthesized) -> None:
    assert _cross_region_readers(platform, "Prod", "data") == {"webplatproddr"}
    assert _cross_region_readers(platform, "Dev", "data") == set()


@pytest.mark.parametrize("stage", STAGES)
def test_no_hand_written_export_names(platform: Synthesized, stage: str) -> None:
    for concern in CONCERNS:
        names = [
            output["Export"]["Name"]
            for output in platform.template(stage, concern).get("Outputs", {}).values()
            if "Export" in output
        ]
        prefix = f"webplat-{stage.lower()}-{concern}:ExportsOutput"
        assert [n for n in names if not n.startswith(prefix)] == [], concern


def test_selected_stages_only(tmp_path: Path) -> None:
    """`-c stages=staging`: one stage is built, in the account the environment names. The
    constructs are built but not synthesized (the platform fixture covers synthesis)."""
    from infra.platform import build_platform  # noqa: PLC0415

    app = new_app(tmp_path, stages="staging")
    stages = build_platform(app, environ={"PLATFORM_STAGING_ACCOUNT": "444455556666"})
    assert [s.stage_name for s in stages] == ["Staging"]
    assert [c.node.id for c in app.node.children if c.node.id in STAGES] == ["Staging"]
    (staging,) = stages
    assert set(staging.stacks) == set(CONCERNS)  # staging copies nothing to a DR region
    assert {stack.account for stack in staging.stacks.values()} == {"444455556666"}
    assert {stack.stack_name for stack in staging.stacks.values()} == {
        f"webplat-staging-{concern}" for concern in CONCERNS
    }
