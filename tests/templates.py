"""Reading synthesized templates in tests: resources by type, the security-group matrix,
references between resources."""

from __future__ import annotations

import json
from typing import Any

from tests.synth import Template, resources

DENY_ALL_EGRESS_MARKER = "255.255.255.255/32"  # CDK's placeholder rule for "no egress"


def one(template: Template, resource_type: str, prefix: str = "") -> dict[str, Any]:
    (found,) = [
        r for lid, r in resources(template, resource_type).items() if lid.startswith(prefix)
    ]
    return found


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


def exported(producer: Template, value: Any) -> str | None:
    """The producer's logical id behind an Fn::ImportValue of one of its outputs."""
    if not isinstance(value, dict) or "Fn::ImportValue" not in value:
        return None
    for output in producer.get("Outputs", {}).values():
        if output.get("Export", {}).get("Name") == value["Fn::ImportValue"]:
            return ref(output["Value"])
    return None
