"""CloudFormation template helpers shared by the cost estimator and the diagram tool.

Only what reads a template value on its own, with no stack around it: which logical ids a
value names, the variables of an `Fn::Sub`, and which resource types are custom resources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

CUSTOM_PREFIX, GENERIC_CUSTOM = "Custom::", "AWS::CloudFormation::CustomResource"
PSEUDO_PREFIX = "AWS::"  # pseudo parameters: AWS::Region, AWS::AccountId, ...
# ${Name} or ${Name.Attribute}; ${!Literal} is escaped text, not a variable.
SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")


def is_custom_resource(resource_type: str) -> bool:
    return resource_type.startswith(CUSTOM_PREFIX) or resource_type == GENERIC_CUSTOM


def sub_parts(argument: Any) -> tuple[str, Mapping[str, Any]]:
    """An `Fn::Sub` argument as (text, variables): a string alone, or [string, {variables}]."""
    if isinstance(argument, list) and argument:
        variables = argument[1] if len(argument) > 1 and isinstance(argument[1], dict) else {}
        return str(argument[0]), variables
    return str(argument), {}


def sub_references(argument: Any) -> set[str]:
    """Logical ids an `Fn::Sub` text names: `${X}` and `${X.Attr}` (as X), not the variables
    it defines itself, not pseudo parameters and not `${!Literal}`."""
    text, variables = sub_parts(argument)
    return {
        name.split(".", 1)[0]
        for name in SUB_VARIABLE.findall(text)
        if name not in variables and not name.startswith(PSEUDO_PREFIX)
    }


def ref_target(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` points at, if `value` is one."""
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(value.get("Ref"), str) and not value["Ref"].startswith(PSEUDO_PREFIX):
            return str(value["Ref"])
        target = value.get("Fn::GetAtt")
        if isinstance(target, list) and target:
            return str(target[0])
        if isinstance(target, str):
            return target.split(".", 1)[0]
    return None


def references(value: Any) -> set[str]:
    """Every logical id referenced anywhere inside `value`: by `Ref`, `Fn::GetAtt` or a
    variable of `Fn::Sub` (parameters included: the caller looks the ids up)."""
    found: set[str] = set()
    target = ref_target(value)
    if target:
        found.add(target)
    if isinstance(value, dict):
        if len(value) == 1 and "Fn::Sub" in value:
            found |= sub_references(value["Fn::Sub"])
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found
