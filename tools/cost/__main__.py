"""`python -m tools.cost [cdk.out] [--assume [Stage.]key=value ...] [--json PATH]`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.cost.estimate import estimate
from tools.cost.pricing import ASSUMPTIONS_FILE, PRICES_DIR, CostError, load_assumptions
from tools.cost.report import render_text, to_json


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.cost",
        description="Estimate the monthly AWS cost of a synthesized CDK cloud assembly.",
    )
    parser.add_argument("cdk_out", nargs="?", type=Path, default=Path("cdk.out"))
    parser.add_argument(
        "--assume",
        action="append",
        default=[],
        metavar="[STAGE.]KEY=VALUE",
        help=f"override a usage assumption of {ASSUMPTIONS_FILE.name} (for all stages or one)",
    )
    parser.add_argument(
        "--json", type=Path, help="where to write the JSON (default <cdk.out>/cost-estimate.json)"
    )
    parser.add_argument("--prices", type=Path, default=PRICES_DIR, help=argparse.SUPPRESS)
    parser.add_argument(
        "--assumptions", type=Path, default=ASSUMPTIONS_FILE, help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    try:
        assumptions = load_assumptions(args.assumptions)
        for spec in args.assume:
            assumptions.override(spec)
        result = estimate(args.cdk_out, assumptions, args.prices)
    except CostError as error:
        print(f"cost estimate failed: {error}", file=sys.stderr)
        return 2
    json_path: Path = args.json or args.cdk_out / "cost-estimate.json"
    print(render_text(result))
    json_path.write_text(json.dumps(to_json(result), indent=2) + "\n")
    print(f"\nwrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
