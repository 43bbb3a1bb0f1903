"""What every configuration type shares: frozen pydantic models that reject unknown keys, and
problems reported as `path: value, why; a valid example`, all of them at once."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError


class Model(BaseModel):
    """Immutable; unknown keys are errors (a typo must never be silently ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)

    def problems(self) -> list[str]:
        """Checks beyond types: `field: message` strings relative to this model."""
        return []


class ConfigError(ValueError):
    """Invalid configuration; raised before any construct is built."""

    def __init__(self, *problems: str) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, ...]]:
        return ConfigError, self.problems  # keeps the problems across processes


class Retention(StrEnum):
    """What happens to a stateful resource when its stack deletes or replaces it."""

    DESTROY = "destroy"
    SNAPSHOT = "snapshot"
    RETAIN = "retain"

    @property
    def keeps_data(self) -> bool:
        return self is not Retention.DESTROY


TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off", ""})


def parse_bool(field_name: str, value: object) -> bool:
    """Switches from context or the environment: true/false/1/0/yes/no; anything else (a typo
    like `ture`) is an error, never a silent false."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ConfigError(f"{field_name}: {value!r} is not a boolean; use true or false")


def setting(context: Mapping[str, Any], environ: Mapping[str, str], key: str, env: str) -> Any:
    """The context's value for `key`, else the environment's `env`; "" counts as unset."""
    value = context.get(key)
    return value if value not in (None, "") else environ.get(env)


def nested(prefix: str, problems: Iterable[str]) -> list[str]:
    return [f"{prefix}.{p}" for p in problems]


def section_problems(model: Model, prefix: str = "") -> list[str]:
    """The model's own problems and those of every nested model, with their paths."""
    found = list(model.problems())
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Model):
            found += nested(name, section_problems(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, Model):
                    found += nested(f"{name}.{key}", section_problems(item))
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                if isinstance(item, Model):
                    found += nested(f"{name}[{index}]", section_problems(item))
    return nested(prefix, found) if prefix else found


# -- pydantic errors as problems ---------------------------------------------------------------


def validation_problems(err: ValidationError, root: type[BaseModel], prefix: str) -> list[str]:
    """One line per error: the dotted path, the value given, why, and a valid example."""
    problems = []
    for error in err.errors(include_url=False):
        path, model, name = _walk(root, tuple(error["loc"]))
        where = ".".join([prefix, *path] if prefix else path)
        if error["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown key{_suggest(model, name)}")
        elif error["type"] == "missing":
            problems.append(f"{where}: required; e.g. {_example(model, name)}")
        else:
            why = error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            problems.append(f"{where}: {value!r} is invalid ({why}); e.g. {_example(model, name)}")
    return problems


def _walk(root: type[BaseModel], loc: Sequence[Any]) -> tuple[list[str], Any, str]:
    """The user's path for a pydantic error location (without the tags pydantic adds for
    discriminated unions), the model holding its last key, and that key (a tuple's item index
    after it does not change which: `paths[0]` is held where `paths` is)."""
    path: list[str] = []
    current: Any = root
    holder: type[BaseModel] | None = None
    name = ""
    expect_key = False
    for part in loc:
        if isinstance(part, int):
            if path:
                path[-1] = f"{path[-1]}[{part}]"
            continue
        holder = current if isinstance(current, type) and issubclass(current, BaseModel) else None
        name = str(part)
        if isinstance(current, dict) and not expect_key:  # the tag of a discriminated union
            current = current.get(part)
            continue
        path.append(name)
        if expect_key:  # dict[str, X]: this part was a key
            expect_key = False
            continue
        field = holder.model_fields.get(name) if holder is not None else None
        current = _inner(field.annotation) if field is not None else None
        if isinstance(current, tuple):
            current, expect_key = current[1], True
    return path, holder, name


def unwrap(annotation: Any) -> Any:
    """Optional[X] -> X; Annotated[X, ...] -> X."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return unwrap(members[0])
    return annotation


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The model an (optional, annotated) field holds, if it holds one."""
    inner = unwrap(annotation)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _inner(annotation: Any) -> Any:
    """What a field holds: a model, ("dict", X) for dict[str, X], {tag: model} for a
    discriminated union, or the plain type."""
    annotation = unwrap(annotation)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):  # of several models, told apart by their `type`
        tags = {}
        for member in (a for a in get_args(annotation) if a is not type(None)):
            inner = _inner(member)
            if (
                isinstance(inner, type)
                and issubclass(inner, BaseModel)
                and "type" in inner.model_fields
            ):
                (tag,) = get_args(inner.model_fields["type"].annotation)
                tags[tag] = inner
        return tags or None
    if origin is dict:
        return ("dict", _inner(get_args(annotation)[1]))
    if origin is tuple:
        return _inner(get_args(annotation)[0])
    return annotation


def _suggest(model: type[BaseModel] | None, name: str) -> str:
    names = list(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; valid keys: {', '.join(names)}" if names else ""


def _example(model: type[BaseModel] | None, name: str) -> str:
    if model is None or name not in model.model_fields:
        return "see the defaults in infra/config"
    field = model.model_fields[name]
    if field.examples:
        return repr(field.examples[0])
    annotation = _inner(field.annotation)
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return " | ".join(repr(m.value) for m in annotation)
    default = field.get_default(call_default_factory=True)
    if isinstance(default, bool):
        return "true" if default else "false"
    if (
        default is None
        or isinstance(default, BaseModel)
        or (isinstance(default, (dict, tuple)) and not default)
    ):
        return f"see {model.__name__}.{name} in infra/config"
    return repr(default)
