"""Acknowledgments per stack, each produced from the stack's configuration and constructs, so
it exists exactly where its reason is true."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk import Stack

from infra.compliance.engine import Ack, acknowledge

AckSource = Callable[[Any], list[Ack]]


def _sources() -> dict[str, AckSource]:
    from infra.compliance.acks import (  # noqa: PLC0415 (each imports its stack module)
        cdn,
        compute,
        data,
        dr,
        network,
        observability,
    )

    return {
        "network": network.acks,
        "dr": dr.acks,
        "data": data.acks,
        "compute": compute.acks,
        "cdn": cdn.acks,
        "observability": observability.acks,
    }


def apply_acknowledgments(stage: Any) -> dict[str, list[Ack]]:
    """Every acknowledgment of one PlatformStage, in one place; returns them by concern."""
    sources = _sources()
    stacks: dict[str, Stack] = stage.stacks
    found = {
        concern: sources[concern](stack) for concern, stack in stacks.items() if concern in sources
    }
    for concern, acks in found.items():
        acknowledge(stage.stacks[concern], acks)
    return found
