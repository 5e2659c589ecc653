from __future__ import annotations

from domain.discovery.schema import NO_DEFAULT, parameters, py_literal, python_type, result_fields


def test_scalars_arrays_objects() -> None:
    assert python_type({"type": "string"}) == "str"
    assert python_type({"type": "array", "items": {"type": "integer"}}) == "list[int]"
    assert python_type({"type": "array"}) == "list[Any]"
    assert python_type({"type": "object"}) == "dict[str, Any]"
    assert python_type({"type": "object", "additionalProperties": {"type": "number"}}) == "dict[str, float]"
    assert python_type({}) == "Any"


def test_enums_unions_and_refs() -> None:
    assert python_type({"enum": ["a", "b"], "type": "string"}) == 'Literal["a", "b"]'
    assert python_type({"enum": ["a", None]}) == 'Literal["a"] | None'
    assert python_type({"anyOf": [{"type": "string"}, {"type": "null"}]}) == "str | None"
    assert python_type({"type": ["null", "integer"]}) == "int | None"
    assert python_type({"anyOf": [{"type": "string"}, {}]}) == "Any"
    defs = {"Kind": {"enum": ["base", "ephemeral"], "type": "string"}, "Loop": {"$ref": "#/$defs/Loop"}}
    assert python_type({"$ref": "#/$defs/Kind"}, defs) == 'Literal["base", "ephemeral"]'
    assert python_type({"$ref": "#/$defs/Loop"}, defs) == "Any"  # recursion is cut, not followed forever
    assert python_type({"$ref": "http://elsewhere"}, defs) == "Any"


def test_literals_are_valid_python() -> None:
    for value in ["plain", 'quo"te', "back\\slash", "new\nline", "ünïcode", 3, 2.5, True, None]:
        assert eval(py_literal(value)) == value


def test_parameters_keep_order_required_and_defaults() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "  the   name "},
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
            "limit": {"type": "integer", "default": 10},
        },
        "required": ["name"],
    }
    name, tags, limit = parameters(schema)
    assert (name.name, name.required, name.default is NO_DEFAULT, name.description) == ("name", True, True, "the name")
    assert (tags.has_default, tags.scalar_default) == (True, False)
    assert (limit.annotation, limit.default, limit.scalar_default) == ("int", 10, True)


def test_result_fields() -> None:
    schema = {"properties": {"total": {"type": "integer", "description": "how many"}}, "type": "object"}
    assert result_fields(schema) == [("total", "int", "how many")]
    assert result_fields(None) == []


def test_tool_page_of_a_tool_without_parameters() -> None:
    from domain.discovery.catalog import ToolSpec
    from domain.discovery.describe_tool import tool_markdown

    page = tool_markdown(
        ToolSpec(
            name="cde_ping", description="Ping.", input_schema={"type": "object"}, annotations={"readOnlyHint": True}
        ),
        guide="Call it when unsure.",
    )
    assert (
        page
        == "# cde_ping\n\nPing.\n\nTraits: read-only.\n\n## Parameters\n\nNone.\n\n## Guide\n\nCall it when unsure.\n"
    )
