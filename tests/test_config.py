"""Stage configuration: every bad input is rejected before synth with a message naming the field."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infra.config import (
    PLACEHOLDER_ACCOUNT,
    ConfigError,
    NetworkConfig,
    StageConfig,
    SubnetTierConfig,
    Tier,
    default_stages,
    load_stages,
)
from infra.config.compute import ComputeConfig, DomainConfig


def dev(**changes: Any) -> StageConfig:
    return dataclasses.replace(default_stages()["dev"], **changes)


def dev_network(**changes: Any) -> StageConfig:
    cfg = default_stages()["dev"]
    return dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, **changes))


def context(values: dict[str, Any]) -> Any:
    return values.get


BAD_CONFIGS = [
    pytest.param(
        lambda: dev_network(vpc_cidr="10.0.0.0/33"),
        "dev.network.vpc_cidr: '10.0.0.0/33' is not an IPv4 network",
        id="malformed-cidr",
    ),
    pytest.param(
        lambda: dev_network(vpc_cidr="10.0.0.1/16"),
        "write it like 10.0.0.0/16, with the host bits zero",
        id="cidr-host-bits",
    ),
    pytest.param(
        lambda: dev_network(vpc_cidr="10.0.0.0/8"),
        "dev.network.vpc_cidr: /8 is outside the /16-/28 range",
        id="vpc-too-large",
    ),
    pytest.param(
        lambda: dev_network(vpc_cidr="8.8.0.0/16"),
        "dev.network.vpc_cidr: 8.8.0.0/16 is not a private (RFC 1918) range",
        id="public-vpc-range",
    ),
    pytest.param(
        lambda: dev_network(vpc_cidr="10.0.0.0/22"),
        "dev.network.private.cidr_mask: /20 must be between the VPC's /22 and /28",
        id="subnet-larger-than-vpc",
    ),
    pytest.param(
        lambda: dev_network(
            vpc_cidr="10.0.0.0/24",
            public=SubnetTierConfig(26),
            private=SubnetTierConfig(26),
            isolated=SubnetTierConfig(26),
        ),
        "dev.network.isolated.cidr_mask: vpc_cidr 10.0.0.0/24 has no free /26 left for "
        "ap-northeast-2a; three tiers x 2 AZs do not fit",
        id="vpc-too-small-for-tiers",
    ),
    pytest.param(
        lambda: dev_network(
            vpc_cidr="10.0.0.0/16",
            public=SubnetTierConfig(cidrs=("10.0.1.0/24", "10.0.2.0/24")),
            private=SubnetTierConfig(cidrs=("10.0.2.0/24", "10.0.12.0/24")),
        ),
        "dev.network.private.cidrs: 10.0.2.0/24 (ap-northeast-2a) overlaps 10.0.2.0/24 "
        "(public, ap-northeast-2c)",
        id="overlapping-subnets",
    ),
    pytest.param(
        lambda: dev_network(public=SubnetTierConfig(cidrs=("10.99.1.0/24", "10.10.2.0/24"))),
        "dev.network.public.cidrs[0]: 10.99.1.0/24 lies outside vpc_cidr 10.10.0.0/16",
        id="subnet-outside-vpc",
    ),
    pytest.param(
        lambda: dev_network(public=SubnetTierConfig(cidrs=("10.10.1.0/24",))),
        "dev.network.public.cidrs: 1 CIDR(s) for 2 AZs; give exactly one per availability zone",
        id="subnet-count-mismatch",
    ),
    pytest.param(
        lambda: dev_network(availability_zones=("ap-northeast-2a", "ap-northeast-1c")),
        "dev.network.availability_zones: 'ap-northeast-1c' is not in region ap-northeast-2",
        id="az-outside-region",
    ),
    pytest.param(
        lambda: dev_network(availability_zones=("ap-northeast-2a",), nat_gateways=1),
        "dev.network.availability_zones: ['ap-northeast-2a'] has 1 AZ(s); at least 2 are needed",
        id="single-az",
    ),
    pytest.param(
        lambda: dev_network(availability_zones=("ap-northeast-2a", "ap-northeast-2a")),
        "dev.network.availability_zones: ['ap-northeast-2a', 'ap-northeast-2a'] lists an AZ twice",
        id="duplicate-az",
    ),
    pytest.param(
        lambda: dev_network(nat_gateways=3),
        "dev.network.nat_gateways: 3 must be between 1 (private subnets need a route out) and "
        "the number of AZs (2)",
        id="more-nat-than-azs",
    ),
    pytest.param(
        lambda: dev_network(nat_gateways=0),
        "dev.network.nat_gateways: 0 must be between 1",
        id="no-nat",
    ),
    pytest.param(
        lambda: dev(region="ap-northeast-9"),
        "dev.region: unknown region 'ap-northeast-9'; use a region code such as ap-northeast-2",
        id="unknown-region",
    ),
    pytest.param(
        lambda: dev(name="qa"),
        "qa.name: unknown stage 'qa'; valid stages: dev, staging, prod",
        id="unknown-stage-name",
    ),
    pytest.param(
        lambda: dev(account="1234"),
        "dev.account: '1234' is not a 12-digit AWS account id",
        id="malformed-account",
    ),
    pytest.param(
        lambda: dev(require_account=True),
        "dev.account: no account set for deployment (only the offline placeholder); set it with "
        "`-c dev.account=123456789012` or PLATFORM_DEV_ACCOUNT",
        id="missing-account-when-deploying",
    ),
    pytest.param(
        lambda: dev_network(interface_endpoints=("ecr.api", "secretmanager")),
        "dev.network.interface_endpoints: unknown 'secretmanager'",
        id="unknown-interface-endpoint",
    ),
    pytest.param(
        lambda: dev_network(gateway_endpoints=("s3", "ec2")),
        "dev.network.gateway_endpoints: unknown 'ec2'; valid: dynamodb, s3",
        id="unknown-gateway-endpoint",
    ),
    pytest.param(
        lambda: dev(log_retention_days=10),
        "dev.log_retention_days: 10 is not a CloudWatch Logs retention period; valid: 1, 3, 5, 7",
        id="bad-retention",
    ),
    pytest.param(
        lambda: dev_network(flow_log_retention_days=0),
        "dev.network.flow_log_retention_days: 0 is not a CloudWatch Logs retention period",
        id="bad-flow-log-retention",
    ),
    pytest.param(
        lambda: dev(project="Web_Plat"),
        "dev.project: 'Web_Plat' must be 2-20 lowercase letters",
        id="bad-project-name",
    ),
    pytest.param(
        lambda: dev_network(load_balancer_ingress_cidrs=("203.0.113.7", "0.0.0.0/-1")),
        "dev.network.load_balancer_ingress_cidrs[1]: '0.0.0.0/-1' is not an IPv4 network",
        id="bad-ingress-cidr",
    ),
    pytest.param(
        lambda: dev(ports=dataclasses.replace(dev().ports, api=5432)),
        "dev.ports.api: 5432 is also a data-tier port",
        id="app-port-on-data-port",
    ),
    pytest.param(
        lambda: dev(ports=dataclasses.replace(dev().ports, web=70000)),
        "dev.ports.web: 70000 is outside 1-65535",
        id="port-out-of-range",
    ),
]


@pytest.mark.parametrize(("build", "message"), BAD_CONFIGS)
def test_bad_config_is_rejected_with_field_and_fix(build: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build()
    assert message in str(caught.value)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        dev(account="x", region="mars-1", log_retention_days=2)
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "dev.account",
        "dev.region",
        "dev.log_retention_days",
        "dev.compute.cloudfront_prefix_list_id",  # none known for that region
        "dev.network.availability_zones",  # the pinned AZs no longer match the region
        "dev.network.availability_zones",
    ]


def test_unknown_stage_selection_is_rejected() -> None:
    with pytest.raises(
        ConfigError, match=r"stages: unknown stage.*'qa'.*valid: dev, staging, prod"
    ):
        load_stages(context({"stages": "dev,qa"}), {})


def test_defaults_synthesize_offline_with_placeholder_account() -> None:
    stages = load_stages(context({}), {})
    assert [s.name for s in stages] == ["dev", "staging", "prod"]
    assert {s.account for s in stages} == {PLACEHOLDER_ACCOUNT}
    assert {s.region for s in stages} == {"ap-northeast-2"}


def test_account_and_region_come_from_context_before_environment() -> None:
    ctx = {
        "prod.account": "111122223333",
        "prod.region": "ap-southeast-1",
        "prod.availability_zones": "ap-southeast-1a,ap-southeast-1b,ap-southeast-1c",
        "require_accounts": "true",
        "stages": "prod",
    }
    env = {"PLATFORM_PROD_ACCOUNT": "999999999999", "PLATFORM_PROD_REGION": "eu-west-1"}
    (prod,) = load_stages(context(ctx), env)
    assert (prod.account, prod.region) == ("111122223333", "ap-southeast-1")
    assert prod.network.availability_zones == (
        "ap-southeast-1a",
        "ap-southeast-1b",
        "ap-southeast-1c",
    )
    assert prod.require_account


def test_environment_overrides_defaults() -> None:
    (staging,) = load_stages(
        context({"stages": "staging"}), {"PLATFORM_STAGING_ACCOUNT": "444455556666"}
    )
    assert staging.account == "444455556666"


def test_requiring_accounts_rejects_the_placeholder_for_every_selected_stage() -> None:
    with pytest.raises(ConfigError, match=r"staging\.account: no account set for deployment"):
        load_stages(context({"stages": "staging"}), {"PLATFORM_REQUIRE_ACCOUNTS": "1"})


def test_region_override_without_matching_azs_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"'ap-northeast-2a' is not in region eu-west-1"):
        load_stages(context({"stages": "dev", "dev.region": "eu-west-1"}), {})


def test_stage_differences_are_values() -> None:
    stages = default_stages()
    assert [stages[n].network.nat_gateways for n in ("dev", "staging", "prod")] == [1, 2, 3]
    assert stages["dev"].network.interface_endpoints == ()
    assert set(stages["prod"].network.interface_endpoints) >= {
        "ecr.api",
        "ecr.dkr",
        "secretsmanager",
        "logs",
        "ssm",
        "kms",
        "sts",
        "sqs",
    }
    assert len({s.network.vpc_cidr for s in stages.values()}) == 3  # peerable later


def test_reference_architecture_3_subnets_are_expressible() -> None:
    """E-commerce plan: 10.0.0.0/16 with public .1/.2, private .11/.12, database .21/.22, 2 NAT."""
    network = NetworkConfig(
        vpc_cidr="10.0.0.0/16",
        availability_zones=("ap-northeast-2a", "ap-northeast-2c"),
        nat_gateways=2,
        public=SubnetTierConfig(cidrs=("10.0.1.0/24", "10.0.2.0/24")),
        private=SubnetTierConfig(cidrs=("10.0.11.0/24", "10.0.12.0/24")),
        isolated=SubnetTierConfig(cidrs=("10.0.21.0/24", "10.0.22.0/24")),
    )
    cfg = dev(network=network)
    plan = {(tier.value, az[-1]): str(net) for (tier, az), net in cfg.network.subnet_plan().items()}
    assert plan == {
        ("public", "a"): "10.0.1.0/24",
        ("public", "c"): "10.0.2.0/24",
        ("private", "a"): "10.0.11.0/24",
        ("private", "c"): "10.0.12.0/24",
        ("isolated", "a"): "10.0.21.0/24",
        ("isolated", "c"): "10.0.22.0/24",
    }


def test_reference_architecture_4_mixes_explicit_and_sized_tiers() -> None:
    """Meeting assistant: private-app .11-12, private-data .21-22, public sized, single NAT."""
    network = NetworkConfig(
        vpc_cidr="10.0.0.0/16",
        availability_zones=("ap-northeast-2a", "ap-northeast-2c"),
        nat_gateways=1,
        public=SubnetTierConfig(cidr_mask=24),
        private=SubnetTierConfig(cidrs=("10.0.11.0/24", "10.0.12.0/24")),
        isolated=SubnetTierConfig(cidrs=("10.0.21.0/24", "10.0.22.0/24")),
        load_balancer_ingress_cidrs=("0.0.0.0/0",),  # api. and ws. are reached directly
    )
    compute = ComputeConfig(domain=DomainConfig("meeting.example.com", "Z0123456789ABCDEFGHIJ"))
    plan = dev(network=network, compute=compute).network.subnet_plan()
    assert str(plan[(Tier.PUBLIC, "ap-northeast-2a")]) == "10.0.0.0/24"
    assert str(plan[(Tier.PUBLIC, "ap-northeast-2c")]) == "10.0.1.0/24"


def test_sized_tiers_are_laid_out_in_order() -> None:
    plan = default_stages()["prod"].network.subnet_plan()
    assert [str(net) for net in plan.values()] == [
        "10.30.0.0/24",
        "10.30.1.0/24",
        "10.30.2.0/24",
        "10.30.16.0/20",
        "10.30.32.0/20",
        "10.30.48.0/20",
        "10.30.64.0/24",
        "10.30.65.0/24",
        "10.30.66.0/24",
    ]
