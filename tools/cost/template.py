"""What every resource pricer shares: the cost line, the per-stack context, template helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from tools.cost.assembly import Stack
from tools.cost.pricing import PriceBook, StageAssumptions
from tools.templates import SUB_VARIABLE, ref_target, sub_parts

if TYPE_CHECKING:
    from tools.cost.sleep import SleepIndex

Resource = dict[str, Any]
_Fact = TypeVar("_Fact")


@dataclass
class CostLine:
    """One cost driver: `quantity` `unit` a month at `unit_usd` each."""

    resource: str
    type: str
    driver: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    always_on_usd: float  # the same driver with every schedule-driven resource kept at its peak
    price_key: str
    note: str = ""
    group: bool = False  # alike lines of a stack (same driver and price) print as one
    resources: list[str] = field(default_factory=list)


class NotPriced(Exception):  # noqa: N818 - an outcome, not a failure: listed under "not priced"
    """A configuration the estimator does not model; the resource is listed, never dropped."""


class Free(Exception):  # noqa: N818 - an outcome: the resource is listed as free, with why
    """This resource costs nothing in the configuration the template gives it."""


@dataclass
class RunState:
    """Facts that span stacks and stages (the first trail of an account copies events free)."""

    accounts_with_trail: set[str] = field(default_factory=set)


_JOIN_ARGS = 2  # Fn::Join: [separator, [parts]]
_PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": ""}


def _render_ref(argument: Any, stack: Stack) -> str:
    pseudo = {**_PSEUDO, "AWS::Region": stack.region, "AWS::AccountId": stack.account}
    return pseudo.get(argument, f"{{ref:{argument}}}")


def _render_get_att(argument: Any, stack: Stack) -> str:
    return f"{{ref:{ref_target({'Fn::GetAtt': argument})}}}"


def _render_join(argument: Any, stack: Stack) -> str | None:
    if not (isinstance(argument, list) and len(argument) == _JOIN_ARGS):
        return None
    if not isinstance(argument[1], list):
        return None
    parts = [render(item, stack) for item in argument[1]]
    return None if None in parts else str(argument[0]).join(p or "" for p in parts)


def _render_sub(argument: Any, stack: Stack) -> str | None:
    text, variables = sub_parts(argument)
    names = {key: render(value, stack) for key, value in variables.items()}
    return SUB_VARIABLE.sub(lambda m: names.get(m.group(1)) or _render_ref(m.group(1), stack), text)


_RENDERERS: dict[str, Callable[[Any, Stack], str | None]] = {
    "Ref": _render_ref,
    "Fn::GetAtt": _render_get_att,
    "Fn::Join": _render_join,
    "Fn::Sub": _render_sub,
}


def render(value: Any, stack: Stack) -> str | None:
    """A template value as text; references become `{ref:Id}`; None when it cannot be known."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        renderer = _RENDERERS.get(function)
        return renderer(argument, stack) if renderer else None
    return None


def as_number(value: Any, default: float) -> float:
    """CloudFormation numbers arrive as numbers or strings; anything else gives `default`."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return default
    return default


def as_bool(value: Any, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


@dataclass
class Ctx:
    """One stack being priced, with the stage's prices, assumptions and sleep schedules."""

    stack: Stack
    prices: PriceBook
    assume: StageAssumptions
    sleep: SleepIndex
    run: RunState
    stage: Sequence[Stack] = ()  # every stack of the stage (this one included)
    _facts: dict[Callable[[Ctx], Any], Any] = field(default_factory=dict, init=False, repr=False)

    def once(self, fact: Callable[[Ctx], _Fact]) -> _Fact:
        """`fact(self)`, worked out on the first call only: for what a pricer reads from the
        whole stack, so that pricing each resource of a type does not walk the stack again."""
        if fact not in self._facts:
            self._facts[fact] = fact(self)
        return cast("_Fact", self._facts[fact])

    def stage_resources(self, resource_type: str) -> Iterator[tuple[Stack, str, Resource]]:
        """Resources of a type anywhere in the stage: this stack first, then the others."""
        others = [s for s in self.stage if s.identity != self.stack.identity]
        for stack in [self.stack, *others]:
            for logical_id, resource in stack.resources.items():
                if resource.get("Type") == resource_type:
                    yield stack, logical_id, resource

    def props(self, logical_id: str) -> Resource:
        props: Resource = self.stack.resources.get(logical_id, {}).get("Properties", {})
        return props

    def of_type(self, resource_type: str) -> list[tuple[str, Resource]]:
        return [(k, r) for k, r in self.stack.resources.items() if r.get("Type") == resource_type]

    def line(
        self,
        logical_id: str,
        driver: str,
        quantity: float,
        unit: str,
        price_key: str,
        *,
        always_on: float | None = None,
        group: bool = False,
        note: str = "",
    ) -> CostLine:
        """`quantity` is as scheduled; `always_on` (default the same) with no schedule applied."""
        unit_usd = self.prices.usd(price_key)
        peak = quantity if always_on is None else always_on
        return CostLine(
            resource=logical_id,
            type=str(self.stack.resources[logical_id]["Type"]),
            driver=driver,
            quantity=quantity,
            unit=unit,
            unit_usd=unit_usd,
            monthly_usd=quantity * unit_usd,
            always_on_usd=peak * unit_usd,
            price_key=price_key,
            note=note,
            group=group,
            resources=[logical_id],
        )

    def usage(
        self,
        logical_id: str,
        driver: str,
        assumption: str,
        unit: str,
        price_key: str,
        *,
        per: float = 1.0,
        group: bool = True,
    ) -> CostLine:
        """A usage-driven line: the assumption's value (times `per`) at the price."""
        quantity = self.assume.number(assumption) * per
        return self.line(
            logical_id, driver, quantity, unit, price_key, group=group, note=f"assumes {assumption}"
        )
