"""The compliance gate, failing closed: after synthesis, any unacknowledged finding in the
validation report makes the app exit non-zero, whatever ran it (`cdk synth`, `cdk deploy`, the
pipeline). cdk-nag findings inside a Stage only mark the report as failed; the CLI itself would
still exit 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def findings(outdir: str | Path) -> list[str]:
    """One line per finding: plugin, rule and construct path."""
    report = Path(outdir) / "validation-report.json"
    if not report.exists():
        return []
    data: dict[str, Any] = json.loads(report.read_text())
    return [
        f"{plugin['pluginName']}: {violation['ruleName']} at {construct['constructPath']}"
        for plugin in data.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]
