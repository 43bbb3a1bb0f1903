"""The estimate as text (for people) and as JSON (for tools); both carry the same figures."""

from __future__ import annotations

import textwrap
from typing import Any

from tools.cost.assembly import ROOT_STAGE
from tools.cost.budget import BUDGET_STEP_USD, CONTEXT_KEY, context_option
from tools.cost.estimate import Estimate, StackEstimate, StageEstimate
from tools.cost.pricing import HOURS_PER_MONTH, Value

DISCLAIMER = (
    "AWS on-demand list prices from tools/cost/prices (figures to verify before use), "
    "usage from assumptions; no free tier, discounts, support or tax"
)
ALWAYS_ON = "always-on: every scheduled resource kept at its peak level all week"
_WIDTH = 136
_SAVING_THRESHOLD = 0.005  # show both totals only when schedules change the bill by a cent


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    if value >= 100:  # noqa: PLR2004
        return f"{value:,.1f}"
    return f"{value:.4g}" if value >= 0.001 else _price(value)  # noqa: PLR2004


def _price(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".")


def _stack_text(stack: StackEstimate) -> list[str]:
    s = stack.stack
    out = [
        f"  {s.name} ({s.region}, {s.display_name})".ljust(_WIDTH - 12)
        + f"{stack.monthly_usd:>12,.2f}"
    ]
    for line in stack.lines:
        out.append(
            f"    {line.resource[:28]:<28} {line.driver[:52]:<52} {_number(line.quantity):>10} "
            f"{line.unit[:19]:<19} x {_price(line.unit_usd):<12} {line.monthly_usd:>9,.2f}"
        )
        if line.note:
            out += textwrap.wrap(
                line.note, _WIDTH, initial_indent=" " * 33, subsequent_indent=" " * 33
            )
    free: dict[str, int] = {}
    for (kind, _), count in stack.free.items():
        free[kind] = free.get(kind, 0) + count
    if free:
        listed = ", ".join(f"{kind} x{n}" for kind, n in sorted(free.items()))
        out += textwrap.wrap(
            listed, _WIDTH, initial_indent="    free: ", subsequent_indent=" " * 10
        )
    for item in stack.not_priced:
        out.append(f"    NOT PRICED: {item.type} {item.resource}: {item.reason}")
    return out


def _stage_total(stage: StageEstimate) -> str:
    text = f"  {stage.name} total: ${stage.monthly_usd:,.2f} a month"
    saving = stage.always_on_usd - stage.monthly_usd
    if abs(saving) >= _SAVING_THRESHOLD:
        text += (
            f" as scheduled; ${stage.always_on_usd:,.2f} always-on "
            f"(schedules save ${saving:,.2f}, {saving / stage.always_on_usd:.0%})"
        )
    return text


def _budget_text(stage: StageEstimate) -> list[str]:
    """The stage's monthly budget against its estimate, and the budget to set."""
    estimate, suggested, budget = stage.monthly_usd, stage.suggested_budget_usd, stage.budget
    how = (
        f"suggested ${suggested:,} (estimate + {stage.budget_margin * 100:g}% budget_margin, "
        f"rounded up to the next ${BUDGET_STEP_USD})"
    )
    option = ""
    if budget is None:
        text = f"{stage.name} budget: none (no MONTHLY AWS::Budgets::Budget in the stage); {how}:"
        option = context_option(stage.name, suggested)
    elif budget.usd < estimate:
        text = (
            f"WARNING: {stage.name} budget ${budget.usd:,.0f} a month ({budget.name}) is below "
            f"the estimate ${estimate:,.2f}; set it to the {how}:"
        )
        option = context_option(stage.name, suggested)
    else:
        text = (
            f"{stage.name} budget: ${budget.usd:,.0f} a month ({budget.name}) covers the "
            f"estimate ${estimate:,.2f} ({estimate / budget.usd:.0%} of it); {how}"
        )
    if option and stage.name == ROOT_STAGE:  # no stage prefix for stacks outside any Stage
        option = f"{CONTEXT_KEY}={suggested}"
    out = textwrap.wrap(
        text, _WIDTH, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False
    )
    if option:  # never split the option a reader copies
        fits = len(out[-1]) + 1 + len(option) <= _WIDTH
        out[-1:] = [f"{out[-1]} {option}"] if fits else [out[-1], f"    {option}"]
    per_day = estimate * 24 / HOURS_PER_MONTH
    for daily in (b for b in stage.budgets if b.time_unit == "DAILY"):
        out.append(
            f"  {stage.name} daily budget: ${daily.usd:,.0f} a day ({daily.name}), not compared "
            f"(the estimate averages ${per_day:,.2f} a day)"
        )
    return out


def _assumptions_text(estimate: Estimate) -> list[str]:
    used: dict[str, dict[str, tuple[Value, str]]] = {}
    for stage in estimate.stages:
        for key, (value, origin) in stage.assumptions.items():
            used.setdefault(key, {})[stage.name] = (value, origin)
    out = ["Assumptions used (override with --assume [Stage.]key=value):"]
    for key in sorted(used):
        values = {(v, o) for v, o in used[key].values()}
        if len(values) == 1:
            ((value, origin),) = values
            shown = f"{value:g}" if isinstance(value, float) else value
            where = "" if origin == "default" else f"  [{origin}]"
        else:
            shown = ", ".join(f"{stage}={v}" for stage, (v, _) in used[key].items())
            where = "  [per stage]"
        doc = estimate.assumptions.defaults[key].doc
        out.append(f"  {key} = {shown}{where}\n      {doc}")
    return out


def render_text(estimate: Estimate) -> str:
    out = [
        f"Estimated monthly cost (USD) of {estimate.outdir}",
        f"  {DISCLAIMER}; {HOURS_PER_MONTH:g} hours a month.",
        "",
    ]
    for stage in estimate.stages:
        out.append(f"== {stage.name} ".ljust(_WIDTH, "="))
        for stack in stage.stacks:
            out += _stack_text(stack)
        out += [_stage_total(stage), *_budget_text(stage), ""]
    out.append(f"{'stage':<16}{'as scheduled':>16}{'always-on':>16}")
    for stage in estimate.stages:
        out.append(f"{stage.name:<16}{stage.monthly_usd:>16,.2f}{stage.always_on_usd:>16,.2f}")
    out.append(f"{'all stages':<16}{estimate.monthly_usd:>16,.2f}{estimate.always_on_usd:>16,.2f}")
    out += [f"  ({ALWAYS_ON})", ""]
    out += _assumptions_text(estimate)
    out += ["", "Price files: " + ", ".join(str(path) for path in estimate.price_files)]
    return "\n".join(out)


def _stack_json(stack: StackEstimate) -> dict[str, Any]:
    return {
        "name": stack.stack.name,
        "display_name": stack.stack.display_name,
        "region": stack.stack.region,
        "account": stack.stack.account,
        "monthly_usd": round(stack.monthly_usd, 4),
        "always_on_usd": round(stack.always_on_usd, 4),
        "lines": [
            {
                "resource": line.resource,
                "resources": line.resources,
                "type": line.type,
                "driver": line.driver,
                "quantity": round(line.quantity, 6),
                "unit": line.unit,
                "unit_usd": line.unit_usd,
                "monthly_usd": round(line.monthly_usd, 4),
                "always_on_usd": round(line.always_on_usd, 4),
                "price_key": line.price_key,
                "note": line.note,
            }
            for line in stack.lines
        ],
        "free": [
            {"type": kind, "count": count, "reason": reason}
            for (kind, reason), count in sorted(stack.free.items())
        ],
        "not_priced": [
            {"type": item.type, "resource": item.resource, "reason": item.reason}
            for item in stack.not_priced
        ],
    }


def to_json(estimate: Estimate) -> dict[str, Any]:
    return {
        "note": DISCLAIMER,
        "currency": "USD",
        "hours_per_month": HOURS_PER_MONTH,
        "cloud_assembly": str(estimate.outdir),
        "price_files": [str(path) for path in estimate.price_files],
        "monthly_usd": round(estimate.monthly_usd, 4),
        "always_on_usd": round(estimate.always_on_usd, 4),
        "always_on_means": ALWAYS_ON,
        "stages": [
            {
                "name": stage.name,
                "monthly_usd": round(stage.monthly_usd, 4),
                "always_on_usd": round(stage.always_on_usd, 4),
                "budget_usd": stage.budget.usd if stage.budget else None,
                "budget_name": stage.budget.name if stage.budget else None,
                "suggested_budget_usd": stage.suggested_budget_usd,
                "assumptions": {
                    key: {"value": value, "origin": origin}
                    for key, (value, origin) in sorted(stage.assumptions.items())
                },
                "stacks": [_stack_json(stack) for stack in stage.stacks],
            }
            for stage in estimate.stages
        ],
        "assumption_docs": {
            key: estimate.assumptions.defaults[key].doc
            for key in sorted({k for stage in estimate.stages for k in stage.assumptions})
        },
    }


def readme_rows(profile: str, estimate: Estimate) -> list[str]:
    """`| profile | Stage | as scheduled | always-on |` per stage, as the README's cost table
    starts each row (tests/test_docs.py keeps the README current)."""
    return [
        f"| {profile} | {stage.name} | ${stage.monthly_usd:,.0f} | ${stage.always_on_usd:,.0f} |"
        for stage in estimate.stages
    ]
