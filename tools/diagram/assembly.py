"""Reads a synthesized cloud assembly into stages and stacks, and resolves references.

A reference is followed wherever CloudFormation (or CDK) would follow it: `Ref`, `Fn::GetAtt`,
`Fn::Sub`, `Fn::ImportValue` of another stack's export, and `Fn::GetAtt` on CDK's cross-region
export reader, which stands for a value that a writer in another region put into SSM.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from tools.templates import sub_parts, sub_references

Json = Any  # a parsed template value: the templates are untyped JSON
ResKey = tuple[str, str]  # (stack artifact id, logical id): a resource anywhere in a stage

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"
WRITER = "Custom::CrossRegionExportWriter"
READER = "Custom::CrossRegionExportReader"

_MAX_DEPTH = 8  # export chains are one or two hops; this only guards against a cyclic template
_CDK_HASH = re.compile(r"^(?P<name>.+?)[0-9A-F]{8}$")


@dataclass(frozen=True, eq=False)
class Stack:
    key: str  # the artifact id: unique within the assembly, so it keys resources
    region: str
    concern: str  # "Network": the display name without its stage
    template: Mapping[str, Json]

    @property
    def resources(self) -> Mapping[str, Mapping[str, Json]]:
        resources: Mapping[str, Mapping[str, Json]] = self.template.get("Resources") or {}
        return resources

    def type_of(self, logical_id: str) -> str:
        return str(self.resources.get(logical_id, {}).get("Type", ""))

    def props(self, logical_id: str) -> Mapping[str, Json]:
        props: Mapping[str, Json] = self.resources.get(logical_id, {}).get("Properties") or {}
        return props

    @cached_property
    def _by_type(self) -> Mapping[str, list[str]]:
        """Type -> the logical ids of this stack's resources of that type, sorted."""
        index: defaultdict[str, list[str]] = defaultdict(list)
        for logical_id in sorted(self.resources):
            index[self.type_of(logical_id)].append(logical_id)
        return index

    def of_type(self, *types: str) -> Iterator[tuple[str, Mapping[str, Json]]]:
        """(logical id, properties) of this stack's resources of the given types, sorted."""
        for logical_id in sorted(i for t in set(types) for i in self._by_type.get(t, ())):
            yield logical_id, self.props(logical_id)


@dataclass(frozen=True, eq=False)
class Stage:
    name: str  # display name, "Prod"
    stacks: tuple[Stack, ...]

    @property
    def slug(self) -> str:
        """File-name form: lowercase, nested stage paths joined with dashes."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "app"


def load_stages(root: Path) -> list[Stage]:
    """Every stage (nested assembly holding stacks) in manifest order; top-level stacks form
    a stage named "App"."""
    stages: list[Stage] = []
    _walk_assembly(root.resolve(), "", stages, set())
    return stages


def _walk_assembly(directory: Path, stage: str, out: list[Stage], seen: set[Path]) -> None:
    if directory in seen:
        return
    seen.add(directory)
    artifacts: Mapping[str, Json] = json.loads((directory / "manifest.json").read_text()).get(
        "artifacts", {}
    )
    stacks = tuple(
        _load_stack(directory, key, artifact, stage)
        for key, artifact in artifacts.items()
        if artifact.get("type") == STACK_ARTIFACT
    )
    if stacks:
        out.append(Stage(stage or "App", stacks))
    for key, artifact in artifacts.items():
        if artifact.get("type") == NESTED_ASSEMBLY:
            props = artifact.get("properties", {})
            child = (directory / props["directoryName"]).resolve()
            _walk_assembly(child, str(props.get("displayName", key)), out, seen)


def _load_stack(directory: Path, key: str, artifact: Mapping[str, Json], stage: str) -> Stack:
    props = artifact.get("properties", {})
    display = str(artifact.get("displayName", key))
    concern = display.removeprefix(f"{stage}/") if stage else display
    environment = str(artifact.get("environment", "aws://unknown-account/unknown-region"))
    return Stack(
        key=key,
        region=environment.rsplit("/", 1)[-1],
        concern=concern,
        template=json.loads((directory / props["templateFile"]).read_text()),
    )


def strip_hash(logical_id: str) -> str:
    """CDK appends an 8-character hash to the path-derived part of a logical id; drop it."""
    match = _CDK_HASH.match(logical_id)
    return match.group("name") if match else logical_id


def literal(value: Json) -> str | None:
    """The value as text when it is known at synth time (a string, or a join of strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict) and list(value) == ["Fn::Join"]:
        separator, parts = value["Fn::Join"]
        texts = [literal(part) for part in parts]
        if all(text is not None for text in texts):
            return str(separator).join(text for text in texts if text is not None)
    return None


def dig(value: Json, path: str) -> Json:
    """props["A"]["B"] for path "A.B", None where any step is missing."""
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


class Resolver:
    """Follows references across the stacks of one stage."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.stacks = {stack.key: stack for stack in stage.stacks}
        # export name -> (producer, output value)
        self.exports: dict[str, tuple[Stack, Json]] = {}
        # SSM parameter name written by a cross-region writer -> (producer, exported value)
        self.ssm_exports: dict[str, tuple[Stack, Json]] = {}
        for stack in stage.stacks:
            for output in (stack.template.get("Outputs") or {}).values():
                name = (output.get("Export") or {}).get("Name")
                if isinstance(name, str):
                    self.exports[name] = (stack, output.get("Value"))
            for _, props in stack.of_type(WRITER):
                for param, value in (dig(props, "WriterProps.exports") or {}).items():
                    self.ssm_exports[param] = (stack, value)

    def type_of(self, key: ResKey) -> str:
        return self.stacks[key[0]].type_of(key[1])

    def props(self, key: ResKey) -> Mapping[str, Json]:
        return self.stacks[key[0]].props(key[1])

    def refs(self, stack: Stack, value: Json) -> set[ResKey]:
        """Every resource, in any stack of the stage, that the value refers to."""
        found: set[ResKey] = set()
        self._walk(stack, value, found, 0)
        return found

    def refs_of(self, stack: Stack, value: Json, *types: str) -> list[ResKey]:
        """refs() limited to resources of the given types, sorted."""
        return sorted(key for key in self.refs(stack, value) if self.type_of(key) in types)

    def _walk(self, stack: Stack, value: Json, found: set[ResKey], depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        if isinstance(value, list):
            for item in value:
                self._walk(stack, item, found, depth)
            return
        if not isinstance(value, dict):
            return
        if len(value) == 1:
            ((function, argument),) = value.items()
            if self._intrinsic(stack, function, argument, found, depth):
                return
        for item in value.values():
            self._walk(stack, item, found, depth)

    def _intrinsic(
        self, stack: Stack, function: str, argument: Json, found: set[ResKey], depth: int
    ) -> bool:
        """Resolves one intrinsic function; False when it is not one that refers."""
        if function == "Ref" and isinstance(argument, str):
            self._add(stack, argument, found)
        elif function == "Fn::GetAtt":
            logical_id, attribute = (
                argument.split(".", 1) if isinstance(argument, str) else [*argument, ""][:2]
            )
            written = self.ssm_exports.get(str(attribute))
            if stack.type_of(str(logical_id)) == READER and written:
                self._walk(written[0], written[1], found, depth + 1)
            else:
                self._add(stack, str(logical_id), found)
        elif function == "Fn::ImportValue" and isinstance(argument, str):
            if argument in self.exports:
                producer, exported = self.exports[argument]
                self._walk(producer, exported, found, depth + 1)
        elif function == "Fn::Sub":
            for logical_id in sub_references(argument):
                self._add(stack, logical_id, found)
            self._walk(stack, sub_parts(argument)[1], found, depth)
        else:
            return False
        return True

    @staticmethod
    def _add(stack: Stack, logical_id: str, found: set[ResKey]) -> None:
        if logical_id in stack.resources:  # not a parameter or pseudo parameter
            found.add((stack.key, logical_id))


def imports_in(value: Json) -> Iterator[str]:
    """Names of the exports a template value imports."""
    if isinstance(value, list):
        for item in value:
            yield from imports_in(item)
    elif isinstance(value, dict):
        if list(value) == ["Fn::ImportValue"] and isinstance(value["Fn::ImportValue"], str):
            yield value["Fn::ImportValue"]
            return
        for item in value.values():
            yield from imports_in(item)
