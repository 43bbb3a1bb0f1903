"""Every Python function's asset, as synthesized, imports with nothing but itself, the standard
library and what the Lambda runtime provides (boto3 and its dependencies): a bundled driver
missing one of its own requirements fails here, not on its first invocation. Each asset holds
lambda_src/shared as shared/ next to its handler, as it is, and no byte code."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.jobs import PROFILES
from tests.synth import Pool, resources

# What the Lambda Python runtime ships (boto3 and what it imports).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
SHARED = Path(__file__).resolve().parent.parent / "lambda_src" / "shared"


def contents(root: Path) -> dict[str, bytes]:
    """Every file below `root` but byte code, by relative path."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def lambda_runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only the runtime-provided packages, linked from this environment."""
    root = tmp_path_factory.mktemp("lambda-runtime")
    for module in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(module)
        assert spec is not None, module
        assert spec.origin is not None, module
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (root / source.name).symlink_to(source)
    return root


def python_assets(pool: Pool, job: str) -> dict[Path, list[str]]:
    """Asset folder of the job's Python functions -> every function (stack/logical id) that runs
    it: functions share assets, so each asset is checked once, naming all its functions."""
    result = pool.result(job)
    found: dict[Path, list[str]] = {}
    for stack in result.stacks:
        for logical_id, function in resources(stack.template, "AWS::Lambda::Function").items():
            props = function["Properties"]
            key = props.get("Code", {}).get("S3Key")
            if not str(props.get("Runtime", "")).startswith("python") or not isinstance(key, str):
                continue
            asset = next(result.outdir.glob(f"**/asset.{key.removesuffix('.zip')}"), None)
            if asset is not None and (asset / "handler.py").exists():
                found.setdefault(asset, []).append(f"{stack.stack_name}/{logical_id}")
    return found


@pytest.mark.parametrize("job", PROFILES)
def test_each_function_asset_imports_on_its_own(pool: Pool, job: str, lambda_runtime: Path) -> None:
    assets = python_assets(pool, job)
    assert assets, f"{job}: no Python function assets found"
    shared = contents(SHARED)
    for asset, functions in sorted(assets.items()):
        who = f"{job} {', '.join(sorted(functions))}"
        byte_code = [p for p in asset.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
        assert not byte_code, f"{who}: byte code in the asset: {byte_code[:3]}"
        assert contents(asset / "shared") == shared, f"{who}: shared/ is not lambda_src/shared"
        bundled = sorted(
            p.stem if p.suffix == ".py" else p.name
            for p in asset.iterdir()
            if (p.suffix == ".py" or (p / "__init__.py").exists()) and not p.name.startswith("_")
        )
        code = (
            f"import sys; sys.path[:0] = [{str(asset)!r}, {str(lambda_runtime)!r}]; "
            + "; ".join(f"import {module}" for module in bundled)
        )
        run = subprocess.run(
            [sys.executable, "-S", "-I", "-B", "-c", code],  # -B: the asset stays as synthesized
            capture_output=True,
            text=True,
            check=False,
            env={"AWS_DEFAULT_REGION": "ap-northeast-2", "PATH": os.environ["PATH"]},
        )
        assert run.returncode == 0, f"{who} ({asset.name}): {run.stderr[-600:]}"
