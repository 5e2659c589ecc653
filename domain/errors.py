"""Errors the domain raises, each written for the agent that will read it.

A message says what went wrong and what to do next, on one line: tool handlers
return it verbatim as the MCP tool error, so a traceback or a multi-line dump
would cost the caller context and tell it nothing it can act on.
"""

from __future__ import annotations

from pathlib import Path


def _one_line(text: str) -> str:
    return " ".join(text.split())


def shown(text: str, limit: int = 120) -> str:
    """`text` quoted for an error message, cut to `limit` characters: a message must stay one short line."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text)} characters)"


class DomainError(Exception):
    """Base of every anticipated failure; `code` lets callers branch without parsing text."""

    code = "error"

    def __init__(self, message: str) -> None:
        self.message = _one_line(message)
        super().__init__(self.message)


class InvalidInputError(DomainError):
    """An argument is malformed, out of range or unsafe (a path escaping the project, a bad id)."""

    code = "invalid_input"


class NotFoundError(DomainError):
    """The named thing (project, feature, recipe, skill, file, task) does not exist."""

    code = "not_found"


class ConflictError(DomainError):
    """The request collides with current state (exists already, lock held too long)."""

    code = "conflict"


class InvalidTransitionError(DomainError):
    """The workflow refuses this step (wrong phase, missing outputs, finished feature)."""

    code = "invalid_transition"


class PermissionDeniedError(DomainError):
    """The path is outside the allowed roots or the OS refused access."""

    code = "permission_denied"


class UnavailableError(DomainError):
    """A dependency outside the project is missing (an agent CLI not installed)."""

    code = "unavailable"


class LimitExceededError(DomainError):
    """A size or count bound was hit (file too large, too many results requested)."""

    code = "limit_exceeded"


class CorruptDataError(DomainError):
    """A stored file cannot be parsed; it is left untouched for the user to inspect."""

    code = "corrupt_data"

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        super().__init__(
            f"{self.path} is unreadable ({problem}); it was left untouched - fix or move it away, then retry"
        )
