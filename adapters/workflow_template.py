"""The `.cde/workflow.yml` that cde_setupProject writes: the bundled default workflow.

MERGE NOTE (issue 3 owns the workflow schema and its bundled default): this is
the one place that produces the file's content. Once issue 3 is merged, make
`default_workflow_yaml` return issue 3's bundled default workflow file verbatim,
so a project starts from exactly what the server would use without an override,
and keep the test that validates the written file with issue 3's `parse_workflow`.
Until then the content below follows issue 3's draft schema (name, version,
default_type, phases with id/description/recipe/handler/inputs/outputs, types
with description/skip/recipe).
"""

from __future__ import annotations

DEFAULT_WORKFLOW_YAML = """\
# cde-orchestrator workflow for this project: the phases a feature goes through.
# Edit to customise; delete the file to use the server's bundled default.
name: cde-default
version: "1.0"
default_type: standard
phases:
  - id: define
    description: Turn the request into a specification with user stories, requirements and acceptance criteria.
    recipe: define
    outputs:
      - {key: specification, description: The feature specification (Markdown)., file: spec.md}
  - id: decompose
    description: Break the specification into small, ordered, testable tasks.
    recipe: decompose
    inputs: [specification]
    outputs:
      - {key: tasks, description: The task list (Markdown checklist)., file: tasks.md}
  - id: design
    description: Decide the technical approach, the modules touched and the interfaces.
    recipe: design
    inputs: [specification]
    outputs:
      - {key: design, description: The implementation plan (Markdown)., file: plan.md}
  - id: implement
    description: Implement the tasks with tests, in small verified steps.
    recipe: implement
    outputs:
      - {key: changes, description: Summary of the changes made and files touched.}
  - id: test
    description: Run and extend the tests; report what was verified and how.
    recipe: test
    inputs: [changes]
    outputs:
      - {key: test_report, description: Tests run, results and coverage of the acceptance criteria.}
  - id: review
    description: Review the change against the specification and the project's conventions.
    recipe: review
    outputs:
      - {key: review, description: Findings and the final verdict., file: review.md}
types:
  standard: {description: A new feature, every phase., skip: [], recipe: ai-engineer}
  quick-fix: {description: A small, well-understood fix., skip: [decompose, design], recipe: quick-fix}
  hotfix: {description: An urgent production fix., skip: [decompose, design, review], recipe: quick-fix}
  research: {description: Investigate and report., skip: [implement, test, review], recipe: deep-research}
  documentation: {description: Documentation only., skip: [design, test], recipe: documentation-writer}
  refactor: {description: Restructure without changing behaviour., skip: [], recipe: ai-engineer}
"""


async def default_workflow_yaml() -> str:
    """The content to write to a project's `.cde/workflow.yml` (see the merge note above)."""
    return DEFAULT_WORKFLOW_YAML
