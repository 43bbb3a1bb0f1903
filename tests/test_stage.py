"""Stage composition: five stacks per stage, named, placed and wired through typed references."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.platform import build_platform
from tests.conftest import CONCERNS, STACK_KEYS, STAGES
from tests.synth import Synthesized, new_app, synthesize


def test_every_stage_has_one_stack_per_concern(platform: Synthesized) -> None:
    assert sorted(platform.by_key) == sorted(STACK_KEYS)
    assert ("Prod", "dr") in platform.by_key  # prod replicates and copies backups to a DR region


def test_disaster_recovery_stack_lives_in_the_dr_region(platform: Synthesized) -> None:
    dr = platform.by_key[("Prod", "dr")]
    assert (dr.stack_name, dr.region) == ("webplat-prod-dr", "ap-northeast-1")


@pytest.mark.parametrize("stage", STAGES)
def test_stack_names_and_regions(platform: Synthesized, stage: str) -> None:
    for concern in CONCERNS:
        stack = platform.by_key[(stage, concern)]
        assert stack.stack_name == f"webplat-{stage.lower()}-{concern}"
        global_only = concern in ("edge", "edge-alarms")  # WAF, CloudFront certificate, metrics
        assert stack.region == ("us-east-1" if global_only else "ap-northeast-2")


@pytest.mark.parametrize("stage", STAGES)
def test_stacks_are_wired_by_generated_cross_stack_references(
    platform: Synthesized, stage: str
) -> None:
    prefix = f"webplat-{stage.lower()}-"
    imports = {
        concern: set(
            re.findall(rf'"Fn::ImportValue": "{prefix}(\w+):', _text(platform, stage, concern))
        )
        for concern in CONCERNS
    }
    assert imports["data"] == {"network"}  # subnets and security groups
    assert imports["compute"] == {"network", "data"}  # subnets, groups; secrets, buckets
    assert imports["observability"] == {"network", "compute", "data"}  # what it watches
    assert imports["cdn"] == {"compute", "data"}  # load balancer, assets, origin secret
    # us-east-1: nothing imported by export; the ACL and certificate ARNs reach the CDN and
    # the distribution id reaches edge-alarms through CDK's cross-region references.
    assert imports["edge"] == imports["edge-alarms"] == set()


@pytest.mark.parametrize("stage", STAGES)
def test_no_hand_written_export_names(platform: Synthesized, stage: str) -> None:
    for concern in CONCERNS:
        outputs = platform.template(stage, concern).get("Outputs", {})
        for output in outputs.values():
            if "Export" in output:
                assert output["Export"]["Name"].startswith(
                    f"webplat-{stage.lower()}-{concern}:ExportsOutput"
                )


def _text(platform: Synthesized, stage: str, concern: str) -> str:
    return json.dumps(platform.template(stage, concern))


def test_selected_stages_only(tmp_path: Path) -> None:
    app = new_app(tmp_path, stages="staging")
    stages = build_platform(app, environ={"PLATFORM_STAGING_ACCOUNT": "444455556666"})
    assert [s.stage_name for s in stages] == ["Staging"]
    assert {stack.account for stack in stages[0].stacks.values()} == {"444455556666"}
    assert synthesize(app).by_key.keys() == {("Staging", c) for c in CONCERNS}
