"""Network stack guarantees, read from the synthesized templates."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config.network import Tier
from tests.conftest import STAGES
from tests.stacks import profile_stages
from tests.synth import Pool, Synthesized, Template, resources
from tests.templates import flows, one, security_group_tiers

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}
ANY = "0.0.0.0/0"
CLOUDFRONT = "pl-22a6434b"  # CloudFront's origin-facing prefix list in ap-northeast-2
# (AZ suffix in ap-northeast-2, CIDR) of every subnet, written out from each stage's declared
# /16 and tier sizes: public /24s, private /20s on a /20 boundary, isolated /24s, in tier then
# AZ order.
SUBNET_PLANS = {
    "Dev": [
        ("a", "10.10.0.0/24"), ("a", "10.10.16.0/20"), ("a", "10.10.48.0/24"),
        ("c", "10.10.1.0/24"), ("c", "10.10.32.0/20"), ("c", "10.10.49.0/24"),
    ],
    "Staging": [
        ("a", "10.20.0.0/24"), ("a", "10.20.16.0/20"), ("a", "10.20.48.0/24"),
        ("c", "10.20.1.0/24"), ("c", "10.20.32.0/20"), ("c", "10.20.49.0/24"),
    ],
    "Prod": [
        ("a", "10.30.0.0/24"), ("a", "10.30.16.0/20"), ("a", "10.30.64.0/24"),
        ("b", "10.30.1.0/24"), ("b", "10.30.32.0/20"), ("b", "10.30.65.0/24"),
        ("c", "10.30.2.0/24"), ("c", "10.30.48.0/20"), ("c", "10.30.66.0/24"),
    ],
}  # fmt: skip


def expected_ingress(endpoints: bool, port: int) -> set[tuple[str, str, int]]:
    """The default product's matrix, written out independently of the code that builds it."""
    table = {
        (CLOUDFRONT, "alb", port),  # one port only: the list weighs 55 of 60 rules
        ("alb", "web", 3000), ("alb", "api", 8000), ("alb", "ws", 3001),
        ("api", "database", 5432), ("ws", "database", 5432),  # declared `uses.database`
        ("api", "cache", 6379), ("ws", "cache", 6379),
        ("rotation", "database", 5432), ("db-admin", "database", 5432),
    }  # fmt: skip
    if endpoints:
        table |= {
            (tier, "endpoints", 443)
            for tier in ("web", "api", "ws", "fn-job-worker", "rotation", "db-admin")
        }
    return table


@pytest.mark.parametrize("stage", STAGES)
def test_security_group_matrix_is_exactly_the_declarations(
    platform: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    template = platform.template(stage, "network")
    endpoints = bool(cfg.network.interface_endpoints)
    tiers = {"alb", "web", "api", "ws", "fn-job-worker", "database", "cache", "rotation"}
    tiers |= {"db-admin"} | ({"endpoints"} if endpoints else set())
    if cfg.data.backup.restore_testing:  # restored copies run in a group that reaches nothing
        tiers |= {"restore-test"}
    assert set(security_group_tiers(template).values()) == tiers
    ingress = expected_ingress(endpoints, cfg.listener_port)
    assert flows(template, "Ingress") == ingress
    egress = {flow for flow in ingress if flow[0] != CLOUDFRONT}
    egress |= {(tier, ANY, 443) for tier in ("web", "api", "ws", "fn-job-worker")}
    if not cfg.network.has_endpoint("secretsmanager"):  # Secrets Manager only through the NAT
        egress |= {("rotation", ANY, 443), ("db-admin", ANY, 443)}
    assert flows(template, "Egress") == egress


@pytest.mark.parametrize("stage", STAGES)
def test_the_job_worker_reaches_no_data_tier(platform: Synthesized, stage: str) -> None:
    """It declares only a bucket: no flow to the database or cache exists for it."""
    egress = flows(platform.template(stage, "network"), "Egress")
    assert {dst for src, dst, _ in egress if src == "fn-job-worker"} == (
        {ANY, "endpoints"} if CONFIGS[stage].network.interface_endpoints else {ANY}
    )


def test_rotation_has_no_internet_egress_where_an_endpoint_exists(platform: Synthesized) -> None:
    prod = flows(platform.template("Prod", "network"), "Egress")
    assert ("rotation", ANY, 443) not in prod
    assert ("rotation", "endpoints", 443) in prod
    assert ("rotation", ANY, 443) in flows(platform.template("Dev", "network"), "Egress")


@pytest.mark.parametrize("stage", STAGES)
def test_data_tiers_accept_only_declared_groups(platform: Synthesized, stage: str) -> None:
    ingress = flows(platform.template(stage, "network"), "Ingress")
    sources = {
        tier: {src for src, dst, _ in ingress if dst == tier}
        for tier in ("database", "cache", "endpoints")
    }
    assert sources["database"] == {"api", "ws", "rotation", "db-admin"}
    assert sources["cache"] == {"api", "ws"}  # the services that declare `uses.cache`
    assert sources["endpoints"] == (
        {"web", "api", "ws", "fn-job-worker", "rotation", "db-admin"}
        if CONFIGS[stage].network.interface_endpoints
        else set()
    )


@pytest.mark.parametrize("stage", STAGES)
def test_endpoint_policies_admit_this_account_only(platform: Synthesized, stage: str) -> None:
    endpoints = resources(platform.template(stage, "network"), "AWS::EC2::VPCEndpoint")
    network = CONFIGS[stage].network
    assert len(endpoints) == len(network.gateway_endpoints) + len(network.interface_endpoints)
    layers = f"arn:aws:s3:::prod-{CONFIGS[stage].region}-starport-layer-bucket/*"
    for endpoint in endpoints.values():
        statement, *others = endpoint["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"AWS": "*"}
        assert statement["Condition"] == {
            "StringEquals": {"aws:PrincipalAccount": CONFIGS[stage].account}
        }
        # ECR image layers come from its own bucket, through URLs ECR signs (not this account).
        is_s3 = _endpoint_name(endpoint["Properties"]["ServiceName"]) == "s3"
        assert others == ([{"Action": "s3:GetObject", "Effect": "Allow", "Principal": {"AWS": "*"},
                            "Resource": layers}] if is_s3 else [])  # fmt: skip


def _endpoint_name(service_name: str | dict[str, Any]) -> str:
    """The <name> in com.amazonaws.<region>.<name>, literal or joined around the region."""
    if isinstance(service_name, dict):
        return str(service_name["Fn::Join"][1][-1]).removeprefix(".")
    return service_name.split(".", 3)[-1]


@pytest.mark.parametrize("stage", STAGES)
def test_endpoints_are_the_configured_ones_in_every_az(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "network")
    network = CONFIGS[stage].network
    tiers = security_group_tiers(template)
    gateways, interfaces = set(), set()
    for endpoint in resources(template, "AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        name = _endpoint_name(props["ServiceName"])
        if props["VpcEndpointType"] == "Interface":
            interfaces.add(name)
            assert props["PrivateDnsEnabled"] is True
            assert [tiers[g["Fn::GetAtt"][0]] for g in props["SecurityGroupIds"]] == ["endpoints"]
            assert len(props["SubnetIds"]) == len(network.availability_zones)
            assert all("privateSubnet" in s["Ref"] for s in props["SubnetIds"])
        else:
            assert props["VpcEndpointType"] == "Gateway"
            gateways.add(name)
    assert gateways == set(network.gateway_endpoints) == {"s3", "dynamodb"}
    assert interfaces == set(network.interface_endpoints)


def test_only_dev_goes_without_interface_endpoints() -> None:
    assert CONFIGS["Dev"].network.interface_endpoints == ()
    for stage in ("Staging", "Prod"):
        assert set(CONFIGS[stage].network.interface_endpoints) == {
            "ecr.api", "ecr.dkr", "secretsmanager", "logs", "ssm", "kms", "sts", "sqs"
        }  # fmt: skip


@pytest.mark.parametrize("stage", STAGES)
def test_subnets_follow_the_plan_in_pinned_azs(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    subnets = resources(platform.template(stage, "network"), "AWS::EC2::Subnet").values()
    actual = {(s["Properties"]["CidrBlock"], s["Properties"]["AvailabilityZone"]) for s in subnets}
    expected = {(cidr, f"ap-northeast-2{az}") for az, cidr in SUBNET_PLANS[stage]}
    assert actual == expected
    assert len(actual) == len(Tier) * len(cfg.network.availability_zones)
    assert all(s["Properties"].get("MapPublicIpOnLaunch") in (False, None) for s in subnets)


def test_vpcs_are_distinct_so_they_can_be_peered_later(platform: Synthesized) -> None:
    cidrs = {
        stage: one(platform.template(stage, "network"), "AWS::EC2::VPC")["Properties"]["CidrBlock"]
        for stage in STAGES
    }
    assert cidrs == {stage: CONFIGS[stage].network.vpc_cidr for stage in STAGES}
    assert len(set(cidrs.values())) == len(STAGES)


def test_sized_tiers_are_laid_out_in_order(platform: Synthesized) -> None:
    """Prod's 10.30.0.0/16: public /24s, private /20s on a /20 boundary, isolated /24s."""
    subnets = resources(platform.template("Prod", "network"), "AWS::EC2::Subnet").values()
    placed = [
        (s["Properties"]["AvailabilityZone"][-1], s["Properties"]["CidrBlock"]) for s in subnets
    ]
    assert sorted(placed) == SUBNET_PLANS["Prod"]


@pytest.mark.parametrize(("profile", "nat_count"), [("commerce", 2), ("meeting", 1)])
def test_reference_plans_with_explicit_subnets_synthesize_as_written(
    pool: Pool, profile: str, nat_count: int
) -> None:
    """E-commerce and meeting assistant: public .1/.2, private .11/.12, database .21/.22."""
    template = pool.result(profile).template("Prod", "network")
    subnets = resources(template, "AWS::EC2::Subnet").values()
    plan = {
        (s["Properties"]["CidrBlock"], s["Properties"]["AvailabilityZone"][-1]) for s in subnets
    }
    assert plan == {
        ("10.0.1.0/24", "a"), ("10.0.2.0/24", "c"),
        ("10.0.11.0/24", "a"), ("10.0.12.0/24", "c"),
        ("10.0.21.0/24", "a"), ("10.0.22.0/24", "c"),
    }  # fmt: skip
    assert len(resources(template, "AWS::EC2::NatGateway")) == nat_count


@pytest.mark.parametrize(("stage", "nat_count"), [("Dev", 1), ("Staging", 2), ("Prod", 3)])
def test_nat_gateways_per_stage(platform: Synthesized, stage: str, nat_count: int) -> None:
    assert len(resources(platform.template(stage, "network"), "AWS::EC2::NatGateway")) == nat_count
    assert CONFIGS[stage].network.nat_gateways == nat_count


def _log_group_id(template: Template) -> str:
    (logical_id,) = resources(template, "AWS::Logs::LogGroup")
    return logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_flow_logs_go_to_a_kms_encrypted_log_group(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    template = platform.template(stage, "network")
    (flow_log,) = resources(template, "AWS::EC2::FlowLog").values()
    props = flow_log["Properties"]
    assert (props["TrafficType"], props["ResourceType"]) == ("ALL", "VPC")
    assert props["LogGroupName"] == {"Ref": _log_group_id(template)}
    log_group = template["Resources"][_log_group_id(template)]
    assert log_group["Properties"]["RetentionInDays"] == cfg.network.flow_log_retention_days
    key = template["Resources"][log_group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    kept = "Retain" if cfg.removal_policy.keeps_data else "Delete"
    assert key["DeletionPolicy"] == log_group["DeletionPolicy"] == kept
    (policy,) = resources(template, "AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Fn::GetAtt": [_log_group_id(template), "Arn"]}


@pytest.mark.parametrize("stage", STAGES)
def test_default_security_group_is_restricted(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "network")
    restrict = one(template, "Custom::VpcRestrictDefaultSG")["Properties"]
    (vpc_id,) = resources(template, "AWS::EC2::VPC")
    assert restrict["DefaultSecurityGroupId"] == {"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}
