"""The cost budgets a stage declares (AWS::Budgets::Budget) and the budget its estimate suggests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tools.cost.assembly import Stack
from tools.cost.template import as_number, render

BUDGET_STEP_USD = 10  # suggestions are rounded up to the next $10
CONTEXT_KEY = "observability.budget.monthly_usd"  # infra/config/observability.py BudgetConfig


@dataclass(frozen=True)
class Budget:
    name: str
    usd: float
    time_unit: str  # MONTHLY, DAILY, ...
    stack: str


def find_budgets(stacks: Sequence[Stack]) -> list[Budget]:
    """Every COST budget in USD with a literal limit, in app order."""
    found = []
    for stack in stacks:
        for logical_id, resource in stack.resources.items():
            if resource.get("Type") != "AWS::Budgets::Budget":
                continue
            spec = resource.get("Properties", {}).get("Budget", {})
            limit = spec.get("BudgetLimit") or {}
            usd = as_number(limit.get("Amount"), -1)
            if spec.get("BudgetType") != "COST" or limit.get("Unit", "USD") != "USD" or usd < 0:
                continue
            name = render(spec.get("BudgetName"), stack) or logical_id
            found.append(Budget(name, usd, str(spec.get("TimeUnit", "MONTHLY")), stack.name))
    return found


def suggested_budget(estimate_usd: float, margin: float) -> int:
    """estimate x (1 + margin), rounded up to the next $10 (a whole $10 stays as it is)."""
    target = round(estimate_usd * (1 + margin), 2)  # cents: 250 x 1.2 is 300, not 300.00000001
    return max(BUDGET_STEP_USD, math.ceil(target / BUDGET_STEP_USD) * BUDGET_STEP_USD)


def context_option(stage: str, usd: int) -> str:
    """The `cdk -c` option that sets a stage's monthly budget (stage names are lower case)."""
    return f"-c {stage.lower()}.{CONTEXT_KEY}={usd}"
