"""Prices every stack of an assembly, stage by stage, into cost lines and free/unpriced lists."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tools.cost.assembly import Stack, read_assembly
from tools.cost.budget import Budget, find_budgets, suggested_budget
from tools.cost.pricing import PRICES_DIR, Assumptions, CostError, PriceBook, Value, load_prices
from tools.cost.resources import PRICERS, free_reason
from tools.cost.sleep import build_sleep_index
from tools.cost.template import CostLine, Ctx, Free, NotPriced, RunState


@dataclass(frozen=True)
class Unpriced:
    type: str
    resource: str
    reason: str


@dataclass
class StackEstimate:
    stack: Stack
    lines: list[CostLine] = field(default_factory=list)
    free: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, reason) -> count
    not_priced: list[Unpriced] = field(default_factory=list)

    @property
    def monthly_usd(self) -> float:
        return sum(line.monthly_usd for line in self.lines)

    @property
    def always_on_usd(self) -> float:
        return sum(line.always_on_usd for line in self.lines)


@dataclass
class StageEstimate:
    name: str
    stacks: list[StackEstimate] = field(default_factory=list)
    assumptions: dict[str, tuple[Value, str]] = field(default_factory=dict)
    budgets: list[Budget] = field(default_factory=list)  # the COST budgets its stacks declare
    budget_margin: float = 0.0

    @property
    def monthly_usd(self) -> float:
        return sum(stack.monthly_usd for stack in self.stacks)

    @property
    def always_on_usd(self) -> float:
        return sum(stack.always_on_usd for stack in self.stacks)

    @property
    def budget(self) -> Budget | None:
        """The stage's (first) MONTHLY budget, the one compared with the estimate."""
        return next((b for b in self.budgets if b.time_unit == "MONTHLY"), None)

    @property
    def suggested_budget_usd(self) -> int:
        return suggested_budget(self.monthly_usd, self.budget_margin)


@dataclass
class Estimate:
    outdir: Path
    stages: list[StageEstimate]
    assumptions: Assumptions
    price_files: list[Path]

    @property
    def monthly_usd(self) -> float:
        return sum(stage.monthly_usd for stage in self.stages)

    @property
    def always_on_usd(self) -> float:
        return sum(stage.always_on_usd for stage in self.stages)


def merge(lines: list[CostLine]) -> list[CostLine]:
    """Alike grouped lines of a stack (same type, driver and price) become one; notes join."""
    merged: list[CostLine] = []
    groups: dict[tuple[str, str, str, str], CostLine] = {}
    for line in lines:
        key = (line.type, line.driver, line.price_key, line.unit)
        if not line.group:
            merged.append(line)
        elif key not in groups:
            groups[key] = line
            merged.append(line)
        else:
            into = groups[key]
            into.quantity += line.quantity
            into.monthly_usd += line.monthly_usd
            into.always_on_usd += line.always_on_usd
            into.resources += line.resources
            into.resource = f"{len(into.resources)} resources"
            if line.note and line.note not in into.note.split("; "):
                into.note = f"{into.note}; {line.note}" if into.note else line.note
    # Biggest drivers first; the sort is stable, so equal lines keep template order.
    return sorted(merged, key=lambda line: -line.monthly_usd)


def price_stack(ctx: Ctx) -> StackEstimate:
    result = StackEstimate(ctx.stack)
    lines: list[CostLine] = []
    for logical_id, resource in ctx.stack.resources.items():
        kind = str(resource.get("Type", ""))
        reason = free_reason(kind)
        if reason is not None:
            result.free[(kind, reason)] += 1
            continue
        pricer = PRICERS.get(kind)
        if pricer is None:
            result.not_priced.append(Unpriced(kind, logical_id, "no pricing rule for this type"))
            continue
        try:
            priced = pricer(ctx, logical_id, resource)
            if not priced:
                raise Free("no cost in this configuration")
            lines += priced
        except Free as free:
            result.free[(kind, str(free))] += 1
        except NotPriced as unpriced:
            result.not_priced.append(Unpriced(kind, logical_id, str(unpriced)))
        except CostError as error:
            where = f"{ctx.stack.name} ({ctx.stack.region}), {logical_id} [{kind}]"
            raise CostError(f"{where}: {error}") from error
    result.lines = merge(lines)
    return result


def estimate(outdir: Path, assumptions: Assumptions, prices_dir: Path = PRICES_DIR) -> Estimate:
    stacks = read_assembly(outdir)
    stage_names = list(dict.fromkeys(stack.stage for stack in stacks))
    for scoped in assumptions.stage_overrides:
        if scoped not in stage_names:
            known = ", ".join(stage_names)
            raise CostError(f"--assume {scoped}.…: no stage named {scoped!r} (stages: {known})")
    books: dict[str, PriceBook] = {}
    run = RunState()
    stages = []
    for name in stage_names:
        members = [stack for stack in stacks if stack.stage == name]
        assume = assumptions.for_stage(name)
        sleep = build_sleep_index(members)
        stage = StageEstimate(name, assumptions=assume.used)
        for stack in members:
            if stack.region not in books:
                try:
                    books[stack.region] = load_prices(stack.region, prices_dir)
                except CostError as error:
                    raise CostError(
                        f"stack {stack.name} ({stack.display_name}): {error}"
                    ) from error
            context = Ctx(stack, books[stack.region], assume, sleep, run, members)
            stage.stacks.append(price_stack(context))
        stage.budgets = find_budgets(members)
        stage.budget_margin = assume.number("budget_margin")
        if stage.budget_margin < 0:
            raise CostError(f"budget_margin {stage.budget_margin:g} (stage {name}): use 0 or more")
        stages.append(stage)
    files = [prices_dir / f"{region}.json" for region in books] + [prices_dir / "global.json"]
    return Estimate(outdir, stages, assumptions, files)
