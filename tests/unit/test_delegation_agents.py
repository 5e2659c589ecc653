from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.delegation.agents import BUILTIN_AGENTS, AgentSpec, merge_agents
from domain.delegation.launch import ARGV_PROMPT_LIMIT, file_pointer, plan_launch
from domain.delegation.output import OutputTail, tail_lines

PROMPT_FILE = Path("/p/.cde/tasks/x/prompt.md")


def test_every_builtin_takes_its_prompt() -> None:
    assert all(spec.takes_prompt() for spec in BUILTIN_AGENTS)
    assert len({spec.name for spec in BUILTIN_AGENTS}) == len(BUILTIN_AGENTS)


def test_layers_override_field_by_field_add_and_hide() -> None:
    merged = merge_agents(
        BUILTIN_AGENTS,
        [
            ("user", {"claude": {"priority": 9}, "mine": {"command": ["mine", "{prompt}"], "strengths": ["docs"]}}),
            ("project", {"aider": {"enabled": False}, "mine": {"max_complexity": "high"}}),
        ],
    )
    by_name = {s.name: s for s in merged}
    assert "aider" not in by_name
    assert by_name["claude"].priority == 9 and by_name["claude"].stdin and by_name["claude"].source == "user"
    assert by_name["mine"].strengths == ("docs",) and by_name["mine"].max_complexity == "high"
    assert by_name["mine"].source == "project"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"command": ["mine"]}, "command needs {prompt} or {prompt_file}, or set stdin: true"),
        ({"command": ["mine", "{prompt}"], "strengths": ["testing"]}, "strengths: unknown strengths testing"),
        ({"command": ["mine", "{prompt}"], "shell": "bash -c"}, "shell: Extra inputs are not permitted"),
        ({"command": [" ", "{prompt}"]}, "command: the first element must be the program to run"),
        ({"stdin": True}, "command: Field required"),
        ({"command": "mine {prompt}"}, 'command: must be a YAML list such as [mytool, --flag, "{prompt}"]'),
        ({"command": ["mine", "{prompt}"], "strengths": "tests"}, "strengths: must be a YAML list such as [a, b]"),
    ],
)
def test_bad_declarations_are_refused(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"agents.mine.{problem}")):
        merge_agents(BUILTIN_AGENTS, [("project", {"mine": fields})])


def test_agent_names_must_be_safe() -> None:
    with pytest.raises(ValidationError, match="must be a plain name"):
        AgentSpec(name="../x", command=("x", "{prompt}"))


def test_launch_substitutes_placeholders_once() -> None:
    spec = AgentSpec(name="t", command=("tool", "--m={prompt}", "{prompt_file}", "{other}"))
    plan = plan_launch(spec, "/usr/bin/tool", "say {prompt_file}", PROMPT_FILE, Path("/p"))
    assert plan.argv == ("/usr/bin/tool", "--m=say {prompt_file}", str(PROMPT_FILE), "{other}")
    assert not plan.stdin_prompt and plan.cwd == Path("/p")


def test_a_large_prompt_never_goes_into_argv() -> None:
    spec = AgentSpec(name="t", command=("tool", "{prompt}"))
    plan = plan_launch(spec, "/usr/bin/tool", "é" * ARGV_PROMPT_LIMIT, PROMPT_FILE, Path("/p"))
    assert plan.argv[1] == f"Your task is described in the file {PROMPT_FILE}. Read it completely, then carry it out."
    small = plan_launch(spec, "/usr/bin/tool", "x" * ARGV_PROMPT_LIMIT, PROMPT_FILE, Path("/p"))
    assert small.argv[1] == "x" * ARGV_PROMPT_LIMIT


def test_all_copies_of_the_prompt_count_towards_the_argv_limit() -> None:
    spec = AgentSpec(name="t", command=("tool", "--task={prompt}", "--title={prompt}"))
    half = plan_launch(spec, "/usr/bin/tool", "x" * (ARGV_PROMPT_LIMIT // 2), PROMPT_FILE, Path("/p"))
    over = plan_launch(spec, "/usr/bin/tool", "x" * (ARGV_PROMPT_LIMIT // 2 + 1), PROMPT_FILE, Path("/p"))
    assert half.argv[1] == "--task=" + "x" * (ARGV_PROMPT_LIMIT // 2)
    assert over.argv[1:] == (f"--task={file_pointer(PROMPT_FILE)}", f"--title={file_pointer(PROMPT_FILE)}")


def test_a_prompt_that_would_read_as_options_goes_through_its_file() -> None:
    whole = AgentSpec(name="t", command=("tool", "run", "{prompt}"))
    joined = AgentSpec(name="t", command=("tool", "--message={prompt}"))
    for prompt in ("- fix the parser\n- add tests", "--dangerous-flag"):
        assert plan_launch(whole, "/usr/bin/tool", prompt, PROMPT_FILE, Path("/p")).argv[2] == file_pointer(PROMPT_FILE)
        assert plan_launch(joined, "/usr/bin/tool", prompt, PROMPT_FILE, Path("/p")).argv[1] == f"--message={prompt}"
    assert plan_launch(whole, "/usr/bin/tool", "fix - it", PROMPT_FILE, Path("/p")).argv[2] == "fix - it"


def test_stdin_agents_read_the_prompt_file() -> None:
    spec = AgentSpec(name="t", command=("tool", "-p"), stdin=True)
    plan = plan_launch(spec, "/usr/bin/tool", "hi", PROMPT_FILE, Path("/p"))
    assert plan.argv == ("/usr/bin/tool", "-p") and plan.stdin_prompt and plan.prompt_file == PROMPT_FILE
    assert spec.prompt_input == "stdin"


def test_output_tail_keeps_the_last_bytes_as_lines() -> None:
    tail = OutputTail(limit=16)
    for i in range(100):
        tail.add(f"line {i}\n".encode())
    assert len(tail.data()) <= 16 + len(b"line 99\n")
    assert tail.lines(2) == ["line 98", "line 99"]
    tail.add(b"x" * 100)
    assert tail.data() == b"x" * 16


def test_tail_lines_bound_and_decode_anything() -> None:
    assert tail_lines(b"a\r\nb\rc\n\xff\n", 3) == ["b", "c", "\ufffd"]
    assert tail_lines(b"y" * 1000, 1)[0].endswith("…") and len(tail_lines(b"y" * 1000, 1)[0]) == 400
    assert tail_lines(b"a\nb", 0) == []
