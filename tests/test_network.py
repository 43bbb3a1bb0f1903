"""Network stack guarantees, per stage, read from the synthesized templates."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import Tier, default_stages
from tests.conftest import STAGES
from tests.synth import Synthesized, Template, resources

CONFIGS = {cfg.construct_id: cfg for cfg in default_stages().values()}
ANY = "0.0.0.0/0"

# The matrix, written out independently of the code that builds it: (source, target, port).
CLOUDFRONT = "pl-22a6434b"  # CloudFront's origin-facing prefix list in ap-northeast-2
EXPECTED_INGRESS = {
    (CLOUDFRONT, "alb", 80),  # one port only: the list weighs 55 of 60 rules
    ("alb", "web", 3000), ("alb", "api", 8000), ("alb", "ws", 3001),
    ("api", "database", 5432), ("ws", "database", 5432), ("workers", "database", 5432),
    ("api", "cache", 6379), ("ws", "cache", 6379), ("workers", "cache", 6379),
    ("web", "endpoints", 443), ("api", "endpoints", 443),
    ("ws", "endpoints", 443), ("workers", "endpoints", 443),
    ("rotation", "database", 5432), ("rotation", "endpoints", 443),
}  # fmt: skip
EXPECTED_EGRESS = {(src, dst, port) for src, dst, port in EXPECTED_INGRESS if src != CLOUDFRONT} | {
    (tier, ANY, 443) for tier in ("web", "api", "ws", "workers", "rotation")
}
TIER_NAMES = {
    "alb", "nlb", "web", "api", "ws", "workers", "database", "cache", "endpoints", "rotation"
}  # fmt: skip
DENY_ALL_EGRESS_MARKER = "255.255.255.255/32"  # CDK's placeholder rule for "no egress"


def network(platform: Synthesized, stage: str) -> Template:
    return platform.template(stage, "network")


def security_group_tiers(template: Template) -> dict[str, str]:
    return {
        logical_id: sg["Properties"]["GroupDescription"].split(" tier:")[0]
        for logical_id, sg in resources(template, "AWS::EC2::SecurityGroup").items()
        if " tier:" in sg["Properties"]["GroupDescription"]
    }


def _peer(rule: dict[str, Any], key: str, tiers: dict[str, str]) -> str:
    if "CidrIp" in rule:
        return str(rule["CidrIp"])
    if "SourcePrefixListId" in rule:
        return str(rule["SourcePrefixListId"])
    return tiers[rule[key]["Fn::GetAtt"][0]]


def rules(template: Template, direction: str) -> set[tuple[str, str, int]]:
    """(source, target, port) of every ingress or egress rule, inline or standalone."""
    tiers = security_group_tiers(template)
    peer_key = "SourceSecurityGroupId" if direction == "Ingress" else "DestinationSecurityGroupId"
    found: list[tuple[str, dict[str, Any]]] = []
    for logical_id, tier in tiers.items():
        props = template["Resources"][logical_id]["Properties"]
        found += [(tier, rule) for rule in props.get(f"SecurityGroup{direction}", [])]
    for rule in resources(template, f"AWS::EC2::SecurityGroup{direction}").values():
        found.append((tiers[rule["Properties"]["GroupId"]["Fn::GetAtt"][0]], rule["Properties"]))
    result = set()
    for tier, rule in found:
        if rule.get("CidrIp") == DENY_ALL_EGRESS_MARKER:
            continue
        assert rule["IpProtocol"] == "tcp", rule
        assert rule["FromPort"] == rule["ToPort"], rule
        peer = _peer(rule, peer_key, tiers)
        pair = (peer, tier) if direction == "Ingress" else (tier, peer)
        result.add((*pair, rule["FromPort"]))
    return result


@pytest.mark.parametrize("stage", STAGES)
def test_security_group_matrix_is_exactly_the_table(platform: Synthesized, stage: str) -> None:
    template = network(platform, stage)
    assert sorted(set(security_group_tiers(template).values())) == sorted(
        ["alb", "nlb", "web", "api", "ws", "workers", "database", "cache", "endpoints", "rotation"]
    )
    assert rules(template, "Ingress") == EXPECTED_INGRESS
    assert rules(template, "Egress") == EXPECTED_EGRESS


@pytest.mark.parametrize("stage", STAGES)
def test_data_tiers_accept_only_named_application_groups(platform: Synthesized, stage: str) -> None:
    ingress = rules(network(platform, stage), "Ingress")
    for tier in ("database", "cache", "endpoints"):
        sources = {src for src, dst, _ in ingress if dst == tier}
        assert sources, tier
        assert all(src in TIER_NAMES for src in sources), (tier, sources)


@pytest.mark.parametrize("stage", STAGES)
def test_subnets_follow_the_plan_in_pinned_azs(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    subnets = resources(network(platform, stage), "AWS::EC2::Subnet").values()
    actual = {(s["Properties"]["CidrBlock"], s["Properties"]["AvailabilityZone"]) for s in subnets}
    expected = {(str(net), az) for (_, az), net in cfg.network.subnet_plan().items()}
    assert actual == expected
    assert len(actual) == len(Tier) * len(cfg.network.availability_zones)
    assert all(s["Properties"].get("MapPublicIpOnLaunch") in (False, None) for s in subnets)


@pytest.mark.parametrize(("stage", "nat_count"), [("Dev", 1), ("Staging", 2), ("Prod", 3)])
def test_nat_gateways_per_stage(platform: Synthesized, stage: str, nat_count: int) -> None:
    assert len(resources(network(platform, stage), "AWS::EC2::NatGateway")) == nat_count


@pytest.mark.parametrize("stage", STAGES)
def test_flow_logs_go_to_a_kms_encrypted_log_group(platform: Synthesized, stage: str) -> None:
    template = network(platform, stage)
    cfg = CONFIGS[stage]
    (flow_log,) = resources(template, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    assert flow_log["Properties"]["ResourceType"] == "VPC"
    (log_group,) = resources(template, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == cfg.network.flow_log_retention_days
    key_id = log_group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    expected_policy = "Retain" if stage != "Dev" else "Delete"
    assert key["DeletionPolicy"] == log_group["DeletionPolicy"] == expected_policy
    (policy,) = resources(template, "AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Fn::GetAtt": [log_group_id(template), "Arn"]}


def log_group_id(template: Template) -> str:
    (logical_id,) = resources(template, "AWS::Logs::LogGroup")
    return logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_endpoints(platform: Synthesized, stage: str) -> None:
    template = network(platform, stage)
    cfg = CONFIGS[stage]
    tiers = security_group_tiers(template)
    gateways, interfaces = set(), set()
    for endpoint in resources(template, "AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        name = _endpoint_name(props["ServiceName"])
        if props.get("VpcEndpointType") == "Interface":
            interfaces.add(name)
            assert props["PrivateDnsEnabled"] is True
            assert [tiers[g["Fn::GetAtt"][0]] for g in props["SecurityGroupIds"]] == ["endpoints"]
            assert len(props["SubnetIds"]) == len(cfg.network.availability_zones)
        else:
            gateways.add(name)
    assert gateways == {"s3", "dynamodb"}
    assert interfaces == set(cfg.network.interface_endpoints)


def _endpoint_name(service_name: str | dict[str, Any]) -> str:
    """The <name> in com.amazonaws.<region>.<name>, literal or joined around the region."""
    if isinstance(service_name, dict):
        return str(service_name["Fn::Join"][1][-1]).removeprefix(".")
    return service_name.split(".", 3)[-1]


@pytest.mark.parametrize("stage", STAGES)
def test_default_security_group_is_restricted(platform: Synthesized, stage: str) -> None:
    assert len(resources(network(platform, stage), "Custom::VpcRestrictDefaultSG")) == 1
