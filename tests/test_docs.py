"""Generated documentation stays current: the architecture diagrams under docs/architecture/
are what `make diagrams` draws from each profile's templates, so a review shows an
architecture change as a diagram diff."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.jobs import PROFILES
from tests.synth import Pool
from tools.diagram import render

DOCS = Path(__file__).resolve().parent.parent / "docs" / "architecture"


@pytest.mark.parametrize("profile", PROFILES)
def test_architecture_diagrams_are_current(pool: Pool, profile: str) -> None:
    drawn = {
        f"{profile}-{stage}.md": text
        for stage, text in render(pool.result(profile).outdir, profile).items()
    }
    assert drawn, f"no diagram drawn for {profile}"
    committed = {p.name: p.read_text() for p in DOCS.glob(f"{profile}-*.md")}
    stale = sorted(name for name, text in drawn.items() if committed.get(name) != text)
    gone = sorted(set(committed) - set(drawn))
    message = (
        f"docs/architecture is stale for {profile} (changed: {stale}, no longer drawn: {gone}); "
        f"run `make diagram PROFILE={profile}` and review the diff"
    )
    assert not stale, message
    assert not gone, message


def test_the_readme_states_recovery_as_the_profiles_deliver_it() -> None:
    from tools.show_config import recovery_table  # noqa: PLC0415

    readme = (DOCS.parent.parent / "README.md").read_text()
    assert recovery_table() in readme, (
        "README's recovery table is stale: paste the output of `make recovery`"
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_the_readme_shows_each_profiles_current_cost_estimate(pool: Pool, profile: str) -> None:
    from tools.cost.estimate import estimate  # noqa: PLC0415
    from tools.cost.pricing import load_assumptions  # noqa: PLC0415
    from tools.cost.report import readme_rows  # noqa: PLC0415

    readme = (DOCS.parent.parent / "README.md").read_text()
    rows = readme_rows(profile, estimate(pool.result(profile).outdir, load_assumptions()))
    stale = [row for row in rows if row not in readme]
    assert stale == [], f"README's cost table is stale for {profile}; `make cost PROFILE={profile}`"


def test_the_readme_release_command_is_a_deployable_configuration() -> None:
    """The README's `cdk deploy` loads as typed, with accounts required, and releases every
    service of the stage it selects (the `release` job synthesizes the same shape)."""
    from infra.config import load_stages  # noqa: PLC0415
    from tests.jobs import RELEASE  # noqa: PLC0415

    readme = (DOCS.parent.parent / "README.md").read_text()
    (command,) = re.findall(r"^cdk deploy .*?(?<!\\)$", readme.replace("\\\n", " "), re.M)
    words = shlex.split(command)
    context = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "-c")
    (prod,) = load_stages(context, {}).stages
    assert prod.name == "prod"
    assert words[-1] == "Prod/*"
    assert all(service.image_tag for service in prod.services.values())
    released = {k.split(".", 1)[1] for k in RELEASE if k.startswith("prod.")}
    assert {k.split(".", 1)[1] for k in context if k.startswith("prod.")} <= released
