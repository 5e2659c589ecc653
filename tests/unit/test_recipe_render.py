from __future__ import annotations

import pytest

from domain.errors import InvalidInputError, LimitExceededError
from domain.recipe import MAX_RENDERED_CHARS, RecipeTemplateError, scan_placeholders, substitute
from tests.unit.fakes import recipe


def test_placeholders_in_order_of_first_use_across_sections() -> None:
    r = recipe("r", "Do {{ b }} then {{a}} then {{ b }}", role="As {{ who }}")
    assert r.placeholders == ("who", "b", "a")


def test_values_are_inserted_as_plain_text() -> None:
    r = recipe("r", "Request: {{ user_prompt }}")
    text = r.render({"user_prompt": "<b>Tom & Jerry</b> \\1 $x"})
    assert "Request: <b>Tom & Jerry</b> \\1 $x" in text  # no escaping, no regex backreferences


def test_values_are_never_rescanned() -> None:
    r = recipe("r", "A {{ x }} B", role="Role {{ x }}")
    text = r.render({"x": "{{ secret }}"})
    assert text.count("{{ secret }}") == 2


def test_unknown_placeholder_is_an_error_naming_it() -> None:
    r = recipe("r", "Hello {{ user_prompt }} {{ projct_name }}")
    with pytest.raises(InvalidInputError, match=r"placeholder\(s\) projct_name that the context does not define"):
        r.render({"user_prompt": "x", "project_name": "p"})


def test_sections_render_as_markdown_with_the_role_prefix_first() -> None:
    r = recipe("r", "The task", role="Phase role")
    text = r.render({}, role_prefix="General role")
    assert text == "# Role\n\nGeneral role\n\nPhase role\n\n# Task\n\nThe task"


@pytest.mark.parametrize("bad", ["{{ two words }}", "{{ }}", "{{ x", "{{ 1x }}", "{{ a.b }}"])
def test_malformed_placeholders_are_rejected(bad: str) -> None:
    with pytest.raises(RecipeTemplateError, match="malformed placeholder"):
        scan_placeholders(f"text {bad} more")


def test_single_braces_are_plain_text() -> None:
    assert scan_placeholders("a {b} c { {d} }") == []
    assert substitute("{x} {{ y }}", {"y": "Y"}) == "{x} Y"


def test_a_large_value_repeated_by_many_placeholders_is_refused_before_rendering() -> None:
    r = recipe("echo", "{{ x }} " * 500, role="Role {{ y }}")
    value = "v" * (MAX_RENDERED_CHARS // 400)
    with pytest.raises(
        LimitExceededError, match=r"recipe 'echo' would render .* \{\{ x \}\} \(10,000 characters, used 500"
    ):
        r.render({"x": value, "y": "y"})
    assert len(r.render({"x": value[:100], "y": "y"})) > 50_000  # large but bounded prompts render
    with pytest.raises(LimitExceededError, match="recipe 'echo' would render"):
        r.render_role({"y": "y" * (MAX_RENDERED_CHARS + 1)})


def test_a_placeholder_name_no_context_could_fill_is_rejected() -> None:
    """Names over 64 characters parsed, but no context key can be that long: the recipe never rendered."""
    assert scan_placeholders("{{ " + "a" * 64 + " }}") == ["a" * 64]
    with pytest.raises(RecipeTemplateError, match="is 100 characters; use at most 64"):
        scan_placeholders("{{ user_prompt }} {{ " + "a" * 100 + " }}")
