from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.delegation.job import Job, JobStatus, new_job_id, preview, validate_job_id
from domain.errors import InvalidTransitionError

T0 = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)


def job() -> Job:
    return Job(
        id="20250131-120000-abcdef",
        agent="claude",
        project="/p",
        prompt_preview="p",
        prompt_chars=1,
        timeout_s=60,
        created_at=T0,
        server_pid=1,
    )


def test_ids_sort_by_creation_time_and_are_safe_names() -> None:
    first, second = new_job_id(T0), new_job_id(T0 + timedelta(seconds=1))
    assert validate_job_id(first) == first
    assert first.startswith("20250131-120000-") and len(first) == 22
    assert sorted([second, first]) == [first, second]
    assert new_job_id(T0) != new_job_id(T0)


def test_a_job_runs_then_succeeds_or_fails_by_exit_code() -> None:
    ok, bad = job(), job()
    for j in (ok, bad):
        j.start(4242, T0)
        assert j.status == JobStatus.RUNNING and j.pgid == 4242
    ok.exited(0, T0 + timedelta(seconds=3))
    bad.exited(2, T0 + timedelta(seconds=1))
    assert ok.status == JobStatus.SUCCEEDED and ok.elapsed(T0) == 3.0 and ok.error is None
    assert bad.status == JobStatus.FAILED and bad.exit_code == 2 and bad.error == "agent exited with code 2"


def test_an_agent_killed_by_a_signal_says_which() -> None:
    crashed = job()
    crashed.start(4242, T0)
    crashed.exited(-11, T0)
    assert crashed.status == JobStatus.FAILED and crashed.exit_code == -11
    assert crashed.error == "agent was killed by SIGSEGV (signal 11)"


@pytest.mark.parametrize("end", [JobStatus.CANCELLED, JobStatus.INTERRUPTED, JobStatus.FAILED])
def test_a_queued_job_can_end_without_running(end: JobStatus) -> None:
    j = job()
    j.finish(end, T0, error="why")
    assert j.status == end and j.started_at is None and j.elapsed(T0) is None


def test_a_queued_job_cannot_time_out_or_succeed() -> None:
    for end in (JobStatus.TIMED_OUT, JobStatus.SUCCEEDED):
        with pytest.raises(InvalidTransitionError, match=f"is queued; it cannot become {end.value}"):
            job().finish(end, T0)


def test_a_finished_job_never_changes_again() -> None:
    j = job()
    j.start(1, T0)
    j.finish(JobStatus.CANCELLED, T0, exit_code=-15)
    with pytest.raises(InvalidTransitionError, match="has finished already"):
        j.exited(0, T0)
    with pytest.raises(InvalidTransitionError):
        j.start(2, T0)
    assert j.status == JobStatus.CANCELLED and j.exit_code == -15


def test_elapsed_counts_while_running() -> None:
    j = job()
    j.start(1, T0)
    assert j.elapsed(T0 + timedelta(seconds=5)) == 5.0


def test_preview_is_one_bounded_line() -> None:
    assert preview("fix\n  the   bug") == "fix the bug"
    long = preview("word " * 100)
    assert len(long) == 160 and long.endswith("…")


def test_a_hand_edited_time_without_a_zone_is_read_as_utc() -> None:
    """A task record's `started_at` written without a zone made every status read fail (naive - aware)."""
    data = job().model_dump(mode="json")
    record = Job.model_validate({**data, "status": "running", "pgid": 4242, "started_at": "2025-01-31T12:00:00"})
    assert record.started_at == T0 and record.elapsed(T0 + timedelta(seconds=5)) == 5.0
