"""The cost estimator (tools/cost): exact figures on small hand-built templates with known prices.

Every expected amount is worked out by hand in the comment beside it (730 hours a month).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools.cost.__main__ import main
from tools.cost.assembly import Stack
from tools.cost.budget import suggested_budget
from tools.cost.estimate import StackEstimate, price_stack
from tools.cost.pricing import (
    ASSUMPTIONS_FILE,
    GLOBAL_PREFIXES,
    PRICES_DIR,
    Assumptions,
    CostError,
    load_assumptions,
    load_prices,
)
from tools.cost.resources.compute import split_tasks
from tools.cost.schedule import Cron, ScheduleError, awake_fraction, runs_per_month
from tools.cost.sleep import build_sleep_index
from tools.cost.template import Ctx, RunState

REGION = "ap-northeast-2"
KNOWN = {  # round test prices, so that every expected figure can be worked out by hand
    "ec2.nat_gateway.hour": 0.05,
    "ec2.nat_gateway.gb_processed": 0.05,
    "ec2.public_ipv4.hour": 0.005,
    "ec2.vpc_endpoint.interface.az_hour": 0.01,
    "ec2.vpc_endpoint.gb_processed": 0.01,
    "ec2.data_transfer.internet_out.gb": 0.1,
    "elb.application.hour": 0.02,
    "elb.application.lcu_hour": 0.008,
    "fargate.linux.x86_64.vcpu_hour": 0.04,
    "fargate.linux.x86_64.gb_hour": 0.004,
    "fargate.linux.arm64.vcpu_hour": 0.032,
    "fargate.linux.arm64.gb_hour": 0.0035,
    "fargate_spot.linux.x86_64.vcpu_hour": 0.012,
    "fargate_spot.linux.x86_64.gb_hour": 0.0012,
    "rds.postgres.db.t4g.micro.hour": 0.02,
    "rds.storage.gp3.gb_month": 0.1,
    "rds.performance_insights.first_month.vcpu_month": 1.5,
    "rds.performance_insights.additional_month.vcpu_month": 0.06,
    "rds.aurora-postgresql.db.r6g.large.hour": 0.3,
    "rds.aurora.storage.gb_month": 0.1,
    "rds.aurora.io.million": 0.2,
    "elasticache.valkey.cache.t4g.small.hour": 0.03,
    "kms.key.month": 1.0,
    "secretsmanager.secret.month": 0.4,
    "cloudwatch.alarm.standard.metric_month": 0.1,
    "cloudwatch.alarm.high_resolution.metric_month": 0.3,
    "cloudwatch.alarm.composite.month": 0.5,
    "cloudwatch.dashboard.month": 3.0,
    "waf.web_acl.month": 5.0,
    "waf.rule.month": 1.0,
    "waf.request.million": 0.6,
    "lambda.request.million": 0.2,
    "lambda.x86_64.gb_second": 0.00002,
    "lambda.arm64.gb_second": 0.00001,
    "scheduler.invocation.million": 1.0,
    "cloudfront.data_out.united_states.gb": 0.085,
    "cloudfront.https.united_states.10k_requests": 0.01,
    "cloudfront.data_out.asia_pacific.gb": 0.12,
    "cloudfront.https.asia_pacific.10k_requests": 0.012,
    "elb.network.hour": 0.02,
    "elb.network.nlcu_hour": 0.006,
    "guardduty.cloudtrail_events.million": 4.0,
    "guardduty.flow_dns_logs.gb": 1.0,
    "config.item": 0.003,
    "config.item.periodic": 0.012,
    "config.rule_evaluation": 0.001,
    "securityhub.check": 0.001,
    "route53.hosted_zone.month": 0.5,
    "route53.standard_query.million": 0.4,
    "route53.health_check.month": 0.75,
    "backup.warm.gb_month": 0.05,
    "backup.restore_testing.job": 1.5,
    "events.custom_event.million": 1.0,
    "sqs.standard.million": 0.4,
}


def write_prices(directory: Path, figures: Mapping[str, float], region: str = REGION) -> Path:
    def document(name: str, keys: list[str]) -> str:
        prices = {
            key: {
                "usd": figures[key],
                "unit": "test unit",
                "source": "https://aws.amazon.com/test/pricing/",
                "as_of": "2025-01-01",
            }
            for key in keys
        }
        return json.dumps({"_note": "test prices", "region": name, "prices": prices})

    directory.mkdir(parents=True, exist_ok=True)
    regional = [key for key in figures if not key.startswith(GLOBAL_PREFIXES)]
    (directory / f"{region}.json").write_text(document(region, regional))
    (directory / "global.json").write_text(
        document("global", [key for key in figures if key not in regional])
    )
    return directory


def stack(resources: Mapping[str, Any], name: str = "app-dev-test", region: str = REGION) -> Stack:
    return Stack(
        stage="Dev",
        name=name,
        display_name=f"Dev/{name}",
        account="111111111111",
        region=region,
        template={"Resources": dict(resources)},
    )


@dataclass
class Bench:
    prices: Path
    assumptions: Assumptions

    def assume(self, *specs: str) -> Bench:
        for spec in specs:
            self.assumptions.override(spec)
        return self

    def price(
        self, resources: Mapping[str, Any], others: Sequence[Mapping[str, Any]] = ()
    ) -> StackEstimate:
        """Prices the first stack; `others` are more stacks of the same stage (for schedules)."""
        stacks = [stack(resources), *(stack(r, f"other-{i}") for i, r in enumerate(others))]
        context = Ctx(
            stacks[0],
            load_prices(REGION, self.prices),
            self.assumptions.for_stage("Dev"),
            build_sleep_index(stacks),
            RunState(),
            stacks,
        )
        return price_stack(context)


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    return Bench(write_prices(tmp_path / "prices", KNOWN), load_assumptions())


def cost(result: StackEstimate, driver: str) -> float:
    """Monthly USD of the lines whose driver starts with `driver`."""
    lines = [line for line in result.lines if line.driver.startswith(driver)]
    assert lines, f"no line {driver!r} in {[line.driver for line in result.lines]}"
    return sum(line.monthly_usd for line in lines)


def res(kind: str, **props: Any) -> dict[str, Any]:
    return {"Type": kind, "Properties": props}


# --- network -----------------------------------------------------------------------------------


def test_nat_gateway_hours_and_data_processed(bench: Bench) -> None:
    result = bench.assume("nat_gb_processed_per_month=100").price(
        {"Nat": res("AWS::EC2::NatGateway", SubnetId="subnet-1")}
    )
    assert cost(result, "NAT gateway hours") == pytest.approx(36.50)  # 730 h x $0.05
    assert cost(result, "NAT gateway data processed") == pytest.approx(5.00)  # 100 GB x $0.05
    assert result.monthly_usd == pytest.approx(41.50)


def test_interface_endpoint_is_priced_per_az_and_gateway_endpoint_is_free(bench: Bench) -> None:
    result = bench.assume("vpce_gb_per_endpoint_per_month=10").price(
        {
            "Ecr": res(
                "AWS::EC2::VPCEndpoint",
                VpcEndpointType="Interface",
                ServiceName="com.amazonaws.ap-northeast-2.ecr.api",
                SubnetIds=[{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            ),
            "S3": res("AWS::EC2::VPCEndpoint", VpcEndpointType="Gateway"),
        }
    )
    assert cost(result, "interface endpoint AZ-hours") == pytest.approx(14.60)  # 2 x 730 x 0.01
    assert cost(result, "interface endpoint data") == pytest.approx(0.10)  # 10 GB x $0.01
    assert result.free[("AWS::EC2::VPCEndpoint", "gateway endpoints (S3, DynamoDB) are free")] == 1


def test_internet_facing_alb(bench: Bench) -> None:
    result = bench.assume("alb_lcu_per_hour=2", "lb_internet_out_gb_per_month=50").price(
        {
            "Alb": res(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                Type="application",
                Scheme="internet-facing",
                Subnets=["subnet-a", "subnet-b"],
            )
        }
    )
    assert cost(result, "application load balancer hours") == pytest.approx(14.60)  # 730 x 0.02
    assert cost(result, "application load balancer LCU") == pytest.approx(11.68)  # 2x730x0.008
    assert cost(result, "load balancer public IPv4") == pytest.approx(7.30)  # 2 IPs x 730 x 0.005
    assert cost(result, "data transfer out") == pytest.approx(5.00)  # 50 GB x $0.10
    assert result.monthly_usd == pytest.approx(38.58)


def test_internal_alb_has_no_public_addresses(bench: Bench) -> None:
    result = bench.assume("alb_lcu_per_hour=1").price(
        {"Alb": res("AWS::ElasticLoadBalancingV2::LoadBalancer", Scheme="internal")}
    )
    assert result.monthly_usd == pytest.approx(14.60 + 5.84)  # hours + 1 LCU x 730 x 0.008


# --- Fargate -----------------------------------------------------------------------------------


def fargate_service(
    cpu: str = "512", memory: str = "1024", desired: int = 2, **service: Any
) -> dict[str, Any]:
    return {
        "Task": res("AWS::ECS::TaskDefinition", Cpu=cpu, Memory=memory),
        "Service": res(
            "AWS::ECS::Service",
            Cluster={"Ref": "Cluster"},
            TaskDefinition={"Ref": "Task"},
            DesiredCount=desired,
            LaunchType="FARGATE",
            **service,
        ),
    }


def test_fargate_service_with_office_hours_schedule(bench: Bench) -> None:
    resources = fargate_service()
    resources["Target"] = res(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        ServiceNamespace="ecs",
        ScalableDimension="ecs:service:DesiredCount",
        ResourceId={
            "Fn::Join": [
                "",
                ["service/", {"Ref": "Cluster"}, "/", {"Fn::GetAtt": ["Service", "Name"]}],
            ]
        },
        MinCapacity=2,
        MaxCapacity=10,
        ScheduledActions=[
            {
                "Schedule": "cron(0 9 ? * MON-FRI *)",
                "Timezone": "Asia/Seoul",
                "ScalableTargetAction": {"MinCapacity": 4},
            },
            {
                "Schedule": "cron(0 18 ? * MON-FRI *)",
                "Timezone": "Asia/Seoul",
                "ScalableTargetAction": {"MinCapacity": 2},
            },
        ],
    )
    result = bench.price(resources)
    # 2 tasks all week, 4 during 45 of 168 hours: 2 + 2 x 45/168 = 426/168 tasks on average.
    # A task (0.5 vCPU, 1 GB) costs 0.5 x 0.04 + 1 x 0.004 = $0.024 an hour.
    task_hours = 730 * 426 / 168  # 1,851.07
    assert cost(result, "FARGATE x86_64 vCPU") == pytest.approx(task_hours * 0.5 * 0.04)
    assert cost(result, "FARGATE x86_64 GB") == pytest.approx(task_hours * 1 * 0.004)
    assert round(result.monthly_usd, 2) == 44.43  # 1,851.07 task-hours x $0.024
    assert round(result.always_on_usd, 2) == 70.08  # the peak, 4 tasks, all month
    assert result.free[("AWS::ECS::TaskDefinition", FREE_TASK_DEFINITION)] == 1


FREE_TASK_DEFINITION = "billed through the services and tasks that run it"


def test_fargate_without_scaling_target_uses_desired_count(bench: Bench) -> None:
    result = bench.price(fargate_service(desired=2))
    assert result.monthly_usd == pytest.approx(35.04)  # 2 tasks x 730 h x $0.024
    assert result.always_on_usd == pytest.approx(35.04)


def test_fargate_spot_share_follows_base_and_weights(bench: Bench) -> None:
    strategy = [
        {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]
    resources = fargate_service(cpu="1024", memory="2048", desired=5)
    del resources["Service"]["Properties"]["LaunchType"]
    resources["Service"]["Properties"]["CapacityProviderStrategy"] = strategy
    result = bench.price(resources)
    # 5 tasks: the base 1 on FARGATE, the other 4 split 1:3, so 2 on-demand and 3 on Spot.
    assert cost(result, "FARGATE ") == pytest.approx(70.08)  # 2 x 730 x (0.04 + 2 x 0.004)
    assert cost(result, "FARGATE_SPOT") == pytest.approx(31.536)  # 3 x 730 x (0.012 + 2 x 0.0012)
    assert split_tasks(1, [("FARGATE", 1, 1), ("FARGATE_SPOT", 0, 1)]) == {
        "FARGATE": 1,
        "FARGATE_SPOT": 0,
    }


def test_fargate_arm64(bench: Bench) -> None:
    resources = fargate_service(cpu="0.25 vCPU", memory="0.5 GB", desired=1)
    resources["Task"]["Properties"]["RuntimePlatform"] = {"CpuArchitecture": "ARM64"}
    result = bench.price(resources)
    assert result.monthly_usd == pytest.approx(7.1175)  # 730 x (0.25 x 0.032 + 0.5 x 0.0035)


def test_ec2_capacity_is_listed_as_not_priced(bench: Bench) -> None:
    resources = fargate_service()
    resources["Service"]["Properties"]["LaunchType"] = "EC2"
    resources["Vm"] = res("AWS::EC2::Instance", InstanceType="t3.micro")
    result = bench.price(resources)
    assert result.monthly_usd == 0
    assert {(item.type, item.resource) for item in result.not_priced} == {
        ("AWS::ECS::Service", "Service"),
        ("AWS::EC2::Instance", "Vm"),
    }
    assert "EC2" in result.not_priced[0].reason


# --- databases ---------------------------------------------------------------------------------


def database(**props: Any) -> dict[str, Any]:
    base = {
        "DBInstanceClass": "db.t4g.micro",
        "Engine": "postgres",
        "DBInstanceIdentifier": "app-dev-db",
        "AllocatedStorage": "20",
        "StorageType": "gp3",
        "MultiAZ": True,
        "EnablePerformanceInsights": True,
        "PerformanceInsightsRetentionPeriod": 7,
    }
    return {"Db": res("AWS::RDS::DBInstance", **{**base, **props})}


def test_multi_az_postgres_micro_with_gp3(bench: Bench) -> None:
    result = bench.price(database())
    assert cost(result, "RDS postgres db.t4g.micro") == pytest.approx(29.20)  # 2 x 730 x 0.02
    assert cost(result, "gp3 storage") == pytest.approx(4.00)  # 20 GB x 2 copies x $0.10
    assert result.monthly_usd == pytest.approx(33.20)  # 7 days of Performance Insights: free


def test_performance_insights_beyond_seven_days_is_paid(bench: Bench) -> None:
    result = bench.price(database(PerformanceInsightsRetentionPeriod=93))
    # 93 days = 3 months; 2 vCPUs x 2 Multi-AZ copies = 4 vCPUs.
    assert cost(result, "Performance Insights 93-day") == pytest.approx(6.00)  # 4 x $1.50
    assert cost(result, "Performance Insights: 2") == pytest.approx(0.48)  # 4 x 2 x $0.06


def test_unknown_instance_class_names_the_key_and_the_file(bench: Bench) -> None:
    with pytest.raises(CostError) as error:
        bench.price(database(DBInstanceClass="db.x9.huge"))
    message = str(error.value)
    assert "'rds.postgres.db.x9.huge.hour'" in message
    assert str(bench.prices / f"{REGION}.json") in message
    assert "Db [AWS::RDS::DBInstance]" in message


def sleep_schedule(action: str, cron: str, target_input: Any) -> dict[str, Any]:
    return res(
        "AWS::Scheduler::Schedule",
        ScheduleExpression=cron,
        ScheduleExpressionTimezone="Asia/Seoul",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": {
                "Fn::Join": [
                    "",
                    ["arn:", {"Ref": "AWS::Partition"}, f":scheduler:::aws-sdk:rds:{action}"],
                ]
            },
            "Input": target_input,
            "RoleArn": "arn:aws:iam::111111111111:role/scheduler",
        },
    )


def test_database_sleep_schedule_in_another_stack_scales_instance_hours(bench: Bench) -> None:
    schedules = {
        "Stop": sleep_schedule(
            "stopDBInstance", "cron(0 18 ? * MON-FRI *)", '{"DbInstanceIdentifier":"App-Dev-Db"}'
        ),
        "Start": sleep_schedule(
            "startDBInstance", "cron(0 9 ? * MON-FRI *)", '{"DbInstanceIdentifier":"app-dev-db"}'
        ),
    }
    result = bench.price(database(MultiAZ=False), others=[schedules])
    # Awake weekdays 09:00-18:00: 45 of 168 hours. Storage is billed all month.
    assert cost(result, "RDS postgres") == pytest.approx(730 * 0.02 * 45 / 168)  # $3.91
    assert cost(result, "gp3 storage") == pytest.approx(2.00)
    assert result.always_on_usd == pytest.approx(14.60 + 2.00)
    assert "26.8% of the week" in result.lines[0].note


def test_database_sleep_schedule_by_ref_in_the_same_stack(bench: Bench) -> None:
    named = {"Fn::Join": ["", ['{"DBInstanceIdentifier":"', {"Ref": "Db"}, '"}']]}
    resources = {
        **database(MultiAZ=False, DBInstanceIdentifier=None),
        "Stop": sleep_schedule("stopDBInstance", "cron(0 20 ? * * *)", named),
        "Start": sleep_schedule("startDBInstance", "cron(0 8 ? * * *)", named),
    }
    result = bench.price(resources)
    assert cost(result, "RDS postgres") == pytest.approx(14.60 * 12 / 24)  # awake 08:00-20:00


def test_aurora_cluster_instances_sleep_with_the_cluster(bench: Bench) -> None:
    instance = {"DBInstanceClass": "db.r6g.large", "DBClusterIdentifier": {"Ref": "Cluster"}}
    resources = {
        "Cluster": res(
            "AWS::RDS::DBCluster", Engine="aurora-postgresql", DBClusterIdentifier="app-aurora"
        ),
        "Writer": res("AWS::RDS::DBInstance", Engine="aurora-postgresql", **instance),
        "Reader": res("AWS::RDS::DBInstance", Engine="aurora-postgresql", **instance),
    }
    named = '{"DbClusterIdentifier": "app-aurora"}'
    schedules = {
        "Stop": sleep_schedule("stopDBCluster", "cron(0 18 ? * MON-FRI *)", named),
        "Start": sleep_schedule("startDBCluster", "cron(0 9 ? * MON-FRI *)", named),
    }
    result = bench.assume("aurora_storage_gb=100", "aurora_io_millions_per_month=5").price(
        resources, others=[schedules]
    )
    # Two instances x 730 h x $0.30 = $438 always-on; awake 45/168 of the week.
    assert cost(result, "RDS aurora-postgresql db.r6g.large") == pytest.approx(438 * 45 / 168)
    assert cost(result, "Aurora storage") == pytest.approx(10.00)  # 100 GB x $0.10
    assert cost(result, "Aurora I/O") == pytest.approx(1.00)  # 5 million x $0.20
    assert result.always_on_usd == pytest.approx(438 + 11)


def test_read_replica_is_an_instance_with_its_source_storage(bench: Bench) -> None:
    replica = res(
        "AWS::RDS::DBInstance",
        DBInstanceClass="db.t4g.micro",
        SourceDBInstanceIdentifier={"Ref": "Db"},
        StorageType="gp3",
    )
    result = bench.price({**database(MultiAZ=False), "Replica": replica})
    assert cost(result, "RDS postgres db.t4g.micro read replica") == pytest.approx(14.60)
    assert cost(result, "gp3 storage") == pytest.approx(4.00)  # 20 GB each for both


def test_cloudfront_viewers_outside_the_price_class_are_priced_as_us(bench: Bench) -> None:
    bench.assume("cloudfront_gb_per_month=100", "cloudfront_requests_millions_per_month=2")

    def distribution(price_class: str) -> dict[str, Any]:
        config = {"PriceClass": price_class, "Enabled": True}
        return {"Cdn": res("AWS::CloudFront::Distribution", DistributionConfig=config)}

    asia = bench.price(distribution("PriceClass_200"))
    assert asia.monthly_usd == pytest.approx(12.00 + 2.40)  # 100 GB x 0.12 + 200 x 10k x 0.012
    us = bench.price(distribution("PriceClass_100"))
    assert us.monthly_usd == pytest.approx(8.50 + 2.00)  # served from US/Europe edges


def test_two_node_valkey_cache(bench: Bench) -> None:
    result = bench.price(
        {
            "Cache": res(
                "AWS::ElastiCache::ReplicationGroup",
                Engine="valkey",
                CacheNodeType="cache.t4g.small",
                NumNodeGroups=1,
                ReplicasPerNodeGroup=1,
            )
        }
    )
    assert result.monthly_usd == pytest.approx(43.80)  # 2 nodes x 730 h x $0.03


def test_unknown_cache_node_type_names_the_key(bench: Bench) -> None:
    with pytest.raises(CostError, match=r"'elasticache\.redis\.cache\.x9\.big\.hour'"):
        bench.price(
            {"Cache": res("AWS::ElastiCache::ReplicationGroup", CacheNodeType="cache.x9.big")}
        )


# --- security, observability, edge, functions --------------------------------------------------


def test_keys_secrets_alarms_and_dashboards(bench: Bench) -> None:
    stat = {"MetricStat": {"Period": 60, "Stat": "Sum", "Metric": {"MetricName": "m"}}}
    resources = {
        **{f"Key{i}": res("AWS::KMS::Key", EnableKeyRotation=True) for i in range(2)},
        **{f"Secret{i}": res("AWS::SecretsManager::Secret") for i in range(3)},
        **{f"Alarm{i}": res("AWS::CloudWatch::Alarm", Period=300) for i in range(4)},
        "MathAlarm": res(
            "AWS::CloudWatch::Alarm", Metrics=[stat, stat, stat, {"Expression": "m1+m2+m3"}]
        ),
        "FastAlarm": res("AWS::CloudWatch::Alarm", Period=10),
        "Composite": res("AWS::CloudWatch::CompositeAlarm", AlarmRule="ALARM(a)"),
        "Board": res("AWS::CloudWatch::Dashboard"),
    }
    result = bench.price(resources)
    assert cost(result, "KMS keys") == pytest.approx(2.00)  # 2 x $1
    assert cost(result, "Secrets Manager") == pytest.approx(1.20)  # 3 x $0.40
    assert cost(result, "CloudWatch alarm metrics (standard") == pytest.approx(0.70)  # (4+3) x 0.1
    assert cost(result, "CloudWatch alarm metrics (high") == pytest.approx(0.30)  # 1 x $0.30
    assert cost(result, "CloudWatch composite") == pytest.approx(0.50)
    assert cost(result, "CloudWatch dashboards") == pytest.approx(3.00)
    assert result.monthly_usd == pytest.approx(7.70)
    keys = next(line for line in result.lines if line.driver == "KMS keys")
    assert keys.resource == "2 resources"
    assert keys.quantity == 2


def test_waf_web_acl_with_four_rules(bench: Bench) -> None:
    def managed(name: str) -> dict[str, Any]:
        statement = {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": name}}
        return {"Name": name, "Statement": statement}

    rules = [
        managed("AWSManagedRulesCommonRuleSet"),
        managed("AWSManagedRulesKnownBadInputsRuleSet"),
        managed("AWSManagedRulesAmazonIpReputationList"),
        {"Name": "Rate", "Statement": {"RateBasedStatement": {"Limit": 2000}}},
    ]
    result = bench.assume("waf_requests_millions_per_month=10").price(
        {"Acl": res("AWS::WAFv2::WebACL", Scope="CLOUDFRONT", Rules=rules)}
    )
    assert cost(result, "WAF web ACL") == pytest.approx(5.00)
    assert cost(result, "WAF rules") == pytest.approx(4.00)  # managed groups count as rules
    assert cost(result, "WAF requests") == pytest.approx(6.00)  # 10 million x $0.60
    assert result.monthly_usd == pytest.approx(15.00)


def test_lambda_priced_from_invocation_and_duration_assumptions(bench: Bench) -> None:
    result = bench.assume(
        "lambda_invocations_per_month=1000000", "lambda_avg_duration_ms=100"
    ).price({"Fn": res("AWS::Lambda::Function", MemorySize=512, Architectures=["arm64"])})
    assert cost(result, "Lambda requests") == pytest.approx(0.20)  # 1 million x $0.20
    # 1,000,000 x 0.1 s x 0.5 GB = 50,000 GB-seconds x $0.00001
    assert cost(result, "Lambda compute (function, arm64)") == pytest.approx(0.50)


def test_custom_resource_handlers_are_priced_as_deploy_time_functions(bench: Bench) -> None:
    token = {"Fn::GetAtt": ["Handler", "Arn"]}
    result = bench.assume("lambda_custom_resource_invocations_per_month=1000000").price(
        {
            "Handler": res("AWS::Lambda::Function", MemorySize=1024),
            "Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": token}},
        }
    )
    # 1,000,000 x 0.2 s (default duration) x 1 GB = 200,000 GB-s x $0.00002 = $4.00
    assert cost(result, "Lambda compute (custom resource handler, x86_64)") == pytest.approx(4.0)
    assert sum(result.free.values()) == 1


def test_stack_wide_facts_are_worked_out_once_and_hold_for_every_resource(bench: Bench) -> None:
    token = {"Fn::GetAtt": ["Handler", "Arn"]}
    redrive = {"deadLetterTargetArn": {"Fn::GetAtt": ["Dead", "Arn"]}, "maxReceiveCount": 3}
    result = bench.price(
        {
            "Handler": res("AWS::Lambda::Function"),
            "App": res("AWS::Lambda::Function"),
            "Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": token}},
            "Work": res("AWS::SQS::Queue", RedrivePolicy=redrive),
            "Dead": res("AWS::SQS::Queue"),
            "Other": res("AWS::SQS::Queue"),
        }
    )
    by_driver = {line.driver: line.resources for line in result.lines}
    assert by_driver["Lambda requests (custom resource handler)"] == ["Handler"]
    assert by_driver["Lambda requests (function)"] == ["App"]
    assert by_driver["SQS requests (dead-letter queues)"] == ["Dead"]
    assert by_driver["SQS requests"] == ["Work", "Other"]

    calls: list[Ctx] = []

    def fact(ctx: Ctx) -> int:
        calls.append(ctx)
        return len(calls)

    ctx = Ctx(
        stack({}),
        load_prices(REGION, bench.prices),
        bench.assumptions.for_stage("Dev"),
        build_sleep_index([]),
        RunState(),
    )
    assert [ctx.once(fact), ctx.once(fact)] == [1, 1]
    assert calls == [ctx]


def test_unknown_types_are_listed_not_priced_and_free_types_are_counted(bench: Bench) -> None:
    result = bench.price(
        {
            "Role": res("AWS::IAM::Role"),
            "Group": res("AWS::EC2::SecurityGroup"),
            "Stream": res("AWS::Kinesis::Stream", ShardCount=1),
        }
    )
    assert result.lines == []
    assert [(u.type, u.resource) for u in result.not_priced] == [("AWS::Kinesis::Stream", "Stream")]
    assert sum(result.free.values()) == 2


def test_scheduler_invocations_are_counted_from_the_cron(bench: Bench) -> None:
    result = bench.price(
        {"Daily": res("AWS::Scheduler::Schedule", ScheduleExpression="rate(1 minute)")}
    )
    assert cost(result, "EventBridge Scheduler") == pytest.approx(0.0438)  # 43,800 runs x $1/M


# --- security and audit baselines, DNS, backups, events -----------------------------------------


def test_network_load_balancer_hours_and_nlcus(bench: Bench) -> None:
    internal = bench.assume("nlb_nlcu_per_hour=2").price(
        {"Nlb": res("AWS::ElasticLoadBalancingV2::LoadBalancer", Type="network", Scheme="internal")}
    )
    assert cost(internal, "network load balancer hours") == pytest.approx(14.60)  # 730 x $0.02
    assert cost(internal, "network load balancer NLCU") == pytest.approx(8.76)  # 2 x 730 x 0.006
    assert internal.monthly_usd == pytest.approx(23.36)
    public = bench.assume("lb_internet_out_gb_per_month=20").price(
        {
            "Nlb": res(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                Type="network",
                Subnets=["subnet-a", "subnet-b", "subnet-c"],
            )
        }
    )
    assert cost(public, "load balancer public IPv4") == pytest.approx(10.95)  # 3 x 730 x 0.005
    assert cost(public, "data transfer out") == pytest.approx(2.00)  # 20 GB x $0.10
    assert public.monthly_usd == pytest.approx(14.60 + 8.76 + 10.95 + 2.00)


def test_guardduty_detector_is_priced_from_events_and_logs(bench: Bench) -> None:
    result = bench.assume(
        "guardduty_cloudtrail_events_millions_per_month=2", "guardduty_log_gb_per_month=20"
    ).price(
        {
            "Detector": res("AWS::GuardDuty::Detector", Enable=True),
            "Off": res("AWS::GuardDuty::Detector", Enable=False),
        }
    )
    assert cost(result, "GuardDuty CloudTrail events") == pytest.approx(8.00)  # 2 million x $4
    assert cost(result, "GuardDuty VPC flow and DNS logs") == pytest.approx(20.00)  # 20 GB x $1
    assert result.monthly_usd == pytest.approx(28.00)
    assert result.free[("AWS::GuardDuty::Detector", "the detector is disabled")] == 1


def test_config_recorder_continuous_and_daily_and_rules(bench: Bench) -> None:
    bench.assume("config_items_per_month=2000", "config_evaluations_per_rule_per_month=2000")
    continuous = bench.price(
        {
            "Recorder": res("AWS::Config::ConfigurationRecorder", RecordingGroup={}),
            **{f"Rule{i}": res("AWS::Config::ConfigRule") for i in range(3)},
            "Channel": res("AWS::Config::DeliveryChannel"),
        }
    )
    assert cost(continuous, "AWS Config configuration items") == pytest.approx(6.00)  # x $0.003
    assert cost(continuous, "AWS Config rule evaluations") == pytest.approx(6.00)  # 3 x 2 x $1
    assert sum(continuous.free.values()) == 1  # the delivery channel
    daily = bench.price(
        {
            "Recorder": res(
                "AWS::Config::ConfigurationRecorder",
                RecordingMode={"RecordingFrequency": "DAILY"},
            )
        }
    )
    assert daily.monthly_usd == pytest.approx(24.00)  # 2,000 items x $0.012 (periodic)


def test_security_hub_checks(bench: Bench) -> None:
    result = bench.assume("securityhub_checks_per_month=10000").price(
        {
            "Hub": res("AWS::SecurityHub::Hub"),
            "Standard": res("AWS::SecurityHub::Standard", StandardsArn="arn:aws:securityhub:::x"),
        }
    )
    assert cost(result, "Security Hub security checks") == pytest.approx(10.00)  # 10,000 x 0.001
    assert result.monthly_usd == pytest.approx(10.00)
    assert result.free[("AWS::SecurityHub::Standard", "its checks are priced on the hub")] == 1


def test_route53_zone_records_and_health_check(bench: Bench) -> None:
    alias = {"AliasTarget": {"DNSName": "d111.cloudfront.net", "HostedZoneId": "Z2FDTNDATAQYW2"}}
    plain = {"Name": "www.example.com.", "Type": "CNAME", "TTL": "300", "ResourceRecords": ["x"]}
    result = bench.assume("route53_queries_millions_per_record=3").price(
        {
            "Zone": res("AWS::Route53::HostedZone", Name="example.com."),
            "Alias": res("AWS::Route53::RecordSet", Name="example.com.", Type="A", **alias),
            "Cname": res("AWS::Route53::RecordSet", **plain),
            "Group": res("AWS::Route53::RecordSetGroup", RecordSets=[plain, plain, alias]),
            "Check": res("AWS::Route53::HealthCheck"),
            "Namespace": res("AWS::ServiceDiscovery::PrivateDnsNamespace", Name="internal"),
        }
    )
    assert cost(result, "Route 53 hosted zone") == pytest.approx(0.50)
    # 1 plain record and 2 plain records of the group: 3 x 3 million queries x $0.40
    assert cost(result, "Route 53 standard queries") == pytest.approx(3.60)
    assert cost(result, "Route 53 health check") == pytest.approx(0.75)
    assert cost(result, "Cloud Map namespace") == pytest.approx(0.50)  # its private hosted zone
    assert result.monthly_usd == pytest.approx(5.35)
    assert result.free[("AWS::Route53::RecordSet", "alias queries to AWS resources are free")] == 1


def test_backup_vault_storage(bench: Bench) -> None:
    result = bench.assume("backup_storage_gb_per_vault=100").price(
        {
            "Vault": res("AWS::Backup::BackupVault", BackupVaultName="app-dev-vault"),
            "CopyVault": res("AWS::Backup::BackupVault", BackupVaultName="app-dev-vault-dr"),
            "Plan": res("AWS::Backup::BackupPlan"),
            "Selection": res("AWS::Backup::BackupSelection"),
        }
    )
    assert cost(result, "AWS Backup warm storage") == pytest.approx(10.00)  # 2 x 100 GB x $0.05
    assert result.lines[0].resource == "2 resources"
    assert sum(result.free.values()) == 2  # the plan and its selection


def test_custom_event_bus_is_free_and_its_events_are_priced_on_rules(bench: Bench) -> None:
    pattern = {"source": ["app.orders"]}
    result = bench.assume("eventbridge_custom_events_millions_per_rule=2").price(
        {
            "Bus": res("AWS::Events::EventBus", Name="app-dev-events"),
            "Rule": res("AWS::Events::Rule", EventBusName={"Ref": "Bus"}, EventPattern=pattern),
        }
    )
    assert result.not_priced == []
    assert [kind for kind, _ in result.free] == ["AWS::Events::EventBus"]
    assert cost(result, "EventBridge custom events") == pytest.approx(2.00)  # 2 million x $1


# --- AWS Backup restore testing ------------------------------------------------------------------

WEEKLY_RUNS = 730 / 168  # cron(0 4 ? * SAT *): 4.345 runs in a 730-hour month
FREE_PLAN = "its restore test jobs are priced on its selections"


def restore_plan(name: str = "app_dev_restore_tests", cron: str = "cron(0 4 ? * SAT *)") -> Any:
    return res(
        "AWS::Backup::RestoreTestingPlan",
        RestoreTestingPlanName=name,
        ScheduleExpression=cron,
        ScheduleExpressionTimezone="Asia/Seoul",
        RecoveryPointSelection={"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": ["*"]},
    )


def restore_selection(kind: str, arns: Sequence[Any], plan: Any, **props: Any) -> Any:
    return res(
        "AWS::Backup::RestoreTestingSelection",
        RestoreTestingPlanName=plan,
        RestoreTestingSelectionName=f"test_{kind.lower()}",
        ProtectedResourceType=kind,
        ProtectedResourceArns=list(arns),
        IamRoleArn="arn:aws:iam::111111111111:role/backup",
        **props,
    )


def test_restore_tests_of_an_rds_instance_and_a_bucket(bench: Bench) -> None:
    arn = {"Fn::Join": ["", ["arn:aws:rds:ap-northeast-2:111111111111:db:", {"Ref": "Db"}]]}
    bucket = {"Fn::GetAtt": ["Uploads", "Arn"]}
    result = bench.price(
        {
            **database(),  # db.t4g.micro, Multi-AZ
            "Plan": restore_plan(),
            "TestDb": restore_selection(
                "RDS", [arn], "app_dev_restore_tests", ValidationWindowHours=2
            ),
            "TestBucket": restore_selection(
                "S3", [bucket], {"Ref": "Plan"}, ValidationWindowHours=2
            ),
        }
    )
    assert result.not_priced == []
    assert result.free[("AWS::Backup::RestoreTestingPlan", FREE_PLAN)] == 1
    # One $1.50 job a selection each weekly run: 4.345 x $1.50 = $6.52 each.
    assert cost(result, "AWS Backup restore test jobs (RDS)") == pytest.approx(WEEKLY_RUNS * 1.5)
    assert cost(result, "AWS Backup restore test jobs (S3)") == pytest.approx(WEEKLY_RUNS * 1.5)
    # The restored instance runs single-AZ for the 2-hour window: 8.69 h x $0.02 = $0.17.
    restored = next(line for line in result.lines if line.driver.startswith("restore-test"))
    assert restored.driver == "restore-test RDS postgres db.t4g.micro (2 h a run)"
    assert restored.quantity == pytest.approx(WEEKLY_RUNS * 2)
    assert restored.monthly_usd == pytest.approx(WEEKLY_RUNS * 2 * 0.02)
    assert restored.note.startswith("restores app-dev-test/Db, single-AZ")
    jobs = next(line for line in result.lines if line.driver.endswith("(RDS)"))
    assert "cron(0 4 ? * SAT *): 4.345 runs a month, one job a run" in jobs.note
    assert "kept 2 h (ValidationWindowHours)" in jobs.note
    database_only = 29.20 + 4.00  # test_multi_az_postgres_micro_with_gp3
    assert result.monthly_usd == pytest.approx(database_only + WEEKLY_RUNS * (1.5 + 1.5 + 0.04))


def test_restore_test_of_an_aurora_cluster_runs_no_instance(bench: Bench) -> None:
    arn = {"Fn::Join": ["", ["arn:aws:rds:ap-northeast-2:111111111111:cluster:", {"Ref": "Db"}]]}
    result = bench.price(
        {
            "Db": res("AWS::RDS::DBCluster", Engine="aurora-postgresql"),
            "Plan": restore_plan(),
            "Test": restore_selection(
                "Aurora", [arn], "app_dev_restore_tests", ValidationWindowHours=2
            ),
        }
    )
    assert [line.driver for line in result.lines if "restore" in line.driver] == [
        "AWS Backup restore test jobs (Aurora)"
    ]
    assert cost(result, "AWS Backup restore test jobs") == pytest.approx(WEEKLY_RUNS * 1.5)
    jobs = next(line for line in result.lines if line.driver.startswith("AWS Backup restore"))
    assert "creates no DB instance, so no instance-hours" in jobs.note


def test_restore_test_of_an_rds_instance_named_in_an_fn_sub_arn(bench: Bench) -> None:
    for arn in (
        {"Fn::Sub": "arn:aws:rds:${AWS::Region}:${AWS::AccountId}:db:${Db}"},
        {
            "Fn::Sub": [
                "arn:${AWS::Partition}:rds:${AWS::Region}:${!Id}:db:${Name}",
                {"Name": {"Ref": "Db"}},
            ]
        },
    ):
        result = bench.price(
            {
                **database(),  # db.t4g.micro
                "Plan": restore_plan(),
                "Test": restore_selection(
                    "RDS", [arn], "app_dev_restore_tests", ValidationWindowHours=2
                ),
            }
        )
        # Not the restore_test_db_when_unresolved default (db.t4g.medium, not a test price).
        restored = next(line for line in result.lines if line.driver.startswith("restore-test"))
        assert restored.driver == "restore-test RDS postgres db.t4g.micro (2 h a run)"
        assert restored.note.startswith("restores app-dev-test/Db, single-AZ")
        assert restored.monthly_usd == pytest.approx(WEEKLY_RUNS * 2 * 0.02)


def test_restore_test_plan_and_database_in_another_stack_by_name(bench: Bench) -> None:
    other = {
        "Plan": restore_plan("nightly", "cron(0 3 * * ? *)"),
        **database(DBInstanceClass="db.r6g.large"),  # DBInstanceIdentifier app-dev-db
    }
    test = restore_selection(
        "RDS",
        ["arn:aws:rds:ap-northeast-2:111111111111:db:app-dev-db"],
        "nightly",
        ValidationWindowHours=1,
        RestoreMetadataOverrides={"dbInstanceClass": "db.t4g.micro"},
    )
    result = bench.price({"Test": test}, others=[other])
    runs = 730 / 24  # daily: 30.42 runs a month
    assert cost(result, "AWS Backup restore test jobs") == pytest.approx(runs * 1.5)  # $45.63
    # The override's class, 1 hour a run: 30.42 h x $0.02 = $0.61.
    assert cost(result, "restore-test RDS postgres db.t4g.micro (1 h") == pytest.approx(runs * 0.02)
    restored = next(line for line in result.lines if line.driver.startswith("restore-test"))
    assert restored.note.startswith("restores other-0/Db")


def test_restore_test_of_an_unresolved_database_states_its_assumption(bench: Bench) -> None:
    wildcard = {"ProtectedResourceConditions": {"StringEquals": [{"Key": "aws:ResourceTag/a"}]}}
    result = bench.assume("restore_test_db_when_unresolved=postgres db.t4g.micro").price(
        {
            "Plan": restore_plan(),
            "Tagged": restore_selection(
                "RDS", ["*"], "app_dev_restore_tests", ValidationWindowHours=3, **wildcard
            ),
            "NoWindow": restore_selection(
                "RDS", ["arn:aws:rds:ap-northeast-2:111111111111:db:elsewhere"], {"Ref": "Plan"}
            ),
        }
    )
    jobs = next(line for line in result.lines if line.driver.startswith("AWS Backup restore"))
    assert jobs.resource == "2 resources"
    assert jobs.monthly_usd == pytest.approx(2 * WEEKLY_RUNS * 1.5)  # $13.04
    assert "no ValidationWindowHours: the restored instance is deleted once restored" in jobs.note
    # Only the selection with a window runs the (assumed) instance: 3 h x 4.345 x $0.02.
    restored = [line for line in result.lines if line.driver.startswith("restore-test")]
    assert [line.resource for line in restored] == ["Tagged"]
    assert restored[0].monthly_usd == pytest.approx(WEEKLY_RUNS * 3 * 0.02)
    assert restored[0].note.startswith("assumes restore_test_db_when_unresolved")


def test_restore_test_without_its_plan_is_listed_not_priced(bench: Bench) -> None:
    result = bench.price({"Test": restore_selection("S3", ["*"], "no_such_plan")})
    reason = "restore testing plan 'no_such_plan' is not in this stage: its schedule is unknown"
    assert [(u.resource, u.reason) for u in result.not_priced] == [("Test", reason)]


# --- assumptions and price files ---------------------------------------------------------------


def test_assumption_override_for_all_stages_and_for_one() -> None:
    assumptions = load_assumptions()
    assumptions.override("nat_gb_processed_per_month=7")
    assumptions.override("Prod.nat_gb_processed_per_month=70")
    dev, prod = assumptions.for_stage("Dev"), assumptions.for_stage("Prod")
    assert dev.number("nat_gb_processed_per_month") == 7
    assert prod.number("nat_gb_processed_per_month") == 70
    assert dev.used == {"nat_gb_processed_per_month": (7.0, "--assume")}
    with pytest.raises(CostError, match="unknown assumption 'no_such_thing'"):
        assumptions.override("no_such_thing=1")
    with pytest.raises(CostError, match="takes a number"):
        assumptions.override("nat_gb_processed_per_month=lots")


def test_stage_scoped_override_must_name_a_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "cdk.out"
    write_assembly(outdir, {"Network": (REGION, {"Key": res("AWS::KMS::Key")})})
    assert main([str(outdir), "--assume", "dev.nat_gb_processed_per_month=1"]) == 2
    assert "no stage named 'dev' (stages: Dev)" in capsys.readouterr().err


def test_unknown_region_names_the_file_to_add(tmp_path: Path) -> None:
    prices = write_prices(tmp_path, KNOWN)
    with pytest.raises(CostError) as error:
        load_prices("eu-nowhere-1", prices)
    assert str(tmp_path / "eu-nowhere-1.json") in str(error.value)
    assert REGION in str(error.value)


def test_price_files_are_complete_and_sourced() -> None:
    keys = []
    for region in ("ap-northeast-2", "us-east-1", "ap-northeast-1", "global"):
        data = json.loads((PRICES_DIR / f"{region}.json").read_text())
        assert "LIST PRICES TO VERIFY BEFORE USE" in data["_note"]
        assert next(iter(data)) == "_note"  # the warning comes first in the file
        for key, figure in data["prices"].items():
            assert isinstance(figure["usd"], int | float), key
            assert figure["usd"] >= 0, key
            assert figure["unit"], key
            # Either the page the figure was found on, or an estimate that says why.
            assert re.match(r"https?://\S+$", figure["source"].split(" ; ")[0]) or re.fullmatch(
                r"UNVERIFIED \(estimate\): \S.{20,}", figure["source"]
            ), key
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", figure["as_of"]), key
        keys.append(set(data["prices"]))
    assert keys[0] == keys[1] == keys[2]  # every region prices the same things
    assumptions = json.loads(ASSUMPTIONS_FILE.read_text())["assumptions"]
    assert all(entry["doc"] for entry in assumptions.values())


def test_valkey_nodes_cost_less_than_redis_nodes() -> None:
    for region in ("ap-northeast-2", "us-east-1", "ap-northeast-1"):
        book = load_prices(region)
        for node in ("cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium"):
            valkey = book.usd(f"elasticache.valkey.{node}.hour")
            assert valkey == pytest.approx(book.usd(f"elasticache.redis.{node}.hour") * 0.8)


# --- cron maths --------------------------------------------------------------------------------


def test_cron_fields() -> None:
    cron = Cron.parse("cron(0/15 8-10 ? * MON-FRI *)")
    assert cron.minutes == {0, 15, 30, 45}
    assert cron.hours == {8, 9, 10}
    assert cron.days_of_week == frozenset({2, 3, 4, 5, 6})  # AWS numbering: SUN=1
    assert cron.days_of_month is None
    assert Cron.parse("30 6 1,15 JAN-MAR ?").months == frozenset({1, 2, 3})  # 5 fields


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 9 L * ? *)", "L, W and # are not supported"),
        ("cron(0 9 ? * 2#1 *)", "not supported"),
        ("cron(0 9 1 * MON *)", "set day-of-month or day-of-week"),
        ("cron(0 9 * *)", "5 or 6 fields"),
        ("cron(0 25 * * ? *)", "out of range"),
    ],
)
def test_cron_errors(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        Cron.parse(expression)


def test_weekday_office_hours_are_45_of_168() -> None:
    stops = [(Cron.parse("cron(0 18 ? * MON-FRI *)"), "Asia/Seoul")]
    starts = [(Cron.parse("cron(0 9 ? * MON-FRI *)"), "Asia/Seoul")]
    assert awake_fraction(stops, starts) == pytest.approx(45 / 168)


def test_time_zones_are_compared_in_utc() -> None:
    # 00:00 UTC is 09:00 in Seoul (UTC+9, no daylight saving).
    stops = [(Cron.parse("cron(0 18 ? * MON-FRI *)"), "Asia/Seoul")]
    starts = [(Cron.parse("cron(0 0 ? * MON-FRI *)"), None)]
    assert awake_fraction(stops, starts) == pytest.approx(45 / 168)


def test_night_stop_with_weekend_off() -> None:
    # Stopped 20:00-08:00 every night and all weekend (stop Friday 20:00, start Monday 08:00).
    stops = [(Cron.parse("cron(0 20 ? * MON-FRI *)"), None)]
    starts = [(Cron.parse("cron(0 8 ? * MON-FRI *)"), None)]
    assert awake_fraction(stops, starts) == pytest.approx(60 / 168)


def test_day_of_month_crons_average_over_a_year() -> None:
    # Stopped for the first day of each month: 12 such days in the 364-day window.
    stops = [(Cron.parse("cron(0 0 1 * ? *)"), None)]
    starts = [(Cron.parse("cron(0 0 2 * ? *)"), None)]
    assert awake_fraction(stops, starts) == pytest.approx(1 - 12 / 364)


def test_no_schedule_means_always_awake() -> None:
    assert awake_fraction([], []) == 1


def test_runs_per_month() -> None:
    assert runs_per_month("cron(0 0 * * ? *)") == pytest.approx(730 / 24)  # daily
    assert runs_per_month("rate(5 minutes)") == pytest.approx(730 * 12)
    assert runs_per_month("at(2030-01-01T00:00:00)") == 0


# --- the command line, on a small nested cloud assembly -----------------------------------------


def write_assembly(
    outdir: Path,
    stacks: Mapping[str, tuple[str, dict[str, Any]]],
    stages: Sequence[str] = ("Dev",),
    account: str = "111111111111",
) -> None:
    """A cdk.out with a nested assembly per stage path ("Dev", "Pipeline/Dev"...), each holding
    `stacks` (name -> (region, resources)) named app-<stage>-<name> after the path's last part."""
    root: dict[str, Any] = {"version": "55.0.0", "artifacts": {}}
    for path in stages:
        directory, stage = f"assembly-{path.replace('/', '-')}", path.rsplit("/", 1)[-1]
        nested = outdir / directory
        nested.mkdir(parents=True)
        root["artifacts"][directory] = {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": directory, "displayName": path},
        }
        artifacts = {}
        for name, (region, resources) in stacks.items():
            artifact = f"{path.replace('/', '')}{name}"
            (nested / f"{artifact}.template.json").write_text(json.dumps({"Resources": resources}))
            artifacts[artifact] = {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://{account}/{region}",
                "properties": {
                    "templateFile": f"{artifact}.template.json",
                    "stackName": f"app-{stage.lower()}-{name.lower()}",
                },
                "displayName": f"{path}/{name}",
            }
        manifest = {"version": "55.0.0", "artifacts": artifacts}
        (nested / "manifest.json").write_text(json.dumps(manifest))
    root["artifacts"]["Tree"] = {"type": "cdk:tree", "properties": {"file": "tree.json"}}
    (outdir / "manifest.json").write_text(json.dumps(root))


def test_cli_prints_stages_and_stacks_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "cdk.out"
    write_assembly(
        outdir,
        {
            "Network": (REGION, {"Nat": res("AWS::EC2::NatGateway")}),
            "Edge": (
                "us-east-1",
                {"Key": res("AWS::KMS::Key"), "Stream": res("AWS::Kinesis::Stream")},
            ),
        },
    )
    assert main([str(outdir), "--assume", "nat_gb_processed_per_month=10"]) == 0
    text = capsys.readouterr().out

    seoul, virginia = load_prices(REGION), load_prices("us-east-1")
    nat = 730 * seoul.usd("ec2.nat_gateway.hour") + 10 * seoul.usd("ec2.nat_gateway.gb_processed")
    key = virginia.usd("kms.key.month")
    assert "== Dev" in text
    assert "app-dev-network (ap-northeast-2, Dev/Network)" in text
    assert "app-dev-edge (us-east-1, Dev/Edge)" in text
    assert "NOT PRICED: AWS::Kinesis::Stream Stream" in text
    assert f"Dev total: ${nat + key:,.2f} a month" in text
    assert "nat_gb_processed_per_month = 10  [--assume]" in text

    report = json.loads((outdir / "cost-estimate.json").read_text())
    (stage,) = report["stages"]
    assert stage["name"] == "Dev"
    assert [s["name"] for s in stage["stacks"]] == ["app-dev-network", "app-dev-edge"]
    assert stage["monthly_usd"] == pytest.approx(nat + key, abs=1e-3)
    assert stage["stacks"][1]["not_priced"] == [
        {
            "type": "AWS::Kinesis::Stream",
            "resource": "Stream",
            "reason": "no pricing rule for this type",
        }
    ]
    assert stage["assumptions"]["nat_gb_processed_per_month"] == {"value": 10, "origin": "--assume"}


def test_cli_json_path_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outdir = tmp_path / "cdk.out"
    write_assembly(outdir, {"Network": (REGION, {"Key": res("AWS::KMS::Key")})})
    target = tmp_path / "elsewhere.json"
    assert main([str(outdir), "--json", str(target)]) == 0
    assert json.loads(target.read_text())["monthly_usd"] == pytest.approx(1.0)
    assert not (outdir / "cost-estimate.json").exists()
    assert f"wrote {target}" in capsys.readouterr().out


def test_cli_fails_clearly_on_a_region_without_prices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "cdk.out"
    write_assembly(outdir, {"Network": ("eu-nowhere-1", {"Key": res("AWS::KMS::Key")})})
    assert main([str(outdir)]) == 2
    error = capsys.readouterr().err
    assert "no price file for region 'eu-nowhere-1'" in error
    assert str(PRICES_DIR / "eu-nowhere-1.json") in error
    assert "app-dev-network" in error


def test_cli_fails_clearly_on_a_bad_assumption(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "cdk.out"
    write_assembly(outdir, {"Network": (REGION, {})})
    assert main([str(outdir), "--assume", "nat_gb=1"]) == 2
    assert "unknown assumption 'nat_gb'" in capsys.readouterr().err


def test_a_stack_synthesized_twice_is_priced_once_in_its_own_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # CDK Pipelines: the Dev stage on its own and inside the pipeline stack, the same stack
    # (account, region, name) twice; the nested copy comes first here.
    outdir = tmp_path / "cdk.out"
    stacks = {"Network": (REGION, {"Key": res("AWS::KMS::Key")})}
    write_assembly(outdir, stacks, stages=("Pipeline/Dev", "Dev", "Pipeline/Prod"))
    assert main([str(outdir)]) == 0
    capsys.readouterr()
    report = json.loads((outdir / "cost-estimate.json").read_text())
    assert [stage["name"] for stage in report["stages"]] == ["Dev", "Prod"]
    dev, prod = report["stages"]
    assert [s["display_name"] for s in dev["stacks"]] == ["Dev/Network"]  # the top-level copy
    assert [s["display_name"] for s in prod["stacks"]] == ["Pipeline/Prod/Network"]
    key = load_prices(REGION).usd("kms.key.month")
    assert report["monthly_usd"] == pytest.approx(2 * key, abs=1e-3)  # one key per stage


def test_read_replica_of_a_source_named_by_an_arn(bench: Bench) -> None:
    arn = "arn:aws:rds:ap-northeast-2:111111111111:db:"
    own = {"DBInstanceClass": "db.t4g.micro", "StorageType": "gp3", "MultiAZ": False}
    for source, props in (
        ({"Fn::Join": ["", [arn, {"Ref": "Db"}]]}, own),  # as aws-rds synthesizes it
        ({"Fn::Sub": arn + "${Db}"}, {}),
        ({"Fn::Sub": "arn:aws:rds:${AWS::Region}:${AWS::AccountId}:db:${Db}"}, {}),
        ({"Fn::Sub": "${Db.DBInstanceArn}"}, {}),
        ({"Fn::Sub": [arn + "${Name}", {"Name": {"Ref": "Db"}}]}, {}),
    ):
        replica = res("AWS::RDS::DBInstance", SourceDBInstanceIdentifier=source, **props)
        result = bench.price({**database(), "Replica": replica})
        assert result.not_priced == []
        # The source's engine (and class, 20 GB of gp3 storage when unset); single-AZ though
        # the source is Multi-AZ.
        assert cost(result, "RDS postgres db.t4g.micro read replica") == pytest.approx(14.60)
        assert cost(result, "gp3 storage") == pytest.approx(6.00)  # (2 x 20 + 20) GB x $0.10
        assert result.monthly_usd == pytest.approx(29.20 + 14.60 + 6.00)


def trail_report(tmp_path: Path, account: str) -> dict[str, float]:
    outdir = tmp_path / account
    trail = {"Trail": res("AWS::CloudTrail::Trail", IsLogging=True)}
    write_assembly(outdir, {"Audit": (REGION, trail)}, ("Dev", "Prod"), account)
    assert main([str(outdir), "--assume", "cloudtrail_management_events_100k_per_month=10"]) == 0
    report = json.loads((outdir / "cost-estimate.json").read_text())
    return {stage["name"]: stage["monthly_usd"] for stage in report["stages"]}


def test_first_trail_is_free_per_account_and_the_placeholder_is_one_a_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = 10 * load_prices(REGION).usd("cloudtrail.management_copy.100k_events")
    # Offline synth: 000000000000 stands for an account per stage, each with its free trail.
    assert trail_report(tmp_path, "000000000000") == {"Dev": 0, "Prod": 0}
    # Both stages in one real account: the second trail pays for its copy of the events.
    assert trail_report(tmp_path, "111111111111") == {"Dev": 0, "Prod": pytest.approx(copy)}
    capsys.readouterr()


def test_fargate_spot_arm64_is_priced_in_every_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resources = fargate_service(cpu="256", memory="512", desired=1)
    resources["Task"]["Properties"]["RuntimePlatform"] = {"CpuArchitecture": "ARM64"}
    del resources["Service"]["Properties"]["LaunchType"]
    spot = [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    resources["Service"]["Properties"]["CapacityProviderStrategy"] = spot
    regions = ("ap-northeast-2", "us-east-1", "ap-northeast-1")
    outdir = tmp_path / "cdk.out"
    write_assembly(outdir, {f"App{i}": (region, resources) for i, region in enumerate(regions)})
    assert main([str(outdir)]) == 0
    capsys.readouterr()
    (stage,) = json.loads((outdir / "cost-estimate.json").read_text())["stages"]
    for region, priced in zip(regions, stage["stacks"], strict=True):
        book = load_prices(region)
        vcpu, gb = (book.usd(f"fargate_spot.linux.arm64.{d}_hour") for d in ("vcpu", "gb"))
        assert vcpu < book.usd("fargate.linux.arm64.vcpu_hour")
        assert gb < book.usd("fargate.linux.arm64.gb_hour")
        assert priced["monthly_usd"] == pytest.approx(730 * (0.25 * vcpu + 0.5 * gb), abs=1e-3)


# --- budgets against the estimate ---------------------------------------------------------------


def test_suggested_budget_adds_the_margin_and_rounds_up_to_ten_dollars() -> None:
    assert suggested_budget(250.00, 0.2) == 300  # exactly $300 stays $300
    assert suggested_budget(254.12, 0.2) == 310  # 304.94 -> 310
    assert suggested_budget(1272.87, 0.2) == 1530  # 1,527.44 -> 1,530
    assert suggested_budget(100.00, 0.3) == 130
    assert suggested_budget(0.0, 0.2) == 10  # never a $0 budget


def budget(amount: Any, unit: str, name: str) -> dict[str, Any]:
    spec = {
        "BudgetLimit": {"Amount": amount, "Unit": "USD"},
        "BudgetName": name,
        "BudgetType": "COST",
        "TimeUnit": unit,
    }
    return res("AWS::Budgets::Budget", Budget=spec)


def budget_report(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    budgets: Mapping[str, Any],
    *options: str,
    stages: Sequence[str] = ("Dev",),
) -> tuple[str, dict[str, Any]]:
    """The text (whitespace folded) and JSON of a stage of 250 KMS keys, $250.00 a month at the
    test price, whose Observability stack holds `budgets`."""
    outdir = tmp_path / "cdk.out"
    keys = {f"Key{i}": res("AWS::KMS::Key") for i in range(250)}
    stacks = {"Keys": (REGION, keys), "Observability": (REGION, dict(budgets))}
    write_assembly(outdir, stacks, stages)
    prices = write_prices(tmp_path / "prices", KNOWN)
    target = tmp_path / "cost.json"
    assert main([str(outdir), "--prices", str(prices), "--json", str(target), *options]) == 0
    return " ".join(capsys.readouterr().out.split()), json.loads(target.read_text())


def test_a_budget_below_the_estimate_warns_with_the_option_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budgets = {
        "Monthly": budget(200, "MONTHLY", "app-dev-monthly"),
        "Daily": budget("5", "DAILY", "app-dev-daily"),
    }
    text, report = budget_report(tmp_path, capsys, budgets)
    assert (
        "Dev total: $250.00 a month WARNING: Dev budget $200 a month (app-dev-monthly) is below "
        "the estimate $250.00; set it to the suggested $300 (estimate + 20% budget_margin, "
        "rounded up to the next $10): -c dev.observability.budget.monthly_usd=300"
    ) in text
    # $250 x 24 / 730 = $8.22 a day
    assert (
        "Dev daily budget: $5 a day (app-dev-daily), not compared (the estimate averages $8.22 "
        "a day)"
    ) in text
    assert "budget_margin = 0.2 " in text  # listed with the other assumptions
    (stage,) = report["stages"]
    assert stage["monthly_usd"] == pytest.approx(250.00)
    assert (stage["budget_usd"], stage["budget_name"]) == (200, "app-dev-monthly")
    assert stage["suggested_budget_usd"] == 300
    assert stage["assumptions"]["budget_margin"] == {"value": 0.2, "origin": "default"}


def test_a_budget_above_the_estimate_and_a_margin_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budgets = {"Monthly": budget(500, "MONTHLY", "app-dev-monthly")}
    text, report = budget_report(tmp_path, capsys, budgets, "--assume", "budget_margin=0.3")
    assert (
        "Dev budget: $500 a month (app-dev-monthly) covers the estimate $250.00 (50% of it); "
        "suggested $330 (estimate + 30% budget_margin, rounded up to the next $10)"  # $325 -> $330
    ) in text
    assert "WARNING" not in text
    assert "budget_margin = 0.3 [--assume]" in text
    assert report["stages"][0]["suggested_budget_usd"] == 330


def test_a_stage_without_a_budget_is_given_one_per_stage_margin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, report = budget_report(
        tmp_path, capsys, {}, "--assume", "Prod.budget_margin=0.5", stages=("Dev", "Prod")
    )
    assert (
        "Dev budget: none (no MONTHLY AWS::Budgets::Budget in the stage); suggested $300 "
        "(estimate + 20% budget_margin, rounded up to the next $10): "
        "-c dev.observability.budget.monthly_usd=300"
    ) in text
    # $250 x 1.5 = $375 -> $380
    assert "-c prod.observability.budget.monthly_usd=380" in text
    dev, prod = report["stages"]
    assert (dev["budget_usd"], dev["suggested_budget_usd"]) == (None, 300)
    assert (prod["budget_usd"], prod["suggested_budget_usd"]) == (None, 380)
