"""Settings by dotted path, from CDK context (`-c prod.data.database.instance_class=db.r7g.large`)
or the environment (`PLATFORM_PROD_DATA_DATABASE_INSTANCE_CLASS`), typed against the config
model: lists from commas, objects from JSON, null for an optional section, and an error with a
did-you-mean for every key the model does not have."""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Iterable
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from infra.config.base import model_of, unwrap
from infra.config.stage import StageConfig

Path = tuple[str, ...]
COLLECTIONS = ("services", "functions", "buckets", "secrets", "jobs")
"""Declared once per product; a stage or an override may change, never add, an entry."""
DEFAULTS = {"service_defaults": "services", "function_defaults": "functions"}
"""Partial entries every service (function) of a stage starts from."""


class OverrideError(ValueError):
    pass


def resolve(path: Path, declared: dict[str, set[str]]) -> tuple[Path, Any]:
    """The canonical path and the annotation it ends at. `declared` maps each collection to its
    entry names; `<service>.<field>` is accepted for `services.<service>.<field>`."""
    if (
        path
        and path[0] not in StageConfig.model_fields
        and path[0] not in DEFAULTS
        and path[0] in declared.get("services", set())
    ):
        path = ("services", *path)
    current: Any = StageConfig
    walked: list[str] = []
    index = 0
    while index < len(path):
        part = path[index]
        if not walked and part in DEFAULTS:
            entry = entry_model(DEFAULTS[part])
            if index + 1 >= len(path):
                return path, dict
            return path, _field(entry, path[index + 1], (part,))
        model = model_of(current)
        if model is None:
            raise OverrideError(f"{'.'.join(walked)} has no field {part!r}")
        annotation = _field(model, part, tuple(walked))
        walked.append(part)
        index += 1
        inner = unwrap(annotation)
        if get_origin(inner) is dict and index < len(path):
            key = path[index]
            names = declared.get(part) if not walked[:-1] else None
            if names is not None and key not in names:
                raise OverrideError(_unknown_entry(part, key, names))
            walked.append(key)
            index += 1
            current = get_args(inner)[1]
            continue
        current = annotation
    return tuple(walked), current


def _field(model: type[BaseModel], name: str, where: Path) -> Any:
    field = model.model_fields.get(name)
    if field is None:
        prefix = ".".join(where)
        close = difflib.get_close_matches(name, model.model_fields, n=1, cutoff=0.6)
        hint = f"; did you mean {'.'.join((*where, close[0]))!r}?" if close else ""
        elsewhere = _find_leaf(name)
        if not close and elsewhere:
            hint = f"; did you mean {elsewhere!r}?"
        raise OverrideError(
            f"{prefix + '.' if prefix else ''}{name}: unknown key{hint or ''}"
            + ("" if hint else f" (valid: {', '.join(model.model_fields)})")
        )
    return field.annotation


def _find_leaf(name: str, model: type[BaseModel] = StageConfig, where: str = "") -> str | None:
    """The dotted path of a field called `name` anywhere below `model` (first found)."""
    for field_name, field in model.model_fields.items():
        path = f"{where}.{field_name}" if where else field_name
        if field_name == name:
            return path
        inner = model_of(field.annotation)
        if inner is not None:
            found = _find_leaf(name, inner, path)
            if found:
                return found
    return None


def _unknown_entry(collection: str, key: str, names: Iterable[str]) -> str:
    known = sorted(names)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"{collection}.{key}: not declared by the product{hint} (declared: "
        f"{', '.join(known) or 'none'}); declare it once in the profile's [{collection}]"
    )


def entry_model(collection: str) -> type[BaseModel]:
    inner = unwrap(StageConfig.model_fields[collection].annotation)
    model = model_of(get_args(inner)[1])
    assert model is not None
    return model


def _optional(annotation: Any) -> bool:
    origin = get_origin(annotation)
    return origin in (Union, types.UnionType) and type(None) in get_args(annotation)


def coerce(value: Any, annotation: Any, where: str) -> Any:
    """Strings from the command line or environment, shaped for the field they set."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _optional(annotation) and text.lower() in ("null", "none"):
        return None
    inner = unwrap(annotation)
    origin = get_origin(inner)
    if origin is tuple:
        if text.startswith("["):
            return _json(text, where)
        return [item.strip() for item in text.split(",") if item.strip()]
    if origin is dict or model_of(inner) is not None or inner is dict:
        if not text.startswith("{"):
            raise OverrideError(
                f"{where}: {value!r} is a whole section; give JSON such as "
                '{"key": "value"} or set one field with a longer path'
            )
        return _json(text, where)
    return text


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise OverrideError(f"{where}: {text!r} is not valid JSON ({err.msg})") from err


def nest(path: Path, value: Any) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    node = layer
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return layer


def env_path(tokens: list[str], declared: dict[str, set[str]]) -> Path | None:
    """PLATFORM_<STAGE>_<...> tokens (lowercased) as a config path: field names contain
    underscores, so the longest field name that matches wins at every level."""
    return _env_walk(tokens, StageConfig, declared, top=True)


def _env_walk(
    tokens: list[str], model: type[BaseModel] | None, declared: dict[str, set[str]], *, top: bool
) -> Path | None:
    if not tokens:
        return ()
    candidates: list[tuple[str, Any, bool]] = []  # (name, annotation, is collection key)
    if model is not None:
        candidates += [(n, f.annotation, False) for n, f in model.model_fields.items()]
    if top:
        candidates += [(n, dict, False) for n in DEFAULTS]
        candidates += [(n, None, True) for n in declared.get("services", set())]
    for length in range(len(tokens), 0, -1):
        joined = "_".join(tokens[:length])
        for name, annotation, shorthand in candidates:
            if name.replace("-", "_") != joined:
                continue
            rest = tokens[length:]
            if shorthand:
                tail = _env_walk(rest, entry_model("services"), declared, top=False)
                return None if tail is None else ("services", name, *tail)
            if name in DEFAULTS:
                tail = _env_walk(rest, entry_model(DEFAULTS[name]), declared, top=False)
                return None if tail is None else (name, *tail)
            inner = unwrap(annotation)
            if get_origin(inner) is dict and rest:
                entry_path = _env_entry(name, inner, rest, declared, top=top)
                if entry_path is not None:
                    return entry_path
                continue
            tail = _env_walk(rest, model_of(annotation), declared, top=False)
            if tail is not None:
                return (name, *tail)
    return None


def _env_entry(
    name: str, inner: Any, rest: list[str], declared: dict[str, set[str]], *, top: bool
) -> Path | None:
    """The path into collection `name` (a dict field of type `inner`) that `rest` spells: the
    longest entry key that matches, then that entry's fields."""
    keys = declared.get(name, set()) if top else set()
    value_model = model_of(get_args(inner)[1])
    for key_length in range(len(rest), 0, -1):
        key = "_".join(rest[:key_length])
        match = next((k for k in keys if k.replace("-", "_") == key), None)
        if match is None and not keys:
            match = key if value_model is None else None
        if match is not None:
            tail = _env_walk(rest[key_length:], value_model, declared, top=False)
            if tail is not None:
                return (name, match, *tail)
    return None


def seed_defaults(merged: dict[str, Any], path: Path) -> dict[str, Any]:
    """`merged` with every section on the way to `path` filled in from its defaults where no
    layer wrote it, so that a dotted setting (`...alarms.db_cpu_percent.periods=3`) changes
    that one field instead of replacing the section (and dropping its levels) with a partial
    one. Sections of a collection entry start from the stage's `<collection>_defaults`."""
    result = dict(merged)
    node, defaults = result, None
    model: type[BaseModel] | None = StageConfig
    index = 0
    while index < len(path) - 1 and model is not None:
        part = path[index]
        field = model.model_fields.get(part)
        if field is None:
            break
        inner = unwrap(field.annotation)
        if get_origin(inner) is dict:  # a collection: the next part names an entry
            if index + 1 >= len(path) - 1 or not isinstance(node.get(part), dict):
                break
            defaults = next((result.get(k) for k, c in DEFAULTS.items() if c == part), None)
            entries = node[part] = dict(node[part])
            key = path[index + 1]
            if not isinstance(entries.get(key), dict):
                break
            node = entries[key] = dict(entries[key])
            model, index = model_of(get_args(inner)[1]), index + 2
            continue
        sub = model_of(field.annotation)
        if sub is None:
            break
        if not isinstance(node.get(part), dict):
            if part in node or not isinstance(field.default, BaseModel):
                break  # set to null or a scalar by a layer, or no default section
            seed = field.default.model_dump()
            if isinstance(defaults, dict) and isinstance(defaults.get(part), dict):
                seed = {**seed, **defaults[part]}
            node[part] = seed
        else:
            node[part] = dict(node[part])
        node, model, defaults, index = node[part], sub, None, index + 1
    return result
