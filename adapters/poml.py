"""Parsing `.poml` recipes with a real XML parser (expat), reporting problems with file and line.

The subset understood here:

    <poml>
      <let name="description">One line shown in lists</let>   (or <let name="x" value="..."/>)
      <role>...</role>                  at most once
      <task>...</task>                  exactly once
      <output-format>...</output-format> at most once
      <example>...</example>            any number; plain text or <input>/<output> children
    </poml>

Section bodies are text (Markdown is fine) with `{{ name }}` placeholders; write
`&lt;` and `&amp;` for `<` and `&`, or wrap the text in `<![CDATA[ ... ]]>`.
DOCTYPEs and entity declarations are refused, so parsing never expands
entities or fetches anything. Any other element is an error naming its line:
a recipe that does not parse is reported, never half-used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from xml.parsers import expat

from domain.errors import CorruptDataError
from domain.recipe import PLACEHOLDER, Recipe, RecipeRef, RecipeTemplateError, scan_placeholders
from infrastructure.files import read_text_sync

MAX_RECIPE_BYTES = 256 * 1024
SECTIONS = {"role": "role", "task": "task", "output-format": "output_format"}
_LET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class RecipeSyntaxError(CorruptDataError):
    """A recipe file that cannot be used; the message names the file and the line."""

    def __init__(self, path: Path | str, line: int, problem: str) -> None:
        self.line = line
        super().__init__(path, f"line {line}: {problem}")


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    text_line: int = 0  # line where the node's text starts
    # (offset in `body`, line) where each run of text starts: a comment between runs takes lines
    # that the text does not hold.
    runs: list[tuple[int, int]] = field(default_factory=list)
    size: int = 0

    @property
    def body(self) -> str:
        return "".join(self.text)

    def line_at(self, offset: int) -> int:
        """The source line of `body[offset]`."""
        start, line = next((run for run in reversed(self.runs) if run[0] <= offset), (0, self.text_line))
        return line + self.body.count("\n", start, offset)


class _RefusedError(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def _build_tree(text: str) -> _Node:
    parser = expat.ParserCreate()
    # Buffered text arrives in one call per run of text; expat reports the position where the run
    # ends, so its first line is that line minus the newlines it holds.
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    root = _Node("#document", {}, 1)
    stack = [root]

    def refuse(*_: Any) -> NoReturn:
        raise _RefusedError(parser.CurrentLineNumber, "DOCTYPE and entity declarations are not allowed in recipes")

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(node)
        stack.append(node)

    def end(_: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        node = stack[-1]
        line = parser.CurrentLineNumber - data.count("\n")
        if not node.text:
            node.text_line = line
        node.runs.append((node.size, line))
        node.size += len(data)
        node.text.append(data)

    def between_runs(*_: Any) -> None:
        """Set only so that expat hands over the text before a comment (or processing instruction) as a run
        of its own: one run across it would hide the lines it takes."""

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.CommentHandler = between_runs
    parser.ProcessingInstructionHandler = between_runs
    parser.Parse(text, True)
    return root


def dedent(text: str) -> str:
    """Remove the common leading whitespace of the non-blank lines, then surrounding blank space.

    Same result as `textwrap.dedent(text).strip()` for recipe bodies, without its regexes (cold
    recipe loads are dominated by this).
    """
    lines = text.split("\n")
    margins = [line[: len(line) - len(line.lstrip(" \t"))] for line in lines if line.strip()]
    if not margins:
        return ""
    first, last = min(margins), max(margins)  # the common prefix of all is the common prefix of these two
    cut = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first))
    return "\n".join(line[cut:] if line.strip() else "" for line in lines).strip()


def _section_text(path: Path, node: _Node) -> str:
    """A section's text, dedented, after checking its placeholders (errors point at their line)."""
    if node.children:
        child = node.children[0]
        raise RecipeSyntaxError(path, child.line, f"<{child.tag}> is not allowed inside <{node.tag}>; write plain text")
    raw = node.body
    try:
        scan_placeholders(raw)
    except RecipeTemplateError as exc:
        raise RecipeSyntaxError(path, node.line_at(exc.offset), str(exc)) from None
    return dedent(raw)


def _example_text(path: Path, node: _Node) -> str:
    if not node.children:
        return _section_text(path, node)
    if node.body.strip():
        raise RecipeSyntaxError(path, node.line, "<example> mixes text with <input>/<output>; use one or the other")
    parts = []
    for child in node.children:
        if child.tag not in ("input", "output"):
            raise RecipeSyntaxError(
                path, child.line, f"<{child.tag}> is not allowed in <example>; use <input>/<output>"
            )
        parts.append(f"{child.tag.capitalize()}:\n{_section_text(path, child)}")
    return "\n\n".join(parts)


def parse_poml(text: str, *, path: Path, ref: RecipeRef) -> Recipe:
    """Parse recipe source; raise RecipeSyntaxError (file + line) on anything outside the subset."""
    try:
        document = _build_tree(text)
    except expat.ExpatError as exc:
        raise RecipeSyntaxError(path, exc.lineno, f"invalid XML: {expat.ErrorString(exc.code)}") from None
    except _RefusedError as exc:
        raise RecipeSyntaxError(path, exc.line, exc.problem) from None
    root = document.children[0]
    if root.tag != "poml":
        raise RecipeSyntaxError(path, root.line, f"the root element must be <poml>, found <{root.tag}>")
    if root.body.strip():
        raise RecipeSyntaxError(path, root.text_line, "text outside a section; put it in <role>, <task>…")
    meta: dict[str, str] = {}
    sections: dict[str, str] = {}
    examples: list[str] = []
    for node in root.children:
        if node.tag == "let":
            name = node.attrs.get("name", "")
            if not _LET_NAME.fullmatch(name):
                raise RecipeSyntaxError(path, node.line, '<let> needs a name attribute such as name="description"')
            if name in meta:
                raise RecipeSyntaxError(path, node.line, f'<let name="{name}"> is defined twice')
            if node.children:
                raise RecipeSyntaxError(path, node.line, f'<let name="{name}"> must hold plain text')
            value = node.attrs.get("value", node.body)
            meta[name] = " ".join(value.split()) if name == "description" else dedent(value)
        elif node.tag in SECTIONS:
            key = SECTIONS[node.tag]
            if key in sections:
                raise RecipeSyntaxError(path, node.line, f"<{node.tag}> appears twice")
            sections[key] = _section_text(path, node)
        elif node.tag == "example":
            examples.append(_example_text(path, node))
        else:
            allowed = "<let>, <role>, <task>, <output-format>, <example>"
            raise RecipeSyntaxError(path, node.line, f"unknown element <{node.tag}>; allowed: {allowed}")
    if not sections.get("task"):
        raise RecipeSyntaxError(path, root.line, "<poml> has no (or an empty) <task>")
    return Recipe(ref=ref, meta=meta, examples=examples, lines=_placeholder_lines(text), **sections)


def _placeholder_lines(text: str) -> dict[str, int]:
    """Where each placeholder is first used in the source (located, not parsed: the XML parser parsed it)."""
    lines: dict[str, int] = {}
    line, counted = 1, 0
    for match in PLACEHOLDER.finditer(text):
        if match.group(1) not in lines:
            line += text.count("\n", counted, match.start())  # counted once overall: linear in the file
            counted = match.start()
            lines[match.group(1)] = line
    return lines


def read_recipe_sync(path: Path, ref: RecipeRef) -> Recipe:
    """Read and parse one recipe file (one thread hop's worth of work)."""
    return parse_poml(read_text_sync(path, MAX_RECIPE_BYTES), path=path, ref=ref)
