"""Prints what `cdk synth` produced: stages, stacks, resources per stack, compliance result."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (`python tools/synth_summary.py`, make synth)
    sys.path.insert(0, str(ROOT))

from infra.compliance.gate import findings  # noqa: E402


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

    found = findings(outdir)
    for finding in found:
        print(f"  finding: {finding.plugin} {finding.rule} at {finding.path}")
    print(
        "compliance: AwsSolutions + NIST 800-53 rev 5 + CloudFormation validation: "
        + (
            "clean (all findings fixed or acknowledged)"
            if not found
            else f"{len(found)} finding(s)"
        )
    )
    return 1 if found or not stages else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
