"""The project walk: .gitignore (nested, negated, anchored), pruned folders, symlinks, limits, freshness."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from adapters.project_tree import FsProjectTree, walk_project_sync
from tests.trees import edit_in_place, make_tree


@pytest.fixture
def tree_root(tmp_path: Path) -> Path:
    root = make_tree(
        tmp_path / "proj",
        {
            ".gitignore": "*.log\nbuild-out/\n/secret.txt\n!keep.log\n# comment\n",
            "app/main.py": "print('hi')\n",
            "app/debug.log": "x",
            "app/keep.log": "kept by a root negation",
            "app/.gitignore": "generated/\n!important.log\n*.tmp\n",
            "app/important.log": "re-included by the nested file",
            "app/x.tmp": "",
            "app/generated/gen.py": "",
            "app/sub/deep.log": "ignored by the root pattern",
            "secret.txt": "anchored to the root",
            "docs/secret.txt": "not anchored here",
            "build-out/a.py": "",
            "node_modules/pkg/index.js": "",
            "pkg/node_modules/x.js": "",
            "myenv/pyvenv.cfg": "home = /usr",
            "myenv/lib/site.py": "",
            "cachedir/CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55",
            "cachedir/blob": "",
            "thing.egg-info/PKG-INFO": "",
            ".git/info/exclude": "excluded.txt\n",
            ".git/HEAD": "ref: refs/heads/main\n",
            "excluded.txt": "",
            ".cde/state.json": "{}",
        },
    )
    outside = make_tree(tmp_path / "outside", {"stolen.py": "x = 1\n"})
    (root / "app" / "loop").symlink_to(root / "app")
    (root / "escape").symlink_to(outside)
    (root / "link.py").symlink_to(outside / "stolen.py")
    return root


def test_walk_honours_nested_gitignore_and_prunes(tree_root: Path) -> None:
    tree = walk_project_sync(tree_root, max_files=1000)
    assert list(tree.files) == [
        ".gitignore",
        "app/.gitignore",
        "app/important.log",
        "app/keep.log",
        "app/main.py",
        "docs/secret.txt",
    ]
    assert tree.symlinks == 3  # a loop, a folder outside, a file outside: none followed
    assert {"node_modules", "pkg/node_modules", "myenv", "cachedir", "thing.egg-info", ".git", ".cde"} <= set(
        tree.pruned
    )
    assert tree.ignored >= 6
    assert not tree.truncated
    assert "" in tree.dirs and "app" in tree.dirs and "app/generated" not in tree.dirs


def test_a_package_of_a_larger_repository_follows_that_repositorys_ignore_rules(tree_root: Path) -> None:
    """Walking `app/` alone ignores what git ignores there: root rules, anchored ones, info/exclude."""
    (tree_root / "app" / "excluded.txt").write_text("")
    (tree_root / ".git" / "info" / "exclude").write_text("excluded.txt\n/app/anchored.txt\n")
    (tree_root / "app" / "anchored.txt").write_text("")
    (tree_root / ".gitignore").write_text("*.log\n/app/sub/\n!keep.log\n")
    tree = walk_project_sync(tree_root / "app", max_files=1000)
    assert list(tree.files) == [".gitignore", "important.log", "keep.log", "main.py"]
    assert not any(d.startswith("sub") for d in tree.dirs)


def test_a_project_with_its_own_git_folder_ignores_the_rules_above_it(tmp_path: Path) -> None:
    outer = make_tree(
        tmp_path / "outer", {".git/HEAD": "", ".gitignore": "*\n", "inner/.git/HEAD": "", "inner/a.py": ""}
    )
    assert walk_project_sync(outer / "inner", max_files=10).files == ("a.py",)


def test_a_dotfiles_repository_of_the_home_folder_does_not_hide_projects_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_tree(tmp_path / "home", {".git/HEAD": "", ".gitignore": "*\n", "work/proj/a.py": ""})
    monkeypatch.setenv("HOME", str(home))
    assert walk_project_sync(home / "work" / "proj", max_files=10).files == ("a.py",)


def test_walk_stops_at_the_file_limit(tree_root: Path) -> None:
    tree = walk_project_sync(tree_root, max_files=3)
    assert tree.truncated
    assert len(tree.files) == 3


def test_a_worktree_git_file_is_not_a_project_file(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "wt", {".git": "gitdir: /elsewhere\n", "a.py": ""})
    assert walk_project_sync(root, max_files=10).files == ("a.py",)


def test_names_that_are_not_utf8_are_counted_and_left_out(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "p", {"ok.md": "", "docs/fine.md": ""})
    base = os.fsencode(root)
    os.mkdir(base + b"/src\xff")
    (Path(os.fsdecode(base + b"/src\xff")) / "main.py").write_text("")
    Path(os.fsdecode(base + b"/docs/caf\xe9.md")).write_text("")
    (root / "docs" / "café.md").write_text("")  # valid UTF-8, not ASCII: kept
    tree = walk_project_sync(root, max_files=10)
    assert tree.files == ("docs/café.md", "docs/fine.md", "ok.md")
    assert tree.bad_names == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable folders")
def test_unreadable_folder_is_counted_not_fatal(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "p", {"ok.py": "", "locked/secret.py": ""})
    (root / "locked").chmod(0)
    try:
        tree = walk_project_sync(root, max_files=10)
    finally:
        (root / "locked").chmod(0o755)
    assert tree.files == ("ok.py",)
    assert tree.unreadable_dirs == 1


async def test_cached_walk_sees_added_files_and_gitignore_edits(tree_root: Path) -> None:
    trees = FsProjectTree(max_files=1000)
    cache = FsProjectTree.tree.cache
    first = await trees.tree(tree_root)
    hits = cache.stats().hits
    assert await trees.tree(tree_root) is first
    assert cache.stats().hits == hits + 1
    (tree_root / "app" / "sub" / "new.py").write_text("")  # a directory two levels down changes
    assert "app/sub/new.py" in (await trees.tree(tree_root)).files
    edit_in_place(tree_root / "app" / ".gitignore", "generated/\n")  # in place: only its fingerprint says so
    files = (await trees.tree(tree_root)).files
    assert "app/x.tmp" in files and "app/important.log" not in files


def test_a_glob_with_many_stars_does_not_hang_the_walk(tmp_path: Path) -> None:
    """`a*a*...*b` once backtracked through every split of a name: ~10 s per 40-character name. So did
    `a**a**...b` (a `**` glued to a name is a plain `*`), past 120 s for a 67-character name."""
    ignore = "a*" * 30 + "b\n" + "x*?" * 20 + "y\n" + "q" + "*[!b]" * 12 + "*c\n"  # the last took 5 s a name with 8
    ignore += "a**" * 11 + "b\n"
    root = make_tree(tmp_path / "p", {".gitignore": ignore, "a" * 200 + "c": ""})
    make_tree(root, {"a" * 40 + "b": "", "x" * 60 + "z": "", "q" * 60 + "z": ""})
    expected = (".gitignore", "a" * 200 + "c", "q" * 60 + "z", "x" * 60 + "z")
    assert walk_project_sync(root, max_files=10).files == expected


def test_linear_glob_regexes_match_exactly_what_pathspec_matches() -> None:
    import random
    import re

    import pathspec

    from adapters.ignore_rules import _as_git_classes, linear_regex

    rng = random.Random(3)
    tokens = ["a", "b", "*", "?", "/", "[ab]", "**/", "[!a]", "\\*", ".", "-"]
    checked = 0
    for _ in range(2000):
        glob = "".join(rng.choice(tokens) for _ in range(rng.randint(1, 7)))
        regex = pathspec.GitIgnoreSpec.from_lines([glob]).patterns[0].regex
        if regex is None:
            continue
        walked = _as_git_classes(regex)  # as the walk has it: negated classes never match "/"
        pairs = [(regex, re.compile(linear_regex(regex.pattern))), (walked, re.compile(linear_regex(walked.pattern)))]
        for _ in range(20):
            path = "".join(rng.choice("ab/.*-") for _ in range(rng.randint(1, 9))).strip("/") or "a"
            for candidate in (path, f"{path}/"):
                for exact, linear in pairs:
                    assert bool(exact.search(candidate)) == bool(linear.search(candidate)), (glob, candidate)
                    checked += 1
    assert checked > 100_000


GIT_CASES = [
    "*\n!*/\n!*.py\n!.gitignore\n",  # an allow-list: every folder, only Python files
    "*/\n!src/\n",  # every folder but src/
    "**/\n",
    "*.txt\n!src/**/keep.txt\n",
    "docs/\n!docs/\n",
    "/src/pkg/\n",
    "src/**/deep/\n*.md\n!README.md\n",
    "bin\\\nobj\\\n*.log\n",  # lines git cannot read: they match nothing, the rest applies
    "\ufeffsrc/pkg/\n*.log\n",  # a byte-order mark before the first pattern
    "[a-c]*.py\n!b*\n",
    "pkg\n!src/pkg/\n",
    "docs*\n!/\n/\n",  # a lone slash matches nothing
    "src/**\n!src/cli.py\n",  # everything inside src/, not src/ itself: a negation inside still counts
    "src/**/\n",  # the folders inside src/, not its files
    "/**/\n!docs/\n",
]


TREE = [
    "setup.py",
    "README.md",
    "notes.txt",
    "a.log",
    "src/pkg/app.py",
    "src/pkg/data.txt",
    "src/pkg/deep/keep.txt",
    "src/pkg/deep/x.md",
    "src/cli.py",
    "docs/guide.md",
    "docs/bin/tool.py",
    "lib/b.py",
    "lib/c.py",
    "lib/pkg/mod.py",
    "a/b/a/b.txt",
    "x/src/y.py",
]


def _git_keeps(root: Path) -> list[str]:
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return sorted(name for name in listed.stdout.split("\0") if name)  # -z: names as they are, not quoted


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("rules", GIT_CASES)
def test_the_walk_keeps_exactly_the_files_git_does_not_ignore(tmp_path: Path, rules: str) -> None:
    root = make_tree(tmp_path / "p", dict.fromkeys(TREE, ""))
    (root / ".gitignore").write_bytes(rules.encode("utf-8"))
    assert list(walk_project_sync(root, max_files=1000).files) == _git_keeps(root), rules


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_walk_agrees_with_git_on_random_ignore_files(tmp_path: Path) -> None:
    """Negations, folder-only and anchored patterns, `**`, classes: mixed at random, git decides."""
    rng = random.Random(5)
    tokens = ["*", "**", "/", "src", "pkg", "a", "b", "*.py", "*.txt", "deep", "docs", "?", "[ab]", "lib", "x"]
    for case in range(60):
        root = make_tree(tmp_path / f"c{case}", dict.fromkeys(TREE, ""))
        lines = [
            ("!" if rng.random() < 0.3 else "")
            + "".join(rng.choice(tokens) for _ in range(rng.randint(1, 3)))
            + ("/" if rng.random() < 0.3 else "")
            for _ in range(rng.randint(1, 4))
        ]
        (root / ".gitignore").write_text("\n".join(lines) + "\n")
        assert list(walk_project_sync(root, max_files=1000).files) == _git_keeps(root), lines


GLOB_TREE = [
    "a1",
    "B2",
    "c-d",
    "x]y",
    "x[y",
    "e!f",
    "g^h",
    "z9",
    "m.n",
    "Q",
    "9",
    "x-1",
    "xa",
    "p\\q",
    "sub/9",
    "sub/Q",
    "A/B/c",
    "A/c",
    "A/B/C/c",
]
GLOB_CASES = [
    "*[[:digit:]]\n",  # POSIX classes: pathspec read `[[:digit:]` and then wanted a literal `]`
    "[[:upper:]]*\n!A/\n",
    "[![:alpha:]]\n",
    "x[\\]]y\n",  # an escaped `]` is a member
    "x[]]y\nx[[]y\n",  # `]` first is a member; so is a `[`
    "x[a\\-z]1\n",  # an escaped `-` is no range
    "?[!/]\n",  # a slash in a class anchors the pattern, and no class matches a slash
    "[[:alpha:]][^[:alpha:]][[:alpha:]]\n",
    "[z-a]9\n",  # a backwards range is empty (Python's re refused it: every walk failed)
    "*[[:nope:]]\n[abc\n*.n\n",  # an unknown class, an unclosed `[`: git matches nothing with them
    "[[:punct:]]*\n!x*\n",
    "?[\\!^]?\n",  # a class of `!` and `^` only: pathspec negates `[!^]` and `[^!]`
    "z**/9\n",  # a `**` glued to the literal prefix: git strips the prefix, then it matches any folders
    "A/***/c\n/s**\n",  # three stars are two
    "A\\/B\n",  # an escaped slash is a slash
    "a" + "**/" * 1000 + "1\n",  # a long line of glued stars: no recursion (it crashed every walk)
]


UNICODE_TREE = ["é", "aé", "x日", "ñ1", "éa", "a1", "d/é/b", "d/x"]
UNICODE_CASES = [
    "x[日]\n",  # a class is one byte: not the three of 日
    "[é]*\n",  # ñ starts with the same byte as é
    "[![:alpha:]]\n",  # é is two bytes: one class matches neither it nor the folder d/é/
    "a?\n??\n",  # ? is a byte: `??` is é
    "[!é]1\n",
]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize(
    ("tree", "rules"),
    [pytest.param(GLOB_TREE, rules, id=rules[:40]) for rules in GLOB_CASES]
    + [pytest.param(UNICODE_TREE, rules, id=rules) for rules in UNICODE_CASES],  # matched byte by byte, as git does
)
def test_globs_are_read_as_git_reads_them(tmp_path: Path, tree: list[str], rules: str) -> None:
    root = make_tree(tmp_path / "p", dict.fromkeys(tree, ""))
    (root / ".gitignore").write_text(rules, encoding="utf-8")
    assert list(walk_project_sync(root, max_files=1000).files) == _git_keeps(root), rules


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_deeper_ignore_file_decides_only_what_it_matches_itself(tmp_path: Path) -> None:
    """`!*/` in src/.gitignore re-includes folders only: a file the root ignores stays ignored."""
    root = make_tree(tmp_path / "p", {**dict.fromkeys(TREE, ""), "src/pkg/deep/x.log": ""})
    (root / ".gitignore").write_text("*.log\ndeep/\n")
    (root / "src" / ".gitignore").write_text("!*/\n")
    walked = list(walk_project_sync(root, max_files=1000).files)
    assert walked == _git_keeps(root) and "src/pkg/deep/x.log" not in walked


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("rules", ["**/foo/**\n!keep.txt\n", "**/**/**/\n", "foo/**/\n!keep.txt\n"])
def test_folders_inside_a_named_folder_are_inside_it(tmp_path: Path, rules: str) -> None:
    """`foo/foo/` is inside `foo/` (a greedy regex prefix once took it for `foo/` itself)."""
    root = make_tree(tmp_path / "p", {"foo/foo/keep.txt": "", "foo/x.txt": "", "a.b/b.txt": "", "top.txt": ""})
    (root / ".gitignore").write_text(rules)
    assert list(walk_project_sync(root, max_files=1000).files) == _git_keeps(root), rules


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("rules", ["*.log\t\n", "f\t\n", "f\\  \n", "f\\ \n", "*.log   \n"])
def test_trailing_whitespace_is_read_as_git_reads_it(tmp_path: Path, rules: str) -> None:
    """git trims trailing spaces (not an escaped one) and keeps tabs; pathspec strips both."""
    root = make_tree(tmp_path / "p", {"x.log": "", "x.log\t": "", "f\t": "", "f ": "", "f": ""})
    (root / ".gitignore").write_text(rules)
    assert list(walk_project_sync(root, max_files=1000).files) == _git_keeps(root)


def test_a_folder_past_the_path_limit_is_counted_not_dropped_unseen(tmp_path: Path) -> None:
    """Folders nested past PATH_MAX (4,096 bytes) were left out with `unreadable_dirs: 0` and no note."""
    root = make_tree(tmp_path / "p", {"a.py": "x = 1\n"})
    name = "d" * 250
    here = os.getcwd()
    os.chdir(root)
    try:
        for _ in range(20):  # 20 x 251 bytes: past 4,096, reachable only relative to a folder
            os.mkdir(name)
            os.chdir(name)
        Path("deep.py").write_text("y = 2\n")
    finally:
        os.chdir(here)
    try:
        tree = walk_project_sync(root, max_files=100)
        assert "a.py" in tree.files and tree.unreadable_dirs == 1
    finally:  # shutil.rmtree cannot reach it either
        os.chdir(root)
        depth = 0
        while os.path.isdir(name):
            os.chdir(name)
            depth += 1
        os.unlink("deep.py")
        for _ in range(depth):
            os.chdir("..")
            os.rmdir(name)
        os.chdir(here)
