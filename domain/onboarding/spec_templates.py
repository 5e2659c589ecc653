"""Spec-Kit style feature documents (spec.md, plan.md, tasks.md), filled with the project's scanned facts.

The sections follow GitHub Spec-Kit's templates: the spec says *what* and *why*
(user stories with priorities, acceptance scenarios, functional requirements,
success criteria) with `[NEEDS CLARIFICATION]` where the description is silent;
the plan carries the technical context from the scan; tasks are numbered,
grouped by phase, tests before implementation.
"""

from __future__ import annotations

from domain.front_matter import front_matter
from domain.names import clipped, feature_title
from domain.onboarding.analysis import ProjectAnalysis, plural
from domain.onboarding.classify import BUILD_LANGUAGES
from domain.text import code_span, one_line_text

SPEC_FILES = ("spec.md", "plan.md", "tasks.md")


def _front_matter(title: str, description: str, slug: str, kind: str, today: str) -> str:
    fields = {"title": f"{kind}: {title}", "description": clipped(description, 201)}
    return front_matter({**fields, "feature": slug, "status": "draft", "created": today})


def _spec(title: str, description: str, slug: str, today: str) -> str:
    return (
        _front_matter(title, description, slug, "Feature specification", today)
        + f"""# Feature Specification: {title}

**Feature folder**: `specs/{slug}/` · **Created**: {today} · **Status**: Draft

**Input**: {description}

## User Scenarios & Testing *(mandatory)*

### User Story 1 - {title} (Priority: P1)

[Describe the primary journey in plain language: who does what, and what they get.]

**Why this priority**: [The value it delivers; why it comes first.]

**Independent Test**: [How this story alone can be tested and demonstrated.]

**Acceptance Scenarios**:

1. **Given** [initial state], **When** [action], **Then** [expected outcome]
2. **Given** [initial state], **When** [action], **Then** [expected outcome]

### Edge Cases

- What happens when [boundary condition]?
- How does the system handle [error scenario]?

## Requirements *(mandatory)*

### Functional Requirements

- **FR-001**: System MUST [specific capability derived from the input above]
- **FR-002**: System MUST [specific capability]
- **FR-003**: System MUST [NEEDS CLARIFICATION: anything the description leaves open]

### Key Entities *(include if the feature involves data)*

- **[Entity]**: [What it represents, its key attributes, its relationships]

## Success Criteria *(mandatory)*

### Measurable Outcomes

- **SC-001**: [A measurable, technology-agnostic outcome, e.g. "users complete X in under 1 minute"]
- **SC-002**: [A measurable outcome]

## Assumptions

- [Assumptions made where the description is silent]
"""
    )


def _technical_context(analysis: ProjectAnalysis) -> list[str]:
    facts = analysis.facts
    written_in = [s.name for s in facts.languages if s.name not in BUILD_LANGUAGES]
    languages = ", ".join(written_in[:3]) or "NEEDS CLARIFICATION"
    frameworks = ", ".join(analysis.frameworks[:8]) or "NEEDS CLARIFICATION"
    testing = ", ".join(analysis.test_frameworks) or "NEEDS CLARIFICATION"
    if "test" in analysis.commands:
        testing += f" ({code_span(analysis.commands['test'])})"
    manifests = ", ".join(code_span(m.path) for m in facts.manifests[:5]) or "none found"
    return [
        f"**Language/Version**: {languages}",
        f"**Primary Dependencies**: {frameworks}",
        f"**Manifests**: {manifests}",
        "**Storage**: [NEEDS CLARIFICATION: if the feature stores data]",
        f"**Testing**: {testing}",
        f"**CI**: {', '.join(code_span(c) for c in facts.ci[:3]) or 'none found'}",
        "**Performance Goals**: [NEEDS CLARIFICATION]",
        "**Constraints**: [NEEDS CLARIFICATION]",
    ]


def _in_fence(name: str) -> str:
    """A name on a line of a fenced block: one line, and no backtick that could close the fence."""
    return one_line_text(name).replace("`", "'")


def _structure(analysis: ProjectAnalysis) -> list[str]:
    dirs = [
        f"{_in_fence(d.path)}/  # {plural(d.files, 'file')}" + (f", mostly {d.language}" if d.language else "")
        for d in analysis.facts.layout
    ]
    return dirs[:15] or ["(no folders found)"]


def _plan(title: str, description: str, slug: str, today: str, analysis: ProjectAnalysis) -> str:
    context = "\n".join(_technical_context(analysis))
    structure = "\n".join(_structure(analysis))
    verifying = [cmd for key, cmd in analysis.commands.items() if key in ("test", "lint", "typecheck")]
    checks = [f"- [ ] {code_span(cmd)} passes" for cmd in verifying]
    gates = "\n".join(checks) or "- [ ] [NEEDS CLARIFICATION: how changes are verified; no test/lint command was found]"
    return (
        _front_matter(title, description, slug, "Implementation plan", today)
        + f"""# Implementation Plan: {title}

**Feature folder**: `specs/{slug}/` · **Created**: {today} · **Spec**: [spec.md](spec.md)

## Summary

[The primary requirement from the spec and the chosen technical approach, in two or three sentences.]

## Technical Context

{context}

## Quality Gates

{gates}

## Project Structure

### Documentation (this feature)

```text
specs/{slug}/
├── spec.md    # what and why
├── plan.md    # this file: how
└── tasks.md   # the ordered work
```

### Source Code (repository root, as scanned)

```text
{structure}
```

**Structure Decision**: [Which of the folders above this feature touches, and any new module it adds.]

## Complexity Tracking

| Deviation | Why needed | Simpler alternative rejected because |
| --- | --- | --- |
| | | |
"""
    )


def _tasks(title: str, description: str, slug: str, today: str, analysis: ProjectAnalysis) -> str:
    test_dir = code_span(f"{(analysis.facts.test_dirs or ['tests'])[0]}/")
    commands = analysis.commands
    polish = [code_span(commands[k]) for k in ("lint", "typecheck", "test") if k in commands]
    verify = f"Run {', '.join(polish)} and fix what they report" if polish else "Run the project's checks"
    return (
        _front_matter(title, description, slug, "Tasks", today)
        + f"""# Tasks: {title}

**Input**: [spec.md](spec.md), [plan.md](plan.md) · **Created**: {today}

Format: `- [ ] T### [P] [US#] Description` — `[P]` can run in parallel (different files), `[US#]` is the user story.

## Phase 1: Setup

- [ ] T001 Confirm the Technical Context in plan.md and resolve every NEEDS CLARIFICATION
- [ ] T002 [P] Create the module skeleton named in plan.md's Structure Decision

## Phase 2: Foundational (blocks every user story)

- [ ] T003 Add the shared entities/configuration the stories need

## Phase 3: User Story 1 - {title} (Priority: P1) 🎯 MVP

**Goal**: [What this story delivers]

**Independent Test**: [From spec.md]

### Tests for User Story 1 (write them first; they must fail before implementation)

- [ ] T004 [P] [US1] Acceptance test for scenario 1 in {test_dir}
- [ ] T005 [P] [US1] Test for the edge cases listed in spec.md in {test_dir}

### Implementation for User Story 1

- [ ] T006 [US1] Implement FR-001
- [ ] T007 [US1] Implement FR-002
- [ ] T008 [US1] Handle errors and edge cases with clear messages

## Phase 4: Polish

- [ ] T009 [P] Update the documentation touched by this feature
- [ ] T010 {verify}
"""
    )


def render_spec(description: str, slug: str, analysis: ProjectAnalysis, *, today: str) -> dict[str, str]:
    """spec.md, plan.md and tasks.md for a feature, keyed by file name."""
    title = feature_title(description)
    return {
        "spec.md": _spec(title, description, slug, today),
        "plan.md": _plan(title, description, slug, today, analysis),
        "tasks.md": _tasks(title, description, slug, today, analysis),
    }
