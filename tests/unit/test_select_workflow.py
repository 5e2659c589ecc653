from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from domain.select_workflow import COMPLEXITIES, classify

# (prompt, expected workflow type), phrased the way people actually ask assistants for work. Labels were
# written by hand before tuning the rules - but the rules WERE tuned on this table, so its agreement is the
# issue's acceptance gate, not an estimate of accuracy on new requests (see UNSEEN for that).
LABELED: list[tuple[str, str]] = [
    ("Add a --json flag to the report command", "standard"),
    ("Implement password reset via email for the web app", "standard"),
    ("Build a dashboard page showing monthly revenue per customer", "standard"),
    ("Create a REST endpoint to export invoices as CSV", "standard"),
    ("Allow users to upload a profile picture", "standard"),
    ("Integrate Stripe payments into the checkout flow", "standard"),
    ("Support dark mode in the settings screen", "standard"),
    ("We need a new CLI command that syncs the local cache with S3", "standard"),
    ("Fix the typo in the login button label", "quick-fix"),
    ("The date picker crashes when the month is December", "quick-fix"),
    ("Search returns wrong results when the query has uppercase letters", "quick-fix"),
    ("Fix off-by-one error in pagination of the orders list", "quick-fix"),
    ("Users get a 500 error when they submit an empty form", "quick-fix"),
    ("The export button doesn't work in Firefox", "quick-fix"),
    ("Flaky test test_upload_retries fails on CI about one run in ten", "quick-fix"),
    ("Bump the timeout of the health check from 5 to 10 seconds", "quick-fix"),
    ("Production is down: checkout throws a null pointer exception for every order", "hotfix"),
    ("URGENT: customers are being double charged in production", "hotfix"),
    ("Critical security vulnerability in the file upload endpoint must be patched immediately", "hotfix"),
    ("Outage: the API returns 502 for all requests since the last deploy, need a rollback fix asap", "hotfix"),
    ("Patch CVE-2024-3094 in our base image right now", "hotfix"),
    ("Research which vector database fits our search use case", "research"),
    ("Compare Celery and RQ for our background jobs and recommend one", "research"),
    ("Investigate why the nightly build got 3x slower last month", "research"),
    ("Should we move from REST to GraphQL? Evaluate the pros and cons", "research"),
    ("Spike: assess the feasibility of running the model on-device", "research"),
    ("Explore alternatives to our homegrown feature flag system", "research"),
    ("Write documentation for the public API endpoints", "documentation"),
    ("Update the README with installation instructions for Windows", "documentation"),
    ("Add docstrings to the payments module", "documentation"),
    ("Write a tutorial on how to deploy the app with Docker", "documentation"),
    ("Document the architecture decisions of the sync engine in an ADR", "documentation"),
    ("Create a user guide for the admin panel", "documentation"),
    ("Refactor the order service to remove duplication between create and update", "refactor"),
    ("Split the 2000-line utils.py into cohesive modules", "refactor"),
    ("Clean up dead code left over from the old billing system", "refactor"),
    ("Decouple the UI components from the API client", "refactor"),
    ("Extract the retry logic into a reusable helper without changing behaviour", "refactor"),
    ("Pay down tech debt in the auth module: simplify the token handling", "refactor"),
    ("Restructure the project into a src layout", "refactor"),
]

# Written after the rules were tuned on LABELED and measured untouched (16/18); two misses were symptom-only
# bug reports, which led to generic symptom cues ("stack trace", "hangs", "overlaps"...), so this table is
# no longer unseen either. One miss remains on purpose.
HELD_OUT: list[tuple[str, str]] = [
    ("Let admins invite teammates by email", "standard"),
    ("Add rate limiting to the public API", "standard"),
    ("Implement a webhook receiver for GitHub push events", "standard"),
    ("Introduce a plugin system for custom exporters", "standard"),
    ("Tooltip text overlaps the chart legend on small screens", "quick-fix"),
    ("Sorting by date puts 2023 before 2022 in the history table", "quick-fix"),
    ("Fix the failing unit test in test_parser.py", "quick-fix"),
    ("The CLI prints a stack trace when the config file is missing", "quick-fix"),
    ("Payments are failing in prod for all EU customers, fix it now", "hotfix"),
    ("Emergency: user passwords are being logged in plain text in production", "hotfix"),
    ("How does our caching layer behave under concurrent writes? Analyze and report", "research"),
    ("Find out which of our dependencies are unmaintained and recommend replacements", "research"),
    ("What is the best way to version our public API?", "research"),
    ("Write the changelog for release 2.4", "documentation"),
    ("Explain the deployment process in the contributing guide", "documentation"),
    ("Rename the confusing variables in the scheduler and consolidate the duplicate helpers", "refactor"),
    ("Migrate the test suite from unittest to pytest without changing what it covers", "refactor"),
    ("Modernize the build scripts to use pyproject instead of setup.py", "refactor"),
]


# Written in review, labelled before classifying any of them, and measured untouched: 27/32 (84%). Its misses
# (symptom reports naming an exception or saying "never", refactors saying "duplicated", "into smaller",
# "async/await") then led to generic cues, so it is a tuning table now, gated at 90% like the others.
REVIEWED: list[tuple[str, str]] = [
    ("Add CSV import for the contacts list", "standard"),
    ("Let users schedule reports to be emailed every Monday", "standard"),
    ("Implement two-factor authentication with TOTP apps", "standard"),
    ("Build an audit log that records who changed each setting", "standard"),
    ("Create a Slack integration that posts a message when a deploy finishes", "standard"),
    ("We want a search bar on the orders page with filters by status", "standard"),
    ("The login page shows a blank screen after entering the wrong password", "quick-fix"),
    ("Fix the broken link in the footer", "quick-fix"),
    ("Saving a draft throws a KeyError when the title is empty", "quick-fix"),
    ("The progress bar never reaches 100% on uploads", "quick-fix"),
    ("Correct the spelling of 'recieve' across the email templates", "quick-fix"),
    ("Timestamps in the activity feed are shown in UTC instead of the user's timezone", "quick-fix"),
    ("Checkout is broken in production for every customer, we are losing money, fix it now", "hotfix"),
    ("SEV1: the database is out of disk and the site is down", "hotfix"),
    ("An attacker can read other users' invoices by changing the id in the URL, patch it urgently", "hotfix"),
    ("The payment webhook is failing in prod since this morning's release, roll back or fix immediately", "hotfix"),
    ("Evaluate whether we should switch from Webpack to Vite", "research"),
    ("Investigate the memory growth in the worker processes and report what causes it", "research"),
    ("Compare three approaches for multi-region replication and recommend one", "research"),
    ("Look into how other CLIs handle config file precedence", "research"),
    ("Research the licensing implications of bundling ffmpeg", "research"),
    ("Document the environment variables the service reads", "documentation"),
    ("Write release notes for version 3.0", "documentation"),
    ("Add a getting started guide for new contributors", "documentation"),
    ("Improve the docstrings in the scheduler module so the API reference is useful", "documentation"),
    ("Write a how-to for rotating the API keys", "documentation"),
    ("Refactor the payment module to use dependency injection", "refactor"),
    ("Break the giant OrderController into smaller classes", "refactor"),
    ("Remove the duplicated validation logic between the web and mobile APIs", "refactor"),
    ("Simplify the configuration loading code, it has grown too complex", "refactor"),
    (
        "Replace the hand-written SQL strings in the reports module with the query builder, behaviour unchanged",
        "refactor",
    ),
    ("Convert the callback-based file utilities to async/await", "refactor"),
]
# Feature requests and small fixes that an early version of those cues misread (a weak cue like "never",
# "convert" or "downtime" outweighing "add"; any bug word turning "downtime"/"revenue" into a hotfix).
MISREAD: list[tuple[str, str]] = [
    ("Add a setting so users never get logged out", "standard"),
    ("Add pagination so the list never loads more than 50 rows", "standard"),
    ("Add an undo button so deleted items no longer disappear", "standard"),
    ("Let users convert currencies at checkout", "standard"),
    ("Add a validation that throws an error when the email is invalid", "standard"),  # still read as a fix
    ("Add a new endpoint that raises ValidationError for unknown fields", "standard"),
    ("Add a scheduled downtime calendar", "standard"),
    ("Fix typo in the downtime notice", "quick-fix"),
    ("Fix the rounding bug in the revenue report", "quick-fix"),
    ("Fix the misaligned button on the breach notification page", "quick-fix"),
    ("Fix the typo on the customers page", "quick-fix"),
]

# Written by someone who never saw the rules, from the workflow types' definitions alone (7 per type, varied
# phrasing, several avoiding their type's obvious word), and never used to change them: the honest estimate
# of agreement on new requests. Measured untouched: 38/42 (90%); the rules before REVIEWED was used scored
# 35/42. Two of the cues ("runbook", "type annotations") come from those same definitions and were added
# before the table was read; without them it scores 36/42. Keep it unseen: do not tune the rules on it;
# write a new table instead.
UNSEEN: list[tuple[str, str]] = [
    ("P0: checkout returns 500 for every customer in production, customers can't pay", "hotfix"),
    ("feature request: let admins bulk-invite teammates by pasting a list of emails", "standard"),
    (
        "Which library should we use for PDF generation: WeasyPrint, ReportLab or wkhtmltopdf? Compare them "
        "and recommend one",
        "research",
    ),
    (
        "UserManager does way too much. Break it up so each piece has a single responsibility, keeping the "
        "behaviour identical",
        "refactor",
    ),
    ("Migrate the remaining class components in src/components to function components with hooks", "refactor"),
    ("URGENT: /users/export is leaking other tenants' email addresses in production", "hotfix"),
    ("The Terms of Service link in the footer goes to a 404", "quick-fix"),
    ("prod is down - API pods are crashlooping since this morning's deploy, need a fix now", "hotfix"),
    ("test_parse_dates in tests/test_utils.py fails on machines whose local timezone isn't UTC", "quick-fix"),
    (
        "Split the 2000-line services/orders.py into separate modules for pricing, fulfillment and "
        "notifications, no behaviour change",
        "refactor",
    ),
    ("rename getUsr to getUser everywhere", "refactor"),
    (
        "Is it feasible to run our CI test suite on ARM runners? Tell me what would block us before we decide anything",
        "research",
    ),
    ("typo on the signup page: 'Pasword' should be 'Password'", "quick-fix"),
    ("Add a CSV export option to the monthly invoices page", "standard"),
    ("login has been broken for ALL users on production since 14:00, nobody can get in", "hotfix"),
    ("Extract the duplicated retry logic in the three HTTP clients into one shared helper", "refactor"),
    ("the tooltip on the save icon overlaps the dropdown menu by a few pixels", "quick-fix"),
    (
        "Why is the dashboard query slow for accounts with more than 10k projects? Investigate and report "
        "back, don't change anything yet",
        "research",
    ),
    ("add type annotations to the utils package", "refactor"),
    ("Write an ADR explaining why we chose Postgres over MongoDB for the events store", "documentation"),
    (
        "The nightly cleanup job deleted live customer orders in production last night and it runs again in "
        "2 hours. Stop it and fix it ASAP",
        "hotfix",
    ),
    ("add docstrings to all public functions in billing/invoice.py", "documentation"),
    (
        "Should we adopt GraphQL for the mobile API or stay with REST? I need a recommendation with the tradeoffs",
        "research",
    ),
    (
        "Someone is actively exploiting the SQL injection in the search endpoint on the live site, patch it "
        "immediately",
        "hotfix",
    ),
    ("Look into why memory on the worker nodes grows steadily over a week and tell me what you find", "research"),
    ("Clicking 'Download PDF' in Firefox opens a blank tab instead of downloading the file", "quick-fix"),
    ("Write a runbook for rotating the production database credentials", "documentation"),
    ("Update the README with the new Docker Compose setup steps", "documentation"),
    (
        "The API reference is missing the new /webhooks endpoints; describe their request and response payloads there",
        "documentation",
    ),
    ("new endpoint GET /api/v2/projects/{id}/members returning paginated members with their roles", "standard"),
    ("Users should be able to sign in with their GitHub account", "standard"),
    ("format_currency() shows 2.675 as $2.67 instead of $2.68", "quick-fix"),
    ("changelog entry for the 3.2 release covering the new export formats and the deprecated v1 auth", "documentation"),
    ("Convert the file upload handlers from callbacks to async/await", "refactor"),
    ("Evaluate whether moving our job queue from Celery to RQ is feasible and what it would cost us", "research"),
    ("Support a --dry-run flag on the `migrate` CLI command that prints the SQL without executing it", "standard"),
    (
        "New contributors keep asking how to run the integration tests locally — add a section to "
        "CONTRIBUTING.md that walks them through it",
        "documentation",
    ),
    ("Integrate Stripe webhooks so that subscription cancellations update the account status", "standard"),
    ("Implement a dark mode toggle in the settings panel, persisted per user", "standard"),
    (
        "what are our options for full-text search — postgres tsvector vs elasticsearch vs meilisearch? "
        "pros/cons please",
        "research",
    ),
    ("BUG: pagination shows 'Page 2 of 1' when there are exactly 20 results", "quick-fix"),
    ("payments webhook on prod is double-charging customers right now, we need an emergency fix", "hotfix"),
]
UNSEEN_MEASURED = 38 / 42


def agreement(table: list[tuple[str, str]]) -> tuple[float, list[tuple[str, str, str]]]:
    misses = [(p, want, got) for p, want in table if (got := classify(p).workflow_type) != want]
    return 1 - len(misses) / len(table), misses


def test_table_is_large_enough_and_covers_every_type() -> None:
    assert len(LABELED) >= 30
    assert {label for _, label in LABELED} == {
        "standard",
        "quick-fix",
        "hotfix",
        "research",
        "documentation",
        "refactor",
    }


@pytest.mark.parametrize(
    "table",
    [LABELED, HELD_OUT, REVIEWED, MISREAD, LABELED + HELD_OUT + REVIEWED + MISREAD],
    ids=["labeled", "held-out", "reviewed", "misread", "all"],
)
def test_agreement_with_labels_is_at_least_90_percent(table: list[tuple[str, str]]) -> None:
    rate, misses = agreement(table)
    assert rate >= 0.9, f"agreement {rate:.0%}; misses: {misses}"


def test_agreement_on_unseen_prompts_does_not_fall_below_what_was_measured() -> None:
    """Not the 90% gate (the rules were never fitted to these): a change to the rules must not make it worse."""
    assert len(UNSEEN) >= 30
    rate, misses = agreement(UNSEEN)
    assert rate >= UNSEEN_MEASURED, f"agreement {rate:.0%} on unseen prompts; misses: {misses}"


@pytest.mark.slow
def test_classification_is_deterministic_across_processes() -> None:
    """Same answers in a fresh interpreter with another hash seed (no set or hash order leaks into results)."""
    prompts = [p for p, _ in LABELED + HELD_OUT + REVIEWED + MISREAD + UNSEEN]
    script = (
        "import json, sys; from domain.select_workflow import classify; "
        "print(json.dumps([list(map(str, vars(classify(p)).values())) for p in json.load(sys.stdin)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    run = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(prompts), capture_output=True, text=True, env=env, check=True
    )
    here = [list(map(str, vars(classify(p)).values())) for p in prompts]
    assert json.loads(run.stdout) == here


def test_prompt_without_cues_falls_back_to_standard_with_low_confidence() -> None:
    found = classify("the thing with the stuff")
    assert found.workflow_type == "standard"
    assert found.confidence < 0.5


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        # What a negation governs is not a cue: these were "refactor", "refactor" and "quick-fix".
        ("Don't refactor anything, just add a --verbose flag", "standard"),
        ("Add a flag, no refactoring of the parser", "standard"),
        ("This is not a bug: document how retries work in the README", "documentation"),
        # A cue that is itself a negation still counts, and so does what follows the clause's end.
        ("The export no longer works", "quick-fix"),
        ("Login does not work after the upgrade", "quick-fix"),
        ("Refactor the parser without changing behaviour", "refactor"),
        ("Do not add new features; fix the crash on startup", "quick-fix"),
        ("We shouldn't refactor anything, just add a --verbose flag", "standard"),
        ("Please do not refactor; add a flag", "standard"),
        ("Don't refactor \u2014 fix the crash", "quick-fix"),  # a dash ends the clause
        ("Add dark mode without breaking the login flow", "standard"),
        # What something must not do is how bugs are reported: not an instruction's negation.
        ("The app should not crash when the config file is empty", "quick-fix"),
        ("Make sure the importer does not throw an exception on empty rows", "quick-fix"),
        ("Avoid the crash when the config file is missing", "quick-fix"),
        ("The page should not be blank after login", "quick-fix"),
    ],
)
def test_negated_words_are_not_cues(prompt: str, expected: str) -> None:
    assert classify(prompt).workflow_type == expected


def test_requests_in_scripts_without_spaces_have_words() -> None:
    """A Chinese request was "simple (0 words)": only Latin letters were counted."""
    assert classify("修复登录按钮的拼写错误").words == 6
    assert classify("Исправить опечатку в кнопке входа").words == 5
    assert classify("Fix the typo").words == 3
    assert classify("Añadir un botón de café").words == 5


@pytest.mark.parametrize(
    ("prompt", "complexity"),
    [
        ("Fix typo", "trivial"),
        ("Fix the typo in the login button label", "trivial"),
        ("The date picker crashes when the month is December", "simple"),
        ("Add a --json flag to the report command", "moderate"),
        (
            "Build a multi-tenant SaaS platform with billing, user management, analytics and an admin dashboard "
            "and also a public API and a mobile app",
            "epic",
        ),
    ],
)
def test_complexity(prompt: str, complexity: str) -> None:
    assert classify(prompt).complexity == complexity


def test_complexity_grows_with_scope() -> None:
    small = COMPLEXITIES.index(classify("Add a logout button").complexity)
    big = COMPLEXITIES.index(
        classify("Add OAuth2 authentication with role-based permissions across the entire application").complexity
    )
    assert big > small


def test_skill_topics_come_from_the_request_then_the_type() -> None:
    found = classify("Add JWT login to the FastAPI backend with Postgres sessions")
    assert found.skill_topics[:3] == ("authentication", "fastapi", "postgresql")
    assert found.skill_topics[-1] == "feature-development"
    assert len(found.skill_topics) <= 5


def test_confidence_is_higher_for_an_unambiguous_request() -> None:
    clear = classify("Refactor and restructure the module to reduce technical debt")
    mixed = classify("Fix and document the export")
    assert 0 < mixed.confidence < clear.confidence <= 0.95


def test_phrases_match_only_as_consecutive_words() -> None:
    assert "doesn't work" in classify("The export button doesn't work").cues
    assert "doesn't work" not in classify("The export doesn't always work").cues
    assert "production is down" in classify("Production is down!").cues
    assert "is down" not in classify("The island is downstream").cues


def test_cues_are_listed_by_weight_then_table_order_whatever_the_word_order() -> None:
    # Quick-fix cues: "typo" weighs 4, "fix" and "bug" 2 each, "fix" first in the table.
    assert classify("bug fix typo").cues == classify("typo fix bug").cues == ("typo", "fix", "bug")
