"""Deterministic synthetic corpora for the docs and scan benchmarks (same seed → same bytes)."""

from __future__ import annotations

import json
import random
from pathlib import Path

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "ve", "zo", "pri", "sto", "gra", "fen", "dal", "quo", "bex", "tur")


def vocabulary(size: int = 3000, seed: int = 7) -> list[str]:
    """`size` distinct pseudo-words (so queries have a known, controllable selectivity)."""
    rng = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))] = None
    return list(words)


def _paragraph(rng: random.Random, words: list[str], weights: list[float], n: int) -> str:
    return " ".join(rng.choices(words, weights, k=n)).capitalize() + "."


def zipf_weights(count: int) -> list[float]:
    """Word frequencies as in natural text: the k-th most common word is ~1/k as frequent as the first."""
    return [1.0 / (rank + 1) for rank in range(count)]


def doc_path(i: int) -> str:
    return f"docs/area{i % 40:02d}/topic{i:05d}.md"


def markdown_doc(i: int, total: int, words: list[str], weights: list[float], rng: random.Random) -> str:
    """A ~3 KB doc: front matter, H1, five H2 sections, a code block, a link to another doc."""
    title = " ".join(rng.choices(words, weights, k=3)).capitalize() + f" {i}"
    parts = [
        "---",
        f"title: {title}",
        f"description: {_paragraph(rng, words, weights, 8)}",
        f"tags: [{words[i % 50]}, {words[(i + 1) % 50]}]",
        "---",
        f"# {title}",
        "",
        _paragraph(rng, words, weights, 40),
    ]
    for section in range(5):
        parts += ["", f"## {' '.join(rng.choices(words, weights, k=2)).capitalize()}", ""]
        parts.append(_paragraph(rng, words, weights, 70))
        if section == 2:
            parts += ["", "```python", f"def handler_{i}(value):", "    return value * 2", "```"]
    other = (i * 31 + 1) % total
    parts += ["", f"See [{words[other % len(words)]}](../area{other % 40:02d}/topic{other:05d}.md).", ""]
    return "\n".join(parts)


def write_docs(root: Path, count: int, *, seed: int = 11) -> list[str]:
    """`count` docs under `root/docs/area*/`, plus a README linking to the first areas; returns the doc paths."""
    words = vocabulary()
    weights = zipf_weights(len(words))
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        rel = doc_path(i)
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(markdown_doc(i, count, words, weights, rng), encoding="utf-8")
        paths.append(rel)
    (root / "README.md").write_text("# Corpus\n\n" + "\n".join(f"- [{p}]({p})" for p in paths[:40]) + "\n")
    return paths


_PY = "def function_{i}(items):\n    total = 0\n    for item in items:\n        total += item * {i}\n    return total\n"
_TS = "export function handler{i}(input: number): number {{\n  return input + {i};\n}}\n"


def write_project(root: Path, files: int, *, seed: int = 5) -> int:
    """A project of `files` counted files (code, tests, docs, data, binaries) plus ignored and pruned ones.

    Returns the number of files the scan should count. Nested `.gitignore`
    files, a `node_modules` folder and build output exercise the pruning.
    """
    rng = random.Random(seed)
    words = vocabulary(400)
    (root / ".gitignore").parent.mkdir(parents=True, exist_ok=True)
    (root / ".gitignore").write_text("*.log\n/build/\n.env\n")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "bench"\ndependencies = ["fastapi", "pydantic"]\n'
        '[project.optional-dependencies]\ndev = ["pytest", "ruff", "mypy"]\n'
    )
    (root / "web").mkdir()
    (root / "web" / "package.json").write_text(
        json.dumps({"scripts": {"test": "vitest", "build": "vite build"}, "dependencies": {"react": "18"}})
    )
    (root / "Makefile").write_text("test:\n\tpytest\nlint:\n\truff check .\n")
    counted = 4  # the files above
    i = 0
    while counted < files:
        kind = i % 20
        if kind < 9:
            rel = f"src/pkg{i % 60:02d}/sub{i % 7}/mod{i:05d}.py"
            body = "".join(_PY.format(i=i * 10 + k) for k in range(rng.randint(2, 6)))
        elif kind < 12:
            rel = f"web/src/feature{i % 30:02d}/component{i:05d}.ts"
            body = "".join(_TS.format(i=i * 10 + k) for k in range(rng.randint(2, 6)))
        elif kind < 15:
            rel = f"tests/unit/area{i % 25:02d}/test_mod{i:05d}.py"
            body = _PY.format(i=i)
        elif kind < 17:
            rel = f"docs/section{i % 20:02d}/page{i:05d}.md"
            body = f"# Page {i}\n\n" + " ".join(rng.choice(words) for _ in range(120)) + "\n"
        elif kind < 19:
            rel = f"data/set{i % 10}/record{i:05d}.json"
            body = json.dumps({"id": i, "values": [rng.random() for _ in range(8)]})
        else:
            rel = f"assets/img{i % 10}/image{i:05d}.png"
            body = ""
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".png"):
            target.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + rng.randbytes(600))
        else:
            target.write_text(body, encoding="utf-8")
        if i % 400 == 0:  # ignored by the root or a nested .gitignore: never counted
            (target.parent / "debug.log").write_text("noise\n")
            (target.parent / "scratch.tmp").write_text("noise\n")
            nested = target.parent / ".gitignore"
            counted += not nested.exists()  # the nested .gitignore itself is a project file
            nested.write_text("*.tmp\n")
        counted += 1
        i += 1
    for j in range(files // 10):  # dependencies and build output: pruned, never read
        dep = root / "node_modules" / f"dep{j % 50}" / f"file{j}.js"
        dep.parent.mkdir(parents=True, exist_ok=True)
        dep.write_text("module.exports = 1;\n")
    (root / "build" / "lib").mkdir(parents=True)
    (root / "build" / "lib" / "out.py").write_text("x = 1\n")
    return counted
