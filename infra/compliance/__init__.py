"""Compliance: the nag packs every stage is audited with, and the one list of acknowledgments."""

from infra.compliance.acknowledgments import ACKNOWLEDGMENTS, Ack, apply_acknowledgments
from infra.compliance.packs import apply_packs

__all__ = ["ACKNOWLEDGMENTS", "Ack", "apply_acknowledgments", "apply_packs"]
