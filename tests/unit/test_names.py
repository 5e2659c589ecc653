from __future__ import annotations

import pytest

from domain.errors import InvalidInputError
from domain.names import slugify, validate_name


@pytest.mark.parametrize("name", ["api-client", "a", "v1.2", "snake_case", "x" * 64])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("../x", "plain name"),
        ("/etc/passwd", "plain name"),
        ("a\\b", "plain name"),
        ("x" * 65, "longer than 64"),
        ("Upper", "lowercase slug"),
        ("-lead", "lowercase slug"),
        ("trail-", "lowercase slug"),
        ("sp ace", "lowercase slug"),
        ("nul\x00", "lowercase slug"),
        ("retry\n", "lowercase slug"),  # `$` alone matches before a final newline
        ("con\n", "lowercase slug"),
        ("con", "reserved"),
        ("lpt1.txt", "reserved"),
    ],
)
def test_unsafe_names_are_refused(name: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        validate_name(name, "skill name")


def test_slugify() -> None:
    assert slugify("Add OAuth2 login!") == "add-oauth2-login"
    assert slugify("Café — déjà vu") == "cafe-deja-vu"
    assert slugify("???") == "item"
    assert len(slugify("word " * 40)) <= 48
    assert validate_name(slugify("Con")) == "con-1"


def test_requests_in_scripts_without_ascii_letters_get_distinct_stable_slugs() -> None:
    japanese, chinese = slugify("日本語の機能を追加", fallback="feature"), slugify("添加登录功能", fallback="feature")
    assert japanese.startswith("feature-") and chinese.startswith("feature-") and japanese != chinese
    assert slugify("日本語の機能を追加", fallback="feature") == japanese  # the same request, the same name
    assert slugify("Добавить вход через GitHub").startswith("github-")  # most of it dropped: a hash tells apart
    assert slugify("Add GitHub login, café") == "add-github-login-cafe"  # nothing dropped: no hash
    for text in ("日本語の機能を追加", "Добавить вход через GitHub " * 5):
        assert validate_name(slugify(text, max_length=40)) and len(slugify(text, max_length=40)) <= 40
