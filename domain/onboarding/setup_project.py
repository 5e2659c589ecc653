"""SetupProject: write what the workflow tools need — .cde/workflow.yml, .cde/.gitignore, AGENTS.md."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import BaseModel

from domain.onboarding.agents_md import render_agents_md
from domain.onboarding.onboard_project import OnboardProject
from domain.onboarding.ports import DocumentStore, Progress, no_progress

WORKFLOW_FILE = ".cde/workflow.yml"
CDE_GITIGNORE_FILE = ".cde/.gitignore"
AGENTS_FILE = "AGENTS.md"
CDE_GITIGNORE = (
    "# cde-orchestrator: rebuildable caches, lock files, and what an interrupted write or skill delete\n"
    "# leaves (temp files, a deleted skill's folder) stay out of git\n"
    "cache/\n*.lock\n.*.tmp\n.trash-*/\n"
)


class SetupResult(BaseModel):  # no docstring: it would be sent in every tools/list
    written: list[str]
    skipped: list[str]  # existing files left alone (force=true overwrites them)


class SetupProject:
    def __init__(
        self,
        onboard: OnboardProject,
        store: DocumentStore,
        workflow_yaml: Callable[[], Awaitable[str]],
    ) -> None:
        self._onboard = onboard
        self._store = store
        self._workflow_yaml = workflow_yaml

    async def __call__(self, root: Path, *, force: bool = False, progress: Progress = no_progress) -> SetupResult:
        analysis, _ = await self._onboard.analysis(root, progress)
        files = {
            WORKFLOW_FILE: await self._workflow_yaml(),
            CDE_GITIGNORE_FILE: CDE_GITIGNORE,
            AGENTS_FILE: render_agents_md(analysis, generated_on=analysis.facts.scanned_at.date().isoformat()),
        }
        existing = {doc.path for doc in await self._store.current(root, list(files)) if doc.text is not None}
        chosen = {path: content for path, content in files.items() if force or path not in existing}
        if chosen:
            await self._store.write(root, chosen, only_new=[p for p in chosen if p not in existing])
        return SetupResult(written=list(chosen), skipped=[p for p in files if p not in chosen])
