"""Output models that cost as few tokens as possible, in their values and their schema.

An optional field declared with `omitted()` is left out of the JSON when it is None
(a null says nothing), so the published schema can describe it by its real type
alone - `"type": "string"` instead of `anyOf [string, null]` with `default: null`.
`CompactModel` also drops the model's docstring from the schema (the tool
description already says it). Every conversation pays for these schemas in
`tools/list`, and for the values in every result.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _is_none(value: Any) -> bool:
    return value is None


def omitted(**kwargs: Any) -> Any:
    """A field defaulting to None that is left out of the output when None."""
    return Field(default=None, exclude_if=_is_none, **kwargs)


def _is_empty(value: Any) -> bool:
    return not value


def omitted_if_empty(**kwargs: Any) -> Any:
    """A list or mapping field left out of the output when empty (`default_factory` as for any field)."""
    return Field(exclude_if=_is_empty, **kwargs)


def _lean_schema(schema: dict[str, Any], _cls: type[Any]) -> None:
    schema.pop("description", None)
    required = set(schema.get("required") or ())
    for name, prop in (schema.get("properties") or {}).items():
        if name in required or not isinstance(prop, dict) or prop.get("default", ...) is not None:
            continue
        prop.pop("default")
        options = prop.get("anyOf")
        if isinstance(options, list):
            kept = [o for o in options if o != {"type": "null"}]
            if len(kept) == 1 and len(kept) < len(options):
                prop.pop("anyOf")
                prop.update(kept[0])


class CompactModel(BaseModel):
    """Base of output models; declare optional fields with `omitted()` (a None there is never sent)."""

    model_config = ConfigDict(json_schema_extra=_lean_schema)
