"""Pruning finished task records: by count, by age, never an active or unreadable one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.fs_job_store import RECORD, prune_sync
from domain.delegation.job import Job

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _record(tasks: Path, job_id: str, *, finished_minutes: int | None) -> None:
    job = Job(
        id=job_id, agent="ok", project=str(tasks.parent.parent), prompt_preview="p", prompt_chars=1,
        timeout_s=60, created_at=T0, server_pid=1,
    )  # fmt: skip
    if finished_minutes is not None:
        job.start(4242, T0)
        job.exited(0, T0 + timedelta(minutes=finished_minutes))
    (tasks / job_id).mkdir(parents=True)
    (tasks / job_id / RECORD).write_text(job.model_dump_json(), encoding="utf-8")
    (tasks / job_id / "output.log").write_text("out\n", encoding="utf-8")


def test_keeps_the_newest_finished_and_every_active_or_unreadable_one(tmp_path: Path) -> None:
    tasks = tmp_path / ".cde" / "tasks"
    for i in range(5):  # finished at minutes 0..4; ids sort the other way round, the finish time decides
        _record(tasks, f"2026010{9 - i}-000000-aaaaaa", finished_minutes=i)
    _record(tasks, "20260101-000000-active", finished_minutes=None)
    (tasks / "20260101-000000-broken").mkdir()
    (tasks / "20260101-000000-broken" / RECORD).write_text("{oops", encoding="utf-8")
    (tasks / ".trash-20250101-000000-old-1").mkdir()  # left by a crash mid-prune

    removed = prune_sync(tasks, 2, T0 - timedelta(days=1))

    assert sorted(removed) == ["20260107-000000-aaaaaa", "20260108-000000-aaaaaa", "20260109-000000-aaaaaa"]
    assert sorted(p.name for p in tasks.iterdir()) == [
        "20260101-000000-active",
        "20260101-000000-broken",
        "20260105-000000-aaaaaa",  # finished last
        "20260106-000000-aaaaaa",
    ]
    assert prune_sync(tasks, 2, T0 - timedelta(days=1)) == []


def test_finished_before_the_cutoff_go_whatever_the_count(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    _record(tasks, "20260101-000000-old", finished_minutes=0)
    _record(tasks, "20260101-000001-new", finished_minutes=60)
    assert prune_sync(tasks, 100, T0 + timedelta(minutes=30)) == ["20260101-000000-old"]
    assert [p.name for p in tasks.iterdir()] == ["20260101-000001-new"]


def test_a_project_without_tasks_prunes_nothing(tmp_path: Path) -> None:
    assert prune_sync(tmp_path / "missing", 1, T0) == []


def test_a_finish_time_without_a_zone_is_taken_as_utc(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    _record(tasks, "20260101-000000-naive", finished_minutes=0)
    _record(tasks, "20260101-000001-aware", finished_minutes=60)
    record = tasks / "20260101-000000-naive" / RECORD
    record.write_text(record.read_text(encoding="utf-8").replace("Z", ""), encoding="utf-8")  # hand-edited
    assert prune_sync(tasks, 1, T0 - timedelta(days=1)) == ["20260101-000000-naive"]
