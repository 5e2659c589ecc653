from __future__ import annotations

import os
from pathlib import Path

import pytest

from domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from infrastructure.paths import resolve_inside, resolve_inside_sync, resolve_project


async def test_resolve_project_relative_absolute_and_home(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    assert await resolve_project("p", base=tmp_path, allowed_roots=(tmp_path,)) == tmp_path / "p"
    assert await resolve_project(str(tmp_path / "p"), base=Path("/"), allowed_roots=None) == tmp_path / "p"
    assert await resolve_project(".", base=tmp_path, allowed_roots=(tmp_path,)) == tmp_path


@pytest.mark.parametrize(
    ("raw", "error", "fragment"),
    [
        ("missing", NotFoundError, "does not exist"),
        ("file.txt", InvalidInputError, "not a directory"),
        ("", InvalidInputError, "empty"),
        ("a\x00b", InvalidInputError, "NUL"),
        ("loop", InvalidInputError, "symlink loop"),
    ],
)
async def test_resolve_project_refusals(tmp_path: Path, raw: str, error: type[Exception], fragment: str) -> None:
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(error, match=fragment):
        await resolve_project(raw, base=tmp_path, allowed_roots=(tmp_path,))


async def test_resolve_project_outside_allowed_roots(tmp_path: Path) -> None:
    (tmp_path / "allowed").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "allowed" / "sneaky").symlink_to(tmp_path / "other")
    for raw in (str(tmp_path / "other"), "sneaky", "../other"):
        with pytest.raises(PermissionDeniedError, match="CDE_ALLOWED_ROOTS"):
            await resolve_project(raw, base=tmp_path / "allowed", allowed_roots=(tmp_path / "allowed",))


async def test_resolve_inside_accepts_new_nested_paths(tmp_path: Path) -> None:
    assert await resolve_inside(tmp_path, "docs/new/guide.md") == tmp_path / "docs" / "new" / "guide.md"
    assert await resolve_inside(tmp_path, "./docs//new/") == tmp_path / "docs" / "new"
    assert await resolve_inside(tmp_path, "docs\\win\\style.md") == tmp_path / "docs" / "win" / "style.md"
    assert await resolve_inside(tmp_path, ".") == tmp_path
    (tmp_path / "real").mkdir()
    (tmp_path / "inner").symlink_to(tmp_path / "real")  # a link that stays inside is followed
    assert await resolve_inside(tmp_path, "inner/x.md") == tmp_path / "real" / "x.md"


async def test_resolve_inside_refuses_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(InvalidInputError, match="symlink loop"):
        await resolve_inside(tmp_path, "a/x.md")


@pytest.mark.parametrize(
    ("raw", "error", "fragment"),
    [
        ("/etc/passwd", InvalidInputError, "relative"),
        ("~/x", InvalidInputError, "relative"),
        ("C:\\x", InvalidInputError, "relative"),
        ("c:x", InvalidInputError, "relative"),
        ("\\\\server\\share", InvalidInputError, "relative"),
        ("", InvalidInputError, "empty"),
        ("a\x00b", InvalidInputError, "NUL"),
        ("docs/../../x", InvalidInputError, "'..'"),
        (".git/config", PermissionDeniedError, ".git"),
        ("escape/x.md", PermissionDeniedError, "outside the project"),
        ("gitlink/HEAD", PermissionDeniedError, ".git"),
        ("libs/vendored/.git/config", PermissionDeniedError, "points into .git/"),  # a nested repository
        (".GIT/config", PermissionDeniedError, "points into .GIT/"),  # the same folder on macOS and Windows
        ("libs/vendored/.git", PermissionDeniedError, ".git"),  # a submodule's .git file
        ("nested-link/config", PermissionDeniedError, "resolves into .git/"),
    ],
)
async def test_resolve_inside_refusals(tmp_path: Path, raw: str, error: type[Exception], fragment: str) -> None:
    root = tmp_path / "root"
    (root / ".git").mkdir(parents=True)
    (root / "escape").symlink_to(tmp_path)
    (root / "gitlink").symlink_to(root / ".git")
    (root / "libs" / "vendored" / ".git").mkdir(parents=True)
    (root / "nested-link").symlink_to(root / "libs" / "vendored" / ".git")
    with pytest.raises(error, match=fragment):
        await resolve_inside(root, raw)


def test_resolve_inside_agrees_with_realpath_below_the_root(tmp_path: Path) -> None:
    """Only the parts below the root are walked; the answer is realpath's, links anywhere on the way."""
    root = tmp_path / "root"
    (root / "docs" / "deep").mkdir(parents=True)
    (root / "docs" / "file.md").write_text("x")
    (root / "real").mkdir()
    (root / "inner").symlink_to("real")  # relative link
    (root / "docs" / "up").symlink_to(root / "real")  # absolute link, deeper
    (root / "docs" / "chain").symlink_to("up")  # a link to a link
    (root / "dangling").symlink_to(root / "missing" / "dir")
    (root / "outside").symlink_to(tmp_path)
    for raw in [
        "docs/deep/x.md",
        "docs/new/deeper/x.md",  # missing on the way: taken literally
        "docs/file.md/x",  # a file on the way
        "inner/x.md",
        "docs/up/a/b.md",
        "docs/chain/x.md",
        "dangling/x.md",
        "inner",
        ".",
    ]:
        expected = os.path.realpath(os.path.join(root, raw))
        assert str(resolve_inside_sync(root, raw)) == expected, raw
    with pytest.raises(PermissionDeniedError, match="outside the project"):
        resolve_inside_sync(root, "outside/x.md")
