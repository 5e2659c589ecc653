"""Safe names: ids and slugs that may become file or directory names.

Validation happens before any filesystem call, so `../x`, absolute paths, device
names and control characters never reach the OS.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from domain.errors import InvalidInputError

MAX_NAME_LENGTH = 64
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
# Device names on Windows, whatever the case or extension: such a file cannot be checked out there.
_DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul", "clock$"} | {f"{device}{i}" for device in ("com", "lpt") for i in range(10)}
)
_RESERVED = _DEVICE_NAMES | {"default", "index", "none", "null"}
_RESERVED_SUFFIXES = (".lock",)


def _check_plain(value: str, what: str, example: str) -> str:
    """The checks every name shares: present, bounded, no path, no `..`."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} is empty; use {example}")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"{what} is longer than {MAX_NAME_LENGTH} characters")
    if "/" in value or "\\" in value:
        raise InvalidInputError(f"{what} {value!r} must be a plain name, not a path")
    if ".." in value:
        raise InvalidInputError(f"{what} {value!r} must not contain '..'; use one '.', '-' or '_' between words")
    return value


def validate_name(value: str, what: str = "name") -> str:
    """Return `value` if it is a safe lowercase slug (a-z, 0-9, '.', '_', '-'), else raise."""
    _check_plain(value, what, "a lowercase slug such as 'api-client'")
    if not _NAME.fullmatch(value):
        raise InvalidInputError(
            f"{what} {value!r} must be a lowercase slug: a-z, 0-9, '.', '_', '-', starting and ending alphanumeric"
        )
    if value.split(".")[0] in _RESERVED:
        raise InvalidInputError(f"{what} {value!r} is a reserved name; pick another")
    if value.endswith(_RESERVED_SUFFIXES):
        # Lock files end so, and .cde/.gitignore keeps `*.lock` out of git: the item would never be shared.
        raise InvalidInputError(f"{what} {value!r} must not end in '.lock'; pick another")
    return value


_FILE_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$")


def validate_file_name(value: str, what: str = "file") -> str:
    """Return `value` if it is a safe plain file name (README.md, api-spec.md, plan_v2.txt), else raise.

    Looser than `validate_name` (upper case allowed, ids like `index` are fine as files) but as safe:
    no path, no `..`, no device names, nothing a lock file or a hidden file would be taken for.
    """
    _check_plain(value, what, "a plain file name such as 'spec.md'")
    if not _FILE_NAME.fullmatch(value):
        raise InvalidInputError(
            f"{what} {value!r} must use only letters a-z/A-Z, digits, '.', '_', '-', "
            "starting and ending with a letter or digit"
        )
    if value.split(".")[0].lower() in _DEVICE_NAMES:
        raise InvalidInputError(f"{what} {value!r} is a device name on Windows; pick another")
    if value.lower().endswith(_RESERVED_SUFFIXES):
        raise InvalidInputError(f"{what} {value!r} must not end in '.lock'; pick another")
    return value


def slugify(text: str, *, max_length: int = 48, fallback: str = "item") -> str:
    """A safe slug derived from free text ("Add OAuth2 login!" → "add-oauth2-login").

    Letters without an ASCII form (Chinese, Cyrillic…) are dropped; when that drops most of the
    text, a short hash of it is appended, so different requests in those scripts get different
    names ("feature-3f2a1c") while the same request always gets the same one.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    kept = sum(c.isalnum() for c in ascii_text)
    dropped = sum(c.isalnum() for c in decomposed) - kept
    suffix = f"-{hashlib.sha256(text.strip().encode('utf-8', 'replace')).hexdigest()[:6]}" if dropped > kept else ""
    limit = max(1, max_length - len(suffix))
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0] if "-" in slug[:limit] else slug[:limit]
    slug = (slug.strip("-") or fallback) + suffix
    if slug.split(".")[0] in _RESERVED:
        slug = f"{slug}-1"
    return slug


def clipped(text: str, limit: int) -> str:
    """`text` on one line within `limit` characters, cut at a word with an ellipsis when too long."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    word_end = cut.rfind(" ")
    return (cut[:word_end] if word_end > limit // 2 else cut).rstrip(" ,;:-") + "…"


def feature_title(description: str) -> str:
    """A short title: the description's first sentence, at most ~80 characters."""
    first = description.strip().split("\n", 1)[0]
    for stop in (". ", "; "):
        if stop in first:
            first = first.split(stop, 1)[0]
    first = clipped(first.rstrip("."), 81)
    return first[:1].upper() + first[1:]
