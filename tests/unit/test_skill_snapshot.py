from __future__ import annotations

from adapters.fs_skill_library import Snapshot


def test_patching_a_snapshot_keeps_precedence_order_and_is_a_copy() -> None:
    base = Snapshot.of({"bundled/a": "1", "user/b": "2"})
    added = base.with_source("project/a", "3")
    assert added.scopes["a"] == ("project", "bundled") and added.stamps["project/a"] == "3"
    assert "project/a" not in base.stamps and base.scopes["a"] == ("bundled",)  # the original is untouched
    assert added.with_source("project/a", "3") is added  # no change, same object
    removed = added.with_source("user/b", None)
    assert "b" not in removed.scopes and "user/b" not in removed.stamps
    assert removed.with_source("user/missing", None) is removed
    assert Snapshot.of(dict(removed.stamps)).scopes == removed.scopes
