"""Applies acknowledgments to the constructs they name, and refuses stale ones.

An `Ack` names one construct path inside one stack (exact segments, or shell wildcards inside a
segment) and one exact rule id (granular ids like `AwsSolutions-IAM5[Resource::*]` included).
Acknowledgments are produced per stack from its configuration and constructs, so each exists
only where its reason is true; one that matches nothing is an error, never silently kept.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct, Node

MIN_REASON = 80


@dataclass(frozen=True)
class Ack:
    path: str
    rule: str
    reason: str

    def __post_init__(self) -> None:
        if not self.path or self.path.startswith("*"):
            raise ValueError(f"acknowledgment {self.rule}: name a construct, not a whole stack")
        if len(self.reason) < MIN_REASON:
            raise ValueError(f"acknowledgment {self.rule} at {self.path}: say why, specifically")


class StaleAcknowledgmentError(ValueError):
    pass


class Tree:
    """One stack's constructs as the acknowledgments read them, each answer fetched once: every
    jsii call is a round trip to Node.js, and synth time is a budget."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.path = stack.node.path
        self._all: list[IConstruct] | None = None
        # id() keys; the values hold the constructs, so an id() is never reused meanwhile.
        self._children: dict[int, tuple[IConstruct, list[tuple[str, IConstruct]]]] = {}
        self._child: dict[tuple[int, str], tuple[IConstruct, IConstruct | None]] = {}
        self._nodes: dict[int, tuple[IConstruct, Node]] = {}

    @property
    def all(self) -> list[IConstruct]:
        if self._all is None:
            self._all = list(self.stack.node.find_all())
        return self._all

    def children(self, parent: IConstruct) -> list[tuple[str, IConstruct]]:
        if id(parent) not in self._children:
            self._children[id(parent)] = (
                parent,
                [(child.node.id, child) for child in self.node(parent).children],
            )
        return self._children[id(parent)][1]

    def node(self, construct: IConstruct) -> Node:
        if id(construct) not in self._nodes:
            self._nodes[id(construct)] = (construct, construct.node)
        return self._nodes[id(construct)][1]

    def child(self, parent: IConstruct, name: str) -> IConstruct | None:
        key = (id(parent), name)
        if key not in self._child:
            self._child[key] = (parent, self.node(parent).try_find_child(name))
        return self._child[key][1]

    def relative(self, construct: IConstruct) -> str:
        return construct.node.path.removeprefix(f"{self.path}/")


def tree(stack: Stack) -> Tree:
    """The stack's Tree, made once and kept on the (Python) stack object."""
    found: Tree | None = getattr(stack, "_compliance_tree", None)
    if found is None:
        found = Tree(stack)
        stack._compliance_tree = found  # type: ignore[attr-defined]
    return found


def acknowledge(stack: Stack, acks: Iterable[Ack]) -> None:
    """Every ack on the constructs its path names, in one call per construct."""
    per_target: dict[int, tuple[IConstruct, list[Acknowledgment]]] = {}
    for ack in acks:
        targets = find_constructs(stack, ack.path)
        if not targets:
            raise StaleAcknowledgmentError(
                f"acknowledgment {ack.rule} names {stack.node.path}/{ack.path}, which matches "
                "nothing; remove or update it in infra/compliance/acks/"
            )
        for target in targets:
            entry = per_target.setdefault(id(target), (target, []))
            entry[1].append(Acknowledgment(id=ack.rule, reason=ack.reason))
    for target, acknowledgments in per_target.values():
        Validations.of(target).acknowledge(*acknowledgments)


def find_constructs(root: Stack, path: str) -> list[IConstruct]:
    """Constructs under the stack `root` at `path`; a segment may use shell wildcards
    (`publicSubnet*`)."""
    view = tree(root)
    found: list[IConstruct] = [root]
    for segment in path.split("/"):
        if not any(char in segment for char in "*?["):
            found = [c for p in found if (c := view.child(p, segment)) is not None]
            continue
        found = [
            child
            for parent in found
            for name, child in view.children(parent)
            if fnmatch.fnmatchcase(name, segment)
        ]
    return found


def logical_id(stack: Stack, construct: IConstruct) -> str:
    """The logical id CloudFormation (and so cdk-nag's granular ids) use for a construct."""
    child = construct.node.default_child or construct
    return stack.get_logical_id(child)  # type: ignore[arg-type]
