"""Prices and usage assumptions as data files: loading, lookup, and the errors a user must fix."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOURS_PER_MONTH = 730.0  # the convention of AWS's own calculator
COST_DIR = Path(__file__).resolve().parent
PRICES_DIR = COST_DIR / "prices"
ASSUMPTIONS_FILE = COST_DIR / "assumptions.json"
# Priced the same wherever the stack that creates them lives: kept in prices/global.json.
GLOBAL_PREFIXES = ("cloudfront.", "route53.")

Value = float | str


class CostError(Exception):
    """Something the user must fix (missing price, bad option); printed without a traceback."""


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str
    as_of: str


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CostError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise CostError(f"{path}: expected a JSON object")
    return data


def _read_prices(path: Path) -> dict[str, Price]:
    figures: dict[str, Price] = {}
    for key, figure in _read_json(path).get("prices", {}).items():
        try:
            figures[key] = Price(
                usd=float(figure["usd"]),
                unit=str(figure["unit"]),
                source=str(figure["source"]),
                as_of=str(figure["as_of"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CostError(f"{path}: price {key!r} needs usd, unit, source, as_of") from error
    return figures


class PriceBook:
    """The figures for one region (plus the global services); raises on any missing key."""

    def __init__(self, region_file: Path, global_file: Path) -> None:
        self._files = {"region": region_file, "global": global_file}
        self._figures = {"region": _read_prices(region_file), "global": _read_prices(global_file)}

    def price(self, key: str) -> Price:
        scope = "global" if key.startswith(GLOBAL_PREFIXES) else "region"
        figure = self._figures[scope].get(key)
        if figure is None:
            raise CostError(
                f'no price {key!r} in {self._files[scope]}: add it under "prices" as '
                f'"{key}": {{"usd": ..., "unit": "...", '
                '"source": "https://aws.amazon.com/.../pricing/", "as_of": "YYYY-MM-DD"}'
            )
        return figure

    def usd(self, key: str) -> float:
        return self.price(key).usd


def load_prices(region: str, prices_dir: Path = PRICES_DIR) -> PriceBook:
    region_file = prices_dir / f"{region}.json"
    if not region_file.is_file():
        known = ", ".join(sorted(p.stem for p in prices_dir.glob("*.json") if p.stem != "global"))
        raise CostError(
            f"no price file for region {region!r}: add {region_file} "
            f"(copy one of: {known or 'none'}, then update every figure from the AWS pages)"
        )
    return PriceBook(region_file, prices_dir / "global.json")


@dataclass(frozen=True)
class Assumption:
    value: Value
    doc: str


class Assumptions:
    """Defaults from assumptions.json plus `--assume [Stage.]key=value` overrides."""

    def __init__(self, defaults: Mapping[str, Assumption], path: Path) -> None:
        self.defaults = dict(defaults)
        self.path = path
        self.overrides: dict[str, Value] = {}
        self.stage_overrides: dict[str, dict[str, Value]] = {}

    def override(self, spec: str) -> None:
        name, sep, text = spec.partition("=")
        stage, _, key = name.strip().rpartition(".")
        if not sep or not key:
            raise CostError(f"--assume {spec!r}: expected key=value or Stage.key=value")
        default = self.defaults.get(key)
        if default is None:
            raise CostError(f"--assume {spec!r}: unknown assumption {key!r} (see {self.path})")
        value: Value = text.strip()
        if not isinstance(default.value, str):
            try:
                value = float(text)
            except ValueError as error:
                raise CostError(f"--assume {spec!r}: {key} takes a number") from error
        target = self.stage_overrides.setdefault(stage, {}) if stage else self.overrides
        target[key] = value

    def for_stage(self, stage: str) -> StageAssumptions:
        return StageAssumptions(self, stage)


class StageAssumptions:
    """The assumptions one stage reads; remembers each key it read and where the value came from."""

    def __init__(self, assumptions: Assumptions, stage: str) -> None:
        self._all = assumptions
        self.stage = stage
        self.used: dict[str, tuple[Value, str]] = {}

    def _lookup(self, key: str) -> Value:
        scoped = self._all.stage_overrides.get(self.stage, {})
        if key in scoped:
            value, origin = scoped[key], f"--assume {self.stage}.{key}"
        elif key in self._all.overrides:
            value, origin = self._all.overrides[key], "--assume"
        elif key in self._all.defaults:
            value, origin = self._all.defaults[key].value, "default"
        else:
            raise CostError(f"unknown assumption {key!r}: add it to {self._all.path}")
        self.used[key] = (value, origin)
        return value

    def number(self, key: str) -> float:
        value = self._lookup(key)
        if isinstance(value, str):
            raise CostError(f"assumption {key!r} must be a number, found {value!r}")
        return value

    def text(self, key: str) -> str:
        return str(self._lookup(key))


def load_assumptions(path: Path = ASSUMPTIONS_FILE) -> Assumptions:
    defaults: dict[str, Assumption] = {}
    for key, entry in _read_json(path).get("assumptions", {}).items():
        if not isinstance(entry, dict) or "value" not in entry or "doc" not in entry:
            raise CostError(f"{path}: assumption {key!r} needs a value and a doc")
        raw = entry["value"]
        defaults[key] = Assumption(raw if isinstance(raw, str) else float(raw), str(entry["doc"]))
    return Assumptions(defaults, path)
