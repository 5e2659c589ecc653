"""OnboardProject: scan a project, keep the analysis in its state, return a compact summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from domain.onboarding.analysis import OnboardingSummary, ProjectAnalysis, analyze, summarize
from domain.onboarding.ports import GitReader, Progress, ProjectScanner, no_progress
from domain.ports import StateRepository
from domain.project_state import ProjectState

STEPS = 4


class OnboardProject:
    """Walk → read files → read git → store; progress is reported between steps.

    The scanner and git reader cache by fingerprints, so on an unchanged tree
    every step is a metadata check, and the state file is not rewritten when the
    analysis equals the stored one.
    """

    def __init__(
        self,
        scanner: ProjectScanner,
        git: GitReader,
        states: Callable[[Path], StateRepository],
    ) -> None:
        self._scanner = scanner
        self._git = git
        self._states = states

    async def analysis(self, root: Path, progress: Progress = no_progress) -> tuple[ProjectAnalysis, bool]:
        """(the current analysis, whether it differed from the stored one and was saved)."""
        states = self._states(root)
        stored = (await states.load()).onboarding
        if stored is None:
            # First onboarding: create the state file before walking, since creating `.cde/` changes the
            # project root and would make the walk cached below stale the moment the analysis is saved.
            await states.update(_no_change)
        await progress(0, STEPS, "listing files")
        files = await self._scanner.count_files(root)
        await progress(1, STEPS, f"reading {files} files")
        facts = await self._scanner.facts(root)
        await progress(2, STEPS, "reading git history")
        git = await self._git.facts(root)
        result = analyze(root.name, facts, git)
        await progress(3, STEPS, "saving the analysis")
        changed = not _same(stored, result)
        if changed:

            def store(state: ProjectState) -> None:
                state.onboarding = result

            await states.update(store)
        await progress(STEPS, STEPS, "done")
        return result, changed

    async def __call__(self, root: Path, progress: Progress = no_progress) -> OnboardingSummary:
        result, changed = await self.analysis(root, progress)
        return summarize(result, changed=changed)


def _no_change(state: ProjectState) -> None:
    return None


def _same(stored: ProjectAnalysis | None, current: ProjectAnalysis) -> bool:
    """Equal facts, whenever they were scanned."""
    if stored is None:
        return False
    volatile = {"facts": {"scanned_at"}}
    return stored.model_dump(exclude=volatile) == current.model_dump(exclude=volatile)
