"""The ProjectScanner port on the real filesystem: facts from the project's files, in one thread hop.

Code files are read (up to `MAX_TEXT_BYTES`, binary ones detected by a NUL byte
in their first 8 KB and left out) to count lines; manifests are read and parsed;
everything else is classified by name only. Every file read is fingerprinted
from its open descriptor before reading, and those fingerprints (plus the walk's
directories, inherited from the cached tree) guard the cached facts: a second
scan of an unchanged tree is a metadata check, not a re-read.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from adapters.manifest_parsers import parse_manifest
from adapters.project_tree import FsProjectTree, ProjectTree
from adapters.text_files import Prints, count_lines, is_binary, read_prefix
from domain.clock import utc_now
from domain.onboarding.classify import (
    enclosing_test_dir,
    file_name,
    is_ci_config,
    is_doc,
    is_test_name,
    language_of,
    lockfile_tool,
    manifest_kind,
)
from domain.onboarding.facts import DirStat, LanguageStat, Manifest, ScanFacts
from infrastructure.cache import add_dependencies, cached
from infrastructure.files import in_thread

MAX_TEXT_BYTES = 1024 * 1024  # larger code files count their bytes, not their lines
MAX_MANIFESTS = 40
MAX_LANGUAGES = 20
MAX_LISTED = 40


def scan_facts_sync(tree: ProjectTree) -> tuple[ScanFacts, Prints]:
    base = os.fspath(tree.root)
    prints: Prints = []
    languages: dict[str, list[int]] = {}  # name → [files, lines, bytes]
    dir_files: Counter[str] = Counter()
    dir_lines: dict[str, Counter[str]] = {}
    top_files: list[str] = []
    manifests: list[tuple[str, str]] = []
    lockfiles: list[str] = []
    ci: list[str] = []
    test_dirs: dict[str, None] = {}
    # Code files in each test folder, by language: named like tests (test_x.py), or not (conftest.py, helpers).
    named_tests: Counter[tuple[str, str]] = Counter()
    other_code: Counter[tuple[str, str]] = Counter()
    docs = tests = 0  # tests: here, those named like tests outside any test folder
    for rel in tree.files:  # hot loop: ~20,000 iterations on a large project, keep it lean
        top, sep, _ = rel.partition("/")
        if sep:
            dir_files[top] += 1
        elif len(top_files) < MAX_LISTED:
            top_files.append(rel)
        if is_doc(rel):
            docs += 1
            continue
        kind = manifest_kind(rel)
        if kind is not None:
            manifests.append((rel, kind))
        if lockfile_tool(rel) is not None:
            lockfiles.append(rel)
        if is_ci_config(rel):
            ci.append(rel)
        test_dir = enclosing_test_dir(rel)
        if test_dir is not None:
            test_dirs[test_dir] = None
        language = language_of(rel)
        if language is None:
            continue
        if is_test_name(file_name(rel)):
            if test_dir is None:
                tests += 1
            else:
                named_tests[test_dir, language] += 1
        elif test_dir is not None:
            other_code[test_dir, language] += 1
        read = read_prefix(f"{base}/{rel}", MAX_TEXT_BYTES, prints)
        if read is None:
            continue
        size, data = read
        if is_binary(data):
            continue  # binary content behind a code extension (e.g. an MPEG-TS `.ts`)
        lines = count_lines(data) if size <= MAX_TEXT_BYTES else 0
        stat = languages.get(language)
        if stat is None:
            stat = languages[language] = [0, 0, 0]
        stat[0] += 1
        stat[1] += lines
        stat[2] += size
        if sep:
            counter = dir_lines.get(top)
            if counter is None:
                counter = dir_lines[top] = Counter()
            counter[language] += lines or 1
    parsed = parse_manifests(base, manifests, prints)
    facts = ScanFacts(
        files=len(tree.files),
        truncated=tree.truncated,
        ignored=tree.ignored,
        pruned=list(tree.pruned[:MAX_LISTED]),
        symlinks=tree.symlinks,
        unreadable_dirs=tree.unreadable_dirs,
        bad_names=tree.bad_names,
        languages=[
            LanguageStat(name=name, files=f, lines=lines, bytes=size)
            for name, (f, lines, size) in sorted(languages.items(), key=lambda kv: (-kv[1][1], -kv[1][2], kv[0]))
        ][:MAX_LANGUAGES],
        layout=[
            DirStat(path=d, files=n, language=(dir_lines[d].most_common(1)[0][0] if d in dir_lines else None))
            for d, n in sorted(dir_files.items())
        ][:MAX_LISTED],
        top_files=top_files,
        manifests=parsed,
        lockfiles=lockfiles[:MAX_LISTED],
        test_dirs=sorted(test_dirs, key=lambda d: (d.count("/"), d))[:MAX_LISTED],
        test_files=tests + _tests_in_folders(named_tests, other_code),
        ci=ci[:MAX_LISTED],
        docs=docs,
        scanned_at=utc_now(),
    )
    return facts, prints


def _tests_in_folders(named: Counter[tuple[str, str]], other: Counter[tuple[str, str]]) -> int:
    """The test files in test folders, per folder and language. Where tests follow a naming convention
    (pytest's test_*.py, Go's _test.go, Java's *Test.java) the folder also holds code that is not a test
    (conftest.py, fixtures, fakes): only the named files count. Where none do (Rust's tests/, Jest's
    __tests__/, Kotest's *Spec.kt) every code file of that language is one."""
    return sum(named[key] or other[key] for key in named.keys() | other.keys())


def parse_manifests(base: str, found: list[tuple[str, str]], prints: Prints) -> list[Manifest]:
    """Parse the shallowest manifests first (the project's own before its sub-packages')."""
    found.sort(key=lambda item: (item[0].count("/"), item[0]))
    parsed = []
    for rel, kind in found[:MAX_MANIFESTS]:
        read = read_prefix(f"{base}/{rel}", MAX_TEXT_BYTES, prints)
        if read is None:
            parsed.append(Manifest(path=rel, kind=kind, error="unreadable"))
            continue
        size, data = read
        if size > MAX_TEXT_BYTES:
            parsed.append(Manifest(path=rel, kind=kind, error=f"larger than {MAX_TEXT_BYTES} bytes; not parsed"))
            continue
        parsed.append(parse_manifest(rel, kind, data.decode("utf-8", "replace")))
    return parsed


_scan = in_thread(scan_facts_sync)


class FsProjectScanner:
    """ProjectScanner over `FsProjectTree` walks; facts are cached per root."""

    def __init__(self, trees: FsProjectTree) -> None:
        self._trees = trees

    async def count_files(self, root: Path) -> int:
        return len((await self._trees.tree(root)).files)

    @cached("scan.facts", maxsize=8)
    async def facts(self, root: Path) -> ScanFacts:
        tree = await self._trees.tree(root)
        facts, prints = await _scan(tree)
        add_dependencies(prints)
        return facts
