"""Acknowledged findings of the disaster-recovery stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.compliance.acks.common import access_log_bucket
from infra.compliance.engine import Ack

if TYPE_CHECKING:
    from infra.stacks.dr import DisasterRecoveryStack


def acks(stack: DisasterRecoveryStack) -> list[Ack]:
    return [
        *(access_log_bucket("AccessLogsBucket") if stack.replicas else []),
        *(
            Ack(
                f"{bucket.node.id}/Resource",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                f"This bucket is the cross-region replica of {name}; replicating the replica "
                "again would add cost without a further recovery point.",
            )
            for name, bucket in stack.replicas.items()
        ),
    ]
