"""Architecture diagrams from a synthesized CDK cloud assembly: one Mermaid flowchart per stage.

    python -m tools.diagram [cdk.out] [--out docs/architecture] [--profile NAME]

writes `<out>/<profile>-<stage>.md` per stage (and `.svg` when Graphviz `dot` is on PATH).
Everything is derived from resource types, properties and references in the templates, so a
profile with other services draws without changes here.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .assembly import load_stages
from .output import Diagram, build, dot, markdown

__all__ = ["main", "render"]


def diagrams(assembly_dir: Path) -> list[Diagram]:
    return [build(stage) for stage in load_stages(assembly_dir)]


def render(assembly_dir: Path, profile: str) -> dict[str, str]:
    """Stage (lowercase, as in the file name) -> Markdown with the stage's Mermaid diagram."""
    return {diagram.stage.slug: markdown(diagram, profile) for diagram in diagrams(assembly_dir)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.diagram",
        description=(
            "Write one architecture diagram per stage of a synthesized cloud assembly: "
            "<out>/<profile>-<stage>.md with a Mermaid flowchart. If Graphviz `dot` is on "
            "PATH, also <profile>-<stage>.svg; without it the SVG is skipped silently."
        ),
    )
    parser.add_argument(
        "assembly", nargs="?", default=Path("cdk.out"), type=Path, help="default: cdk.out"
    )
    parser.add_argument(
        "--out", default=Path("docs/architecture"), type=Path, help="default: docs/architecture"
    )
    parser.add_argument("--profile", default="default", help="names the files (default: default)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not (args.assembly / "manifest.json").is_file():
        print(f"error: {args.assembly} is not a cloud assembly (no manifest.json)", file=sys.stderr)
        return 2
    found = diagrams(args.assembly)
    if not found:
        print(f"error: {args.assembly} holds no stacks", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    graphviz = shutil.which("dot")
    for diagram in found:
        stem = args.out / f"{args.profile}-{diagram.stage.slug}"
        stem.with_suffix(".md").write_text(markdown(diagram, args.profile))
        print(f"wrote {stem.with_suffix('.md')}")
        if graphviz:
            svg = subprocess.run(
                [graphviz, "-Tsvg"],
                input=dot(diagram, args.profile).encode(),
                capture_output=True,
                check=False,  # a failing dot costs only the picture, never the Markdown
            )
            if svg.returncode:
                print(f"warning: dot failed for {stem}: {svg.stderr.decode()}", file=sys.stderr)
            else:
                stem.with_suffix(".svg").write_bytes(svg.stdout)
                print(f"wrote {stem.with_suffix('.svg')}")
    return 0
