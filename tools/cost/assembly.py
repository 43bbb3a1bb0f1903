"""Reads the stacks of a CDK cloud assembly (cdk.out), nested stage assemblies included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.cost.pricing import CostError

ROOT_STAGE = "(app)"  # stacks defined directly on the app, outside any Stage
# Offline synth gives every stage this account; it stands for an account per stage.
PLACEHOLDER_ACCOUNT = "000000000000"


@dataclass(frozen=True)
class Stack:
    stage: str
    name: str
    display_name: str
    account: str
    region: str
    template: dict[str, Any]

    @property
    def billing_account(self) -> str:
        """The account the stack runs in; the placeholder account is one account per stage."""
        if self.account == PLACEHOLDER_ACCOUNT:
            return f"{self.account} (stage {self.stage})"
        return self.account

    @property
    def identity(self) -> tuple[str, str, str]:
        """The CloudFormation stack: account, region and stack name."""
        return (self.billing_account, self.region, self.name)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        return resources


def _manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CostError(f"cannot read cloud assembly manifest {path}: {error}") from error
    return manifest


def _artifacts(directory: Path) -> list[dict[str, Any]]:
    """The artifacts of the assembly in `directory`, in manifest order."""
    return list(_manifest(directory / "manifest.json").get("artifacts", {}).values())


def _stacks_in(
    directory: Path, artifacts: list[dict[str, Any]], stage_path: str | None
) -> Iterator[Stack]:
    """The stacks of one assembly; `stage_path` is a nested assembly's ("Pipeline/Dev")."""
    for artifact in artifacts:
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact["properties"]
        display = str(artifact.get("displayName", props.get("stackName", "")))
        template_file = directory / props["templateFile"]
        try:
            template = json.loads(template_file.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise CostError(f"cannot read template {template_file}: {error}") from error
        # "aws://<account>/<region>"; env-agnostic stacks say unknown-account/unknown-region.
        account, _, region = (
            str(artifact.get("environment", "")).removeprefix("aws://").partition("/")
        )
        if stage_path:  # the last part of the path: "Pipeline/Dev" is stage Dev
            stage = stage_path.rsplit("/", maxsplit=1)[-1]
        else:  # root stacks under a construct take its name; the others belong to the app
            stage = display.split("/", maxsplit=1)[0] if "/" in display else ROOT_STAGE
        yield Stack(
            stage=stage,
            name=str(props.get("stackName", display)),
            display_name=display,
            account=account,
            region=region,
            template=template,
        )


def read_assembly(outdir: Path) -> list[Stack]:
    """Every stack once, in app order: stacks of the root assembly, then each nested one.

    A stack synthesized twice (a stage on its own and inside a CDK Pipelines stack) is one
    CloudFormation stack, (account, region, name): the copy with the shortest path is kept.
    """
    if not (outdir / "manifest.json").is_file():
        raise CostError(f"{outdir} is not a cloud assembly (no manifest.json): run `cdk synth`")
    root = _artifacts(outdir)
    found = list(_stacks_in(outdir, root, None))
    for artifact in root:
        if artifact.get("type") == "cdk:cloud-assembly":
            props = artifact["properties"]
            path = str(props.get("displayName") or props["directoryName"].removeprefix("assembly-"))
            nested = outdir / props["directoryName"]
            found += _stacks_in(nested, _artifacts(nested), path)
    if not found:
        raise CostError(f"{outdir}: the cloud assembly holds no CloudFormation stack")
    kept: dict[tuple[str, str, str], Stack] = {}
    for stack in sorted(found, key=lambda stack: stack.display_name.count("/")):
        kept.setdefault(stack.identity, stack)
    return [stack for stack in found if kept[stack.identity] is stack]
