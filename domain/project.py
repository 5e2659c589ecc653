"""The project a feature belongs to: where it is, what it is called, what we know about it.

Its state (features, and later onboarding data) is the `ProjectState` document
read and updated through the `StateRepository`; its configuration (workflow,
recipes) comes through the `ProjectConfig` port.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel


class Project(BaseModel):
    """`facts` is a short factual description for prompts (manifests, guides, folders)."""

    root: Path
    name: str
    facts: str
