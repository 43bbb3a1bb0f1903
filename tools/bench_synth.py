"""Times `cdk synth` of the whole platform against an empty CDK app, same CLI, same machine.

The empty app is what `cdk init app --language python` generates; both run through the pinned
CLI and Node from package.json and this virtualenv, warm, best and median of N runs.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3


def _time_synth(cwd: Path, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        shutil.rmtree(cwd / "cdk.out", ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(["cdk", "synth", "--quiet"], cwd=cwd, check=True, capture_output=True)
        timings.append(time.perf_counter() - start)
    return timings


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty"
        empty.mkdir()
        subprocess.run(
            ["cdk", "init", "app", "--language", "python", "--generate-only"],
            cwd=empty,
            check=True,
            capture_output=True,
        )
        settings = json.loads((empty / "cdk.json").read_text())
        settings["app"] = f"{sys.executable} app.py"
        (empty / "cdk.json").write_text(json.dumps(settings))
        baseline = _time_synth(empty, RUNS)
    platform = _time_synth(ROOT, RUNS)
    base, full = statistics.median(baseline), statistics.median(platform)
    print(f"empty CDK app  cdk synth: median {base:.1f}s  runs {[round(t, 1) for t in baseline]}")
    print(f"full platform  cdk synth: median {full:.1f}s  runs {[round(t, 1) for t in platform]}")
    print(f"ratio: {full / base:.2f}x (target <= 3x)")
    return 0 if full <= 3 * base else 1


if __name__ == "__main__":
    sys.exit(main())
