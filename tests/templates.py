"""Reading synthesized templates in tests: resources by type, the security-group matrix,
references between resources, roles' grants, keys, alarms and their topics, load balancer
routing."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from tests.synth import Template, resources

if TYPE_CHECKING:
    from infra.config import Retention

DENY_ALL_EGRESS_MARKER = "255.255.255.255/32"  # CDK's placeholder rule for "no egress"
ORIGIN_HEADER = "X-Origin-Verify"  # the header CloudFront adds and the ALB's rules require
DELETION = {"destroy": "Delete", "snapshot": "Snapshot", "retain": "Retain"}


def one_id(template: Template, resource_type: str, prefix: str = "") -> str:
    """The logical id of the template's only resource of the type (whose id starts with
    `prefix`)."""
    (found,) = [i for i in resources(template, resource_type) if i.startswith(prefix)]
    return found


def one(template: Template, resource_type: str, prefix: str = "") -> dict[str, Any]:
    """The template's only resource of the type (whose logical id starts with `prefix`)."""
    found: dict[str, Any] = template["Resources"][one_id(template, resource_type, prefix)]
    return found


def pascal(name: str) -> str:
    """A declared kebab-case name as a construct id: job-worker -> JobWorker."""
    return "".join(part.capitalize() for part in name.split("-"))


def lid(name: str) -> str:
    """A declared name as it appears in logical ids (construct ids lose "-" and "_")."""
    return name.replace("-", "").replace("_", "")


def security_group_tiers(template: Template) -> dict[str, str]:
    return {
        logical_id: sg["Properties"]["GroupDescription"].split(" tier:")[0]
        for logical_id, sg in resources(template, "AWS::EC2::SecurityGroup").items()
        if " tier:" in sg["Properties"]["GroupDescription"]
    }


def flows(template: Template, direction: str) -> set[tuple[str, str, int]]:
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
        if "CidrIp" in rule:
            peer = str(rule["CidrIp"])
        elif "SourcePrefixListId" in rule:
            peer = str(rule["SourcePrefixListId"])
        else:
            peer = tiers[rule[peer_key]["Fn::GetAtt"][0]]
        pair = (peer, tier) if direction == "Ingress" else (tier, peer)
        result.add((*pair, rule["FromPort"]))
    return result


def mentions(node: Any, logical_id: str) -> bool:
    """Whether a template fragment references a resource (Ref or GetAtt)."""
    text = json.dumps(node)
    return f'"Ref": "{logical_id}"' in text or f'"Fn::GetAtt": ["{logical_id}"' in text


def statements(template: Template) -> list[dict[str, Any]]:
    """Every IAM policy statement of the template (policies and managed policies)."""
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in resources(template, kind).values():
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return value if isinstance(value, list) else [value]


def ref(node: Any) -> str | None:
    """The logical id a Ref or Fn::GetAtt points at."""
    if not isinstance(node, dict):
        return None
    if "Ref" in node:
        return str(node["Ref"])
    if "Fn::GetAtt" in node:
        return str(node["Fn::GetAtt"][0])
    return None


def deletion_policy(retention: Retention) -> str:
    """CloudFormation's DeletionPolicy (and UpdateReplacePolicy) for a configured retention."""
    return DELETION[retention.value]


def key_ref(template: Template, alias_suffix: str) -> dict[str, Any]:
    """{"Fn::GetAtt": [key, "Arn"]} of the template's key aliased alias/<prefix>-<suffix>."""
    (target,) = [
        a["Properties"]["TargetKeyId"]
        for a in resources(template, "AWS::KMS::Alias").values()
        if a["Properties"]["AliasName"].endswith(f"-{alias_suffix}")
    ]
    return target  # type: ignore[no-any-return]


def role_statements(
    template: Template, kinds: tuple[str, ...] = ("AWS::IAM::Policy",)
) -> list[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) of every statement of the policies of `kinds` (by default
    the inline ones) that name a role of the template in their Roles."""
    return [
        (role, statement)
        for kind in kinds
        for policy in resources(template, kind).values()
        for role in (ref(r) for r in policy["Properties"].get("Roles", []))
        if role is not None
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def role_actions(template: Template, role: str) -> set[str]:
    """Every action a role of the template is granted: inline policies, and managed policies of
    the template attached to it from either side."""
    kinds = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
    found = {
        a for owner, s in role_statements(template, kinds) if owner == role for a in actions(s)
    }
    props = template["Resources"][role]["Properties"]
    for attached in (r["Ref"] for r in props.get("ManagedPolicyArns", []) if "Ref" in r):
        policy = template["Resources"].get(attached, {})
        if policy.get("Type") in kinds:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found.update(actions(statement))
    return found


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    """{alarm name: properties} of every CloudWatch alarm of the template (names are unique)."""
    found: dict[str, dict[str, Any]] = {}
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        name = alarm["Properties"]["AlarmName"]
        assert name not in found, f"two alarms named {name}"
        found[name] = alarm["Properties"]
    return found


def topic_levels(template: Template) -> dict[str, str]:
    """{topic logical id: alert level}, from the topic names "<project>-<stage>-alerts-<level>"."""
    return {
        logical_id: t["Properties"]["TopicName"].rsplit("-", 1)[-1]
        for logical_id, t in resources(template, "AWS::SNS::Topic").items()
    }


def topics(template: Template) -> dict[str, str]:
    """Alert level (critical, warning, info) -> logical id of its topic."""
    return {level: logical_id for logical_id, level in topic_levels(template).items()}


def periods(alarm: dict[str, Any]) -> set[int]:
    """The metric periods of an alarm, on a single metric or in a math expression."""
    if "Period" in alarm:
        return {alarm["Period"]}
    return {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m}


def metric_names(alarm: dict[str, Any]) -> set[str]:
    """The metric names of an alarm, on a single metric or in a math expression."""
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}


def namespaces(alarm: dict[str, Any]) -> set[str]:
    """The metric namespaces of an alarm, on a single metric or in a math expression."""
    if "Namespace" in alarm:
        return {alarm["Namespace"]}
    return {m["MetricStat"]["Metric"]["Namespace"] for m in alarm["Metrics"] if "MetricStat" in m}


def route(compute: Template, path: str, host: str | None, *, via_cloudfront: bool) -> str | None:
    """The ECS service name the ALB forwards a request to: the first rule, by priority, whose
    every condition holds (CloudFront's requests carry the origin header; direct clients do
    not)."""
    targets: dict[str | None, str] = {
        ref(lb["TargetGroupArn"]): svc["Properties"]["ServiceName"]
        for svc in resources(compute, "AWS::ECS::Service").values()
        for lb in svc["Properties"].get("LoadBalancers", [])
    }
    rules = sorted(
        resources(compute, "AWS::ElasticLoadBalancingV2::ListenerRule").values(),
        key=lambda r: int(r["Properties"]["Priority"]),
    )
    for rule in rules:
        if all(_holds(c, path, host, via_cloudfront) for c in rule["Properties"]["Conditions"]):
            (action,) = rule["Properties"]["Actions"]
            return targets[ref(action["TargetGroupArn"])]
    return None


def _holds(condition: dict[str, Any], path: str, host: str | None, via_cloudfront: bool) -> bool:
    field = condition["Field"]
    if field == "path-pattern":
        return any(fnmatchcase(path, p) for p in condition["PathPatternConfig"]["Values"])
    if field == "host-header":
        return host in condition["HostHeaderConfig"]["Values"]
    if field == "http-header":
        return via_cloudfront and condition["HttpHeaderConfig"]["HttpHeaderName"] == ORIGIN_HEADER
    raise AssertionError(f"unexpected rule condition {condition}")


def exported(producer: Template, value: Any) -> str | None:
    """The producer's logical id behind an Fn::ImportValue of one of its outputs."""
    if not isinstance(value, dict) or "Fn::ImportValue" not in value:
        return None
    for output in producer.get("Outputs", {}).values():
        if output.get("Export", {}).get("Name") == value["Fn::ImportValue"]:
            return ref(output["Value"])
    return None
