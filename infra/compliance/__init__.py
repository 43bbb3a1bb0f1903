"""Compliance: the nag packs every stage is audited with, and the acknowledgments per stack.

Names are imported on first use, so the gate (`infra.compliance.gate`, which tools/synth_summary.py
reads after synthesis) loads no aws_cdk and starts no jsii runtime."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.compliance.acks import apply_acknowledgments
    from infra.compliance.engine import Ack, StaleAcknowledgmentError
    from infra.compliance.packs import apply_packs

_HOMES = {
    "Ack": "infra.compliance.engine",
    "StaleAcknowledgmentError": "infra.compliance.engine",
    "apply_acknowledgments": "infra.compliance.acks",
    "apply_packs": "infra.compliance.packs",
}
__all__ = [
    "Ack",
    "StaleAcknowledgmentError",
    "apply_acknowledgments",
    "apply_packs",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
