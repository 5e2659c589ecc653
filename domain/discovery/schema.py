"""JSON Schema (as pydantic emits it for tool inputs and outputs) → Python type expressions.

Used to generate typed functions for the tools and to document them. Covers what
tool schemas contain: scalar types, arrays, objects, enums/consts (→ Literal),
anyOf/oneOf/type lists (→ unions), `$ref` into `$defs`. Anything else is `Any`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
_MAX_DEPTH = 8


def py_literal(value: Any) -> str:
    """A Python source literal for a JSON scalar (strings JSON-quoted, which Python reads the same)."""
    if value is None or type(value) in (bool, int, float):
        return repr(value)
    if isinstance(value, str):
        if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
            return f'"{value}"'  # what json.dumps returns for such a string, without its cost
        return json.dumps(value)
    raise TypeError(f"not a JSON scalar: {value!r}")


def _union(parts: list[str]) -> str:
    unique = list(dict.fromkeys(p for part in parts for p in _split_union(part)))
    if "Any" in unique:
        return "Any"
    if "None" in unique:  # keep `| None` last, the way people write it
        unique = [p for p in unique if p != "None"] + ["None"]
    return " | ".join(unique) or "Any"


def _split_union(text: str) -> list[str]:
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def python_type(schema: Any, defs: Mapping[str, Any] | None = None, _depth: int = 0) -> str:
    """The Python annotation for `schema`, e.g. `list[str]`, `Literal["a", "b"] | None`."""
    if not isinstance(schema, dict) or _depth > _MAX_DEPTH:
        return "Any"
    kind = schema.get("type")
    if type(kind) is str and kind in _SCALARS and "enum" not in schema and "const" not in schema:
        return _SCALARS[kind]  # the common case, first: this runs for every parameter of every tool
    defs = defs or {}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/$defs/") else None
        return python_type(target, defs, _depth + 1) if target is not None else "Any"
    if "const" in schema and _is_scalar(schema["const"]):
        return f"Literal[{py_literal(schema['const'])}]"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(_is_scalar(v) for v in enum):
        values = [v for v in enum if v is not None]
        literal = f"Literal[{', '.join(py_literal(v) for v in values)}]" if values else "None"
        return _union([literal, "None"]) if None in enum else literal
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _union([python_type(o, defs, _depth + 1) for o in options])
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        return python_type(all_of[0], defs, _depth + 1)
    if isinstance(kind, list):
        return _union([python_type({**schema, "type": k}, defs, _depth + 1) for k in kind])
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        items = schema.get("items")
        return f"list[{python_type(items, defs, _depth + 1) if items else 'Any'}]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra and not schema.get("properties"):
            return f"dict[str, {python_type(extra, defs, _depth + 1)}]"
        return "dict[str, Any]"
    return "Any"


_SCALAR_TYPES = (str, int, float, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or type(value) in _SCALAR_TYPES


_NO_DEFAULT = object()


class Param(NamedTuple):
    """One property of a tool's input schema."""

    name: str
    annotation: str
    required: bool
    default: Any  # the JSON default, or NO_DEFAULT
    description: str
    has_default: bool
    scalar_default: bool  # the default can be written as a Python default value (not a list or dict)


NO_DEFAULT = _NO_DEFAULT


def parameters(input_schema: Mapping[str, Any]) -> list[Param]:
    """The tool's parameters in schema order."""
    properties = input_schema.get("properties") or {}
    required = set(input_schema.get("required") or [])
    defs = input_schema.get("$defs") or {}
    params = []
    for name, prop in properties.items() if isinstance(properties, dict) else ():
        prop = prop if isinstance(prop, dict) else {}
        default = prop.get("default", _NO_DEFAULT)
        described = prop.get("description")
        params.append(
            Param(
                name=str(name),
                annotation=python_type(prop, defs),
                required=name in required,
                default=default,
                description=" ".join(str(described).split()) if described else "",
                has_default=default is not _NO_DEFAULT,
                scalar_default=default is not _NO_DEFAULT and _is_scalar(default),
            )
        )
    return params


def result_fields(output_schema: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """(name, annotation, description) of each top-level field of a tool's structured result."""
    if not output_schema:
        return []
    defs = output_schema.get("$defs") or {}
    properties = output_schema.get("properties") or {}
    return [
        (str(name), python_type(prop, defs), " ".join(str((prop or {}).get("description") or "").split()))
        for name, prop in (properties.items() if isinstance(properties, dict) else ())
    ]
