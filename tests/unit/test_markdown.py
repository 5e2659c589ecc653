"""The Markdown reader: front matter, headings and GitHub anchors, links, fenced code, sections."""

from __future__ import annotations

import json
import time

import pytest

from adapters.markdown import github_slug, heading_text, parse_markdown, sections, without_strong_markers

DOC = """---
title: Guide
tags: [setup, cli]
created: 2024-05-01
---
Intro links to [the API](api.md#Auth-Flow) and `[code](not-a-link.md)`.

# Getting Started!
See ![diagram](img/flow.png "Flow") and [ref][r].

[r]: <./ref doc.md>
Setext Title
------------
```python
# not a heading
[nope](nope.md)
```
## Getting Started!
<a href="html.md#frag">html</a> <span id="Custom-Id"></span>
### Options {#opts}
Back to [top](#getting-started-1), [web](https://example.com), [mail](mailto:a@b.c), [tpl]({{ url }}).
"""


def test_front_matter_is_yaml_with_dates_as_text() -> None:
    parsed = parse_markdown(DOC)
    assert parsed.metadata == {"title": "Guide", "tags": ("setup", "cli"), "created": "2024-05-01"}
    assert parsed.metadata_error is None and parsed.body_start == 5


def test_headings_get_github_anchors_and_code_fences_are_opaque() -> None:
    parsed = parse_markdown(DOC)
    assert [(h.level, h.text, h.anchor) for h in parsed.headings] == [
        (1, "Getting Started!", "getting-started"),
        (2, "Setext Title", "setext-title"),
        (2, "Getting Started!", "getting-started-1"),
        (3, "Options", "opts"),
    ]
    assert parsed.h1 == "Getting Started!"
    assert {"getting-started", "getting-started-1", "setext-title", "opts", "custom-id"} <= set(parsed.anchors)
    assert "not-a-heading" not in parsed.anchors


def test_only_relative_links_are_collected_with_line_numbers() -> None:
    links = [(line, path, anchor) for line, _, path, anchor in parse_markdown(DOC).links]
    assert links == [
        (6, "api.md", "Auth-Flow"),
        (9, "img/flow.png", ""),
        (11, "./ref doc.md", ""),
        (19, "html.md", "frag"),
        (21, "", "getting-started-1"),
    ]


def test_indented_code_and_html_comments_hold_no_links() -> None:
    text = (
        "# T\n\nPara.\n\n    [code](missing-a.md)\n    # not a heading\n\n"  # an indented code block
        "<!-- [todo](missing-b.md) -->\n"
        "<!-- spans\n[lines](missing-c.md)\n-->[after](real.md)\n"
        "Para [kept](kept.md)\n    [continued](cont.md)\n\n"  # a paragraph's continuation is not code
        "- item\n\n    [in the item](item.md)\n"  # nor an indented paragraph of a list item
    )
    parsed = parse_markdown(text)
    assert [path for _, _, path, _ in parsed.links] == ["real.md", "kept.md", "cont.md", "item.md"]
    assert [h.text for h in parsed.headings] == ["T"]


def test_an_unclosed_comment_marker_in_text_or_code_hides_nothing() -> None:
    text = "Write `<!--` to open one, or <!-- like this.\n# Later\n[link](later.md)\n"
    parsed = parse_markdown(text)
    assert [h.text for h in parsed.headings] == ["Later"]
    assert [path for _, _, path, _ in parsed.links] == ["later.md"]


def test_a_comment_block_ends_at_its_marker_even_on_an_indented_line() -> None:
    parsed = parse_markdown("<!--\n\n    old [x](gone.md) -->\n# After\n[y](kept.md)\n")
    assert [h.text for h in parsed.headings] == ["After"]
    assert [path for _, _, path, _ in parsed.links] == ["kept.md"]


def test_broken_front_matter_is_reported_not_raised() -> None:
    assert parse_markdown("---\ntitle: [unclosed\n---\nbody").metadata_error is not None
    listed = parse_markdown("---\n- a\n- b\n---\n")
    assert listed.metadata is None and listed.metadata_error is not None and "list" in listed.metadata_error
    unclosed = parse_markdown("---\nnot front matter\n")
    assert unclosed.metadata is None and unclosed.metadata_error is None


def test_a_repeated_front_matter_key_is_reported() -> None:
    """YAML keeps the last of two `title:` lines silently: the first one's author never learnt it was lost."""
    parsed = parse_markdown("---\ntitle: Old\ndescription: d\ntitle: New\n---\n# Body\n")
    assert parsed.metadata is None
    assert parsed.metadata_error == "invalid YAML at line 4: duplicate key 'title'"


def test_slugs_and_sections() -> None:
    assert github_slug("API `v2` — Überblick: Setup_Guide!") == "api-v2--überblick-setup_guide"
    parsed = parse_markdown(DOC)
    parts = sections(DOC, parsed)
    assert [(s.heading, s.anchor) for s in parts] == [
        ("", ""),
        ("Getting Started!", "getting-started"),
        ("Setext Title", "setext-title"),
        ("Getting Started!", "getting-started-1"),
        ("Options", "opts"),
    ]
    assert parts[0].body.startswith("Intro links") and "------" not in parts[2].body
    assert "# not a heading" in parts[2].body  # code is searchable text


def test_link_destinations_are_read_as_github_reads_them() -> None:
    """Escapes and entities in a destination were kept as written: working links reported broken."""
    text = "[esc](docs\\_x.md) [amp](a&amp;b.md#x%20y) [pct](%C3%BC.md) [kept](a\\b.md) [num](a&#x20;b.md#s)"
    text += " [lit](a\\&amp;b.md)"
    assert [link[2:] for link in parse_markdown(text).links] == [
        ("docs_x.md", ""),
        ("a&b.md", "x y"),
        ("\u00fc.md", ""),
        ("a\\b.md", ""),  # a backslash before a letter is no escape
        ("a b.md", "s"),  # a numeric reference holds a '#': decoded before the URL splits at its own
        ("a&amp;b.md", ""),  # an escaped '&' is a literal one: no entity follows
    ]


def test_only_the_start_of_an_overlong_line_is_examined() -> None:
    """Hostile lines (megabytes of `<a ` or backticks) cannot make the link regexes quadratic."""
    assert parse_markdown("[a](early.md) " + "x" * 20_000).links[0][2] == "early.md"
    assert parse_markdown("x" * 20_000 + " [a](late.md)").links == ()
    assert parse_markdown("<a " * 50_000 + '<a href="x.md">').links == ()
    assert parse_markdown('<a title="t" href="x.md#top">x</a>').links == ((1, "x.md#top", "x.md", "top"),)


def test_bracket_runs_cannot_make_link_matching_quadratic() -> None:
    """Each "[" of these lines (or "<" of these headings) once started a scan of the rest of the line."""
    for unit in ("\\[", "[\\]", "[a](b (", "# " + "[" * 9_998, "# " + "<" * 9_998, "# " + "![" * 4_999):
        hostile = "\n".join([unit * (10_000 // len(unit))] * 20)
        assert parse_markdown(hostile + "\n[ok](ok.md)\n").links == ((21, "ok.md", "ok.md", ""),)
    assert [link[2] for link in parse_markdown("[![shot](i.png)](d/x.md) [see [1]](n.md) \\[no](x.md)").links] == [
        "d/x.md",
        "i.png",  # the image inside the link is checked too
        "n.md",
    ]


def test_front_matter_strings_never_carry_lone_surrogates(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    monkeypatch.setattr("adapters.markdown.YAML_LOADER", yaml.SafeLoader)  # the pure-Python loader accepts them
    parsed = parse_markdown('---\ntitle: "caf\\ud800"\n"k\\udc00": [x]\n---\n# T\n')
    assert parsed.metadata == {"title": "caf?", "k?": ("x",)}


def test_front_matter_is_bounded_even_when_yaml_aliases_multiply_it() -> None:
    """A 10 KB header naming one list 36,000 times through aliases once became 7 MB (and 0.7 s) per doc."""
    aliased = [
        "a: &a [" + ",".join(["x" * 199] * 30) + "]",
        "b: &b [" + ",".join(["*a"] * 30) + "]",
        *(f"k{i}: [" + ",".join(["*b"] * 30) + "]" for i in range(40)),
    ]
    parsed = parse_markdown("---\n" + "\n".join(aliased) + "\n---\n# T\n")
    assert parsed.metadata is not None and parsed.metadata_error is None
    assert 4_000 < len(json.dumps(parsed.metadata)) < 12_000
    nested = parse_markdown("---\nn: {a: {b: {c: [1, 2]}}}\n---\n").metadata
    assert nested == {"n": {"a": {"b": "(1 items)"}}}


def test_code_in_block_quotes_and_list_items_is_opaque_and_their_headings_count() -> None:
    text = (
        "# Root\n\n> Example:\n> ```markdown\n> See [the guide](quoted-fence.md)\n> ```\n\n"
        "- nested\n  - sub item\n\n    ```\n    [x](fence-in-item.md)\n    ```\n\n"
        "> ## Quoted heading\n\n- ## List heading\n\n[after](after.md)\n"
    )
    parsed = parse_markdown(text)
    assert [link[2] for link in parsed.links] == ["after.md"]
    assert {"quoted-heading", "list-heading"} <= set(parsed.anchors)


def test_a_fence_closes_with_its_block_quote_and_inline_triple_backticks_open_none() -> None:
    text = "> ```\n> [in](code.md)\n\n[out](visible.md)\n\n```foo``` and [ok](ok.md)\n\n## After\n\n[x](x.md)\n"
    parsed = parse_markdown(text)
    assert [link[2] for link in parsed.links] == ["visible.md", "ok.md", "x.md"]
    assert "after" in parsed.anchors


def test_prose_that_looks_like_a_reference_definition_is_not_a_link() -> None:
    text = '[Warning]: do not run this as root.\n\n[ref]: docs/a.md "Title"\n[raw]: <docs/b c.md>\n'
    assert [link[2] for link in parse_markdown(text).links] == ["docs/a.md", "docs/b c.md"]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("_Private_ API", "private-api"),
        ("__Strong__ words", "strong-words"),
        ("snake_case name", "snake_case-name"),
        ("The `__init__` method", "the-__init__-method"),
        ("हिन्दी गाइड", "हिन्दी-गाइड"),  # combining marks stay
        ("Café & co", "café--co"),
    ],
)
def test_heading_anchors_follow_github(heading: str, anchor: str) -> None:
    assert github_slug(heading_text(heading)) == anchor


def test_a_quoted_heading_is_a_section_of_its_own_and_deep_quotes_stay_linear() -> None:
    text = "# Top\n\nintro\n\n> ## Quoted\n---\n\nafter the rule\n"
    parts = sections(text, parse_markdown(text))
    assert [(p.heading, p.body) for p in parts] == [("Top", "intro"), ("Quoted", "---\n\nafter the rule")]
    assert parse_markdown((">" * 10_000 + " x\n") * 200 + "[ok](ok.md)\n").links[0][2] == "ok.md"


def test_a_setext_heading_takes_its_whole_paragraph() -> None:
    text = "# Top\n\nPara line one\ncontinues here\n===\n\nbody\n"
    parsed = parse_markdown(text)
    assert [(h.text, h.anchor, h.line) for h in parsed.headings] == [
        ("Top", "top", 1),
        ("Para line one continues here", "para-line-onecontinues-here", 3),  # GitHub drops the line break
    ]
    assert [(p.heading, p.body) for p in sections(text, parsed)] == [
        ("Top", ""),
        ("Para line one continues here", "body"),
    ]


def test_a_quoted_fence_inside_a_code_sample_is_code() -> None:
    """Found by review: `> ```` in a ```markdown sample closed the sample, whose end then hid the rest."""
    doc = (
        "# Writing docs\n\n```markdown\n> ```\n> [inside](nowhere.md)\n```\n\n## Later section\n\nSee [g](guide.md).\n"
    )
    parsed = parse_markdown(doc)
    assert [link[2] for link in parsed.links] == ["guide.md"]
    assert [h.anchor for h in parsed.headings] == ["writing-docs", "later-section"]
    nested = "> ```\n> > [code](code.md)\n> ```\n> [text](text.md)\n"  # a quote marker inside quoted code
    assert [link[2] for link in parse_markdown(nested).links] == ["text.md"]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("_config.yml", "_configyml"),  # no closing underscore: not emphasis
        ("Using _ as a placeholder", "using-_-as-a-placeholder"),
        ("my__var", "my__var"),
        ("trailing_", "trailing_"),
        ("The __init__ method", "the-init-method"),  # strong emphasis, as GitHub renders it
        ("a _b_ c", "a-b-c"),
    ],
)
def test_only_paired_emphasis_underscores_leave_an_anchor(heading: str, anchor: str) -> None:
    assert github_slug(heading_text(heading)) == anchor


@pytest.mark.parametrize(
    ("text", "anchors"),
    [
        ("- a\nFoo\n---\n", []),  # "Foo" continues the list item: "---" is a rule
        ("1. a\nFoo\n===\n", []),
        ("> a\nFoo\n---\n", []),  # continues the quote
        ("Foo\n- bar\n---\n", []),
        ('[foo]: /url\n"title"\nBar\n===\n', ["bar"]),  # a definition's title on its own line
        ("> Foo\n> ---\n", ["foo"]),
    ],
)
def test_a_setext_underline_after_a_list_item_or_quote(text: str, anchors: list[str]) -> None:
    assert [h.anchor for h in parse_markdown(text).headings] == anchors


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [("_`x`_", "x"), ("_a_b_", "a_b"), ("___foo___", "foo"), ("_a__b_", "a__b"), ("__foo__bar", "__foo__bar")],
)
def test_emphasis_around_code_and_inner_underscores(heading: str, anchor: str) -> None:
    assert github_slug(heading_text(heading)) == anchor


@pytest.mark.parametrize(
    ("text", "anchors", "links"),
    [
        ("## See [the guide](docs/guide.md)\n", ["see-the-guide"], ["docs/guide.md"]),  # links in headings count
        ("- ## Install via [the guide](g.md)\n", ["install-via-the-guide"], ["g.md"]),
        ("# ![logo](docs/logo.png) Project\n", ["-project"], ["docs/logo.png"]),  # an image renders no text
        ('## <a name="install"></a> Installation\n', ["-installation"], []),
        ("## `git add <path>`\n", ["git-add-path"], []),  # code is text, tags in it too
        ("## a <-> b\n", ["a---b"], []),  # not a tag
        ("## Tom &amp; Jerry\n", ["tom--jerry"], []),
        ("# Hello\\_world\n", ["hello_world"], []),
        ("## See [docs][1]\n\n[1]: docs.md\n", ["see-docs"], ["docs.md"]),
        ("- Step:\n\n      # comment\n", [], []),  # indented code in a list item
        ("Para\n    # not heading\n", [], []),  # continues the paragraph
        ("- ```sh\n  # comment\n  [x](code.md)\n  ```\n", [], []),  # a fence opened on the item's line
        ("  ```\n# comment\n[x](code.md)\n  ```\n", [], []),  # an indented top-level fence's content
        ("Text\n[r]: d.md\n", [], []),  # a definition cannot interrupt a paragraph
        ("* * *\nText\n---\n", ["text"], []),  # a thematic break, not a list item
        ("Title\n-\n", ["title"], []),  # an empty item cannot interrupt a paragraph: a setext underline
    ],
)
def test_headings_and_links_as_github_renders_them(text: str, anchors: list[str], links: list[str]) -> None:
    parsed = parse_markdown(text)
    assert [h.anchor for h in parsed.headings] == anchors
    assert [link[2] for link in parsed.links] == links


def test_unclosed_comment_openers_stay_linear() -> None:
    hostile = ("# " + "<!--" * 2_500 + "\n") * 50 + "x " + "<!--" * 2_500 + "\n[ok](ok.md)\n"
    assert [link[2] for link in parse_markdown(hostile).links] == ["ok.md"]


@pytest.mark.parametrize(
    ("text", "anchors", "links"),
    [
        ("1. Example:\n\n       [code](code.md)\n", [], []),  # indented code in an item: 4 past its content
        ("- a\n  - b\n\n        [code](code.md)\n", [], []),  # ... of the nested item
        ("- a\n  - b\n\n      [para](para.md)\n", [], ["para.md"]),  # 2 past b's content: a paragraph of b
        ("1. Intro\n\n   See [guide](guide.md)\n", [], ["guide.md"]),
        ("- Title\n  -----\n", ["title"], []),  # a setext heading inside an item
        ("1. Title\n   Next\n   ===\n", ["titlenext"], []),  # GitHub drops the line break
        ("- Title\n-----\n", [], []),  # at the margin: a rule after the item, not its underline
        ("- a\n  - b\n\n    ## Deep\n", ["deep"], []),  # an ATX heading in a nested item's content
        ("- a\n\n b\n\n    [code](code.md)\n", [], []),  # " b" ended the item: then four spaces are code
        ("-\tTabbed\n\n\t\t[code](code.md)\n", [], []),
        ("Text\n2) ## H\n", [], []),  # a list numbered from 2 cannot interrupt a paragraph: text goes on
        ("Text\n1) ## H\n", ["h"], []),
        ("- a\n2. ## H\n", ["h"], []),  # ... but can follow an item, as a new list
        ("> q\n2) ## H\n", ["h"], []),  # ... or a quote's paragraph
        ("- > quoted\n      [lazy](lazy.md)\n", [], ["lazy.md"]),  # the quote's text goes on: not code
        ("- ---\n      [code](code.md)\n", [], []),  # "- ---" is a rule: after it, indented text is code
        ("> - a\n\n    [code](code.md)\n", [], []),  # the quote and its list ended: four spaces are code
        ("> - a\n>\n>     [para](para.md)\n", [], ["para.md"]),  # in the quoted item: a paragraph
        ("- a\n  > q\n\n    [para](para.md)\n", [], ["para.md"]),  # after a quote in the item: still in it
        ("-v, --verbose\n    Print more. See [log](log.md).\n", [], ["log.md"]),  # text, though it starts like an item
        ("1.5 million users; see\n    [stats](stats.md)\n", [], ["stats.md"]),
        ("-   Item\n\n      [para](para.md)\n", [], ["para.md"]),  # the text starts after the marker's 3 spaces
        ("1.  Item\n\n       [para](para.md)\n", [], ["para.md"]),
        ("-   Item\n  -----\n", [], []),  # not indented into the item: a rule
        ("- See below\n- [guide]: guide.md\n", [], ["guide.md"]),  # a definition starting an item
        ("- [guide]: guide.md\n  ===\n", [], ["guide.md"]),  # a definition is no paragraph to underline
        ("1. x\n>\n     # H5\n", [], []),  # the quote ended the list: then five spaces are code
        ("1. Step\n  ## Notes\n     [code](code.md)\n", ["notes"], []),  # the heading ended the item
        ("Title\r\n=====\r\n\r\nText [a](a.md)\r\n", ["title"], ["a.md"]),  # CRLF line ends
    ],
)
def test_list_items_hold_code_and_headings_at_their_own_indentation(
    text: str, anchors: list[str], links: list[str]
) -> None:
    parsed = parse_markdown(text)
    assert [h.anchor for h in parsed.headings] == anchors
    assert [link[2] for link in parsed.links] == links


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("**Claude Code** is here", "Claude Code is here"),
        ("**a** and **b**, then **c**.", "a and b, then c."),
        ('**"quoted"** and **[a link](x)**', '"quoted" and [a link](x)'),
        ("请先阅读**重要**说明", "请先阅读重要说明"),  # no spaces around bold in unspaced scripts
        ("f(**kwargs) and g(**other)", "f(**kwargs) and g(**other)"),  # no closing run: no emphasis
        ("a**2 + b**2", "a**2 + b**2"),  # between ASCII letters or digits
        ("ruff check src/**/*.py docs/**/*.md", "ruff check src/**/*.py docs/**/*.md"),  # between punctuation
        ("x ** y ** z", "x ** y ** z"),  # between spaces
        ("**not closed", "**not closed"),
        ("***both*** and \\**escaped**", "***both*** and \\**escaped**"),
        ("use `**x**` then **y**", "use `**x**` then y"),  # code spans are left alone
        ("``a**b**c`` **d**\n**e\nf**", "``a**b**c`` d\n**e\nf**"),  # and emphasis stays on one line
        ("```sh\nrun **x** here\n```\n**y**", "```sh\nrun **x** here\n```\ny"),  # fenced code
        ("    indented **code**\n**z**", "    indented **code**\nz"),
        ("Para\n\n    code **x**\n    more **y**\n\n**z**", "Para\n\n    code **x**\n    more **y**\n\nz"),
        ("- Top\n    - **Nested** item\n\n    more **text**", "- Top\n    - Nested item\n\n    more text"),  # lists
        ("```python\n**a**\n```python\n**b**\n```\n**c**", "```python\n**a**\n```python\n**b**\n```\nc"),
    ],
)
def test_strong_emphasis_markers_come_out_of_search_text(text: str, plain: str) -> None:
    assert without_strong_markers(text) == plain


def test_unclosed_strong_markers_cost_one_pass_per_line() -> None:
    unclosed = "f(**kwargs) " * 20_000  # was quadratic: 18 s for a 96 KB line
    spans = "`a` **b** " * 20_000  # and so with code spans: 12 s for 80 KB
    started = time.perf_counter()
    assert without_strong_markers(unclosed) == unclosed
    assert without_strong_markers(spans) == "`a` b " * 20_000
    assert time.perf_counter() - started < 5.0  # a complexity guard (linear: ~0.2 s), not a speed target
