from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# jsii runs on the pinned Node.js 22 from package.json, not the machine's (end-of-life) Node.
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

from infra.config import default_stages  # noqa: E402
from infra.platform import build_platform  # noqa: E402
from tests.synth import Synthesized, new_app, synthesize  # noqa: E402

STAGES = ("Dev", "Staging", "Prod")
CONCERNS = ("network", "data", "compute", "edge", "cdn", "edge-alarms", "observability")
STACK_KEYS = [
    (cfg.construct_id, concern)
    for cfg in default_stages().values()
    for concern in (*CONCERNS, *(("dr",) if cfg.data.has_dr else ()))
]
"""(stage, concern) of every stack the default configuration synthesizes."""


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every stage, synthesized once per session exactly as app.py does (offline defaults)."""
    app = new_app(tmp_path_factory.mktemp("cdk.out"))
    build_platform(app, environ={})
    return synthesize(app)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-records",
        action="store_true",
        help="rewrite tests/records/*.json from the current templates (see tests/test_guards.py)",
    )
