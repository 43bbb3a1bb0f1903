"""Times `cdk synth` of the whole platform against an empty CDK app, same CLI, same machine.

The empty app is what `cdk init app --language python` generates; both run through the pinned
CLI and Node from package.json and this virtualenv, warm, alternately, median of N runs each.
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
RUNS = 5


def _time_synth(cwd: Path) -> float:
    shutil.rmtree(cwd / "cdk.out", ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(["cdk", "synth", "--quiet"], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def _interleaved(empty: Path, runs: int) -> tuple[list[float], list[float]]:
    """One untimed warm-up each, then the two apps alternately: a slow spell of a shared
    machine lands on both, not on one."""
    _time_synth(empty), _time_synth(ROOT)
    baseline, platform = [], []
    for _ in range(runs):
        baseline.append(_time_synth(empty))
        platform.append(_time_synth(ROOT))
    return baseline, platform


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
        baseline, platform = _interleaved(empty, RUNS)
    base, full = statistics.median(baseline), statistics.median(platform)
    print(f"empty CDK app  cdk synth: median {base:.1f}s  runs {[round(t, 1) for t in baseline]}")
    print(f"full platform  cdk synth: median {full:.1f}s  runs {[round(t, 1) for t in platform]}")
    print(f"ratio: {full / base:.2f}x (target <= 3x)")
    return 0 if full <= 3 * base else 1


if __name__ == "__main__":
    sys.exit(main())
