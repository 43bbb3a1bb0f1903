"""Compliance: the nag packs every stage is audited with, and the acknowledgments per stack."""

from infra.compliance.acks import apply_acknowledgments, stage_acknowledgments
from infra.compliance.engine import Ack, StaleAcknowledgmentError
from infra.compliance.packs import apply_packs

__all__ = [
    "Ack",
    "StaleAcknowledgmentError",
    "apply_acknowledgments",
    "apply_packs",
    "stage_acknowledgments",
]
