"""Outputs of the discovery tools."""

from __future__ import annotations

from typing import Any, Literal

from domain.compact import CompactModel, omitted

DetailLevel = Literal["name_only", "name_and_description", "full_schema"]


class ToolInfo(CompactModel):
    name: str
    description: str | None = omitted()
    input_schema: Any = omitted()
    output_schema: Any = omitted()


class ToolSearchResult(CompactModel):
    """What `cde_searchTools` returns."""

    tools: list[ToolInfo]
    total: int
    listed: list[str] | None = omitted(description="lean profile: now in your tool list")


class GeneratedPackage(CompactModel):
    """What `cde_generateToolFilesystem` returns."""

    path: str
    tools: int
    written: list[str]
    unchanged: int
    removed: list[str]
    usage: str
