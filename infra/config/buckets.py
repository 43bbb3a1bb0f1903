"""Product buckets (`buckets`): versioning, lifecycle transitions and expiry, replication to
the DR region and AWS Backup, validated against S3's minimum storage durations."""

from __future__ import annotations

from enum import StrEnum

from infra.config import aws
from infra.config.base import Model


class StorageClass(StrEnum):
    STANDARD_IA = "STANDARD_IA"
    ONEZONE_IA = "ONEZONE_IA"
    INTELLIGENT_TIERING = "INTELLIGENT_TIERING"
    GLACIER_IR = "GLACIER_IR"
    GLACIER = "GLACIER"
    DEEP_ARCHIVE = "DEEP_ARCHIVE"


class Transition(Model):
    storage_class: StorageClass
    after_days: int


class BucketConfig(Model):
    """A product bucket with the platform's secure defaults and its own lifecycle."""

    versioned: bool = True
    transitions: tuple[Transition, ...] = ()
    expire_after_days: int | None = None
    noncurrent_transitions: tuple[Transition, ...] = ()
    noncurrent_expire_days: int | None = 90
    replicate_to_dr: bool = False
    """Copy every object to a bucket in data.dr_region."""
    backup: bool = False
    """Include in the AWS Backup plan (point-in-time restore of the bucket)."""

    def problems(self) -> list[str]:
        problems = _lifecycle_problems(
            "transitions", self.transitions, "expire_after_days", self.expire_after_days
        )
        problems += _lifecycle_problems(
            "noncurrent_transitions",
            self.noncurrent_transitions,
            "noncurrent_expire_days",
            self.noncurrent_expire_days,
        )
        if self.noncurrent_transitions and not self.versioned:
            problems.append(
                "noncurrent_transitions: only versioned buckets have noncurrent objects"
            )
        if (self.replicate_to_dr or self.backup) and not self.versioned:
            what = "replication" if self.replicate_to_dr else "AWS Backup"
            problems.append(f"versioned: {what} needs a versioned bucket")
        return problems


def _lifecycle_problems(
    field: str, transitions: tuple[Transition, ...], expire_field: str, expire: int | None
) -> list[str]:
    problems = []
    days = [t.after_days for t in transitions]
    if days != sorted(days) or len(set(days)) != len(days):
        problems.append(f"{field}: {days} must be in increasing order of days")
    for index, transition in enumerate(transitions):
        if transition.after_days < 1:
            problems.append(f"{field}[{index}].after_days: must be >= 1")
        ia = transition.storage_class in (StorageClass.STANDARD_IA, StorageClass.ONEZONE_IA)
        if ia and transition.after_days < aws.MIN_STANDARD_IA_DAYS:
            problems.append(
                f"{field}[{index}].after_days: {transition.after_days}; S3 moves objects to "
                f"{transition.storage_class.value} after {aws.MIN_STANDARD_IA_DAYS} days at the "
                "earliest"
            )
        previous = transitions[index - 1] if index else None
        if (
            previous is not None
            and previous.storage_class in (StorageClass.STANDARD_IA, StorageClass.ONEZONE_IA)
            and transition.after_days < previous.after_days + aws.MIN_STANDARD_IA_DAYS
        ):
            problems.append(
                f"{field}[{index}].after_days: {transition.after_days} must be at least "
                f"{aws.MIN_STANDARD_IA_DAYS} days after the {previous.storage_class.value} "
                f"transition ({previous.after_days})"
            )
    if expire is not None and (expire < 1 or (days and expire <= days[-1])):
        problems.append(
            f"{expire_field}: {expire} must be later than the last "
            f"transition ({days[-1] if days else 0} days)"
        )
    return problems
