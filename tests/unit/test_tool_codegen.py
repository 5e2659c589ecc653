from __future__ import annotations

import ast
import inspect
from typing import Any

from adapters.tool_codegen import MARKER, module_names, render_module, render_package, snake_case
from domain.discovery.catalog import ToolSpec

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "default": "", "description": 'words, "quoted" \\ ok'},
        "class": {"type": "string", "description": "a Python keyword as a parameter name"},
        "tags": {"type": "array", "items": {"type": "string"}, "default": []},
        "kind": {"enum": ["base", "ephemeral"], "type": "string"},
        "limit": {"type": "integer", "default": 10},
        "need": {"type": "string"},
    },
    "required": ["class", "need"],
}
SPEC = ToolSpec(
    name="cde_findThings",
    description='Find things. Docstring breakers like """ must not end it.',
    input_schema=SCHEMA,
    output_schema={"type": "object", "properties": {"items": {"type": "array"}}, "required": ["items"]},
)


def load(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    code = source.replace("from ._runtime import call", "")

    async def call(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"tool": tool, "arguments": arguments}

    namespace["call"] = call
    exec(compile(code, "<generated>", "exec"), namespace)
    return namespace


def test_module_is_valid_python_with_marker_and_docstring() -> None:
    source = render_module(SPEC, "9.9")
    assert source.startswith(f"{MARKER} 9.9 from the tool cde_findThings")
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.AsyncFunctionDef))
    assert fn.name == "cde_findThings"
    doc = ast.get_docstring(fn) or ""
    assert 'Docstring breakers like """ must not end it.' in doc
    assert 'words, "quoted" \\ ok' in doc and "Raises:" in doc and "items (list[Any])" in doc


def test_signature_mirrors_the_schema() -> None:
    fn = load(render_module(SPEC, "1"))["cde_findThings"]
    params = inspect.signature(fn).parameters
    assert list(params) == ["query", "class_", "tags", "kind", "limit", "need"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert params["class_"].default is inspect.Parameter.empty and params["need"].default is inspect.Parameter.empty
    assert (params["query"].default, params["limit"].default) == ("", 10)
    assert params["tags"].default is None  # a mutable default is left to the server
    assert params["kind"].annotation.replace("'", '"') == 'Literal["base", "ephemeral"] | None'
    assert params["tags"].annotation == "list[str] | None"


async def test_function_sends_wire_names_and_omits_unset_optionals() -> None:
    fn = load(render_module(SPEC, "1"))["cde_findThings"]
    result = await fn(class_="c", need="n")
    assert result == {
        "tool": "cde_findThings",
        "arguments": {"query": "", "class": "c", "limit": 10, "need": "n"},
    }
    result = await fn(class_="c", need="n", tags=["a"], kind="base")
    assert result["arguments"]["tags"] == ["a"] and result["arguments"]["kind"] == "base"


def test_module_names_are_unique_identifiers() -> None:
    assert snake_case("cde_saveSkill") == "cde_save_skill"
    assert snake_case("HTTPGetX") == "http_get_x"
    assert snake_case("import") == "import_"
    assert snake_case("2fa-check") == "t_2fa_check"
    specs = [ToolSpec(name=n, description="", input_schema={}) for n in ("getX", "get_x", "_runtime")]
    modules = module_names(specs)
    assert len(set(modules.values())) == 3 and "_runtime" not in modules.values()


def test_package_is_deterministic_and_lists_every_tool() -> None:
    other = ToolSpec(name="cde_ping", description="Ping.", input_schema={"type": "object", "properties": {}})
    first = render_package([SPEC, other], package="cde", parent="/p", version="1")
    assert first == render_package([other, SPEC], package="cde", parent="/p", version="1")
    assert set(first) == {"__init__.py", "_runtime.py", "cde_find_things.py", "cde_ping.py"}
    init = first["__init__.py"]
    ast.parse(init)
    assert "from .cde_ping import cde_ping" in init and '"cde_findThings": "Find things.' in init
    assert "async def cde_ping() -> dict[str, Any]:" in first["cde_ping.py"]
    ast.parse(first["_runtime.py"])


def test_any_description_yields_valid_python_with_the_same_docstring() -> None:
    for description in ('Ends in a "quote"', 'Four """" quotes', "A backslash \\", 'Escaped \\"', "NUL \x00 byte"):
        spec = ToolSpec(
            name="cde_odd",
            description=description,
            input_schema={"type": "object", "properties": {"a": {"type": "string", "description": description}}},
        )
        for name, source in render_package([spec], package="cde", parent="/p", version="1").items():
            tree = ast.parse(source, name)  # a SyntaxError here is a package that cannot be imported
            if name == "cde_odd.py":
                fn = next(n for n in tree.body if isinstance(n, ast.AsyncFunctionDef))
                assert (ast.get_docstring(fn, clean=False) or "").startswith(description)
                assert ast.get_docstring(tree) == f"cde_odd: {description}"
