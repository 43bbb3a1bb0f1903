"""The compliance gate, failing closed: after synthesis, any unacknowledged finding in the
validation report makes the app exit non-zero, whatever ran it (`cdk synth`, `cdk deploy`, the
pipeline). cdk-nag findings inside a Stage only mark the report as failed; the CLI itself would
still exit 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple


class Finding(NamedTuple):
    """One violating construct of one rule in the validation report."""

    plugin: str
    rule: str
    severity: str
    path: str

    def __str__(self) -> str:
        return f"{self.plugin}: {self.rule} at {self.path}"


def findings(outdir: str | Path) -> list[Finding]:
    """Every finding of the report in `outdir` (none without a report); each prints as one
    line: plugin, rule and construct path."""
    report = Path(outdir) / "validation-report.json"
    if not report.exists():
        return []
    data: dict[str, Any] = json.loads(report.read_text())
    return [
        Finding(
            plugin["pluginName"],
            violation["ruleName"],
            violation.get("severity", ""),
            construct["constructPath"],
        )
        for plugin in data.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]
