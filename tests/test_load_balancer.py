"""The application load balancer: reachable only through CloudFront (its origin-verify header
on every rule), TLS where the stage has a domain, logged, and kind to WebSockets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import STAGES
from tests.stacks import profile_stages
from tests.synth import Synthesized, Template, resources
from tests.templates import one

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}
SERVICES = ("web", "api", "ws")
# Every stage's listener rules, path patterns: priority, as infra/profiles/default.toml declares
# them (explicit priorities, so the catch-all is evaluated last).
ROUTES = {("/ws/*", "/socket.io/*"): 10, ("/api/*",): 20, ("/*",): 30}


def attributes(resource: dict[str, Any], key: str) -> dict[str, Any]:
    return {a["Key"]: a["Value"] for a in resource["Properties"][key]}


def target_group(template: Template, service: str) -> dict[str, Any]:
    return one(template, "AWS::ElasticLoadBalancingV2::TargetGroup", f"Service{service}Targets")


@pytest.mark.parametrize("stage", STAGES)
def test_load_balancer_is_public_logged_and_drops_invalid_headers(
    platform: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    alb = one(platform.template(stage, "compute"), "AWS::ElasticLoadBalancingV2::LoadBalancer")
    props = alb["Properties"]
    assert (props["Type"], props["Scheme"]) == ("application", "internet-facing")
    assert props["Name"] == f"webplat-{stage.lower()}-alb"
    subnets = [s["Fn::ImportValue"] for s in props["Subnets"]]
    assert len(subnets) == len(cfg.network.availability_zones)
    assert all("publicSubnet" in s for s in subnets)
    (group,) = props["SecurityGroups"]
    assert "SecurityGroupsalb" in group["Fn::ImportValue"]
    found = attributes(alb, "LoadBalancerAttributes")
    assert found["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert found["idle_timeout.timeout_seconds"] == str(cfg.compute.idle_timeout_seconds) == "120"
    assert found["access_logs.s3.enabled"] == "true"
    assert found["access_logs.s3.prefix"] == "alb"
    assert "AccessLogsBucket" in found["access_logs.s3.bucket"]["Fn::ImportValue"]


@pytest.mark.parametrize(
    ("stage", "protected"), [("Dev", False), ("Staging", True), ("Prod", True)]
)
def test_deletion_protection_per_stage(platform: Synthesized, stage: str, protected: bool) -> None:
    alb = one(platform.template(stage, "compute"), "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert CONFIGS[stage].compute.load_balancer_deletion_protection is protected
    expected = "true" if protected else "false"
    assert attributes(alb, "LoadBalancerAttributes")["deletion_protection.enabled"] == expected


@pytest.mark.parametrize("stage", STAGES)
def test_without_the_origin_header_the_listener_refuses(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    listener = one(platform.template(stage, "compute"), "AWS::ElasticLoadBalancingV2::Listener")
    props = listener["Properties"]
    assert props["Port"] == cfg.listener_port
    assert props["Protocol"] == ("HTTPS" if cfg.domain else "HTTP")
    (action,) = props["DefaultActions"]
    assert action["Type"] == "fixed-response"
    assert action["FixedResponseConfig"]["StatusCode"] == "403"  # no header, no entry


def test_prod_listens_on_https_with_a_tls13_policy(platform: Synthesized) -> None:
    template = platform.template("Prod", "compute")
    listener = one(template, "AWS::ElasticLoadBalancingV2::Listener")["Properties"]
    assert (listener["Port"], listener["Protocol"]) == (443, "HTTPS")
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    (certificate_id,) = resources(template, "AWS::CertificateManager::Certificate")
    assert listener["Certificates"] == [{"CertificateArn": {"Ref": certificate_id}}]
    certificate = template["Resources"][certificate_id]["Properties"]
    assert certificate["DomainName"] == "origin.example.com"
    assert certificate["ValidationMethod"] == "DNS"


@pytest.mark.parametrize("stage", STAGES)
def test_every_rule_requires_cloudfronts_origin_header(platform: Synthesized, stage: str) -> None:
    rules = resources(
        platform.template(stage, "compute"), "AWS::ElasticLoadBalancingV2::ListenerRule"
    )
    routes = {}
    for rule in rules.values():
        conditions = {c["Field"]: c for c in rule["Properties"]["Conditions"]}
        assert set(conditions) == {"http-header", "path-pattern"}
        header = conditions["http-header"]["HttpHeaderConfig"]
        assert header["HttpHeaderName"] == "X-Origin-Verify"
        value = json.dumps(header["Values"])
        assert "{{resolve:secretsmanager:" in value  # never a literal
        assert "OriginVerifySecret" in value
        paths = tuple(conditions["path-pattern"]["PathPatternConfig"]["Values"])
        routes[paths] = rule["Properties"]["Priority"]
    assert routes == ROUTES
    assert routes[("/*",)] == max(routes.values())  # the catch-all is evaluated last


def test_alb_rule_priorities_are_explicit_and_stable(platform: Synthesized) -> None:
    rules = resources(
        platform.template("Prod", "compute"), "AWS::ElasticLoadBalancingV2::ListenerRule"
    )
    by_path = {
        next(
            c["PathPatternConfig"]["Values"][0]
            for c in r["Properties"]["Conditions"]
            if "PathPatternConfig" in c
        ): r["Properties"]["Priority"]
        for r in rules.values()
    }
    assert by_path == {"/ws/*": 10, "/api/*": 20, "/*": 30}


def test_derived_priorities_never_renumber_other_services() -> None:
    from infra.config.services import ServiceConfig  # noqa: PLC0415

    api = ServiceConfig(port=1, paths=("/api/*",))
    web = ServiceConfig(port=2, paths=("/*",))
    admin = ServiceConfig(port=3, paths=("/admin/*",))
    before = {"api": api.rule_priority("api"), "web": web.rule_priority("web")}
    after = {**before, "admin": admin.rule_priority("admin")}
    assert {k: after[k] for k in before} == before  # adding admin changes nobody else
    assert after["api"] < after["web"]  # the catch-all last
    assert after["admin"] < after["web"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", SERVICES)
def test_target_groups_check_the_health_path(
    platform: Synthesized, stage: str, service: str
) -> None:
    spec = CONFIGS[stage].services[service]
    props = target_group(platform.template(stage, "compute"), service)["Properties"]
    assert (props["TargetType"], props["Protocol"], props["Port"]) == ("ip", "HTTP", spec.port)
    assert props["HealthCheckPath"] == spec.health_check_path
    assert (props["HealthyThresholdCount"], props["UnhealthyThresholdCount"]) == (2, 3)
    assert props["HealthCheckIntervalSeconds"] == 15


@pytest.mark.parametrize("stage", STAGES)
def test_websockets_stick_and_drain_longer_than_the_idle_timeout(
    platform: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    template = platform.template(stage, "compute")
    ws = attributes(target_group(template, "ws"), "TargetGroupAttributes")
    assert cfg.services["ws"].sticky_sessions is True
    assert ws["stickiness.enabled"] == "true"
    assert ws["stickiness.type"] == "lb_cookie"
    assert ws["stickiness.lb_cookie.duration_seconds"] == str(24 * 3600)
    drain = int(ws["deregistration_delay.timeout_seconds"])
    assert drain == cfg.compute.idle_timeout_seconds + 30  # open sockets close before the stop
    for service in ("web", "api"):  # short-lived requests drain fast and never stick
        found = attributes(target_group(template, service), "TargetGroupAttributes")
        assert found["deregistration_delay.timeout_seconds"] == "30"
        assert found["stickiness.enabled"] == "false"
