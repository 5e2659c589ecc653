"""A base for output models that cost as few tokens as possible, in their values and their schema.

Null fields are left out of the JSON (they say nothing), so the published schema
can describe an optional field by its real type alone - `"type": "string"` instead
of `anyOf [string, null]` with `default: null` - and the model's docstring is not
repeated as the schema's description (the tool description already says it).
Every conversation pays for these schemas in `tools/list`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


def _lean_schema(schema: dict[str, Any], _cls: type[Any]) -> None:
    schema.pop("description", None)
    required = set(schema.get("required") or ())
    for name, prop in (schema.get("properties") or {}).items():
        if name in required or not isinstance(prop, dict):
            continue
        if prop.get("default", ...) is not None:
            continue
        prop.pop("default")
        options = prop.get("anyOf")
        if isinstance(options, list):
            kept = [o for o in options if o != {"type": "null"}]
            if len(kept) == 1 and len(kept) < len(options):
                prop.pop("anyOf")
                prop.update(kept[0])


class CompactModel(BaseModel):
    model_config = ConfigDict(json_schema_extra=_lean_schema)

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data
