"""The cache: a Valkey or Redis replication group with TLS, KMS, an AUTH token, failover across
AZs, snapshots, slow and engine logs, and events to the warning topic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_secretsmanager as secretsmanager

from infra.stacks.base import removal

if TYPE_CHECKING:
    from infra.stacks.data import DataStack

CfnGroup = elasticache.CfnReplicationGroup


@dataclass(frozen=True)
class CacheParts:
    group: elasticache.CfnReplicationGroup
    auth_token: secretsmanager.ISecret

    @property
    def endpoint(self) -> str:
        """The configuration endpoint in cluster mode, the primary endpoint otherwise."""
        attribute = (
            self.group.attr_configuration_end_point_address
            if self.group.cluster_mode == "enabled"
            else self.group.attr_primary_end_point_address
        )
        return attribute


def build_cache(stack: DataStack) -> CacheParts:
    cfg, cache = stack.cfg, stack.cfg.data.cache
    name = cfg.resource_name("cache")
    auth_token = secretsmanager.Secret(
        stack,
        "CacheAuthToken",
        secret_name=cfg.secret_name("cache/auth-token"),
        description="AUTH token of the cache (clients connect over TLS with it)",
        encryption_key=stack.key,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=64, exclude_punctuation=True
        ),
        removal_policy=removal(cfg.removal_policy),
    )
    delivery = []
    for log_type in ("slow-log", "engine-log"):
        log_group = stack.log_group(
            f"CacheLogs-{log_type}", cfg.log_name(f"cache/{log_type}"), stack.key
        )
        delivery.append(
            CfnGroup.LogDeliveryConfigurationRequestProperty(
                log_type=log_type,
                log_format="json",
                destination_type="cloudwatch-logs",
                destination_details=CfnGroup.DestinationDetailsProperty(
                    cloud_watch_logs_details=CfnGroup.CloudWatchLogsDestinationDetailsProperty(
                        log_group=log_group.log_group_name
                    )
                ),
            )
        )
    cluster_mode = cache.shards > 1
    major = cache.engine_version.split(".")[0]
    group = CfnGroup(
        stack,
        "Cache",
        replication_group_id=name,
        replication_group_description=f"{name}: sessions, cache, queues",
        engine=cache.engine.value,
        engine_version=cache.engine_version,
        cache_node_type=cache.node_type,
        num_node_groups=cache.shards,
        replicas_per_node_group=cache.replicas_per_shard,
        cluster_mode="enabled" if cluster_mode else "disabled",
        cache_parameter_group_name=(
            f"default.{cache.engine.value}{major}.cluster.on" if cluster_mode else None
        ),
        automatic_failover_enabled=cache.replicas_per_shard > 0,
        multi_az_enabled=cache.multi_az,
        cache_subnet_group_name=stack.cache_subnets.ref,
        security_group_ids=[stack.security_groups.group("cache").security_group_id],
        port=cache.port,
        at_rest_encryption_enabled=True,
        kms_key_id=stack.key.key_arn,
        transit_encryption_enabled=True,
        transit_encryption_mode="required",
        auth_token=auth_token.secret_value.unsafe_unwrap(),  # a dynamic reference
        snapshot_retention_limit=cache.snapshot_retention_days,
        snapshot_window=cache.snapshot_window,
        preferred_maintenance_window=cache.maintenance_window,
        auto_minor_version_upgrade=True,
        log_delivery_configurations=delivery,
    )
    group.apply_removal_policy(removal(cache.removal_policy))
    return CacheParts(group, auth_token)
