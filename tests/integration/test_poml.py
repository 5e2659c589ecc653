from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from adapters.fs_project_config import BUNDLED_DIR
from adapters.poml import RecipeSyntaxError, dedent, parse_poml, read_recipe_sync
from domain.recipe import RecipeRef

REF = RecipeRef(id="r", category="c", source="project", path="r.poml")
P = Path("/p/.cde/recipes/c/r.poml")


def parse(text: str) -> object:
    return parse_poml(text, path=P, ref=REF)


def error_of(text: str) -> RecipeSyntaxError:
    with pytest.raises(RecipeSyntaxError) as caught:
        parse_poml(text, path=P, ref=REF)
    return caught.value


def test_every_bundled_recipe_parses_and_has_a_description() -> None:
    files = sorted(BUNDLED_DIR.glob("recipes/*/*.poml"))
    assert {f.stem for f in files} >= {
        "define", "decompose", "design", "implement", "test", "review",
        "ai-engineer", "documentation-writer", "deep-research", "quick-fix",
    }  # fmt: skip
    for file in files:
        recipe = read_recipe_sync(file, RecipeRef(id=file.stem, category="x", source="bundled", path=str(file)))
        assert recipe.description and recipe.task and recipe.role, file
        assert len(recipe.task) > 300, f"{file} should be a real prompt"
        assert "user_prompt" in recipe.placeholders, file


def test_sections_metadata_and_examples() -> None:
    recipe = parse_poml(
        """<poml>
  <let name="description">  Does   things  </let>
  <let name="tools" value="read, edit"/>
  <role>
    You are {{ who }}.
  </role>
  <task><![CDATA[Compare a < b && c > d for {{ user_prompt }}]]></task>
  <output-format>Markdown &amp; tables</output-format>
  <example>plain example</example>
  <example><input>in</input><output>out</output></example>
</poml>""",
        path=P,
        ref=REF,
    )
    assert recipe.meta == {"description": "Does things", "tools": "read, edit"}
    assert recipe.role == "You are {{ who }}."
    assert recipe.task == "Compare a < b && c > d for {{ user_prompt }}"
    assert recipe.output_format == "Markdown & tables"
    assert recipe.examples == ["plain example", "Input:\nin\n\nOutput:\nout"]
    assert recipe.placeholders == ("who", "user_prompt")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("<poml>\n  <task>a < b</task>\n</poml>", 2, "invalid XML"),
        ("<poml>\n  <task>x</task>\n", 3, "invalid XML"),
        ("<recipe>\n<task>x</task></recipe>", 1, "root element must be <poml>"),
        ("<poml>\n\n  <tsk>x</tsk>\n</poml>", 3, "unknown element <tsk>"),
        ("<poml>\n  <role>x</role>\n</poml>", 1, "no (or an empty) <task>"),
        ("<poml>\n  <task>x</task>\n  <task>y</task>\n</poml>", 3, "<task> appears twice"),
        ("<poml>\n  <task>a\n  <b>bold</b></task>\n</poml>", 3, "<b> is not allowed inside <task>"),
        ("<poml>\n  <let>x</let><task>t</task>\n</poml>", 2, "<let> needs a name"),
        ("<poml>\n  <task>line one\n  line two {{ bad name }}\n  </task>\n</poml>", 3, "malformed placeholder"),
        ("<poml>\n<task>\nline3 {{ bad }\n<!-- c1\nc2\nc3 -->\nline7\n</task>\n</poml>", 3, "malformed placeholder"),
        ("<poml>\n<task>\nline3\n<!-- c1\nc2\nc3 -->\nline7 {{ bad }\n</task>\n</poml>", 7, "malformed placeholder"),
        ("<poml>\n<task>\nline3\n<?pi a\nb?>\nline6 {{ bad }\n</task>\n</poml>", 6, "malformed placeholder"),
        ("<poml>\n  loose text\n  <task>t</task>\n</poml>", 1, "text outside a section"),
        ("<poml><task>t</task><example>x<input>i</input></example></poml>", 1, "mixes text"),
    ],
)
def test_errors_name_the_file_and_line(text: str, line: int, fragment: str) -> None:
    error = error_of(text)
    assert error.line == line, error.message
    assert fragment in error.message
    assert str(P) in error.message and f"line {line}:" in error.message


def test_entity_declarations_are_refused_so_nothing_expands() -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE poml [\n <!ENTITY a "aaaaaaaaaa">\n <!ENTITY b "&a;&a;&a;&a;&a;">\n]>\n'
        "<poml><task>&b;</task></poml>"
    )
    error = error_of(bomb)
    assert "DOCTYPE and entity declarations are not allowed" in error.message
    assert error.line == 2


def test_oversized_recipe_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.poml"
    big.write_text("<poml><task>" + "x" * 300_000 + "</task></poml>")
    with pytest.raises(Exception, match="over the 262144-byte limit"):
        read_recipe_sync(big, REF)


@pytest.mark.parametrize(
    "text", ["\n    a\n      b\n\n    c\n  ", "x", "\n\t\ta\n\t\tb", "  a\n b", "\n   \n", "  one\n\n  two  \n", ""]
)
def test_dedent_matches_textwrap(text: str) -> None:
    assert dedent(text) == textwrap.dedent(text).strip()


def test_each_placeholder_knows_the_line_that_first_uses_it() -> None:
    text = "<poml>\n  <role>You help {{ team }}.</role>\n  <task>\n    Do {{ user_prompt }}\n    for {{ team }}.\n"
    recipe = parse_poml(text + "  </task>\n</poml>", path=Path("r.poml"), ref=REF)
    assert recipe.lines == {"team": 2, "user_prompt": 4}
    assert recipe.located(["user_prompt", "other"]) == "user_prompt (line 4), other"
