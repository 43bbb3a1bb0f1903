"""Synthesizes an app the way `cdk synth` does and reads the result back as plain JSON.

Templates are read from the cloud assembly on disk, so a compliance failure (which makes
`app.synth()` raise) still leaves every template and the validation report to inspect.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import App

ROOT = Path(__file__).resolve().parent.parent
CDK_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
ASSET_HASH = re.compile(r"[0-9a-f]{64}")

Template = dict[str, Any]


@dataclass
class StackTemplate:
    stage: str  # "Dev"
    concern: str  # "network"
    stack_name: str
    region: str
    template_file: str
    template: Template


@dataclass
class Synthesized:
    outdir: Path
    stacks: list[StackTemplate]
    report: dict[str, Any]
    error: str | None = None
    by_key: dict[tuple[str, str], StackTemplate] = field(init=False)

    def __post_init__(self) -> None:
        self.by_key = {(s.stage, s.concern): s for s in self.stacks}

    def template(self, stage: str, concern: str) -> Template:
        return self.by_key[(stage, concern)].template

    def violations(self) -> list[tuple[str, str, str, str]]:
        """(plugin, rule, severity, construct path) for every reported finding."""
        return [
            (plugin["pluginName"], v["ruleName"], v["severity"], c["constructPath"])
            for plugin in self.report.get("pluginReports", [])
            for v in plugin.get("violations", [])
            for c in v["violatingConstructs"]
        ]


def new_app(outdir: Path, **context: Any) -> App:
    return App(outdir=str(outdir), context={**CDK_CONTEXT, **context})


def synthesize(app: App) -> Synthesized:
    outdir = Path(app.outdir)
    error = None
    try:
        app.synth()
    except RuntimeError as err:  # ValidationFailed: findings are in the report
        error = str(err)
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return Synthesized(outdir, list(_read_stacks(outdir)), report, error)


def _read_stacks(outdir: Path) -> list[StackTemplate]:
    stacks = []
    for manifest_file in sorted(outdir.glob("**/manifest.json")):
        manifest = json.loads(manifest_file.read_text())
        for artifact in manifest.get("artifacts", {}).values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            stage, _, construct = artifact["displayName"].rpartition("/")
            props = artifact["properties"]
            template = json.loads((manifest_file.parent / props["templateFile"]).read_text())
            stacks.append(
                StackTemplate(
                    stage=stage,
                    concern=construct.lower(),
                    stack_name=props.get("stackName", construct),
                    region=artifact["environment"].rsplit("/", 1)[-1],
                    template_file=props["templateFile"],
                    template=template,
                )
            )
    return stacks


def normalize(template: Template) -> Template:
    """Template with asset hashes replaced, so code changes don't churn unrelated snapshots."""
    normalized: Template = json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))
    return normalized


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }
