"""The MCP server class: the SDK's MCPServer plus one-line tool errors and compact schemas."""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pydantic_core
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import (
    ResourceNotFoundError,
    ToolError,
    UnexpectedResourceError,
    UnexpectedToolError,
)
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    InputRequiredResult,
    TextContent,
)
from mcp_types import Prompt as MCPPrompt
from mcp_types import Resource as MCPResource
from mcp_types import Tool as MCPTool
from pydantic import BaseModel, ValidationError

from domain.errors import (
    DomainError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
    shown,
)

logger = logging.getLogger(__name__)

_MAX_ERRORS_SHOWN = 3


def label(key: str) -> str:
    """An argument or key name for an error message: as is when it is a short identifier, else quoted and cut."""
    return key if key.isidentifier() and len(key) <= 60 else shown(key, 40)


# Control characters and the characters some readers take as line breaks (NEL, LS, PS).
_BREAKS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def one_line(message: str, limit: int = 2000) -> str:
    """`message` as one line of at most ~`limit` characters, its end (the advice) kept: echoed input can't grow it."""
    if _BREAKS.search(message):
        message = _BREAKS.sub(lambda found: repr(found.group())[1:-1], message)
    if len(message) > limit:
        tail = min(300, limit // 4)
        head = limit - tail - 40
        message = f"{message[:head]}… [{len(message) - head - tail} characters cut] …{message[-tail:]}"
    return message


def compact_text(result: CallToolResult | InputRequiredResult) -> CallToolResult | InputRequiredResult:
    """The text block of a structured result as compact JSON, not the SDK's indented copy.

    Clients without structured output read (and pay tokens for) this text: indentation made
    listings ~30% longer (21% over a typical mix of tools) and told the model nothing.
    """
    if isinstance(result, CallToolResult) and result.structured_content is not None and len(result.content) == 1:
        block = result.content[0]
        if isinstance(block, TextContent):
            block.text = pydantic_core.to_json(result.structured_content, inf_nan_mode="null").decode()
    return result


@functools.cache
def _revalidation_is_a_no_op(model: type[BaseModel]) -> bool:
    """Whether validating an instance of exactly `model` returns it untouched: no model validators
    (pydantic runs them even on an instance) and instances not revalidated."""
    return (
        not model.__pydantic_decorators__.model_validators
        and model.model_config.get("revalidate_instances", "never") == "never"
    )


def converted(tool: Tool, result: Any) -> CallToolResult | InputRequiredResult:
    """`result` as the SDK's `convert_result` would make it, with the text copy compact, at half the cost.

    A tool returning exactly its declared output model, when validating that instance would return
    it untouched, is dumped once: the SDK would also validate it and write an indented JSON copy
    that `compact_text` then replaces. Anything else takes the SDK's own path.
    """
    meta = tool.fn_metadata
    try:
        if (
            meta.output_schema is None
            or meta.wrap_output
            or not isinstance(result, BaseModel)
            or type(result) is not meta.output_model
            or not _revalidation_is_a_no_op(type(result))
        ):
            return compact_text(meta.convert_result(result))
        structured = result.model_dump(mode="json", by_alias=True)
        text = pydantic_core.to_json(structured, inf_nan_mode="null").decode()
    except Exception as exc:  # as inside Tool.run: a result that does not convert is the tool's crash
        raise UnexpectedToolError(f"Error executing tool {tool.name}") from exc
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def describe_validation_error(tool: str, exc: ValidationError) -> str:
    """One line naming each bad argument, e.g. `invalid_input: invalid arguments for cde_x: limit: must be <= 100`."""
    parts = []
    for err in exc.errors()[:_MAX_ERRORS_SHOWN]:
        where = ".".join(label(p) if isinstance(p, str) else str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{where}: {one_line(err['msg'], 300)}")
    more = len(exc.errors()) - _MAX_ERRORS_SHOWN
    if more > 0:
        parts.append(f"and {more} more")
    return f"{InvalidInputError.code}: invalid arguments for {tool}: " + "; ".join(parts)


def compact_schema(schema: Any, *, in_properties: bool = False) -> Any:
    """Make a schema cheaper for clients without changing what it accepts.

    - drops pydantic's auto-generated `title`s (they repeat the property names);
    - drops `additionalProperties: true` (the default);
    - writes `anyOf` of bare types (`T | None`) as one `type` list, null first, so a
      validator accepts the common null without building the other branch's errors.
    """
    if isinstance(schema, dict):
        compacted = {
            k: compact_schema(v, in_properties=(k in ("properties", "$defs", "definitions") and not in_properties))
            for k, v in schema.items()
            if in_properties
            or not ((k == "title" and isinstance(v, str)) or (k == "additionalProperties" and v is True))
        }
        any_of = compacted.get("anyOf") if not in_properties else None
        if isinstance(any_of, list) and {"type": "null"} in any_of:
            ordered = sorted(any_of, key=lambda branch: branch != {"type": "null"})
            if all(isinstance(b, dict) and set(b) == {"type"} and isinstance(b["type"], str) for b in ordered):
                del compacted["anyOf"]
                compacted["type"] = [b["type"] for b in ordered]
            else:
                compacted["anyOf"] = ordered
        return compacted
    if isinstance(schema, list):
        return [compact_schema(v) for v in schema]
    return schema


def inline_single_use_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace each `$ref` to a `$defs` entry used exactly once by the entry itself.

    Saves the definition's name twice and a `$ref` hop for validators. Entries
    used several times, or referring to themselves, stay shared.
    """
    defs = schema.get("$defs")
    if not isinstance(defs, dict):
        return schema
    text = json.dumps(schema)
    counts = {name: text.count(f'"#/$defs/{name}"') for name in defs}
    inlinable = {name for name, n in counts.items() if n == 1 and f'"#/$defs/{name}"' not in json.dumps(defs[name])}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in inlinable and len(node) == 1:
                return walk(defs[ref[8:]])
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    kept = {name: walk(body) for name, body in defs.items() if name not in inlinable}
    if kept:
        result["$defs"] = kept
    return result


def compact_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An output schema without what only matters to producers: defaults, `required`, the docstring.

    A result always carries every field of its model (nulls included), so
    `default` and `required` tell a client nothing it needs; the root description
    is the model's docstring, written for developers. Types stay, so clients
    still validate what they receive.
    """

    def strip(node: Any, *, in_properties: bool = False) -> Any:
        if isinstance(node, dict):
            return {
                k: strip(v, in_properties=k in ("properties", "$defs") and not in_properties)
                for k, v in node.items()
                if in_properties or k not in ("default", "required")
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    lean: dict[str, Any] = strip(compact_schema(inline_single_use_defs(schema)))
    lean.pop("description", None)
    return lean


def drop_optional_nulls(schema: dict[str, Any]) -> dict[str, Any]:
    """Publish an optional parameter `x: T | None = None` as plain `T`: omitting it already means None.

    Saves ~40 bytes per such parameter in every `tools/list`. The server still
    accepts an explicit null (arguments are validated by the handler's signature).
    """
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return schema
    required = set(schema.get("required") or ())
    lean: dict[str, Any] = {}
    for name, prop in properties.items():
        options = prop.get("anyOf") if isinstance(prop, dict) else None
        if name not in required and isinstance(options, list) and prop.get("default", ...) is None:
            kept = [o for o in options if o != {"type": "null"}]
            if len(kept) == 1 and len(kept) < len(options):
                prop = {**{k: v for k, v in prop.items() if k not in ("anyOf", "default")}, **kept[0]}
        lean[name] = prop
    return {**schema, "properties": lean}


# Domain errors a resource request itself causes: invalid params, not a server failure.
_CALLERS_FAULT = (InvalidInputError, NotFoundError, PermissionDeniedError, LimitExceededError)


def unencodable(value: Any, where: str = "arguments") -> str | None:
    """Where `value` holds text that is not valid Unicode (a lone UTF-16 surrogate such as '\\ud800'), or None.

    JSON can carry such text, but no file, path or process can: caught here, it is a one-line
    error instead of an encoding crash deep in a tool.
    """
    if isinstance(value, str):
        if value.isascii():
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if unencodable(key) is not None:
                return f"a key of {where}"
            if unencodable(item) is not None:
                return unencodable(
                    item, f"{where}.{label(key)}" if key.isidentifier() else f"{where}[{shown(key, 40)}]"
                )
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if unencodable(item) is not None:
                return unencodable(item, f"{where}[{index}]")
    return None


class CdeServer(MCPServer[Any]):
    """MCPServer whose tool errors are one actionable line and whose `tools/list` is lean.

    Domain errors raised by a tool come back as `isError` results carrying the
    error's own message. Argument validation failures are summarised on one line.
    Anything unexpected is logged to stderr with its traceback and reported as a
    short internal error; the server keeps serving.
    """

    _listing: tuple[tuple[str, ...], list[MCPTool]] | None = None
    _registrar: Callable[[], None] | None = None
    _resource_listers: list[Callable[[], Awaitable[list[MCPResource]]]] | None = None
    _prompt_refreshers: list[Callable[[], Awaitable[None]]] | None = None
    # Long-form guidance per tool, served by the cde://tools/{name} resource.
    guides: dict[str, str] | None = None
    # Registered tools that tools/list leaves out (the lean profile); still callable and searchable.
    _unlisted: frozenset[str] = frozenset()
    # Why a prompt that should exist is not served (a recipe that does not parse): `<code>: <message>` by name.
    prompt_problems: dict[str, str] | None = None

    # -- deferred registration -------------------------------------------------------------------------

    def register_later(self, registrar: Callable[[], None]) -> None:
        """Run `registrar` (which adds the tools, prompts and resources) the first time any is needed.

        Building ~30 tool schemas costs ~0.15 s of pydantic work: deferring it lets the
        handshake be answered as fast as a bare server; the first tools/list pays it.
        """
        self._registrar = registrar

    def ensure_registered(self) -> None:
        registrar, self._registrar = self._registrar, None
        if registrar is not None:
            try:
                registrar()
            except BaseException:
                self._registrar = registrar  # a later request retries (and reports the failure again)
                raise

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        self.ensure_registered()
        return super()._tool_input_schema(name)

    async def list_resource_templates(self) -> Any:
        self.ensure_registered()
        return await super().list_resource_templates()

    def add_prompt_refresher(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Prompts derived from files: `refresh` (cheap when nothing changed) runs before prompts/list and
        prompts/get, so prompts follow the files and nothing is read at start-up."""
        if self._prompt_refreshers is None:
            self._prompt_refreshers = []
        self._prompt_refreshers.append(refresh)

    async def _refresh_prompts(self) -> None:
        self.ensure_registered()
        for refresh in self._prompt_refreshers or ():
            try:
                await refresh()
            except Exception:  # a broken recipe directory must not hide the other prompts
                logger.warning("refreshing prompts failed", exc_info=True)

    async def list_prompts(self) -> list[MCPPrompt]:
        await self._refresh_prompts()
        return await super().list_prompts()

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        """Like `call_tool`: bad requests are one-line invalid-params errors, never a traceback.

        The SDK turns every failure into an untyped ValueError (code 0 on the wire, its
        traceback in the log): a missing argument or an unknown or broken prompt is the
        caller's to fix and says so; anything else is logged here and reported as internal.
        """
        await self._refresh_prompts()
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            why = (self.prompt_problems or {}).get(name)
            raise MCPError(
                INVALID_PARAMS,
                one_line(why or f"not_found: no prompt named {shown(name)}; list them with prompts/list"),
            )
        declared = [argument.name for argument in prompt.arguments or ()]
        unknown = sorted(k for k in arguments or {} if k not in declared)
        if unknown:  # as for tools: a misspelt argument silently ignored would render without it
            listed = ", ".join(label(k) for k in unknown[:5])
            raise MCPError(
                INVALID_PARAMS,
                one_line(
                    f"{InvalidInputError.code}: unknown argument(s) for prompt {name}: {listed}; "
                    f"valid: {', '.join(declared) or 'none'}"
                ),
            )
        try:
            return await super().get_prompt(name, arguments, context)
        except MCPError:
            raise
        except ValueError as exc:
            # The SDK wraps twice: ValueError(message) from [ValueError("Error rendering prompt") from] the failure.
            cause = exc.__cause__
            failure = cause.__cause__ if cause is not None and cause.__cause__ is not None else cause
            if failure is cause and isinstance(cause, ValueError):  # raised before rendering: missing arguments
                raise MCPError(INVALID_PARAMS, one_line(f"invalid_input: prompt {name}: {cause}")) from None
            if isinstance(failure, ValidationError | TypeError):  # arguments the prompt cannot take
                raise MCPError(INVALID_PARAMS, one_line(f"invalid_input: prompt {name}: {failure}")) from None
            logger.error("prompt %s crashed", name, exc_info=failure or exc)
            raise MCPError(
                INTERNAL_ERROR, f"internal error in prompt {name}; details are in the server log on stderr"
            ) from None

    def add_resource_lister(self, lister: Callable[[], Awaitable[list[MCPResource]]]) -> None:
        """Add resources computed at listing time (e.g. one per skill) to `resources/list`."""
        if self._resource_listers is None:
            self._resource_listers = []
        self._resource_listers.append(lister)

    async def read_resource(self, uri: Any, context: Context[Any, Any] | None = None) -> Any:
        """Like `call_tool`: a domain error raised while reading is a one-line error, invalid params when
        the request is at fault; an unknown URI says where the known ones are listed. The URI is not
        echoed back whole (the SDK would send it twice, however long)."""
        self.ensure_registered()
        try:
            return await super().read_resource(uri, context)
        except UnexpectedResourceError as exc:
            cause = exc.__cause__
            if isinstance(cause, DomainError):
                code = INVALID_PARAMS if isinstance(cause, _CALLERS_FAULT) else INTERNAL_ERROR
                raise MCPError(code, one_line(f"{cause.code}: {cause.message}")) from None
            raise
        except ResourceNotFoundError:
            raise MCPError(
                INVALID_PARAMS,
                f"{NotFoundError.code}: no resource {shown(str(uri))}; resources/list and "
                "resources/templates/list show what exists (skill://{scope}/{name}, cde://tools/{name})",
            ) from None

    async def list_resources(self) -> list[MCPResource]:
        self.ensure_registered()
        resources = await super().list_resources()
        for lister in self._resource_listers or ():
            try:
                resources.extend(await lister())
            except Exception:  # a broken library must not hide the other resources
                logger.warning("listing resources failed", exc_info=True)
        return resources

    def unlist(self, name: str) -> None:
        """Leave tool `name` out of `tools/list`; it stays callable, searchable and documented (lean profile)."""
        self._unlisted = self._unlisted | {name}

    def reveal(self, names: Iterable[str]) -> list[str]:
        """Show these unlisted tools in `tools/list` from now on (the lean profile's discovered tools);
        returns the ones that were unlisted, in order."""
        shown = [name for name in dict.fromkeys(names) if name in self._unlisted]
        if shown:
            self._unlisted = self._unlisted.difference(shown)
        return shown

    async def announce_tools_changed(self, context: Context[Any, Any]) -> None:
        """Tell the client that `tools/list` changed, in either protocol era, so it lists the tools again.

        Handshake-era clients get `notifications/tools/list_changed` on the connection (the 2026-07-28
        era's connection drops it); 2026-07-28 clients get it on their `subscriptions/listen` streams
        (there are none in the handshake era). Called outside a request (in-process), nothing is sent.
        """
        try:
            session = context.session
        except ValueError:
            return
        await session.send_tool_list_changed()
        await context.notify_tools_changed()

    def tool_names(self) -> list[str]:
        """Names of the tools `tools/list` shows, synchronously (for health)."""
        self.ensure_registered()
        return [t.name for t in self._tool_manager.list_tools() if t.name not in self._unlisted]

    def tool_count(self) -> int:
        """How many tools `tools/list` shows, without listing them (health asks on every call)."""
        self.ensure_registered()
        hidden = sum(1 for name in self._unlisted if self._tool_manager.get_tool(name) is not None)
        return len(self._tool_manager.list_tools()) - hidden

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await self._call_tool(name, arguments, context)
        except ToolError as exc:
            text = str(exc)
            safe = one_line(text)
            if safe is text:
                raise
            raise ToolError(safe) from None

    async def _call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None
    ) -> CallToolResult | InputRequiredResult:
        self.ensure_registered()
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            raise ToolError(f"{NotFoundError.code}: no tool named {shown(name)}; find one with cde_searchTools")
        bad = unencodable(arguments)
        if bad:
            raise ToolError(
                f"{InvalidInputError.code}: {bad} of {name} holds a lone UTF-16 surrogate, which is not text; "
                "send valid Unicode"
            )
        known = tool.parameters.get("properties", {})
        unknown = sorted(k for k in arguments if k not in known)
        if unknown:
            # A misspelled `project_path` silently ignored would act on the wrong project.
            valid = ", ".join(known) or "none"
            listed = ", ".join(label(k) for k in unknown[:5])
            listed += f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise ToolError(f"{InvalidInputError.code}: unknown argument(s) for {name}: {listed}; valid: {valid}")
        required = tool.parameters.get("required", ())
        if any(value is None and key not in required for key, value in arguments.items()):
            # `null` for an optional argument means "not given" to most callers: its default, not a refusal.
            arguments = {key: value for key, value in arguments.items() if value is not None or key in required}
        if context is None:
            context = Context(mcp_server=self, subscriptions=self._subscriptions)
        try:
            return converted(tool, await tool.run(arguments, context))
        except UnexpectedToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, DomainError):
                raise ToolError(f"{cause.code}: {cause.message}") from None
            logger.error("tool %s crashed", name, exc_info=cause or exc)
            raise ToolError(
                f"internal error in {name} ({type(cause).__name__}); details are in the server log on stderr"
            ) from None
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(describe_validation_error(name, exc.__cause__)) from None
            raise

    async def registered_tools(self) -> list[MCPTool]:
        """Every registered tool as `tools/list` would send it, unlisted ones included (the tool catalog)."""
        self.ensure_registered()
        names = tuple(t.name for t in self._tool_manager.list_tools())
        if self._listing is None or self._listing[0] != names:
            compacted = [
                t.model_copy(
                    update={
                        "input_schema": drop_optional_nulls(compact_schema(t.input_schema)),
                        "output_schema": compact_output_schema(t.output_schema) if t.output_schema else None,
                    }
                )
                for t in await super().list_tools()
            ]
            self._listing = (names, compacted)
        return self._listing[1]

    async def list_tools(self) -> list[MCPTool]:
        tools = await self.registered_tools()
        return [t for t in tools if t.name not in self._unlisted] if self._unlisted else tools
