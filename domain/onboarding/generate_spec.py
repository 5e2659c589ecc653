"""GenerateSpec: specs/<slug>/spec.md, plan.md, tasks.md for a feature, never overwriting unless asked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from domain.clock import utc_now
from domain.errors import ConflictError, InvalidInputError
from domain.names import slugify
from domain.onboarding.onboard_project import OnboardProject
from domain.onboarding.ports import DocumentStore
from domain.onboarding.spec_templates import SPEC_FILES, render_spec
from domain.ports import StateRepository
from domain.workflow_ports import SpecStore


class SpecResult(BaseModel):  # no docstring: it would be sent in every tools/list
    slug: str
    files: list[str]


class GenerateSpec:
    """Spec-Kit style documents for a feature described in a sentence.

    Never in the folder of a feature the workflow tools drive (`cde_startFeature`): its documents are the
    phases' accepted results, which templates must not replace. Written under the same lock as feature
    changes, so a feature started at the same moment picks another folder.
    """

    def __init__(
        self,
        onboard: OnboardProject,
        store: DocumentStore,
        state: Callable[[Path], StateRepository],
        specs: Callable[[Path], SpecStore],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._onboard = onboard
        self._store = store
        self._state = state
        self._specs = specs
        self._clock = clock

    async def __call__(self, root: Path, description: str, *, overwrite: bool = False) -> SpecResult:
        description = " ".join(description.split())
        if not description:
            raise InvalidInputError("feature_description is empty; describe the feature in a sentence or more")
        if "\x00" in description:  # written into the spec, it would make the scanner take it for binary
            raise InvalidInputError("feature_description holds a NUL character; send plain text")
        slug = slugify(description, fallback="feature")
        folder = f"specs/{slug}"
        await self._refuse_feature_folder(root, slug)
        existing = [
            doc.path
            for doc in await self._store.current(root, [f"{folder}/{n}" for n in SPEC_FILES])
            if doc.text is not None
        ]
        if existing and not overwrite:
            raise ConflictError(
                f"{folder}/ already holds {', '.join(p.rsplit('/', 1)[1] for p in existing)}; "
                "pass overwrite=true to replace them, or describe the feature differently"
            )
        analysis, _ = await self._onboard.analysis(root)
        documents = render_spec(description, slug, analysis, today=self._clock().date().isoformat())
        files = {f"{folder}/{name}": text for name, text in documents.items()}
        async with self._specs(root).locked():
            await self._refuse_feature_folder(root, slug)  # again: one may have started while the scan ran
            # Created only if still absent when written (a concurrent call or an editor may have made them since).
            await self._store.write(root, files, only_new=() if overwrite else list(files))
        return SpecResult(slug=slug, files=list(files))

    async def _refuse_feature_folder(self, root: Path, slug: str) -> None:
        state = await self._state(root).load()
        owner = next((f for f in state.features.values() if f.name == slug), None)
        if owner is not None:
            raise ConflictError(
                f"specs/{slug}/ is the folder of feature {owner.name} (id {owner.id}, {owner.status}), whose "
                "documents are its phases' submitted results; describe this feature differently, or continue "
                "that one with cde_getFeatureStatus and cde_submitWork"
            )
