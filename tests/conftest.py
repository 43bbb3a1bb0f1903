from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# jsii runs on the pinned Node.js 22 from package.json, not the machine's (end-of-life) Node.
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

# The suite tests the code, never a deployment's settings: the pipeline's synth step runs
# `make test` with PLATFORM_* set (and subprocess tests pass the environment on).
for _variable in [v for v in os.environ if v.startswith("PLATFORM_") or v == "CDK_CONTEXT_JSON"]:
    del os.environ[_variable]

from tests.jobs import JOBS  # noqa: E402
from tests.synth import Pool, Synthesized  # noqa: E402

STAGES = ("Dev", "Staging", "Prod")
UNIT_ONLY = ("config", "lambda_src", "tools")
"""Test folders that synthesize nothing: running only them starts no synthesis."""
_needs_synth = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = ROOT / "tests"
    config.stash[_needs_synth] = any(
        item.path.relative_to(tests).parts[0] not in UNIT_ONLY for item in items
    )


@pytest.fixture(scope="session", autouse=True)
def pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pool]:
    """Starts synthesizing every job when the session starts (the unit tests run meanwhile)."""
    jobs = JOBS if request.config.stash.get(_needs_synth, True) else []
    running = Pool(tmp_path_factory.mktemp("synth"), jobs)
    yield running
    running.close()


@pytest.fixture(scope="session")
def platform(pool: Pool) -> Synthesized:
    """The default profile, every stage, as `cdk synth` builds it (offline placeholders)."""
    return pool.result("default")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-records",
        action="store_true",
        help="rewrite tests/records/ from the current templates (see tests/test_guards.py)",
    )
