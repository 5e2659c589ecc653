"""A line-based Markdown reader for what documentation tooling needs: front matter, headings, links, sections.

Not a renderer: it follows CommonMark where it matters here (fenced and indented
code is opaque, also inside block quotes and list items, where indentation counts
from the item's content column; HTML comments hide their content; ATX and setext
headings, in list items too; which list items may interrupt a paragraph; inline and
reference links; inline code spans hide their content) and GitHub's rules for heading
anchors (made of the rendered text: lowercase, drop punctuation, spaces to hyphens,
`-1`, `-2` for repeats). Front matter is YAML parsed with a safe loader. Pure
functions of the text; callers bound its size.
"""

from __future__ import annotations

import bisect
import datetime
import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import yaml

from domain.docs.model import DocLink, Heading
from domain.front_matter import closing_line
from infrastructure.yaml_loader import YAML_LOADER

MAX_SETEXT_LINES = 100  # lines of a paragraph kept as a setext heading's text
MAX_TARGET_CHARS = 300
MAX_METADATA_CHARS = 8_000  # front matter kept per doc (roughly, in JSON characters)
# Only this much of a line is examined for headings and links: a hostile multi-megabyte line full of
# "<a " or backticks would otherwise make the (backtracking) regexes below quadratic.
MAX_LINE_SCAN = 10_000

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FENCE_IN_ITEM = re.compile(r"^[ \t]*(`{3,}|~{3,})")  # in a list item: indented as deep as the item's text
_QUOTE = re.compile(r" {0,3}>[ \t]?")
_QUOTES = re.compile(r"(?: {0,3}>[ \t]?)+")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_BLOCK_START = re.compile(r"^ {0,3}(?:[-*+>]|\d{1,9}[.)]|#|\||<)")
_THEMATIC_BREAK = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_FIRST = re.compile(r" {0,3}0*1[.)]")  # a numbered item starting a list that interrupts a paragraph
_LIST_MARKS = frozenset("-*+0123456789")
_INDENT_OR_LIST = _LIST_MARKS | {" ", "\t"}
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# Link text: escapes, and up to four nested [...] pairs (images inside links, [1]-style notes). A link starts
# at an unescaped "[" only, and the pairs are counted, so each attempt stops within a few brackets: starting at
# every "[" of a long "\[\[..." or "[\][\]..." run and scanning the rest of the line from each (minutes for
# a 2 MB doc of such lines) cannot happen.
_LINK_TEXT_PART = r"(?:[^\[\]\\]|\\.)*"
_INLINE_LINK = re.compile(
    rf"!?(?<!\\)\[{_LINK_TEXT_PART}(?:\[{_LINK_TEXT_PART}\]{_LINK_TEXT_PART}){{0,4}}\]"
    r"\(\s*(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)"
    r"(?:\s+(?:\"[^\"]{0,300}\"|'[^']{0,300}'|\([^)]{0,300}\)))?\s*\)"  # a title: bounded, or "[a](b (" repeats scan on
)
# A definition holds a destination and an optional title, nothing else: "[Warning]: do not run this" is prose.
_REFERENCE_DEF = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:\s*(<[^<>\n]*>|\S+)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*$")
_HTML_TARGET = re.compile(r"<(?:a|img|source|link)\b[^<>]*?\b(?:href|src)\s*=\s*[\"']([^\"'<>]*)[\"']", re.IGNORECASE)
_HTML_ID = re.compile(r"<[a-z][^<>]*?\b(?:id|name)\s*=\s*[\"']([^\"'<>]+)[\"']", re.IGNORECASE)
_HEADING_ID = re.compile(r"\s*\{#([\w\-:.]+)\}\s*$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")
# In heading text; each stops at the next "<" / "[" / "(", so a heading of 10,000 "[" or "<" is not quadratic.
# Inline HTML as CommonMark reads it (a tag name starts with a letter: `a <-> b` keeps its `<->`), and comments.
_TAG = re.compile(r"<!--[^<>]*-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")  # each stops at the next < or >
# A link's text (inline or reference form); an image renders no text.
_LINK_TEXT = re.compile(r"(!?)\[([^\[\]]*)\](?:\([^()]*\)|\[[^\[\]]*\])")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # a backslash before ASCII punctuation: the punctuation itself
_SLUG_DROP = re.compile(r"[^\w\- ]", re.UNICODE)
# Opening and closing runs of 1-3 underscores not touching a word character, around text that holds
# underscores only inside words (`_a_b_` is a_b emphasised); code spans are set aside first.
_EMPHASIS = re.compile(r"(?<!\w)(_{1,3})(?=[^\s_])((?:[^_]|(?<=[^\W_])_+(?=[^\W_]))*?[^\s_])\1(?!\w)")
_TITLE_LINE = re.compile(r"\"[^\"]*\"|'[^']*'|\([^)]*\)")
_HELD = re.compile("\ue000(\\d+)\ue001")  # a code span or escaped character set aside (private-use marks)


@dataclass(frozen=True)
class Markdown:
    """The parts of a Markdown text that documentation tooling uses."""

    metadata: dict[str, Any] | None
    metadata_error: str | None
    body_start: int  # index of the first line after the front matter
    headings: tuple[Heading, ...]
    anchors: tuple[str, ...]
    links: tuple[DocLink, ...]

    @property
    def h1(self) -> str | None:
        return next((h.text for h in self.headings if h.level == 1 and h.text), None)


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading's rendered text (before de-duplication); not trimmed, as GitHub's."""
    lowered = text.lower()
    if lowered.isascii():
        return _SLUG_DROP.sub("", lowered).replace(" ", "-")
    # Letters, digits and marks stay: `\w` lacks the combining marks that Devanagari, Bengali or Tamil
    # words are made of (GitHub keeps them), so no regex here.
    kept = (c for c in lowered if c in "-_ " or unicodedata.category(c)[0] in "LNM")
    return "".join(kept).replace(" ", "-")


def _unquote(line: str, most: int | None = None) -> tuple[str, int]:
    """`line` without its block quote markers (at most `most` of them), and how many were taken."""
    if most is None:
        found = _QUOTES.match(line)  # one match for the whole prefix: linear however deep the nesting
        return (line, 0) if found is None else (line[found.end() :], found.group(0).count(">"))
    position = depth = 0
    while depth < most and (one := _QUOTE.match(line, position)) is not None:
        position, depth = one.end(), depth + 1
    return line[position:], depth


def _heading_line(line: str) -> str:
    """What a heading would be on `line`: block quote markers and a list item's marker set aside."""
    line, _ = _unquote(line) if ">" in line[:4] else (line, 0)
    item = _LIST_ITEM.match(line)
    return line[item.end() :].lstrip(" \t") if item is not None else line


def heading_text(raw: str) -> str:
    """A heading's visible text (see `_rendered_text`), without surrounding blanks."""
    return _rendered_text(raw).strip()


def _rendered_text(raw: str) -> str:
    """The text GitHub renders for a heading's source, which its anchor is made of: links give their
    text, images and HTML tags none, entities and backslash escapes their character, and emphasis
    underscores (`_word_`, `__word__`, not `snake_case`) are dropped; code spans stay as written.
    Not trimmed: markup that renders nothing next to a space leaves that space (`-installation`)."""
    held: list[str] = []

    def hold(text: str) -> str:  # set aside as a private-use mark, restored at the end
        held.append(text)
        return f"\ue000{len(held) - 1}\ue001"

    text = _CODE_SPAN.sub(lambda found: hold(found.group(2)), raw) if "`" in raw else raw
    if "\\" in text:
        text = _ESCAPED.sub(lambda found: hold(found.group(1)), text)
    if "[" in text:
        text = _LINK_TEXT.sub(lambda found: "" if found.group(1) else found.group(2), text)
    if "<" in text:
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    if "_" in text:
        for _ in range(3):  # nested emphasis, one level per pass
            unwrapped = _EMPHASIS.sub(r"\2", text)
            if unwrapped == text:
                break
            text = unwrapped
    text = text.replace("`", "")
    return _HELD.sub(lambda found: held[int(found.group(1))], text) if held else text


def _plain(value: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Front-matter value as bounded JSON-able data (dates become ISO strings, lists tuples, long text is cut).

    Bounded in total too, to about `MAX_METADATA_CHARS`: YAML aliases let a few
    lines name the same list thousands of times, which would otherwise expand
    into megabytes (and `str()` of such a value would build all of it).
    """
    if budget is None:
        budget = [MAX_METADATA_CHARS]
    if value is None or isinstance(value, bool | int | float):
        budget[0] -= 8
        return value
    if isinstance(value, datetime.date | datetime.datetime):
        budget[0] -= 32
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset | dict):
        if depth >= 3:
            budget[0] -= 16
            return f"({len(value)} items)"
        if isinstance(value, dict):
            mapping: dict[str, Any] = {}
            for key, item in list(value.items())[:40]:
                if budget[0] <= 0:
                    break
                name = _plain(str(key)[:100], depth + 1, budget)
                mapping[name] = _plain(item, depth + 1, budget)
            return mapping
        items: list[Any] = []
        for item in list(value)[:30]:
            if budget[0] <= 0:
                break
            items.append(_plain(item, depth + 1, budget))
        return tuple(items)  # tuples: see DocLink in domain/docs/model.py
    text = value if isinstance(value, str) else str(value)
    text = _text(text[: max(0, min(500, budget[0]))])
    budget[0] -= len(text) + 2
    return text


def _text(value: str) -> str:
    """`value` without lone surrogates (pure-Python YAML makes one of "\\ud800"; JSON and SQLite refuse them)."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _front_matter(lines: list[str]) -> tuple[dict[str, Any] | None, str | None, int]:
    end = closing_line(lines)
    if end is None:  # none, or no closing fence: a thematic break, not front matter
        return None, None, 0
    try:
        data = yaml.load("\n".join(lines[1:end]), Loader=YAML_LOADER)  # safe, refusing duplicate keys
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        return None, f"invalid YAML{where}: {problem}", end + 1
    if data is None:
        return {}, None, end + 1
    if not isinstance(data, dict):
        return None, f"front matter is a {type(data).__name__}, expected key: value pairs", end + 1
    return _plain(data), None, end + 1


def link_of(raw: str, line: int) -> DocLink | None:
    """A relative link target split into path and anchor; None for URLs, mail links and empty targets."""
    target = raw.strip()
    if target.startswith("<") and target.endswith(">"):
        target = target[1:-1].strip()
    if not target or target.startswith("//") or _SCHEME.match(target) or "{{" in target:
        return None
    url = _ESCAPE_OR_ENTITY.sub(_unescaped, target) if "\\" in target or "&" in target else target
    path, _, anchor = url.partition("#")
    return (line, target[:MAX_TARGET_CHARS], unquote(path.split("?", 1)[0]), unquote(anchor))


# A link destination is read as GitHub reads it: backslash escapes and entities give their character
# (`docs\\_x.md` is `docs_x.md`, `a&amp;b.md` and `a&#x26;b.md` are `a&b.md`), in one pass, so an escaped
# `\\&` stays a literal `&` (`a\\&amp;b.md` is `a&amp;b.md`); then the URL splits at `#`, then percent-decodes.
_ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
_ESCAPE_OR_ENTITY = re.compile(f"{_ESCAPED.pattern}|{_ENTITY}")


def _unescaped(found: re.Match[str]) -> str:
    return found.group(1) if found.group(1) is not None else html.unescape(found.group(0))


def parse_markdown(text: str, *, with_links: bool = True) -> Markdown:
    """Front matter, headings with anchors, and (unless `with_links` is false, as for search) links."""
    lines = text.split("\n")
    if "\r" in text:  # CRLF files: each line without its \r
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    metadata, metadata_error, start = _front_matter(lines)
    headings: list[Heading] = []
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    links: list[DocLink] = []
    fence: str | None = None
    fence_indent = fence_depth = 0  # where the open fence is: its indentation, and how deep in block quotes
    fence_in_item = False  # opened in a list item: it closes when a line leaves the item
    # The paragraph just read (its lines, and the index of its first): a setext underline makes it a heading.
    paragraph: list[str] = []
    paragraph_start = paragraph_depth = 0
    lazy = False  # lines continuing a list item's or a block quote's paragraph: no setext heading from them
    after_definition = False  # a link reference definition's title may follow on the next line
    blank_before = True  # the previous line was blank (or there was none): an indented line there is code
    in_code = False  # inside an indented code block
    block_ended = False  # the line before was a heading, a rule or a fence's end: indented code may follow it
    # The content column of each open list item, outermost first, per block quote depth (a quote's
    # columns count from its own content; leaving a quote ends the lists in it).
    stacks: list[list[int]] = [[]]
    items = stacks[0]
    paragraph_base = 0  # the column the paragraph's container starts at (a list item's content)
    in_comment = False  # inside an HTML comment <!-- … --> that spans lines

    def add_heading(level: int, raw: str, line: int) -> None:
        explicit = _HEADING_ID.search(raw)
        if explicit:
            raw = raw[: explicit.start()]
            anchors.add(explicit.group(1).lower())
        rendered = _rendered_text(raw)
        slug = github_slug(rendered)
        text = " ".join(rendered.split())
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchor = f"{slug}-{count}" if count else slug
        anchors.add(anchor)
        headings.append(Heading(level=level, text=text, anchor=explicit.group(1) if explicit else anchor, line=line))

    def scan_links(line: str, number: int, *, definitions: bool) -> None:
        visible = _CODE_SPAN.sub(" ", line) if "`" in line else line
        if "<!--" in visible:  # comments closed on the line render as nothing (code spans masked first)
            visible = _without_comments(visible)
        for match in _INLINE_LINK.finditer(visible):
            found = link_of(match.group(1), number)
            if found is not None:
                links.append(found)
            if "](" in match.group(0)[: match.start(1) - match.start() - 2]:  # "[![logo](img.png)](page)"
                for inner in _INLINE_LINK.finditer(visible, match.start() + 1, match.start(1) - 2):
                    found = link_of(inner.group(1), number)
                    if found is not None:
                        links.append(found)
        reference = _REFERENCE_DEF.match(visible) if definitions else None
        if reference:
            found = link_of(reference.group(1), number)
            if found is not None:
                links.append(found)
        if "<" in visible:
            for match in _HTML_TARGET.finditer(visible):
                found = link_of(match.group(1), number)
                if found is not None:
                    links.append(found)
            anchors.update(m.group(1).lower() for m in _HTML_ID.finditer(visible))

    for index in range(start, len(lines)):
        line = lines[index][:MAX_LINE_SCAN]
        depth = 0
        # Inside a block quote, its content is read like any other; inside a fenced block, only the
        # quote markers of the fence's own container are set aside (`> ```` in a code sample is code).
        quoted_at = 0
        if ">" in line[:4] and (fence is None or fence_depth):
            quoted_at = _indent(line)
            line, depth = _unquote(line, fence_depth if fence is not None else None)
        stripped = line.strip()
        if fence is not None and (depth < fence_depth or (fence_in_item and stripped and _indent(line) < fence_indent)):
            fence = None  # its block quote or list item ended: a fence closes with its container
        if fence is None:
            if len(stacks) != depth + 1:  # a line outside a quote (even a blank one) ends the lists in it
                del stacks[depth + 1 :]
                stacks.extend([] for _ in range(depth + 1 - len(stacks)))
                items = stacks[depth]
            if depth and stacks[0]:  # a quote ends the items it is not indented into
                del stacks[0][bisect.bisect_right(stacks[0], quoted_at) :]
            if in_comment:  # an HTML comment block: hidden up to its -->
                end = line.find("-->")
                if end == -1:
                    continue
                in_comment = False
                line = line[end + 3 :]
                stripped = line.strip()
            elif stripped.startswith("<!--") and "-->" not in stripped[4:]:
                in_comment = True  # only a line starting with <!-- opens a comment that spans lines
                paragraph, lazy = [], False
                continue
            if not stripped:
                blank_before = True
                paragraph, lazy = [], False
                continue
            first = line[0]
            base = indent = 0  # base: where the line's container starts (the content of the item it is in)
            listed = None  # the list item the line starts
            if first not in _INDENT_OR_LIST:  # most lines: plain text at the margin
                in_code = False
                items.clear()
            else:
                indent = _indent(line) if first == " " or first == "\t" else 0
                kept = bisect.bisect_right(items, indent)  # items' content columns only grow inwards
                base = items[kept - 1] if kept else 0  # the innermost item the line is indented into
                if base:
                    line = _dedent(line, base)
                listed = _list_item(line) if stripped[0] in _LIST_MARKS else None
                if listed and paragraph and depth == paragraph_depth and indent >= paragraph_base:
                    listed = listed if _may_interrupt(line, listed) else None
                # Indented code: four columns past the container's start, where no paragraph goes on.
                in_code = indent - base >= 4 and (in_code or blank_before or block_ended)
                # The items the line is not indented into end after a blank line, at a new item, or at a block
                # that cannot continue their paragraph (code, a heading, a rule, a fence); else it continues it.
                if kept < len(items) and (blank_before or listed or in_code or _ends_items(line)):
                    del items[kept:]
                if first != " " and first != "\t" and not listed:
                    items.clear()
            blank_before = block_ended = False
            if in_code:  # an indented code block: opaque, like a fenced one
                paragraph, lazy = [], False
                continue
        marker = stripped[:1]  # every block construct below starts with one of "`~#=-"
        fence_match = (_FENCE_IN_ITEM if items or fence is not None else _FENCE).match(line) if marker in "`~" else None
        if fence is not None:
            closing = fence_match.group(1) if fence_match else ""
            if closing[:1] == fence[0] and len(closing) >= len(fence) and not line.strip().lstrip(fence[0]):
                fence, block_ended = None, True
            continue
        if fence_match and _opens_fence(fence_match, line):
            fence = fence_match.group(1)
            fence_indent, fence_depth, fence_in_item = base + _indent(line), depth, bool(items)
            paragraph, lazy = [], False
            continue
        item = listed
        if item is not None:
            items.append(base + _content_column(line, item))
            content = line[item.end() :]  # "- ## Heading": a heading inside a list item
            opened = _FENCE.match(content) if content.lstrip(" ")[:1] in ("`", "~") else None
            if opened and _opens_fence(opened, content):  # "- ```sh"
                fence, fence_indent, fence_depth, fence_in_item = opened.group(1), items[-1], depth, True
                paragraph, lazy = [], False
                continue
            line = content
            marker = line.strip()[:1]
        atx = _ATX.match(line.lstrip(" \t") if item is not None else line) if marker == "#" else None
        if atx:
            add_heading(len(atx.group(1)), atx.group(2) or "", index + 1)
            if with_links and ("[" in line or "<" in line):
                scan_links(line, index + 1, definitions=False)
            paragraph, lazy, block_ended = [], False, True
            continue
        setext = (
            _SETEXT.match(line)
            if paragraph
            and not lazy
            and item is None
            and depth == paragraph_depth
            and marker in "=-"
            and base == paragraph_base <= indent
            else None
        )
        if setext:
            # GitHub's anchor drops the line break between the lines ("Foo\nbar" -> foobar); shown as one line.
            add_heading(1 if setext.group(1)[0] == "=" else 2, "\n".join(paragraph), paragraph_start + 1)
            paragraph, lazy, block_ended = [], False, True
            continue
        fresh = not paragraph or item is not None  # a definition cannot interrupt a paragraph; an item starts anew
        if with_links and ("[" in line or "<" in line):
            scan_links(line, index + 1, definitions=fresh)
        definition = fresh and line.lstrip(" \t")[:1] == "[" and _REFERENCE_DEF.match(line) is not None
        title = after_definition and _TITLE_LINE.fullmatch(stripped) is not None
        after_definition = definition
        if item is not None:  # a list item's text starts a paragraph in it (its underline indented as it)
            first_text = line.strip()
            plain = first_text and not _BLOCK_START.match(first_text) and not definition
            paragraph, paragraph_start, paragraph_depth = [first_text] if plain else [], index, depth
            # "- > quote": the quote's paragraph goes on in the lines after it (lazily: never a setext heading)
            quoted = not plain and first_text.startswith(">") and bool(first_text.lstrip("> \t"))
            paragraph_base, lazy = items[-1], quoted
            block_ended = _THEMATIC_BREAK.match(first_text) is not None  # "1. ---": a rule in the item
        elif (
            stripped
            and not definition
            and not title
            and (
                not _BLOCK_START.match(line)
                or (paragraph and _LIST_ITEM.match(line) and not _THEMATIC_BREAK.match(line))
            )
            and (paragraph or lazy or not line.startswith("    "))  # four spaces continue a paragraph, else are code
        ):
            if lazy or (paragraph and (depth < paragraph_depth or indent < paragraph_base)):
                lazy = True  # a lazy continuation of a list item or block quote
            else:
                if not paragraph or depth != paragraph_depth:
                    paragraph, paragraph_start, paragraph_depth, paragraph_base = [], index, depth, base
                if len(paragraph) < MAX_SETEXT_LINES:
                    paragraph.append(line.strip())
        else:
            paragraph, lazy = [], False
            block_ended = _THEMATIC_BREAK.match(line) is not None
    return Markdown(
        metadata=metadata,
        metadata_error=metadata_error,
        body_start=start,
        headings=tuple(headings),
        anchors=tuple(anchors),
        links=tuple(links),
    )


def _list_item(line: str) -> re.Match[str] | None:
    """The marker of the list item `line` starts, if it starts one: not a thematic break (`* * *`)."""
    item = _LIST_ITEM.match(line)
    if item is None or _THEMATIC_BREAK.match(line):
        return None
    return item


def _content_column(line: str, item: re.Match[str]) -> int:
    """Where the text of the list item `line` starts: after its marker and 1-4 spaces; with 5 or more, or
    none after it, one (the rest is indented code, or the item starts empty)."""
    marker = line[: item.end()].rstrip(" \t")
    rest = line[len(marker) :]
    text = rest.lstrip(" \t")
    if not text:
        return len(marker.expandtabs(4)) + 1
    marker_end = len(marker.expandtabs(4))
    spaces = len(line[: len(line) - len(text)].expandtabs(4)) - marker_end
    return marker_end + (spaces if spaces <= 4 else 1)


def _may_interrupt(line: str, item: re.Match[str]) -> bool:
    """Whether the list item `line` starts may interrupt a paragraph (else the line continues it): not an
    empty one (`Title` then `-` is a setext heading) and, if numbered, one starting at 1 (`in\n2) ...`)."""
    if not line[item.end() :].strip():
        return False
    return not line.lstrip(" ")[:1].isdigit() or _FIRST.match(line) is not None


def _ends_items(line: str) -> bool:
    """Whether `line` starts a block that cannot continue a paragraph: a heading, a rule or a fence."""
    return _ATX.match(line) is not None or _THEMATIC_BREAK.match(line) is not None or _FENCE.match(line) is not None


def _opens_fence(found: re.Match[str], line: str) -> bool:
    """A backtick fence's info string holds no backtick: "```foo``` and …" is inline code, not a fence."""
    return found.group(1)[0] != "`" or "`" not in line[found.end() :]


def _without_comments(text: str) -> str:
    """`text` with each closed `<!-- … -->` as a space: by `find`, linear (a lazy regex rescans the rest of
    the line from every `<!--` that never closes)."""
    parts: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) != -1 and (end := text.find("-->", start + 4)) != -1:
        parts += (text[position:start], " ")
        position = end + 3
    return "".join(parts) + text[position:] if parts else text


def _indent(line: str) -> int:
    """The width of `line`'s leading spaces and tabs (tab stops every 4 columns)."""
    return len(line[: len(line) - len(line.lstrip(" \t"))].expandtabs(4))


def _dedent(line: str, columns: int) -> str:
    """`line` without its first `columns` columns of leading whitespace (all of it if it has fewer)."""
    if not columns:
        return line
    body = line.lstrip(" \t")
    lead = line[: len(line) - len(body)].expandtabs(4)
    return lead[columns:] + body


_STARS = re.compile(r"\*+")


def without_strong_markers(text: str) -> str:
    """`text` with the `**` around strongly emphasised words taken out, where that is certain.

    Search snippets mark the words that matched in `**bold**`: the text's own bold would make
    `**Claude Code**` read `**Claude** **Code****`. Left as written, since there the stars are not
    emphasis or may not be: fenced and indented code, code spans, runs of other than two stars,
    stars between two ASCII letters or digits (`a**2`) or two punctuation marks (`src/**/*.py`),
    and pairs across lines.
    One pass per line (a document can hold megabytes of unclosed `**`).
    """
    if "**" not in text:
        return text
    out: list[str] = []
    fence: str | None = None
    in_list = indented_code = False
    after_blank = True
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        indented = line.startswith(("    ", "\t"))
        if fence is not None:
            closing = opened is not None and not line.strip().strip(fence[0])  # no info string on a closing fence
            if closing and opened is not None and len(opened.group(1)) >= len(fence):
                fence = None
        elif not line.strip():
            after_blank = True
        else:
            # Indented code starts after a blank line, outside lists (a 4-space indent there is a nested item).
            indented_code = indented and (indented_code or (after_blank and not in_list))
            if not indented:
                in_list = _LIST_ITEM.match(line) is not None or (in_list and not after_blank)
            after_blank = False
            if opened is not None and not indented:
                fence = opened.group(1)
            elif "**" in line and not indented_code:
                line = _without_strong_pairs(line)
        out.append(line)
    return "\n".join(out)


def _without_strong_pairs(line: str) -> str:
    """One line with its paired `**` delimiters removed (CommonMark's flanking rules for `*`)."""
    spans = [found.span() for found in _CODE_SPAN.finditer(line)] if "`" in line else []
    span = 0  # the first code span not wholly before the current run (both come in order)
    openers: list[int] = []
    removed: set[int] = set()
    for run in _STARS.finditer(line):
        start, end = run.span()
        while span < len(spans) and spans[span][1] <= start:
            span += 1
        if end - start != 2 or (span < len(spans) and spans[span][0] <= start):
            continue
        before = line[start - 1] if start else " "
        after = line[end] if end < len(line) else " "
        if before == "\\" or _between(before, after, lambda c: c.isascii() and c.isalnum()):
            continue
        if _between(before, after, _is_punctuation):  # `src/**/*.py`: a glob far more often than bold
            continue
        left = not after.isspace() and (not _is_punctuation(after) or before.isspace() or _is_punctuation(before))
        right = not before.isspace() and (not _is_punctuation(before) or after.isspace() or _is_punctuation(after))
        if right and openers:
            removed.update((openers.pop(), start))
        elif left:
            openers.append(start)
    pieces: list[str] = []
    position = 0
    for mark in sorted(removed):
        pieces.append(line[position:mark])
        position = mark + 2
    pieces.append(line[position:])
    return "".join(pieces)


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _between(before: str, after: str, kind: Callable[[str], bool]) -> bool:
    return kind(before) and kind(after)


@dataclass(frozen=True)
class Section:
    heading: str
    anchor: str
    body: str


def sections(text: str, parsed: Markdown, *, max_level: int = 3) -> list[Section]:
    """The text split at headings of level ≤ `max_level` (deeper headings stay in their section's body)."""
    lines = text.split("\n")
    cuts = [h for h in parsed.headings if h.level <= max_level]
    result: list[Section] = []
    start, heading, anchor = parsed.body_start, "", ""
    for cut in cuts:
        first = cut.line - 1  # the heading's text line (a setext underline follows it)
        body = "\n".join(lines[start:first]).strip()
        if body or heading:
            result.append(Section(heading=heading, anchor=anchor, body=body))
        start, heading, anchor = cut.line, cut.text, cut.anchor
        if not _ATX.match(_heading_line(lines[first])):  # a setext heading: its text may take several lines
            underline = next(
                (i for i in range(start, min(len(lines), first + MAX_SETEXT_LINES + 1)) if _SETEXT.match(lines[i])),
                None,
            )
            if underline is not None:
                start = underline + 1
    body = "\n".join(lines[start:]).strip()
    if body or heading:
        result.append(Section(heading=heading, anchor=anchor, body=body))
    return result
