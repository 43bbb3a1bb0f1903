"""Prints what `cdk synth` produced: stages, stacks, resources per stack, compliance result."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def main(outdir: Path) -> int:
    print(f"{'stack':<34} {'region':<15} {'resources':>9}")
    stages: Counter[str] = Counter()
    root = json.loads((outdir / "manifest.json").read_text())["artifacts"]
    nested = [a for a in root.values() if a["type"] == "cdk:cloud-assembly"]  # in app order
    for manifest_file in (
        outdir / a["properties"]["directoryName"] / "manifest.json" for a in nested
    ):
        artifacts = json.loads(manifest_file.read_text())["artifacts"].values()
        for artifact in artifacts:
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            props = artifact["properties"]
            template = json.loads((manifest_file.parent / props["templateFile"]).read_text())
            count = len(template.get("Resources", {}))
            stage = artifact["displayName"].split("/")[0]
            stages[stage] += count
            region = artifact["environment"].rsplit("/", 1)[-1]
            print(f"{props['stackName']:<34} {region:<15} {count:>9}")
    print("stages: " + ", ".join(f"{name} ({total} resources)" for name, total in stages.items()))

    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    findings = [
        (plugin["pluginName"], violation["ruleName"], construct["constructPath"])
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation["violatingConstructs"]
    ]
    for plugin, rule, path in findings:
        print(f"  finding: {plugin} {rule} at {path}")
    print(
        "compliance: AwsSolutions + NIST 800-53 rev 5 + CloudFormation validation: "
        + (
            "clean (all findings fixed or acknowledged)"
            if not findings
            else f"{len(findings)} finding(s)"
        )
    )
    return 1 if findings or not stages else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
