"""One environment: the same five stacks for `cdk deploy "Dev/*"` and for the pipeline."""

from __future__ import annotations

from aws_cdk import Environment, Stack, Stage, Tags
from constructs import Construct

from infra.config import StageConfig
from infra.stacks.cdn import CdnStack
from infra.stacks.compute import ComputeStack
from infra.stacks.data import DataStack
from infra.stacks.dr import DisasterRecoveryStack
from infra.stacks.edge import EdgeStack
from infra.stacks.edge_alarms import EdgeAlarmsStack
from infra.stacks.network import NetworkStack
from infra.stacks.observability import ObservabilityStack


class PlatformStage(Stage):
    def __init__(self, scope: Construct, cfg: StageConfig) -> None:
        super().__init__(
            scope, cfg.construct_id, env=Environment(account=cfg.account, region=cfg.region)
        )
        self.cfg = cfg
        self.network = NetworkStack(self, cfg)
        groups = self.network.security_groups
        dr_region = cfg.data.dr_region
        self.dr = DisasterRecoveryStack(self, cfg, dr_region) if cfg.has_dr and dr_region else None
        self.data = DataStack(self, cfg, vpc=self.network.vpc, security_groups=groups, dr=self.dr)
        self.compute = ComputeStack(
            self, cfg, vpc=self.network.vpc, security_groups=groups, data=self.data
        )
        self.edge = EdgeStack(self, cfg)
        self.cdn = CdnStack(self, cfg, edge=self.edge, compute=self.compute, data=self.data)
        self.edge_alarms = EdgeAlarmsStack(self, cfg, edge=self.edge, cdn=self.cdn)
        self.observability = ObservabilityStack(
            self,
            cfg,
            network=self.network,
            compute=self.compute,
            data=self.data,
            edge_alarm_names=self.edge_alarms.critical_alarm_names,
        )
        for key, value in (("Project", cfg.project), ("Stage", cfg.name), ("ManagedBy", "cdk")):
            Tags.of(self).add(key, value)

    @property
    def stacks(self) -> dict[str, Stack]:
        """The stage's stacks by concern, in deployment order."""
        stacks: dict[str, Stack] = {"network": self.network}
        if self.dr is not None:
            stacks["dr"] = self.dr
        stacks |= {
            "data": self.data,
            "compute": self.compute,
            "edge": self.edge,
            "cdn": self.cdn,
            "edge-alarms": self.edge_alarms,
            "observability": self.observability,
        }
        return stacks
